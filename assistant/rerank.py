"""Optional rerank stage. None ships by default: no reranker available offline here has
shown a gain over the engine's RRF fusion on the dev set (see docs/benchmarks.md)."""

from __future__ import annotations

from typing import Protocol

from assistant.store import Hit


class Reranker(Protocol):
    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        """The same hits, reordered best first (scores may change; no hit added or dropped). Equal
        scores in a fixed order (e.g. `assistant.store.ranked`: by chunk id), so that the same
        question always gets the same answer."""
        ...


class NoRerank:
    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        return hits
