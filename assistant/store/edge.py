"""qdrant-edge-py: Qdrant's own engine, in-process, one folder per index."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import qdrant_edge as qe

from assistant.errors import IndexLockedError, StoreDamagedError
from assistant.payload import ChunkPayload, as_payload
from assistant.sparse import SparseVector
from assistant.store import (
    DENSE,
    INTEGER_FIELDS,
    KEYWORD_FIELDS,
    SPARSE,
    ChunkPoint,
    Condition,
    Hit,
    IndexMeta,
    Leg,
    Where,
    basic_legs,
    conditions,
    point_id,
    ranked,
)
from assistant.tuning import TUNING

_META = "dalil-index.json"
# Filtered HNSW search loses neighbours when the filter combines fields (audience + language +
# validity keeps ~20 % of the points): filtered dense recall@10 0.54-0.64 at 100k chunks, 0.99 with
# ACORN for ~10 ms more (benchmarks/scale.py). Small collections are brute force and never use it.
_FILTERED = qe.SearchParams(acorn=qe.AcornSearchParams(enable=True))
_EXACT = qe.SearchParams(exact=True)


def _damaged(path: Path, problem: str) -> str:
    return (
        f"{path} (embedded index) is damaged: {problem}. Rebuild it from the corpus with "
        "`dalil ingest --rebuild` (embeddings come back from the cache), or restore the data "
        "directory from a backup."
    )


def _params(flt: qe.Filter | None, exact: bool) -> qe.SearchParams | None:
    if exact:
        return _EXACT
    return _FILTERED if flt is not None else None


def _condition(c: Condition) -> qe.FieldCondition:
    if c.values:
        if len(c.values) == 1:
            return qe.FieldCondition(key=c.key, match=qe.MatchValue(c.values[0]))
        return qe.FieldCondition(key=c.key, match=qe.MatchAny(list(c.values)))
    return qe.FieldCondition(key=c.key, range=qe.RangeFloat(lte=c.lte, gt=c.gt))


def to_filter(where: Where | None) -> qe.Filter | None:
    if where is None or where.is_empty():
        return None
    must, must_not = conditions(where)
    return qe.Filter(
        must=[_condition(c) for c in must] or None, must_not=[_condition(c) for c in must_not] or None
    )


class EdgeStore:
    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self._shard: qe.EdgeShard | None = None

    # -- lifecycle -------------------------------------------------------
    def stored_meta(self) -> IndexMeta | None:
        meta = self.path / _META
        if not meta.exists():
            return None
        try:
            return IndexMeta(**json.loads(meta.read_text()))
        except (ValueError, TypeError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
            raise StoreDamagedError(
                _damaged(meta, f"not the index description Dalil writes ({exc})")
            ) from exc

    def open(self, meta: IndexMeta) -> None:
        stored = self.stored_meta()
        if stored is not None:
            meta.check(stored)
            try:
                self._shard = qe.EdgeShard.load(str(self.path / "shard"))
            except Exception as exc:
                # qdrant-edge takes an exclusive lock on the shard's WAL: only that error means
                # another process holds it; any other failure to load is a damaged index
                if "WouldBlock" in str(exc) or "would block" in str(exc).lower():
                    raise IndexLockedError(
                        f"Cannot open the embedded index at {self.path}: another Dalil process "
                        "(ui, ingest) holds it: stop it and retry."
                    ) from exc
                raise StoreDamagedError(_damaged(self.path / "shard", str(exc))) from exc
            return
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True)
        config = qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=meta.dim, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        )
        self._shard = qe.EdgeShard.create(str(self.path / "shard"), config)
        for name in KEYWORD_FIELDS:
            self._shard.update(qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Keyword))
        for name in INTEGER_FIELDS:
            self._shard.update(qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Integer))
        (self.path / _META).write_text(json.dumps(meta.__dict__))

    @property
    def shard(self) -> qe.EdgeShard:
        if self._shard is None:
            raise RuntimeError("EdgeStore.open() must be called first")
        return self._shard

    def flush(self) -> None:
        self.shard.flush()

    def optimize(self) -> None:
        self.shard.optimize()

    def close(self) -> None:
        if self._shard is not None:
            self._shard.close()
            self._shard = None

    # -- writes ----------------------------------------------------------
    def upsert(self, points: list[ChunkPoint]) -> None:
        for start in range(0, len(points), TUNING.store_batch):
            batch = [
                qe.Point(
                    point_id(p.chunk_id),
                    {
                        DENSE: [float(x) for x in p.dense],
                        SPARSE: qe.SparseVector(indices=p.sparse.indices, values=p.sparse.values),
                    },
                    dict(p.payload),
                )
                for p in points[start : start + TUNING.store_batch]
            ]
            self.shard.update(qe.UpdateOperation.upsert_points(batch))

    def delete(self, where: Where) -> None:
        flt = to_filter(where)
        if flt is None:
            raise ValueError("refusing to delete with an empty filter")
        self.shard.update(qe.UpdateOperation.delete_points_by_filter(flt))

    # -- reads -----------------------------------------------------------
    def count(self, where: Where | None = None) -> int:
        return int(self.shard.count(qe.CountRequest(exact=True, filter=to_filter(where))))

    def vectors(self, chunk_ids: list[str]) -> dict[str, np.ndarray]:
        if not chunk_ids:
            return {}
        ids = {point_id(c): c for c in chunk_ids}
        records = self.shard.retrieve(list(ids), with_payload=False, with_vector=[DENSE])
        out: dict[str, np.ndarray] = {}
        for rec in records:
            vec = rec.vector
            if isinstance(vec, dict) and DENSE in vec:
                out[ids[str(rec.id)]] = np.asarray(vec[DENSE], dtype=np.float32)
        return out

    def query(
        self,
        dense: np.ndarray | None,
        sparse: SparseVector | None,
        where: Where | None,
        limit: int,
        prefetch: int = TUNING.min_leg_depth,
    ) -> list[Hit]:
        return self.search(basic_legs(dense, sparse, where, prefetch), limit)

    @staticmethod
    def _query(leg: Leg) -> qe.Query:
        if leg.using == SPARSE:
            vec = qe.SparseVector(indices=leg.vector.indices, values=leg.vector.values)
            return qe.Query.Nearest(vec, using=SPARSE)
        return qe.Query.Nearest([float(x) for x in leg.vector], using=DENSE)

    @classmethod
    def _prefetch(cls, leg: Leg, exact: bool) -> qe.Prefetch:
        flt = to_filter(leg.where)
        return qe.Prefetch(limit=leg.limit, query=cls._query(leg), filter=flt, params=_params(flt, exact))

    def search(self, legs: list[Leg], limit: int, exact: bool = False) -> list[Hit]:
        if not legs:
            return []
        if len(legs) == 1:
            leg = legs[0]
            flt = to_filter(leg.where)
            req = qe.QueryRequest(
                limit=limit,
                query=self._query(leg),
                filter=flt,
                params=_params(flt, exact),
                with_payload=True,
            )
        else:
            weights = [leg.weight for leg in legs]
            req = qe.QueryRequest(
                limit=limit,
                prefetches=[self._prefetch(leg, exact) for leg in legs],
                query=qe.Fusion.Rrf(k=TUNING.rrf_k, weights=None if len(set(weights)) == 1 else weights),  # type: ignore[arg-type]
                with_payload=True,
            )
        return ranked(
            [
                Hit(p.payload["chunk_id"], float(p.score), as_payload(p.payload))
                for p in self.shard.query(req)
                if p.payload
            ]
        )

    def scroll(self, where: Where | None = None) -> Iterator[ChunkPayload]:
        offset = None
        flt = to_filter(where)
        while True:
            records, offset = self.shard.scroll(
                qe.ScrollRequest(offset=offset, limit=512, filter=flt, with_payload=True, with_vector=False)
            )
            for rec in records:
                yield as_payload(rec.payload)
            if offset is None:
                break
