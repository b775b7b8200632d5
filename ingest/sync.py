"""Incremental, atomic synchronisation of files into the index.

A changed document is replaced in three steps: its new version is upserted and counted,
then the old version's chunks are deleted, then the registry records the new version. A
crash in between leaves the old version fully searchable (plus some new chunks that the
next run reconciles); never a half-indexed or missing document.

Every run starts by deleting orphan chunks (`Syncer.remove_orphans`: a (doc_id, version) that is
not the registry's indexed version, left by a crash before the registry write) and ends, when
anything changed, with the index optimisation, bracketed by DATA_DIR/index/optimize-pending so
that an interrupted one runs again at the next sync. `crash_point` is a test hook
(DALIL_TEST_CRASH_AT) that kills the process at a stage.
"""

from __future__ import annotations

import hashlib
import logging
import os
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
    check_collection_name,
    collection_for,
    load_collections,
    load_metadata_edits,
    title_from_filename,
)
from assistant.dates import FAR_FUTURE, optional_date_int, utc_now
from assistant.embeddings.cache import EmbeddingCache
from assistant.errors import IngestError, StoreDamagedError
from assistant.index import Index
from assistant.injection import detect
from assistant.legal import infer_law_numbers
from assistant.payload import ChunkPayload, embed_input
from assistant.registry import DocumentRecord, DocumentStatus, Registry, doc_id_for
from assistant.settings import Settings
from assistant.sqlite_store import move_aside
from assistant.store import ChunkPoint, Where
from ingest.chunking import Chunk, chunk_document
from ingest.fetch import require_corpus
from ingest.parsing import EMPTY_FILE, check_size, guess_language, parse_file

log = logging.getLogger(__name__)

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
    # chunks found at the start of the run whose (doc_id, version) is not a registered version
    # (left by a crash between writing a document's chunks and recording it): deleted
    orphans_removed: int = 0
    optimize_resumed: bool = False  # an interrupted optimisation was run again
    # what lies in the corpus folder but is not a document (its README/MANIFEST, its eval/ sets):
    # reported with why, apart from the documents
    ignored: list[dict[str, str]] = field(default_factory=list)

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
            "orphans_removed": self.orphans_removed,
            "optimize_resumed": self.optimize_resumed,
            "ignored": self.ignored,
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
NOT_DOCUMENTS = (CORPUS_ROOT_FILE, EVAL_FOLDER)
SYMLINK = (
    "symbolic link: not followed (it could point anywhere on the machine); "
    "copy the file itself into a collection folder to ingest it"
)
OUTSIDE = (
    "outside the corpus and uploads folders (it resolves to a path under neither): not ingested; "
    "copy the file into a collection folder to ingest it"
)


def confinement_error(path: Path, roots: list[Path]) -> str | None:
    """Why `path` may not be ingested, or None: a symbolic link on its way below a root (the root
    itself may be a link), or a location that resolves outside every root (`..`, links)."""
    lexical = Path(os.path.normpath(path.absolute()))
    for root in roots:
        top = Path(os.path.normpath(root.absolute()))
        base = root.resolve()
        for start in (top, base):
            try:
                rel = lexical.relative_to(start)
            except ValueError:
                continue
            current = start
            for part in rel.parts:
                current = current / part
                if current.is_symlink():
                    return SYMLINK
            resolved = lexical.resolve()
            if resolved == base or base in resolved.parents:
                return None
            return OUTSIDE
    return SYMLINK if lexical.is_symlink() else OUTSIDE


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
            links = [i for i in range(len(rel.parts)) if (root / Path(*rel.parts[: i + 1])).is_symlink()]
            if links:  # never followed: a link could point anywhere on the machine
                if links[0] == len(rel.parts) - 1:  # the first link itself, reported once
                    skipped.append((p, SYMLINK))
                continue
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


QUICK_SUFFIXES = {".txt": 0, ".md": 0, ".html": 0, ".htm": 0, ".docx": 1}  # others (PDF, OCR) last


