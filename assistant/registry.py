"""The document registry: one SQLite row per document, in the data directory. Written by
ingestion, read by retrieval (known collections), the audit trail (index version), the app and
the command line; it lives in the library so every side reads it through the same code."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from assistant.dates import utc_now
from assistant.sqlite_store import Migration, SQLiteStore


class DocumentStatus(StrEnum):
    """Where a document stands in the registry."""

    NEW = "new"  # a row exists, nothing written yet
    UPDATING = "updating"  # a new version is being written; the previous one stays searchable
    INDEXED = "indexed"  # its chunks are searchable
    FAILED = "failed"  # never indexed: the error says why
    REMOVED = "removed"  # its file disappeared (`dalil ingest --prune`): no chunk left in the index
    # withdrawn by its owner (`dalil remove`, the Documents page): no chunk left in the index, never
    # re-indexed by a sync until the owner restores it (`dalil restore`); who and when are recorded
    WITHDRAWN = "withdrawn"


def doc_id_for(source: str) -> str:
    """The readable id a corpus-relative path asks for: the collection folder and the file name
    with its extension, in any script ("maroc_fr/Loi 09-08.pdf" -> "maroc_fr:Loi_09-08.pdf",
    "maroc_ar/قانون.md" -> "maroc_ar:قانون.md"). Letters, digits and combining marks of every
    script are kept (NFC), `/` becomes `:`, any other run of characters one `_`. Two sources can
    ask for the same id ("a b.md", "a_b.md"): `Registry.identify` gives the second a suffix."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", source):
        if ch == "/":
            out.append(":")
        elif ch in "_.-" or unicodedata.category(ch)[0] in "LNM":
            out.append(ch)
        elif not out or out[-1] != "_":
            out.append("_")
    return "".join(out)


def _suffixed(doc_id: str, source: str) -> str:
    """`doc_id` made unique for `source`: a short hash of the path, stable for that path."""
    return f"{doc_id}~{hashlib.sha256(source.encode()).hexdigest()[:8]}"


# Timestamps are UTC with their offset (assistant.dates.utc_now). One exception, left as it is:
# releases before the numbered migrations wrote `indexed_at` in the indexing machine's local time
# without an offset ("2026-10-01T10:00:00"); such a value is recognisable by its missing offset,
# and is not converted because the offset of the machine that wrote it is not known.
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

# Released migrations are never edited: a change is a new migration at the end.
MIGRATIONS = (
    Migration(1, "documents table, as written by the release before migrations", sql=SCHEMA),
    Migration(
        2,
        "index on documents(status)",
        sql="CREATE INDEX IF NOT EXISTS documents_status ON documents (status)",
    ),
    Migration(
        3,
        "documents.flagged_chunks: chunks holding instructions aimed at a model (assistant/injection.py)",
        sql="ALTER TABLE documents ADD COLUMN flagged_chunks INTEGER NOT NULL DEFAULT 0",
    ),
    Migration(
        4,
        "documents.withdrawn_by, withdrawn_at: who withdrew a document and when (status 'withdrawn')",
        sql=(
            "ALTER TABLE documents ADD COLUMN withdrawn_by TEXT;"
            "ALTER TABLE documents ADD COLUMN withdrawn_at TEXT"
        ),
    ),
    Migration(
        5,
        "documents.previous_hash, replaced_by, replaced_at: an explicit replacement by the document's "
        "owner (`dalil ingest --replace`); indexes on source and path (a document's identity)",
        sql=(
            "ALTER TABLE documents ADD COLUMN previous_hash TEXT;"
            "ALTER TABLE documents ADD COLUMN replaced_by TEXT;"
            "ALTER TABLE documents ADD COLUMN replaced_at TEXT;"
            "CREATE INDEX IF NOT EXISTS documents_source ON documents (source);"
            "CREATE INDEX IF NOT EXISTS documents_path ON documents (path)"
        ),
    ),
)


