"""Ingestion as background jobs of the service: one writer thread, a queue, a kept history.

Content owners' changes (sync the corpus or one collection, ingest uploaded files, re-index one
document, withdraw, restore, edit a document's metadata) are jobs. They run one at a time, in the
order they were submitted, on ONE thread of the service process: the embedded index accepts one
writer, and `ingest.sync.Syncer` does the work exactly as `dalil ingest` does (limits, atomic
replacement, withdrawal, crash safety). Searches and answers go on during a job: the Syncer
replaces a document's chunks under `Index.lock`, which every search also takes, so a reader sees
the previous version until the new one is written and counted, then the new one, never a mix.

Progress (files done of total, the file being processed, each file's outcome and error) is kept in
DATA_DIR/jobs.sqlite with the job's parameters, who asked, when, and its result; the history
outlives the process. A job that was queued or running when the service stopped is marked
`interrupted` when it starts again (the Syncer's crash safety already left the index and registry
in agreement); submit it again to finish it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from assistant.corpus import DocumentMeta, load_collections, load_metadata_edits, save_metadata_edit
from assistant.dates import utc_now
from assistant.errors import DalilError
from assistant.index import Index
from assistant.registry import DocumentRecord, DocumentStatus, Registry
from assistant.settings import Settings
from assistant.sqlite_store import Migration, SQLiteStore
from ingest.sync import DocResult, Outcome, Syncer, SyncReport, discover

log = logging.getLogger(__name__)


class JobKind(StrEnum):
    """What a job does."""

    SYNC = "sync"  # the corpus (or one collection of it), and the uploads: what changed
    UPLOAD = "upload"  # files uploaded to a collection
    REINDEX = "reindex"  # one document, processed again even if unchanged
    WITHDRAW = "withdraw"  # one document out of the index, recorded with who and when
    RESTORE = "restore"  # a withdrawn document back
    EDIT = "edit"  # one document's metadata changed, then the document re-indexed


class JobState(StrEnum):
    """Where a job stands. `done` means it ran to its end: files may still have failed (the
    result's totals and each file's status say so); `failed` means the job itself could not run."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # queued or running when the service stopped

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.INTERRUPTED)


@dataclass
class Job:
    id: str
    kind: JobKind
    state: JobState
    params: dict[str, Any]
    requested_by: str
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    done: int = 0  # files processed
    total: int = 0  # files to process (known once the job has listed them)
    current: str | None = None  # the file being processed
    files: list[dict[str, Any]] = field(default_factory=list)  # DocResult.as_dict() per file done
    result: dict[str, Any] | None = None  # SyncReport.as_dict(), or what a withdrawal did
    error: str | None = None  # why the job failed

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "state": self.state.value,
            "params": self.params,
            "requested_by": self.requested_by,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "progress": {"done": self.done, "total": self.total, "current": self.current},
            "files": self.files,
            "result": self.result,
            "error": self.error,
        }


SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    params TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    current TEXT,
    files TEXT NOT NULL DEFAULT '[]',
    result TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_at);