def processing_order(files: list[Path], quick_first: bool) -> list[tuple[int, Path]]:
    """(position in `files`, file) in the order to process them: as discovered, or with
    `quick_first` text files first, then office files, then the rest (PDFs), each by size (files of
    the same kind and size, such as duplicates, keep their discovery order)."""
    numbered = list(enumerate(files))
    if not quick_first:
        return numbered

    def cost(item: tuple[int, Path]) -> tuple[int, int]:
        path = item[1]
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        return QUICK_SUFFIXES.get(path.suffix.lower(), 2), size

    return sorted(numbered, key=cost)


def discover(paths: list[Path] | None, corpus_dir: Path) -> list[Path]:
    """The files to ingest (see discover_all for what is left out)."""
    return discover_all(paths, corpus_dir)[0]


CRASH_AT = "DALIL_TEST_CRASH_AT"
OPTIMIZE_PENDING = "optimize-pending"
UPLOADS_PREFIX = "uploads"  # sources of uploaded files: "uploads/<collection>/<file>"
RESERVED_FOLDER = (
    f"in a corpus folder named '{UPLOADS_PREFIX}', a name reserved for uploaded files: not ingested; "
    "rename the folder"
)


def crash_point(stage: str, name: str = "") -> None:
    """TEST HOOK, for tests only (tests/test_crash_safety.py): when the environment variable
    DALIL_TEST_CRASH_AT is `STAGE` or `STAGE:FILE_NAME`, the process kills itself (SIGKILL: no
    cleanup, no flush, as a power cut or the OOM killer) on reaching that stage (for that file).
    Stages: parsing, embedding, upserting, registry, optimisation. Never set it in production."""
    wanted = os.environ.get(CRASH_AT)
    if not wanted:
        return
    stage_wanted, _, file_wanted = wanted.partition(":")
    if stage_wanted == stage and (not file_wanted or file_wanted == name):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


