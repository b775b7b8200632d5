"""Incremental, atomic synchronisation of files into the index.

A changed document is replaced in three steps: its new version is upserted and counted,
then the old version's chunks are deleted, then the registry records the new version. A
crash in between leaves the old version fully searchable (plus some new chunks that the
next run reconciles); never a half-indexed or missing document.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from assistant.corpus import (
    Collection,
    DocumentMeta,
    collection_for,
    load_collections,
    title_from_filename,
)
from assistant.dates import FAR_FUTURE, optional_date_int, utc_now
from assistant.embeddings.cache import EmbeddingCache
from assistant.errors import IngestError
from assistant.index import Index
from assistant.injection import detect
from assistant.legal import infer_law_numbers
from assistant.payload import ChunkPayload, embed_input
from assistant.registry import DocumentStatus, Registry, doc_id_for
from assistant.settings import Settings
from assistant.store import ChunkPoint, Where
from ingest.chunking import Chunk, chunk_document
from ingest.parsing import EMPTY_FILE, check_size, guess_language, parse_file

Progress = Callable[[int, int, str], None]


class Outcome(StrEnum):
    """What one sync did to one file."""

    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REMOVED = "removed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass
class DocResult:
    path: str
    doc_id: str
    status: Outcome
    chunks: int = 0
    error: str | None = None
    embedded: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "doc_id": self.doc_id,
            "status": self.status.value,
            "chunks": self.chunks,
            "error": self.error,
        }


@dataclass
class SyncReport:
    documents: list[DocResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def totals(self) -> dict[str, int]:
        totals: dict[str, int] = {s.value: 0 for s in Outcome}
        for d in self.documents:
            totals[d.status.value] += 1
        totals["chunks"] = sum(
            d.chunks
            for d in self.documents
            if d.status in (Outcome.ADDED, Outcome.UPDATED, Outcome.UNCHANGED)
        )
        totals["embedded"] = sum(d.embedded for d in self.documents)
        return totals

    @property
    def failed(self) -> bool:
        return any(d.status == Outcome.FAILED for d in self.documents)

    def as_dict(self) -> dict[str, Any]:
        return {
            "documents": [d.as_dict() for d in self.documents],
            "totals": self.totals,
            "seconds": round(self.seconds, 3),
        }


HIDDEN_FILE = "hidden file (its name starts with '.'): not ingested; rename it to ingest it"
HIDDEN_FOLDER = (
    "hidden folder (its name starts with '.'): its files are not ingested; rename it to ingest them"
)
CORPUS_ROOT_FILE = (
    "at the corpus root, outside any collection folder (README, MANIFEST): not a document; "
    "move it into a collection folder to ingest it"
)
EVAL_FOLDER = "evaluation sets (eval/ of the corpus): not documents"


def discover_all(paths: list[Path] | None, corpus_dir: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The files to ingest, and what was left out with why: hidden files and folders (a hidden or
    eval folder is reported once, not file by file), files at the corpus root."""
    roots = paths or [corpus_dir]
    found: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for root in roots:
        if root.is_file() or not root.exists():
            found.append(root)
            continue
        for p in sorted(root.rglob("*")):
            rel = p.relative_to(root)
            hidden = [i for i, part in enumerate(rel.parts) if part.startswith(".")]
            if hidden:
                if hidden[0] == len(rel.parts) - 1:  # the first hidden part itself, reported once
                    skipped.append((p, HIDDEN_FILE if p.is_file() else HIDDEN_FOLDER))
                continue
            if root == corpus_dir and rel.parts[0] == "eval":
                if len(rel.parts) == 1 and p.is_dir():
                    skipped.append((p, EVAL_FOLDER))
                continue
            if not p.is_file():
                continue
            if root == corpus_dir and len(rel.parts) == 1:
                skipped.append((p, CORPUS_ROOT_FILE))
                continue
            found.append(p)
    return found, skipped


def discover(paths: list[Path] | None, corpus_dir: Path) -> list[Path]:
    """The files to ingest (see discover_all for what is left out)."""
    return discover_all(paths, corpus_dir)[0]


