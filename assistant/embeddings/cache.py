"""A persistent cache of passage embeddings, keyed by model and exact input text: a rebuild or
a changed sparse encoder never pays for the dense encoder twice."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np

from assistant.sqlite_store import Migration, SQLiteStore

# Released migrations are never edited: a change is a new migration at the end.
MIGRATIONS = (
    Migration(
        1,
        "vectors table, as written by the release before migrations",
        sql="CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)",
    ),
)


class EmbeddingCache(SQLiteStore):
    """Rollback journal rather than WAL: the file is named by the `embed_cache` setting and may
    be shared between data directories or machines (WAL does not work over a network file
    system), and a cache gains nothing from concurrent readers."""

    MIGRATIONS = MIGRATIONS
    STORE = "embedding cache"
    WAL = False
    RECOVERY = "It is a cache: it can be moved aside and re-created (embeddings are computed again)."
    CACHE = True

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.lock = threading.Lock()

    @staticmethod
    def key(model: str, text: str) -> str:
        return hashlib.sha256(f"{model}\x00{text}".encode()).hexdigest()

    def get_many(self, model: str, texts: list[str]) -> dict[int, np.ndarray]:
        keys = [self.key(model, t) for t in texts]
        found: dict[str, np.ndarray] = {}
        with self.lock:
            for start in range(0, len(keys), 500):
                batch = keys[start : start + 500]
                marks = ",".join("?" * len(batch))
                for k, blob in self.conn.execute(
                    f"SELECT key, vec FROM vectors WHERE key IN ({marks})", batch
                ):
                    found[k] = np.frombuffer(blob, dtype=np.float32).copy()
        return {i: found[k] for i, k in enumerate(keys) if k in found}

    def put_many(self, model: str, texts: list[str], vectors: np.ndarray) -> None:
        rows = [
            (self.key(model, t), np.asarray(v, dtype=np.float32).tobytes())
            for t, v in zip(texts, vectors, strict=True)
        ]
        with self.lock:
            self.conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
            self.conn.commit()