class Syncer:
    def __init__(
        self,
        settings: Settings,
        index: Index,
        progress: Progress | None = None,
        on_result: Callable[[DocResult], None] | None = None,
    ) -> None:
        self.settings = settings
        self.limits = settings.tuning  # what one file may cost (docs/integrity.md)
        self.index = index
        self.registry = Registry(settings.registry_path)
        self.cache = EmbeddingCache(settings.embed_cache or settings.data_dir / "embedding-cache.sqlite")
        self.collections = load_collections(settings.definitions_dir)
        # content owners' metadata edits (the service's PATCH /v1/documents/{id}), by document id,
        # kept in the data directory: they take precedence over the collection definitions
        self.edits = load_metadata_edits(settings.metadata_path)
        self.progress = progress or (lambda done, total, msg: None)
        # called with each file's result as soon as it is known (a service job's per-file status)
        self.on_result = on_result or (lambda result: None)

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
        """A file's source: its path relative to the corpus folder ("maroc_fr/Loi 09-08.pdf"), or
        under `uploads/` for an upload ("uploads/avis/note.pdf"), so that an upload never takes the
        name, and so the place, of an official text with the same folder and file name."""
        rel = _under(path, self.settings.corpus_dir)
        if rel is not None:
            return rel.as_posix()
        up = _under(path, self.settings.uploads_dir)
        if up is not None:
            return f"{UPLOADS_PREFIX}/{up.as_posix()}"
        return path.name if not path.parent.name else f"{path.parent.name}/{path.name}"

    def meta_for(self, coll: Collection, path: Path) -> DocumentMeta:
        """The collection definition's metadata (title, law numbers, dates) of a corpus file; an
        upload with the same file name does not inherit an official text's metadata."""
        if _under(path, self.settings.corpus_dir) is None:
            return DocumentMeta()
        return coll.documents.get(path.name) or DocumentMeta()

    # ------------------------------------------------------------------ run
    def run(
        self,
        paths: list[Path] | None = None,
        collection: str | None = None,
        prune: bool = False,
        force: bool = False,
        quick_first: bool = False,
    ) -> SyncReport:
        """Synchronise `paths` (default: the corpus). `quick_first`: process text files before
        office files and PDFs, the smallest first, so that a first ingestion makes documents
        answerable within seconds (the service's jobs); the report lists them in discovery order
        either way."""
        started = time.perf_counter()
        if collection:
            check_collection_name(collection, where="--collection")  # before anything is written
        if not paths:  # the whole corpus: a missing folder is one message, not a failed document "."
            require_corpus(self.settings.corpus_dir)
        report = SyncReport()
        report.orphans_removed = self.remove_orphans()
        files, left_out = discover_all(paths, self.settings.corpus_dir)
        seen_hashes: dict[str, str] = {}
        seen_ids: set[str] = set()
        done: list[tuple[int, DocResult]] = []
        for i, (position, path) in enumerate(processing_order(files, quick_first)):
            self.progress(i, len(files), path.name)
            t0 = time.perf_counter()
            result = self._sync_one(path, collection, seen_hashes, force)
            result.seconds = time.perf_counter() - t0
            seen_ids.add(result.doc_id)
            done.append((position, result))
            self.on_result(result)
        report.documents.extend(result for _, result in sorted(done, key=lambda pair: pair[0]))
        for path, why in left_out:
            source = self.source_of(path)
            if why in NOT_DOCUMENTS:
                report.ignored.append({"path": source, "reason": why})
            else:
                report.documents.append(DocResult(source, doc_id_for(source), Outcome.SKIPPED, error=why))
        self.progress(len(files), len(files), "done")
        if prune:
            report.documents.extend(self._prune(paths, collection, seen_ids))
        self.index.store.flush()
        pending = self.optimize_marker
        report.optimize_resumed = pending.exists()
        changed = any(d.status in (Outcome.ADDED, Outcome.UPDATED, Outcome.REMOVED) for d in report.documents)
        if changed or report.orphans_removed or report.optimize_resumed:
            # the embedded engine builds its HNSW graphs only when asked (no background optimizer);
            # the marker, written before and removed after, makes an interrupted one run again
            pending.parent.mkdir(parents=True, exist_ok=True)
            pending.write_text(utc_now())
            crash_point("optimisation")
            with self.index.lock:
                self.index.store.optimize()
            pending.unlink()
        report.seconds = time.perf_counter() - started
        return report

    @property
    def optimize_marker(self) -> Path:
        """DATA_DIR/index/optimize-pending: an optimisation was started and has not finished."""
        return self.settings.index_dir / OPTIMIZE_PENDING

    def remove_orphans(self) -> int:
        """Delete the chunks whose (doc_id, version) is not the version the registry records as
        indexed (a crash between writing a document's chunks and recording it leaves them); return
        how many. A record whose version is not whole in the index loses its hash, so the file is
        indexed again when next synced. Costs one count per document when nothing is wrong; the
        index is scrolled only when its total differs."""
        store = self.index.store
        expected: dict[str, int] = {}
        for rec in self.registry.all():
            if rec.status in (DocumentStatus.INDEXED, DocumentStatus.UPDATING) and (rec.version or 0) > 0:
                expected[rec.doc_id] = rec.version
                found = store.count(Where(doc_ids=[rec.doc_id], version=rec.version))
                if found != rec.chunks and rec.hash is not None:
                    self.registry.upsert(rec.doc_id, hash=None)
        total = store.count()
        if total == sum(store.count(Where(doc_ids=[d], version=v)) for d, v in expected.items()):
            return 0
        stray: dict[str, int] = {}
        for payload in store.scroll():
            doc_id, version = payload["doc_id"], payload["version"]
            if expected.get(doc_id) != version:
                stray[doc_id] = stray.get(doc_id, 0) + 1
        with self.index.lock:
            for doc_id in stray:
                if doc_id in expected:
                    store.delete(Where(doc_ids=[doc_id], exclude_version=expected[doc_id]))
                else:
                    store.delete(Where(doc_ids=[doc_id]))
            store.flush()
        removed = sum(stray.values())
        if removed:
            log.warning(
                "removed %d orphan chunk(s) of %d document(s) left by an interrupted run", removed, len(stray)
            )
        return removed

    def _sync_one(
        self, path: Path, collection: str | None, seen_hashes: dict[str, str], force: bool = False
    ) -> DocResult:
        source = self.source_of(path)
        refused = confinement_error(path, [self.settings.corpus_dir, self.settings.uploads_dir])
        if (
            refused is None
            and source.split("/", 1)[0] == UPLOADS_PREFIX
            and (_under(path, self.settings.corpus_dir) is not None)
        ):
            refused = RESERVED_FOLDER
        if refused:  # never read, never registered: a link or a path leaving the corpus and uploads
            return DocResult(source, doc_id_for(source), Outcome.FAILED, error=refused)
        doc_id = self.registry.identify(source, str(path.resolve()))
        if collection:
            check_collection_name(collection, where="--collection")
            coll = self.collections.get(collection) or Collection(name=collection, folder=collection)
            self.collections.setdefault(collection, coll)
        else:
            coll = collection_for(path, self.settings.corpus_dir, self.collections)
        result = DocResult(source, doc_id, Outcome.FAILED)
        previous = self.registry.get(doc_id)
        if previous and previous.status == DocumentStatus.WITHDRAWN:  # only its owner brings it back
            return DocResult(source, doc_id, Outcome.SKIPPED, error=withdrawn_notice(previous))
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
            meta = self.edits.get(doc_id) or self.meta_for(coll, path)
            language_hint = meta.language or coll.language
            parsed = parse_file(
                path,
                language=language_hint,
                ocr_languages=self.settings.ocr_languages,
                dpi=self.settings.ocr_dpi,
                cache_dir=self.settings.data_dir / "ocr-cache",
                limits=self.limits,
            )
            crash_point("parsing", path.name)
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
            crash_point("registry", path.name)
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
        crash_point("embedding", path.name)
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
            crash_point("upserting", path.name)
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
            if rec.doc_id in seen or rec.status in (DocumentStatus.REMOVED, DocumentStatus.WITHDRAWN):
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

    def withdraw(self, doc_id: str, by: str) -> bool:
        """Withdraw a document on its owner's request: its chunks leave the index, the registry
        records who and when, no sync re-indexes it until `restore`, and an uploaded file is moved
        out of the uploads folder (to DATA_DIR/withdrawn/, kept for its owner, never served).
        False when the registry does not know `doc_id`; withdrawing twice changes nothing."""
        rec = self.registry.get(doc_id)
        if rec is None:
            return False
        if rec.status == DocumentStatus.WITHDRAWN:
            return True
        with self.index.lock:
            self.index.store.delete(Where(doc_ids=[doc_id]))
        path = rec.path
        uploaded = _under(Path(rec.path), self.settings.uploads_dir) if rec.path else None
        if uploaded is not None and Path(rec.path).is_file():
            kept = self.withdrawn_dir / uploaded
            kept.parent.mkdir(parents=True, exist_ok=True)
            os.replace(rec.path, kept)
            path = str(kept)
        self.registry.upsert(
            doc_id,
            status=DocumentStatus.WITHDRAWN,
            chunks=0,
            flagged_chunks=0,
            hash=None,
            path=path,
            withdrawn_by=by,
            withdrawn_at=utc_now(),
        )
        return True

    def restore(self, doc_id: str) -> SyncReport | None:
        """Bring a withdrawn document back: its file returns to where it was uploaded (when it was
        moved) and it is indexed again. None when `doc_id` is not a withdrawn document."""
        rec = self.registry.get(doc_id)
        if rec is None or rec.status != DocumentStatus.WITHDRAWN:
            return None
        path = Path(rec.path)
        kept = _under(path, self.withdrawn_dir)
        if kept is not None:
            back = self.settings.uploads_dir / kept
            back.parent.mkdir(parents=True, exist_ok=True)
            if path.is_file() and not back.exists():
                os.replace(path, back)
            path = back
        self.registry.upsert(
            doc_id, status=DocumentStatus.REMOVED, path=str(path), withdrawn_by=None, withdrawn_at=None
        )
        return self.run([path], collection=rec.collection, force=True)

    def replace(self, doc_id: str, new_file: Path, by: str) -> SyncReport:
        """Replace a registered document's file with `new_file` on its owner's explicit request:
        the previous file is kept in DATA_DIR/replaced/, the new one takes its place (same path,
        same id, same collection) and is indexed as the document's next version; the registry
        records the previous version's hash, who and when. Nothing changes when the new file cannot
        be indexed (the previous file is put back and stays searchable)."""
        rec = self.registry.get(doc_id)
        if rec is None:
            raise IngestError(f"no document {doc_id!r} in the registry: see `dalil sources`")
        if rec.status == DocumentStatus.WITHDRAWN:
            raise IngestError(f"{doc_id} is {withdrawn_notice(rec)}, before replacing it")
        target = Path(rec.path)
        refused = confinement_error(target, [self.settings.corpus_dir, self.settings.uploads_dir])
        if refused:
            raise IngestError(f"{doc_id}: its registered file {target}: {refused}")
        new_file = Path(new_file)
        if not new_file.is_file():
            raise IngestError(f"{new_file}: not a file; give the new version of {doc_id} as a file path")
        if new_file.suffix.lower() != target.suffix.lower():
            raise IngestError(
                f"{new_file.name} is a {new_file.suffix or 'file without extension'} file and {doc_id} a "
                f"{target.suffix} one: a replacement must be the same kind of file (convert it first)"
            )
        check_size(new_file.stat().st_size, self.limits)
        raw = new_file.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        if digest == rec.hash and rec.status == DocumentStatus.INDEXED:
            return self.run([target], collection=rec.collection)  # reported unchanged
        kept: Path | None = None
        if target.is_file():
            kept = (
                self.replaced_dir
                / hashlib.sha256(doc_id.encode()).hexdigest()[:16]
                / (f"{rec.hash or 'unindexed'}{target.suffix}")
            )
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(target, kept)
        tmp = target.with_name(f".{target.name}.replacing")
        try:
            tmp.write_bytes(raw)
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise IngestError(
                f"cannot write the new version over {target}: {exc.strerror or exc}; "
                "check the corpus folder's permissions"
            ) from exc
        report = self.run([target], collection=rec.collection, force=True)
        indexed = any(
            d.doc_id == doc_id and d.status in (Outcome.ADDED, Outcome.UPDATED) for d in report.documents
        )
        if not indexed:
            if kept is not None:  # the previous version stays, on disk as in the index
                shutil.copy2(kept, target)
            return report
        self.registry.upsert(doc_id, previous_hash=rec.hash, replaced_by=by, replaced_at=utc_now())
        return report

    @property
    def replaced_dir(self) -> Path:
        """Where the previous files of explicitly replaced documents are kept (not served)."""
        return self.settings.data_dir / "replaced"

    @property
    def withdrawn_dir(self) -> Path:
        """Where withdrawn uploads are kept: in the data directory, outside what is served."""
        return self.settings.data_dir / "withdrawn"


