"""Vector store interface: one Protocol, one adapter per Qdrant engine."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from assistant.errors import ConfigError, IndexMismatchError
from assistant.payload import ChunkPayload
from assistant.settings import Settings
from assistant.sparse import SparseVector
from assistant.tuning import TUNING

DENSE = "dense"
SPARSE = "sparse"
KEYWORD_FIELDS = ("doc_id", "collection", "language", "audience", "article_key", "ref_keys", "chunk_id")
INTEGER_FIELDS = ("version", "valid_from", "valid_until")
_NS = uuid.UUID("6f1c8f57-5d0c-4c8e-9a39-2a8f0e7a1d11")


def point_id(chunk_id: str) -> str:
    return str(uuid.uuid5(_NS, chunk_id))


@dataclass(frozen=True)
class IndexMeta:
    embedding_model: str
    dim: int
    sparse_encoder: str

    def check(self, stored: IndexMeta) -> None:
        if stored != self:
            raise IndexMismatchError(
                f"The index was built with {stored.embedding_model} ({stored.dim}-d, {stored.sparse_encoder}) "
                f"but Dalil is configured for {self.embedding_model} ({self.dim}-d, {self.sparse_encoder}). "
                "Run `dalil ingest --rebuild` to re-embed everything, or set DALIL_EMBEDDER back."
            )


@dataclass
class ChunkPoint:
    chunk_id: str
    dense: np.ndarray
    sparse: SparseVector
    payload: ChunkPayload


@dataclass
class Hit:
    chunk_id: str
    score: float
    payload: ChunkPayload


def ranked(hits: list[Hit]) -> list[Hit]:
    """Best first, ties broken by chunk id: engines (and their fusion) return equal scores — RRF
    scores are often exactly equal — in no defined order, so the same question on the same index
    would otherwise get its tied hits in a different order from one call to the next."""
    return sorted(hits, key=lambda h: (-h.score, h.chunk_id))


@dataclass
class Where:
    """Engine-neutral filter. Every field narrows; None means "any"."""

    collections: list[str] | None = None
    languages: list[str] | None = None
    audiences: list[str] | None = None
    doc_ids: list[str] | None = None
    article_keys: list[str] | None = None
    ref_keys: list[str] | None = None
    version: int | None = None
    exclude_version: int | None = None
    in_force_on: int | None = None  # yyyymmdd: drop texts not in force that day

    def is_empty(self) -> bool:
        return not any(
            [
                self.collections,
                self.languages,
                self.audiences,
                self.doc_ids,
                self.article_keys,
                self.ref_keys,
                self.version is not None,
                self.exclude_version is not None,
                self.in_force_on is not None,
            ]
        )


@dataclass(frozen=True)
class Condition:
    """One engine-neutral filter condition: `match` a value set, or a numeric `range`."""

    key: str
    values: tuple[Any, ...] = ()
    lte: int | None = None
    gt: int | None = None


def conditions(where: Where) -> tuple[list[Condition], list[Condition]]:
    """The (must, must_not) conditions a Where stands for; each adapter turns them into its models."""
    must: list[Condition] = []
    must_not: list[Condition] = []
    for key, values in (
        ("collection", where.collections),
        ("language", where.languages),
        ("audience", where.audiences),
        ("doc_id", where.doc_ids),
        ("article_key", where.article_keys),
        ("ref_keys", where.ref_keys),
    ):
        if values:
            must.append(Condition(key, tuple(values)))
    if where.version is not None:
        must.append(Condition("version", (where.version,)))
    if where.exclude_version is not None:
        must_not.append(Condition("version", (where.exclude_version,)))
    if where.in_force_on is not None:
        must.append(Condition("valid_from", lte=where.in_force_on))
        must.append(Condition("valid_until", gt=where.in_force_on))
    return must, must_not


@dataclass
class Leg:
    """One prefetch of a fused query: a dense or sparse vector, its own filter and depth."""

    using: str  # DENSE or SPARSE
    vector: Any
    where: Where | None
    limit: int
    weight: float = 1.0


def basic_legs(dense: Any, sparse: SparseVector | None, where: Where | None, prefetch: int) -> list[Leg]:
    legs = []
    if dense is not None:
        legs.append(Leg(DENSE, dense, where, prefetch))
    if sparse is not None and sparse.indices:
        legs.append(Leg(SPARSE, sparse, where, prefetch))
    return legs


class VectorStore(Protocol):
    """An index of chunks with a dense and a sparse vector each. One adapter per engine:
    `edge.EdgeStore` (qdrant-edge, in-process) and `client.ClientStore` (qdrant-client: a Qdrant
    server or cluster, or its local mode). tests/test_stores.py checks that both answer alike."""

    def open(self, meta: IndexMeta) -> None:
        """Create the index if it does not exist, else check that it was built with the same encoders.

        Raises IndexMismatchError (rebuild needed) or IndexLockedError (another process holds an
        embedded index). Must be called once before any other method."""

    def stored_meta(self) -> IndexMeta | None:
        """The encoders the existing index was built with, or None when there is no index yet."""

    def upsert(self, points: list[ChunkPoint]) -> None:
        """Insert or replace these points (keyed by chunk id). Durable once `flush` returns; visible
        to `count`, `search` and `scroll` as soon as this returns."""

    def delete(self, where: Where) -> None:
        """Delete every point matching `where` (an empty Where is refused by callers, never sent)."""

    def count(self, where: Where | None = None) -> int:
        """Exact number of points matching `where` (all points when None)."""

    def vectors(self, chunk_ids: list[str]) -> dict[str, np.ndarray]:
        """Dense vectors already stored for these chunks (so unchanged text is never re-embedded);
        chunks not in the index are absent from the result."""

    def query(
        self,
        dense: np.ndarray | None,
        sparse: SparseVector | None,
        where: Where | None,
        limit: int,
        prefetch: int = TUNING.min_leg_depth,
    ) -> list[Hit]:
        """Hybrid when both are given (RRF inside the engine), else single-vector search; at most
        `limit` hits, best first, each leg fetching `prefetch` candidates."""

    def search(self, legs: list[Leg], limit: int, exact: bool = False) -> list[Hit]:
        """Several prefetches fused with weighted RRF (k = TUNING.rrf_k) inside the engine (one leg:
        plain search, its score the raw similarity). Best first, equal scores by chunk id
        (`ranked`), at most `limit` hits.
        exact=True bypasses the approximate index (brute force), for recall measurements."""

    def scroll(self, where: Where | None = None) -> Iterator[ChunkPayload]:
        """Every payload matching `where`, in pages; order unspecified."""

    def flush(self) -> None:
        """Make every write so far durable on disk (a no-op for a server, which persists itself)."""

    def optimize(self) -> None:
        """Build the ANN indexes of large segments, merge small ones, vacuum deletions."""

    def close(self) -> None:
        """Release the engine (and an embedded index's folder lock). Idempotent."""


def open_store(settings: Settings, path: str | None = None) -> VectorStore:
    kind = settings.store
    if settings.qdrant_url and kind == "edge":
        kind = "qdrant"
    if kind == "edge":
        from assistant.store.edge import EdgeStore

        return EdgeStore(path or str(settings.index_dir / "edge"))
    if kind in ("qdrant", "local"):
        from assistant.store.client import ClientStore

        return ClientStore(settings, path=path or str(settings.index_dir / "qdrant-local"))
    raise ConfigError(f"Unknown store {kind!r}: set DALIL_STORE to edge or qdrant.")