class Syncer:
    def __init__(self, settings: Settings, index: Index, progress: Progress | None = None) -> None:
        self.settings = settings
        self.limits = settings.tuning  # what one file may cost (docs/integrity.md)
        self.index = index
        self.registry = Registry(settings.registry_path)
        self.cache = EmbeddingCache(settings.embed_cache or settings.data_dir / "embedding-cache.sqlite")
        self.collections = load_collections(settings.definitions_dir)
        self.progress = progress or (lambda done, total, msg: None)

    def close(self) -> None:
        """Close the registry and the embedding cache (the index belongs to the caller)."""
        self.registry.close()
        self.cache.close()

    def __enter__(self) -> Syncer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ helpers
    def source_of(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.settings.corpus_dir.resolve()).as_posix()
        except ValueError:
            return path.name if not path.parent.name else f"{path.parent.name}/{path.name}"

    def meta_for(self, coll: Collection, path: Path) -> DocumentMeta:
        return coll.documents.get(path.name) or DocumentMeta()

    # ------------------------------------------------------------------ run
    def run(
        self,
        paths: list[Path] | None = None,
        collection: str | None = None,
        prune: bool = False,
        force: bool = False,
    ) -> SyncReport:
        started = time.perf_counter()
        report = SyncReport()
        files, left_out = discover_all(paths, self.settings.corpus_dir)
        seen_hashes: dict[str, str] = {}
        seen_ids: set[str] = set()
        for i, path in enumerate(files):
            self.progress(i, len(files), path.name)
            t0 = time.perf_counter()
            result = self._sync_one(path, collection, seen_hashes, force)
            result.seconds = time.perf_counter() - t0
            seen_ids.add(result.doc_id)
            report.documents.append(result)
        for path, why in left_out:
            source = self.source_of(path)
            report.documents.append(DocResult(source, doc_id_for(source), Outcome.SKIPPED, error=why))
        self.progress(len(files), len(files), "done")
        if prune:
            report.documents.extend(self._prune(paths, collection, seen_ids))
        self.index.store.flush()
        if any(d.status in (Outcome.ADDED, Outcome.UPDATED, Outcome.REMOVED) for d in report.documents):
            # the embedded engine builds its HNSW graphs only when asked (no background optimizer)
            with self.index.lock:
                self.index.store.optimize()
        report.seconds = time.perf_counter() - started
        return report

    def _sync_one(
        self, path: Path, collection: str | None, seen_hashes: dict[str, str], force: bool = False
    ) -> DocResult:
        source = self.source_of(path)
        doc_id = doc_id_for(source)
        if collection:
            coll = self.collections.get(collection) or Collection(name=collection, folder=collection)
            self.collections.setdefault(collection, coll)
        else:
            coll = collection_for(path, self.settings.corpus_dir, self.collections)
        result = DocResult(source, doc_id, Outcome.FAILED)
        previous = self.registry.get(doc_id)
        try:
            if not path.exists():
                raise IngestError("file not found (it may have been moved or deleted during the run)")
            try:
                size = path.stat().st_size
                if size == 0:  # never compared by hash: two empty files are not duplicates
                    raise IngestError(EMPTY_FILE)
                check_size(size, self.limits)  # before the file is read
                raw = path.read_bytes()
            except FileNotFoundError as exc:
                raise IngestError("file disappeared while it was being read") from exc
            digest = hashlib.sha256(raw).hexdigest()
            if (
                previous
                and previous.hash == digest
                and previous.status == DocumentStatus.INDEXED
                and not force
            ):
                if (
                    self.index.store.count(Where(doc_ids=[doc_id], version=previous.version))
                    == previous.chunks
                ):
                    self.index.store.delete(Where(doc_ids=[doc_id], exclude_version=previous.version))
                    seen_hashes[digest] = doc_id
                    return DocResult(source, doc_id, Outcome.UNCHANGED, previous.chunks)
            twin = seen_hashes.get(digest) or (
                dup.doc_id if (dup := self.registry.by_hash(digest)) and dup.doc_id != doc_id else None
            )
            if twin and twin != doc_id:
                result.status = Outcome.SKIPPED
                result.error = f"duplicate: same content as {twin}; not indexed twice"
                return result
            seen_hashes[digest] = doc_id
            meta = self.meta_for(coll, path)
            language_hint = meta.language or coll.language
            parsed = parse_file(
                path,
                language=language_hint,
                ocr_languages=self.settings.ocr_languages,
                dpi=self.settings.ocr_dpi,
                cache_dir=self.settings.data_dir / "ocr-cache",
                limits=self.limits,
            )
            doc_language = meta.language or guess_language(parsed) or coll.language
            chunks = chunk_document(
                parsed.lines,
                doc_id,
                default_language=doc_language,
                max_chars=self.settings.chunk_max_chars,
                overlap=self.settings.chunk_overlap_chars,
            )
            if not chunks:
                raise IngestError("no chunk could be made from the extracted text")
            if len(chunks) > self.limits.max_chunks:  # before anything is embedded
                raise IngestError(
                    f"too many chunks: {len(chunks):,} (limit DALIL_MAX_CHUNKS={self.limits.max_chunks}); "
                    "split the document or raise the limit; nothing was embedded",
                )
            version = (previous.version if previous else 0) + 1
            self.registry.upsert(
                doc_id, path=str(path), source=source, collection=coll.name, status=DocumentStatus.UPDATING
            )
            # instructions aimed at a model, per chunk (assistant/injection.py): stored in the payload
            flags = {c.chunk_id: self.injection(c) for c in chunks}
            embedded = self._write(
                chunks, doc_id, version, source, coll, meta, doc_language, path, parsed.text, flags
            )
            self.registry.upsert(
                doc_id,
                path=str(path.resolve()),
                source=source,
                collection=coll.name,
                hash=digest,
                version=version,
                status=DocumentStatus.INDEXED,
                chunks=len(chunks),
                flagged_chunks=sum(1 for names in flags.values() if names),
                error=None,
                title=meta.title or title_from_filename(path),
                language=doc_language,
                method=parsed.method,
                pages=parsed.pages,
                indexed_at=utc_now(),
            )
            status = (
                Outcome.UPDATED
                if previous and previous.status in (DocumentStatus.INDEXED, DocumentStatus.UPDATING)
                else Outcome.ADDED
            )
            if previous and previous.status == DocumentStatus.FAILED and previous.version > 0:
                status = Outcome.UPDATED
            return DocResult(source, doc_id, status, len(chunks), embedded=embedded)
        except IngestError as exc:
            result.error = str(exc)
            self._record_failure(doc_id, path, source, coll, str(exc))
            return result
        except Exception as exc:  # one bad file never stops the batch
            result.error = f"unexpected error: {type(exc).__name__}: {exc}"
            self._record_failure(doc_id, path, source, coll, result.error)
            return result

    def _record_failure(self, doc_id: str, path: Path, source: str, coll: Collection, error: str) -> None:
        # a document that was indexed before keeps its last good version searchable
        prev = self.registry.get(doc_id)
        if prev and prev.status in (DocumentStatus.INDEXED, DocumentStatus.UPDATING) and prev.version > 0:
            self.registry.upsert(doc_id, error=error, status=DocumentStatus.INDEXED)
            return
        self.registry.upsert(
            doc_id,
            path=str(path),
            source=source,
            collection=coll.name,
            status=DocumentStatus.FAILED,
            error=error,
        )

    def _write(
        self,
        chunks: list[Chunk],
        doc_id: str,
        version: int,
        source: str,
        coll: Collection,
        meta: DocumentMeta,
        doc_language: str,
        path: Path,
        full_text: str,
        flags: dict[str, list[str]] | None = None,
    ) -> int:
        index = self.index
        flags = flags if flags is not None else {c.chunk_id: self.injection(c) for c in chunks}
        title = meta.title or title_from_filename(path)
        law_numbers = meta.law_numbers or infer_law_numbers(path.stem + " " + full_text[:600])
        embed_texts = [self._embed_text(c, title) for c in chunks]
        known = index.store.vectors([c.chunk_id for c in chunks])
        vectors = dict(known)
        missing = [i for i, c in enumerate(chunks) if c.chunk_id not in known]
        cached = self.cache.get_many(index.embedder.name, [embed_texts[i] for i in missing])
        for j, vec in cached.items():
            vectors[chunks[missing[j]].chunk_id] = vec
        todo = [i for j, i in enumerate(missing) if j not in cached]
        batch = max(1, self.settings.embed_batch)
        for start in range(0, len(todo), batch):
            idx = todo[start : start + batch]
            texts = [embed_texts[i] for i in idx]
            embs = index.embedder.embed_documents(texts)
            self.cache.put_many(index.embedder.name, texts, embs)
            for i, vec in zip(idx, embs, strict=True):
                vectors[chunks[i].chunk_id] = vec
        points = []
        for chunk, etext in zip(chunks, embed_texts, strict=True):
            payload: ChunkPayload = {
                "chunk_id": chunk.chunk_id,
                "doc_id": doc_id,
                "collection": coll.name,
                "audience": coll.audience.value,
                "language": chunk.language,
                "doc_language": doc_language,
                "title": title,
                "reference": meta.reference,
                "ref_keys": law_numbers,
                "article": chunk.article,
                "article_key": chunk.article_key,
                "article_title": chunk.article_title,
                "hierarchy": chunk.path,
                "pages": chunk.pages,
                "page": chunk.pages[0] if chunk.pages else None,
                "char_start": chunk.char_start,
                "char_end": chunk.char_end,
                "content_hash": chunk.content_hash,
                "version": version,
                "kind": chunk.kind,
                "part": chunk.part,
                "parts": chunk.parts,
                "source": source,
                "source_url": meta.source_url,
                "parallel": meta.parallel,
                "supersedes": meta.supersedes,
                "superseded_by": meta.superseded_by,
                "in_force_from": meta.in_force_from.isoformat() if meta.in_force_from else None,
                "in_force_until": meta.in_force_until.isoformat() if meta.in_force_until else None,
                "valid_from": optional_date_int(meta.in_force_from) or 0,
                "valid_until": optional_date_int(meta.in_force_until) or FAR_FUTURE,
                "text": chunk.text,
                "injection": flags[chunk.chunk_id],
            }
            sparse = index.sparse.encode_document(etext, chunk.language)
            points.append(ChunkPoint(chunk.chunk_id, vectors[chunk.chunk_id], sparse, payload))
        with index.lock:
            index.store.upsert(points)
            written = index.store.count(Where(doc_ids=[doc_id], version=version))
            if written != len(points):
                raise IngestError(
                    f"index verification failed: {written} of {len(points)} chunks written; "
                    "the previous version was kept",
                )
            index.store.delete(Where(doc_ids=[doc_id], exclude_version=version))
        return len(todo)

    @staticmethod
    def injection(chunk: Chunk) -> list[str]:
        """The injection patterns a chunk matches (its text and the title printed above it)."""
        return detect("\n".join(x for x in (chunk.article_title, chunk.text) if x))

    @staticmethod
    def _embed_text(chunk: Chunk, title: str) -> str:
        return embed_input(title, chunk.path, chunk.article, chunk.article_title, chunk.text)

    # ------------------------------------------------------------------ removal
    def _prune(self, paths: list[Path] | None, collection: str | None, seen: set[str]) -> list[DocResult]:
        scopes = [p.resolve() for p in (paths or [self.settings.corpus_dir])]
        out = []
        for rec in self.registry.all(collection):
            if rec.doc_id in seen or rec.status == DocumentStatus.REMOVED:
                continue
            recorded = Path(rec.path)
            in_scope = any(recorded == s or s in recorded.parents for s in scopes)
            if in_scope and not recorded.exists():
                self.remove(rec.doc_id)
                out.append(DocResult(rec.source, rec.doc_id, Outcome.REMOVED, 0))
        return out

    def remove(self, doc_id: str) -> bool:
        rec = self.registry.get(doc_id)
        if rec is None:
            return False
        with self.index.lock:
            self.index.store.delete(Where(doc_ids=[doc_id]))
        self.registry.upsert(doc_id, status=DocumentStatus.REMOVED, chunks=0, flagged_chunks=0, hash=None)
        return True


def rebuild(settings: Settings) -> None:
    """Drop the index and the registry's versions; the next sync re-embeds everything."""
    from assistant.index import drop_shared

    drop_shared(settings)
    shutil.rmtree(settings.index_dir, ignore_errors=True)
    if settings.registry_path.exists():
        settings.registry_path.unlink()