def withdrawn_notice(rec: DocumentRecord) -> str:
    """Why a sync skips a withdrawn document, and how its owner brings it back."""
    day = (rec.withdrawn_at or "")[:10] or "an unknown date"
    return (
        f"withdrawn by {rec.withdrawn_by or 'an unknown user'} on {day}; "
        f"restore it with `dalil restore {rec.doc_id}`"
    )


def _under(path: Path, root: Path) -> Path | None:
    """`path` relative to `root` when it lies under it (both resolved), else None."""
    try:
        return path.resolve().relative_to(root.resolve())
    except ValueError:
        return None


def rebuild(settings: Settings) -> None:
    """Drop the index and the registry's versions; the next sync re-embeds everything."""
    from assistant.index import drop_shared

    drop_shared(settings)
    shutil.rmtree(settings.index_dir, ignore_errors=True)
    withdrawn: list[DocumentRecord] = []
    if settings.registry_path.exists():
        try:
            with Registry(settings.registry_path) as registry:  # owners' withdrawals outlive a rebuild
                withdrawn = [r for r in registry.all() if r.status == DocumentStatus.WITHDRAWN]
        except StoreDamagedError as exc:  # the rebuild is its recovery: kept aside, not deleted
            aside = move_aside(settings.registry_path)
            log.warning(
                "%s Rebuilding it; the damaged file is kept as %s. Withdrawals recorded only in it are "
                "lost: withdraw those documents again with `dalil remove DOC_ID`.",
                exc,
                aside,
            )
        else:
            settings.registry_path.unlink()
    if withdrawn:
        with Registry(settings.registry_path) as registry:
            for rec in withdrawn:
                fields = rec.as_dict()
                del fields["doc_id"]
                registry.upsert(rec.doc_id, **fields)
