"""qdrant-client: a Qdrant server or cluster (DALIL_QDRANT_URL), or its local mode for tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models

from assistant.egress import check_url
from assistant.errors import IndexLockedError
from assistant.payload import ChunkPayload, as_payload
from assistant.settings import Settings
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


def _condition(c: Condition) -> models.FieldCondition:
    if c.values:
        if len(c.values) == 1:
            return models.FieldCondition(key=c.key, match=models.MatchValue(value=c.values[0]))
        return models.FieldCondition(key=c.key, match=models.MatchAny(any=list(c.values)))
    return models.FieldCondition(key=c.key, range=models.Range(lte=c.lte, gt=c.gt))


def to_filter(where: Where | None) -> models.Filter | None:
    if where is None or where.is_empty():
        return None
    must, must_not = conditions(where)
    return models.Filter(
        must=[_condition(c) for c in must] or None, must_not=[_condition(c) for c in must_not] or None
    )


# same search parameters as the embedded engine (see assistant/store/edge.py): ACORN keeps filtered
# HNSW search exact enough when the filter combines fields; local mode is brute force and ignores it
_FILTERED = models.SearchParams(acorn=models.AcornSearchParams(enable=True))
_EXACT = models.SearchParams(exact=True)


def _params(flt: models.Filter | None, exact: bool) -> models.SearchParams | None:
    if exact:
        return _EXACT
    return _FILTERED if flt is not None else None


class ClientStore:
    def __init__(
        self, settings: Settings, path: str | None = None, client: QdrantClient | None = None
    ) -> None:
        self.name = settings.qdrant_collection
        self._shards = settings.qdrant_shards
        self._replicas = settings.qdrant_replicas
        self._server = bool(settings.qdrant_url)
        if client is not None:
            self.client = client
        elif settings.qdrant_url:
            url = check_url(settings.qdrant_url, "DALIL_QDRANT_URL", settings.allowed_hosts)
            key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
            self.client = QdrantClient(url=url, api_key=key, timeout=30)
        else:
            try:
                self.client = QdrantClient(path=path or ":memory:")
            except RuntimeError as exc:
                raise IndexLockedError(
                    f"Cannot open the local Qdrant folder {path}: {exc}. Stop the other Dalil process."
                ) from exc

    @property
    def _meta_name(self) -> str:
        return f"{self.name}__meta"

    def stored_meta(self) -> IndexMeta | None:
        if not self.client.collection_exists(self._meta_name):
            return None
        points = self.client.retrieve(self._meta_name, ids=[1], with_payload=True)
        if not points or not points[0].payload:
            return None
        return IndexMeta(**points[0].payload)

    def open(self, meta: IndexMeta) -> None:
        stored = self.stored_meta()
        if stored is not None and self.client.collection_exists(self.name):
            meta.check(stored)
            return
        for name in (self.name, self._meta_name):
            if self.client.collection_exists(name):
                self.client.delete_collection(name)
        extra: dict[str, Any] = {}
        if self._server:
            extra = {"shard_number": self._shards, "replication_factor": self._replicas}
        self.client.create_collection(
            self.name,
            vectors_config={DENSE: models.VectorParams(size=meta.dim, distance=models.Distance.COSINE)},
            sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            **extra,
        )
        for field in KEYWORD_FIELDS:
            self.client.create_payload_index(self.name, field, models.PayloadSchemaType.KEYWORD)
        for field in INTEGER_FIELDS:
            self.client.create_payload_index(self.name, field, models.PayloadSchemaType.INTEGER)
        self.client.create_collection(
            self._meta_name, vectors_config=models.VectorParams(size=1, distance=models.Distance.DOT)
        )
        self.client.upsert(
            self._meta_name, [models.PointStruct(id=1, vector=[1.0], payload=dict(meta.__dict__))]
        )

    def upsert(self, points: list[ChunkPoint]) -> None:
        for start in range(0, len(points), TUNING.store_batch):
            batch = [
                models.PointStruct(
                    id=point_id(p.chunk_id),
                    vector={
                        DENSE: [float(x) for x in p.dense],
                        SPARSE: models.SparseVector(indices=p.sparse.indices, values=p.sparse.values),
                    },
                    payload=dict(p.payload),
                )
                for p in points[start : start + TUNING.store_batch]
            ]
            self.client.upsert(self.name, batch, wait=True)

    def delete(self, where: Where) -> None:
        flt = to_filter(where)
        if flt is None:
            raise ValueError("refusing to delete with an empty filter")
        self.client.delete(self.name, points_selector=models.FilterSelector(filter=flt), wait=True)

    def count(self, where: Where | None = None) -> int:
        return int(self.client.count(self.name, count_filter=to_filter(where), exact=True).count)

    def vectors(self, chunk_ids: list[str]) -> dict[str, np.ndarray]:
        if not chunk_ids:
            return {}
        ids = {point_id(c): c for c in chunk_ids}
        out: dict[str, np.ndarray] = {}
        for rec in self.client.retrieve(self.name, ids=list(ids), with_vectors=[DENSE], with_payload=False):
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
    def _vector(leg: Leg) -> Any:
        if leg.using == SPARSE:
            return models.SparseVector(indices=leg.vector.indices, values=leg.vector.values)
        return [float(x) for x in leg.vector]

    def _params(self, flt: models.Filter | None, exact: bool) -> models.SearchParams | None:
        # local mode is always exact and warns about search parameters
        return _params(flt, exact) if self._server else None

    def _prefetch(self, leg: Leg, exact: bool) -> models.Prefetch:
        flt = to_filter(leg.where)
        return models.Prefetch(
            query=self._vector(leg),
            using=leg.using,
            limit=leg.limit,
            filter=flt,
            params=self._params(flt, exact),
        )

    def search(self, legs: list[Leg], limit: int, exact: bool = False) -> list[Hit]:
        if not legs:
            return []
        if len(legs) == 1:
            leg = legs[0]
            flt = to_filter(leg.where)
            res = self.client.query_points(
                self.name,
                query=self._vector(leg),
                using=leg.using,
                query_filter=flt,
                search_params=self._params(flt, exact),
                limit=limit,
                with_payload=True,
            )
        else:
            weights = [leg.weight for leg in legs]
            res = self.client.query_points(
                self.name,
                prefetch=[self._prefetch(leg, exact) for leg in legs],
                query=models.RrfQuery(
                    rrf=models.Rrf(k=TUNING.rrf_k, weights=None if len(set(weights)) == 1 else weights)
                ),
                limit=limit,
                with_payload=True,
            )
        return ranked(
            [
                Hit(p.payload["chunk_id"], float(p.score), as_payload(p.payload))
                for p in res.points
                if p.payload
            ]
        )

    def optimize(self) -> None:
        """A Qdrant server optimizes in the background; local mode has nothing to build."""

    def scroll(self, where: Where | None = None) -> Iterator[ChunkPayload]:
        offset = None
        flt = to_filter(where)
        while True:
            records, offset = self.client.scroll(
                self.name, scroll_filter=flt, limit=512, offset=offset, with_payload=True, with_vectors=False
            )
            for rec in records:
                yield as_payload(rec.payload)
            if offset is None:
                break

    def flush(self) -> None:
        return None

    def close(self) -> None:
        self.client.close()