"""

# Released migrations are never edited: a change is a new migration at the end.
MIGRATIONS = (Migration(1, "jobs table: kind, state, parameters, progress, per-file results", sql=SCHEMA),)

INTERRUPTED = "the service stopped before this job finished; submit it again to finish it"


class JobStore(SQLiteStore):
    """DATA_DIR/jobs.sqlite: the service's jobs, one row each, written by the writer thread and
    read by the request handlers (one connection, serialised by a lock)."""

    MIGRATIONS = MIGRATIONS
    STORE = "job history"
    RECOVERY = "Move it aside: the service starts a new, empty job history (the documents are not affected)."

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._lock = threading.Lock()

    def save(self, job: Job) -> None:
        row = job.as_dict()
        values = (
            job.id,
            job.kind.value,
            job.state.value,
            json.dumps(job.params, ensure_ascii=False),
            job.requested_by,
            job.created_at,
            job.started_at,
            job.finished_at,
            job.done,
            job.total,
            job.current,
            json.dumps(row["files"], ensure_ascii=False),
            json.dumps(job.result, ensure_ascii=False) if job.result is not None else None,
            job.error,
        )
        with self._lock:
            self.conn.execute(
                "INSERT OR REPLACE INTO jobs (id, kind, state, params, requested_by, created_at, "
                "started_at, finished_at, done, total, current, files, result, error) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
            self.conn.commit()

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            row = self.conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def recent(self, limit: int = 50) -> list[Job]:
        """The latest jobs first."""
        with self._lock:
            rows = self.conn.execute(
                "SELECT * FROM jobs ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,)
            ).fetchall()
        return [_job(r) for r in rows]

    def mark_interrupted(self) -> int:
        """Jobs left queued or running by a previous process: marked interrupted; return how many."""
        with self._lock:
            cur = self.conn.execute(
                "UPDATE jobs SET state = ?, error = ?, finished_at = ?, current = NULL WHERE state IN (?, ?)",
                (
                    JobState.INTERRUPTED.value,
                    INTERRUPTED,
                    utc_now(),
                    JobState.QUEUED.value,
                    JobState.RUNNING.value,
                ),
            )
            self.conn.commit()
        return cur.rowcount


def _job(row: Any) -> Job:
    return Job(
        id=row["id"],
        kind=JobKind(row["kind"]),
        state=JobState(row["state"]),
        params=json.loads(row["params"]),
        requested_by=row["requested_by"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        done=row["done"],
        total=row["total"],
        current=row["current"],
        files=json.loads(row["files"] or "[]"),
        result=json.loads(row["result"]) if row["result"] else None,
        error=row["error"],
    )


Listener = Callable[[Job], None]


class JobStopped(DalilError):
    """The service is stopping: the running job stops between two files (each file already
    processed is committed; the job is recorded as interrupted)."""


class JobManager:
    """Runs the service's jobs on one writer thread, in submission order.

    `start()` marks what a previous process left unfinished as interrupted and starts the thread;
    `submit()` queues a job and returns it (state `queued`); `get()` and `recent()` read the
    history; `close()` lets the running job finish, drops the queue (those jobs are marked
    interrupted at the next start) and stops the thread. `listeners` are called on the writer
    thread after every change of a job (the metrics use it)."""

    def __init__(self, settings: Settings, index: Index, store: JobStore | None = None) -> None:
        self.settings = settings
        self.index = index
        self.store = store or JobStore(settings.jobs_path)
        self.listeners: list[Listener] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._running: Job | None = None
        self._stopping = threading.Event()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        left = self.store.mark_interrupted()
        if left:
            log.warning("%d job(s) left unfinished by the previous run marked interrupted", left)
        self._thread = threading.Thread(target=self._work, name="dalil-jobs", daemon=True)
        self._thread.start()

    def close(self, timeout: float | None = None) -> None:
        """Stop: the running job (if any) after the file it is processing (then recorded as
        interrupted); queued jobs stay queued in the history and are marked interrupted at the
        next start."""
        self._stopping.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)
        self.store.close()

    # ------------------------------------------------------------------ requests
    def submit(self, kind: JobKind, params: dict[str, Any], requested_by: str) -> Job:
        if self._stopping.is_set():
            raise DalilError("the service is stopping: no job is accepted; retry once it is back")
        job = Job(
            id=uuid.uuid4().hex[:16],
            kind=kind,
            state=JobState.QUEUED,
            params=params,
            requested_by=requested_by,
            created_at=utc_now(),
        )
        self.store.save(job)
        self._notify(job)
        self._queue.put(job.id)
        return job

    def get(self, job_id: str) -> Job | None:
        running = self._running
        if running is not None and running.id == job_id:
            return running
        return self.store.get(job_id)

    def recent(self, limit: int = 50) -> list[Job]:
        running = self._running
        jobs = self.store.recent(limit)
        return [running if running is not None and j.id == running.id else j for j in jobs]

    # ------------------------------------------------------------------ the writer thread
    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None or self._stopping.is_set():
                return
            job = self.store.get(job_id)
            if job is None or job.state is not JobState.QUEUED:
                continue
            self._run(job)

    def _run(self, job: Job) -> None:
        job.state = JobState.RUNNING
        job.started_at = utc_now()
        self._running = job
        self._save(job)
        try:
            job.result = self._execute(job)
            job.state = JobState.DONE
        except JobStopped as exc:
            job.state, job.error = JobState.INTERRUPTED, str(exc)
        except DalilError as exc:
            job.state, job.error = JobState.FAILED, str(exc)
        except Exception as exc:  # a job never stops the writer thread
            log.exception("job %s (%s) failed", job.id, job.kind.value)
            job.state, job.error = JobState.FAILED, f"unexpected error: {type(exc).__name__}: {exc}"
        job.current = None
        job.finished_at = utc_now()
        self._save(job)
        self._running = None

    def _save(self, job: Job) -> None:
        self.store.save(job)
        self._notify(job)

    def _notify(self, job: Job) -> None:
        for listener in self.listeners:
            try:
                listener(job)
            except Exception:  # metrics never break a job
                log.exception("job listener failed")

    def _syncer(self, job: Job, offset: list[int]) -> Syncer:
        """A Syncer whose progress and per-file results go into `job` (offset: files done by the
        job's earlier runs, when it syncs more than one root)."""

        def progress(done: int, total: int, name: str) -> None:
            if self._stopping.is_set() and name != "done":  # between two files: stop there
                raise JobStopped("the service stopped during the job: submit it again to finish it")
            job.done = offset[0] + done
            job.total = max(job.total, offset[0] + total)
            job.current = None if name == "done" else name
            self._save(job)

        def on_result(result: DocResult) -> None:
            job.files.append(result.as_dict())

        return Syncer(self.settings, self.index, progress=progress, on_result=on_result)

    def _execute(self, job: Job) -> dict[str, Any]:
        p = job.params
        match job.kind:
            case JobKind.SYNC:
                roots: list[list[Path] | None] = [None]
                if p.get("collection"):  # that collection's folder of the corpus only
                    roots = [[self._folder(p["collection"])]]
                elif p.get("uploads", True) and self.settings.uploads_dir.exists():
                    roots.append([self.settings.uploads_dir])
                job.total = sum(len(discover(r, self.settings.corpus_dir)) for r in roots)
                return self._sync(job, roots, p.get("collection"), bool(p.get("prune")), bool(p.get("force")))
            case JobKind.UPLOAD:
                paths = [Path(x) for x in p["paths"]]
                job.total = len(paths)
                return self._sync(job, [paths], p["collection"], False, False)
            case JobKind.REINDEX:
                rec = self._record(p["doc_id"])
                return self._sync(job, [[Path(rec.path)]], rec.collection, False, True)
            case JobKind.EDIT:
                rec = self._record(p["doc_id"])
                meta = document_meta(self.settings, rec)
                for key, value in p["changes"].items():
                    is_date = key in ("in_force_from", "in_force_until") and value
                    setattr(meta, key, dt.date.fromisoformat(value) if is_date else value)
                save_metadata_edit(self.settings.metadata_path, rec.doc_id, meta)
                return self._sync(job, [[Path(rec.path)]], rec.collection, False, True)
            case JobKind.WITHDRAW:
                rec = self._record(p["doc_id"])
                with Syncer(self.settings, self.index) as syncer:
                    syncer.withdraw(rec.doc_id, by=job.requested_by)
                return {"doc_id": rec.doc_id, "status": DocumentStatus.WITHDRAWN.value}
            case JobKind.RESTORE:
                offset = [0]
                with self._syncer(job, offset) as syncer:
                    report = syncer.restore(p["doc_id"])
                if report is None:
                    raise DalilError(
                        f"no withdrawn document {p['doc_id']!r} in the registry: see the document list"
                    )
                return report.as_dict()

    def _folder(self, collection: str) -> Path:
        coll = load_collections(self.settings.definitions_dir).get(collection)
        folder = self.settings.corpus_dir / ((coll.folder if coll else None) or collection)
        if not folder.is_dir():
            raise DalilError(
                f"collection {collection!r} has no folder in the corpus ({folder}): check the name, "
                "or upload its files with POST /v1/documents"
            )
        return folder

    def _record(self, doc_id: str) -> DocumentRecord:
        with Registry(self.settings.registry_path) as registry:
            rec = registry.get(doc_id)
        if rec is None:
            raise DalilError(f"no document {doc_id!r} in the registry: see the document list")
        return rec

    def _sync(
        self,
        job: Job,
        roots: list[list[Path] | None],
        collection: str | None,
        prune: bool,
        force: bool,
    ) -> dict[str, Any]:
        offset = [0]
        merged = SyncReport()
        with self._syncer(job, offset) as syncer:
            for paths in roots:
                report = syncer.run(paths, collection=collection, prune=prune, force=force, quick_first=True)
                merged.documents.extend(report.documents)
                merged.ignored.extend(report.ignored)
                merged.orphans_removed += report.orphans_removed
                merged.optimize_resumed = merged.optimize_resumed or report.optimize_resumed
                merged.seconds += report.seconds
                offset[0] = job.done
        # files refused before being read (hidden, links) count in the results, not in the progress
        known = {f["doc_id"] for f in job.files}
        job.files.extend(d.as_dict() for d in merged.documents if d.doc_id not in known)
        return merged.as_dict()


def document_meta(settings: Settings, rec: DocumentRecord) -> DocumentMeta:
    """A document's current metadata: its owners' edit if any, else, for a corpus file, its
    collection definition's (as `Syncer.meta_for` gives it)."""
    edited = load_metadata_edits(settings.metadata_path).get(rec.doc_id)
    if edited is not None:
        return edited
    path = Path(rec.path)
    try:
        path.resolve().relative_to(settings.corpus_dir.resolve())
    except ValueError:  # an upload does not inherit an official text's metadata
        return DocumentMeta()
    coll = load_collections(settings.definitions_dir).get(rec.collection)
    return (coll.documents.get(path.name) if coll else None) or DocumentMeta()


def failed_files(job: Job) -> bool:
    """Whether any file of a finished job failed (`dalil ingest` then exits 2)."""
    return any(f.get("status") == Outcome.FAILED.value for f in job.files)
