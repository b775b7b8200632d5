"""The document registry: one SQLite row per document, in the data directory."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    source TEXT NOT NULL,
    collection TEXT NOT NULL,
    hash TEXT,
    version INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    chunks INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    title TEXT,
    language TEXT,
    method TEXT,
    pages INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    indexed_at TEXT
);
"""


@dataclass
class DocumentRecord:
    doc_id: str
    path: str
    source: str
    collection: str
    hash: str | None
    version: int
    status: str
    chunks: int
    error: str | None
    title: str | None
    language: str | None
    method: str | None
    pages: int | None
    created_at: str
    updated_at: str
    indexed_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Registry:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.executescript(SCHEMA)
        self.conn.commit()

    def get(self, doc_id: str) -> DocumentRecord | None:
        row = self.conn.execute("SELECT * FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return DocumentRecord(**dict(row)) if row else None

    def by_hash(self, digest: str) -> DocumentRecord | None:
        row = self.conn.execute(
            "SELECT * FROM documents WHERE hash = ? AND status = 'indexed'", (digest,)
        ).fetchone()
        return DocumentRecord(**dict(row)) if row else None

    def all(self, collection: str | None = None) -> list[DocumentRecord]:
        if collection:
            rows = self.conn.execute(
                "SELECT * FROM documents WHERE collection = ? ORDER BY source", (collection,)
            ).fetchall()
        else:
            rows = self.conn.execute("SELECT * FROM documents ORDER BY collection, source").fetchall()
        return [DocumentRecord(**dict(r)) for r in rows]

    def upsert(self, doc_id: str, **fields: Any) -> None:
        now = _now()
        existing = self.get(doc_id)
        if existing is None:
            record = {
                "doc_id": doc_id,
                "path": "",
                "source": "",
                "collection": "",
                "hash": None,
                "version": 0,
                "status": "new",
                "chunks": 0,
                "error": None,
                "title": None,
                "language": None,
                "method": None,
                "pages": None,
                "created_at": now,
                "updated_at": now,
                "indexed_at": None,
            }
        else:
            record = existing.as_dict()
        record.update(fields)
        record["updated_at"] = now
        cols = ", ".join(record)
        marks = ", ".join("?" for _ in record)
        self.conn.execute(
            f"INSERT OR REPLACE INTO documents ({cols}) VALUES ({marks})", tuple(record.values())
        )
        self.conn.commit()

    def delete(self, doc_id: str) -> None:
        self.conn.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()