@dataclass
class DocumentRecord:
    doc_id: str
    path: str
    source: str
    collection: str
    hash: str | None
    version: int
    status: DocumentStatus
    chunks: int
    error: str | None
    title: str | None
    language: str | None
    method: str | None
    pages: int | None
    created_at: str
    updated_at: str
    indexed_at: str | None
    flagged_chunks: int = 0  # chunks of the indexed version that hold instructions aimed at a model
    withdrawn_by: str | None = None  # who withdrew it (status withdrawn)
    withdrawn_at: str | None = None  # when (UTC)
    previous_hash: str | None = None  # content hash of the version an explicit replacement replaced
    replaced_by: str | None = None  # who replaced it (`dalil ingest --replace`)
    replaced_at: str | None = None  # when (UTC)

    def __post_init__(self) -> None:
        self.status = DocumentStatus(self.status)

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["status"] = self.status.value
        return out


class Registry(SQLiteStore):
    """DATA_DIR/registry.sqlite. Rollback journal rather than WAL: `dalil ingest --rebuild`
    (ingest.sync.rebuild) deletes the file, and a `-wal` left beside it would be replayed into
    the new one."""

    MIGRATIONS = MIGRATIONS
    STORE = "document registry"
    WAL = False
    RECOVERY = (
        "Restore it from a backup, or rebuild it from the corpus with `dalil ingest --rebuild` "
        "(re-creates the registry and the index; embeddings come back from the cache)."
    )

    def __init__(self, path: Path) -> None:
        super().__init__(path)

    def get(self, doc_id: str) -> DocumentRecord | None:
        row = self.conn.execute("SELECT * FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return DocumentRecord(**dict(row)) if row else None

    def identify(self, source: str, path: str | None = None) -> str:
        """The id of the document at `source` (corpus-relative, or `uploads/<collection>/...`):
        the id it already has — found by its source, or by its resolved `path` for a document
        registered under an older naming — else the id `doc_id_for` gives, suffixed with a hash
        of the path when another source holds it. Two files never share an id, and an id, once
        given, stays with its file."""
        row = self.conn.execute(
            "SELECT doc_id FROM documents WHERE source = ? ORDER BY created_at, doc_id LIMIT 1", (source,)
        ).fetchone()
        if row is None and path:
            row = self.conn.execute(
                "SELECT doc_id FROM documents WHERE path = ? ORDER BY created_at, doc_id LIMIT 1", (path,)
            ).fetchone()
        if row is not None:
            return str(row[0])
        wanted = doc_id_for(source)
        holder = self.get(wanted)
        return wanted if holder is None or holder.source == source else _suffixed(wanted, source)

    def ids_for_sources(self, sources: list[str]) -> dict[str, str]:
        """{source: doc_id} for the registered ones among `sources`."""
        if not sources:
            return {}
        marks = ", ".join("?" for _ in sources)
        rows = self.conn.execute(
            f"SELECT source, doc_id FROM documents WHERE source IN ({marks}) ORDER BY created_at DESC",
            tuple(sources),
        ).fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    def by_hash(self, digest: str) -> DocumentRecord | None:
        row = self.conn.execute(
            "SELECT * FROM documents WHERE hash = ? AND status = ?", (digest, DocumentStatus.INDEXED)
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
        now = utc_now()
        existing = self.get(doc_id)
        if existing is None:
            record = {
                "doc_id": doc_id,
                "path": "",
                "source": "",
                "collection": "",
                "hash": None,
                "version": 0,
                "status": DocumentStatus.NEW,
                "chunks": 0,
                "error": None,
                "title": None,
                "language": None,
                "method": None,
                "pages": None,
                "created_at": now,
                "updated_at": now,
                "indexed_at": None,
                "flagged_chunks": 0,
                "withdrawn_by": None,
                "withdrawn_at": None,
                "previous_hash": None,
                "replaced_by": None,
                "replaced_at": None,
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

    def index_version(self) -> str:
        """A short fingerprint of what is indexed (document ids, versions and content hashes): two
        answers with the same index version were computed over the same texts."""
        rows = self.conn.execute(
            "SELECT doc_id, version, hash FROM documents WHERE status = ? ORDER BY doc_id",
            (DocumentStatus.INDEXED,),
        ).fetchall()
        rows = [tuple(r) for r in rows]
        return hashlib.sha256(repr(rows).encode()).hexdigest()[:12] + f"-{len(rows)}docs"
