"""The index: embedder + sparse encoder + vector store, opened together and checked."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from assistant.embeddings import Embedder, get_embedder
from assistant.privacy import redact
from assistant.settings import Settings
from assistant.sparse import SparseEncoder
from assistant.store import IndexMeta, VectorStore, open_store


class Index:
    def __init__(
        self, settings: Settings, embedder: Embedder | None = None, store: VectorStore | None = None
    ) -> None:
        self.settings = settings
        self.embedder = embedder or get_embedder(settings)
        self.sparse = SparseEncoder()
        self.store = store or open_store(settings)
        self.meta = IndexMeta(self.embedder.name, self.embedder.dim, self.sparse.name)
        self.store.open(self.meta)
        self.lock = threading.RLock()
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    def embed_query(self, text: str) -> np.ndarray:
        """Memoised: an answer embeds its question for retrieval and again for the relevance check,
        and agents repeat the same questions."""
        with self.lock:
            vec = self._queries.get(text)
            if vec is not None:
                self._queries.move_to_end(text)
                return vec
        # an encoder on another machine never receives the asker's personal data
        vec = self.embedder.embed_query(redact(text) if self.embedder.remote else text)
        with self.lock:
            self._queries[text] = vec
            while len(self._queries) > self.settings.tuning.query_cache_size:
                self._queries.popitem(last=False)
        return vec

    def clear_query_cache(self) -> None:
        with self.lock:
            self._queries.clear()

    def close(self) -> None:
        self.store.close()


_SHARED: dict[str, Index] = {}
_SHARED_LOCK = threading.Lock()


def shared_index(settings: Settings) -> Index:
    """One open index per data directory and process (the embedded engines lock their folder)."""
    key = f"{settings.data_dir.resolve()}|{settings.store}|{settings.embedder}|{settings.qdrant_url}"
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = Index(settings)
        return _SHARED[key]


def drop_shared(settings: Settings) -> None:
    with _SHARED_LOCK:
        for key in [k for k in _SHARED if k.startswith(f"{settings.data_dir.resolve()}|")]:
            _SHARED.pop(key).close()
