"""Congruence: the same upserts and queries on qdrant-edge and qdrant-client (local mode) give
the same results, as qdrant-client's own tests compare local mode with a server."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.settings import Settings
from assistant.sparse import SparseEncoder, SparseVector
from assistant.store import DENSE, SPARSE, ChunkPoint, Hit, IndexMeta, Leg, Where
from assistant.store.client import ClientStore
from assistant.store.edge import EdgeStore
from assistant.tuning import TUNING
from tests.helpers import assert_same_ranking, float32_tolerance

pytestmark = pytest.mark.integration

DIM = 24
ENGINES = ("qdrant-edge", "qdrant-client")
SHOWN = ("doc_id", "language", "audience", "version", "article_key")  # payload fields in a mismatch report
# Both engines score in float32 (measured differences: <= 1.5e-7 dense, <= 2.4e-7 sparse), so a
# score may differ by the rounding of its computation, and items closer than twice that may swap.
# Cosine: d products summed, and each of the two vectors normalised (a d-term sum of squares, halved
# by the square root, then the root and a division: d/2 + 2 roundings each) -> 2d + 4 roundings of
# at most 1 (Cauchy-Schwarz on unit vectors): 6.2e-6 for d = 24.
DENSE_SCORE_TOLERANCE = float32_tolerance(2 * DIM + 4)
# Sparse with the IDF modifier: score = sum over the n matched query terms of idf * w, the query
# weight being 1 and the document weight w = tf (k1 + 1) / (tf + norm) < k1 + 1 (BM25 saturation).
# The IDF ln(1 + (N - df + 0.5) / (df + 0.5)) takes about 6 roundings on an argument >= 1: an
# absolute error of 6u, scaled by w; the product and the n-term sum add n + 1 roundings relative to
# the score. So each engine is within (n + 7) u max(score, n (k1 + 1)) of the exact score.
SPARSE_EXTRA_ROUNDINGS = 7


def sparse_score_tolerance(query: SparseVector, hits: list[Hit]) -> float:
    n = len(query.indices)
    magnitude = max([h.score for h in hits] + [n * (TUNING.bm25_k1 + 1)])
    return float32_tolerance(n + SPARSE_EXTRA_ROUNDINGS, magnitude)


WORDS = "salarié congé contrat employeur préavis licenciement amende délai tribunal agent public loi décret".split()


def _points(n: int = 300, dim: int = 24, seed: int = 7) -> list[ChunkPoint]:
    rng = np.random.default_rng(seed)
    enc = SparseEncoder()
    pts = []
    for i in range(n):
        text = " ".join(rng.choice(WORDS, size=12))
        vec = rng.normal(size=dim).astype(np.float32)
        pts.append(
            ChunkPoint(
                f"doc{i % 30}:{i}",
                vec / np.linalg.norm(vec),
                enc.encode_document(text, "fr"),
                {
                    "chunk_id": f"doc{i % 30}:{i}",
                    "doc_id": f"doc{i % 30}",
                    "collection": "a" if i % 3 else "b",
                    "language": "fr" if i % 2 else "ar",
                    "audience": "public" if i % 5 else "agents",
                    "article_key": str(i % 40),
                    "ref_keys": ["65-99"] if i % 7 == 0 else ["09-08"],
                    "version": 1 + (i % 2),
                    "valid_from": 20200101 if i % 4 else 20260101,
                    "valid_until": 99991231 if i % 6 else 20260101,
                    "text": text,
                },
            )
        )
    return pts


@pytest.fixture()
def engines(tmp_path):  # type: ignore[no-untyped-def]
    meta = IndexMeta("test-model", DIM, SparseEncoder.name)
    edge = EdgeStore(str(tmp_path / "edge"))
    client = ClientStore(Settings(data_dir=tmp_path), path=str(tmp_path / "local"))
    for store in (edge, client):
        store.open(meta)
        store.upsert(_points())
    yield edge, client
    edge.close()
    client.close()


FILTERS = [
    None,
    Where(collections=["a"]),
    Where(languages=["ar"], audiences=["public"]),
    Where(doc_ids=["doc3", "doc4"]),
    Where(ref_keys=["65-99"], article_keys=["7", "14", "21"]),
    Where(in_force_on=20251231),
    Where(version=2, exclude_version=1),
]


@pytest.mark.parametrize("where", FILTERS)
def test_counts_and_filters_agree(engines, where) -> None:  # type: ignore[no-untyped-def]
    edge, client = engines
    assert edge.count(where) == client.count(where)
    assert sorted(p["chunk_id"] for p in edge.scroll(where)) == sorted(
        p["chunk_id"] for p in client.scroll(where)
    )


@pytest.mark.parametrize("where", FILTERS)
def test_dense_and_sparse_rankings_agree(engines, where) -> None:  # type: ignore[no-untyped-def]
    edge, client = engines
    rng = np.random.default_rng(1)
    enc = SparseEncoder()
    for i in range(5):
        q = rng.normal(size=DIM).astype(np.float32)
        a = edge.query(q, None, where, limit=10)
        b = client.query(q, None, where, limit=10)
        assert_same_ranking(
            a, b, DENSE_SCORE_TOLERANCE, names=ENGINES, fields=SHOWN, context=f"dense query {i}, {where}"
        )
        assert np.allclose([h.score for h in a], [h.score for h in b], atol=1e-4)
    s = enc.encode_query("congé salarié licenciement", "fr")
    a = edge.query(None, s, where, limit=10)
    b = client.query(None, s, where, limit=10)
    # sparse scores tie exactly (chunks with the same words): tied chunks may come in either order,
    # and one of them may be cut at the 10th rank on one side only
    assert_same_ranking(
        a, b, sparse_score_tolerance(s, a + b), names=ENGINES, fields=SHOWN, context=f"sparse query, {where}"
    )


def test_hybrid_fusion_agrees(engines) -> None:  # type: ignore[no-untyped-def]
    edge, client = engines
    rng = np.random.default_rng(2)
    enc = SparseEncoder()
    agree = 0
    for _ in range(10):
        q = rng.normal(size=24).astype(np.float32)
        s = enc.encode_query(" ".join(rng.choice(WORDS, size=3)), "fr")
        legs = [
            Leg(DENSE, q, None, 40),
            Leg(SPARSE, s, None, 40),
            Leg(DENSE, q, Where(languages=["ar"]), 40, 0.5),
        ]
        a = [h.chunk_id for h in edge.search(legs, limit=10)]
        b = [h.chunk_id for h in client.search(legs, limit=10)]
        agree += len(set(a) & set(b))
    # RRF over identical prefetch rankings; only ties between equal sparse scores may order differently
    assert agree >= 90


def test_delete_and_vectors_agree(engines) -> None:  # type: ignore[no-untyped-def]
    edge, client = engines
    ids = ["doc1:1", "doc2:2", "missing"]
    va, vb = edge.vectors(ids), client.vectors(ids)
    assert set(va) == set(vb) == {"doc1:1", "doc2:2"}
    assert np.allclose(va["doc1:1"], vb["doc1:1"], atol=1e-5)
    for store in engines:
        store.delete(Where(doc_ids=["doc1", "doc2"], exclude_version=2))
    assert edge.count() == client.count() == 290
    # doc1's chunks are all version 2 and stay; doc2's are version 1 and go
    assert edge.count(Where(doc_ids=["doc1"])) == client.count(Where(doc_ids=["doc1"])) == 10
    assert edge.count(Where(doc_ids=["doc2"])) == client.count(Where(doc_ids=["doc2"])) == 0


def test_reopen_keeps_data_and_checks_the_model(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from assistant.errors import IndexMismatchError

    meta = IndexMeta("test-model", 24, SparseEncoder.name)
    edge = EdgeStore(str(tmp_path / "edge"))
    edge.open(meta)
    edge.upsert(_points(50))
    edge.close()
    again = EdgeStore(str(tmp_path / "edge"))
    again.open(meta)
    assert again.count() == 50
    again.close()
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        EdgeStore(str(tmp_path / "edge")).open(IndexMeta("other-model", 24, SparseEncoder.name))
