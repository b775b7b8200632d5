"""Documents for content owners, over HTTP: upload, list, show, withdraw, restore, edit metadata,
re-index one or all, and the jobs that do it (`server/jobs.py`).

Every change is a background job (202 with the job, `Location: /v1/jobs/{id}`), run by the one
writer thread; searches and answers continue meanwhile and see a document's previous version until
its new one is committed. Changes and jobs need an owner's key (403 otherwise); listing and showing
documents need any key, and show only the collections the caller's role may see (a document of a
collection it may not see is answered 404, as one that does not exist).
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    File,
    Form,
    HTTPException,
    Query,
    Request,
    Response,
    UploadFile,
)
from pydantic import BaseModel, ConfigDict

from assistant.corpus import COLLECTION_NAME, load_collections
from assistant.errors import DalilError
from assistant.index import Index
from assistant.legal import normalise_law_number
from assistant.modes import Audience
from assistant.registry import DocumentRecord, DocumentStatus, Registry
from assistant.settings import Settings
from ingest.parsing import SUPPORTED
from server.audit_api import router as audit_router
from server.auth import Caller, Role, current_caller, require
from server.jobs import Job, JobKind, JobManager, document_meta

router = APIRouter(tags=["documents"])
router.include_router(audit_router)  # the audit trail's listing, for the same front ends

Owner = Annotated[Caller, Depends(require(Role.OWNER))]
AnyCaller = Annotated[Caller, Depends(current_caller)]

UPLOAD_CHUNK = 1 << 20  # bytes read at a time from an uploaded file


def attach_jobs(settings: Settings, index: Index) -> JobManager:
    """The service's job manager over its one index, started, its progress in the metrics."""
    manager = JobManager(settings, index)
    _hook_metrics(manager)
    manager.start()
    return manager


def _hook_metrics(manager: JobManager) -> None:
    try:
        metrics = importlib.import_module("server.metrics")
    except ImportError:  # the service's metrics module is optional for the job manager
        return
    counters = [getattr(metrics, n, None) for n in ("JOBS", "JOBS_RUNNING", "JOB_FILES", "JOB_PROGRESS")]
    if any(c is None for c in counters):
        return
    jobs, running, files, progress = counters
    counted: dict[str, int] = {}

    def listener(job: Job) -> None:
        if job.state.finished:
            jobs.labels(kind=job.kind.value, state=job.state.value).inc()  # type: ignore[union-attr]
        running.set(1 if job.state.value == "running" else 0)  # type: ignore[union-attr]
        progress.set(job.done / job.total if job.total else 0.0)  # type: ignore[union-attr]
        new = job.files[counted.get(job.id, 0) :]
        for f in new:
            files.labels(outcome=f["status"]).inc()  # type: ignore[union-attr]
        counted[job.id] = len(job.files)
        if job.state.finished:
            counted.pop(job.id, None)

    manager.listeners.append(listener)


_ATTACHING = threading.Lock()


def ensure_jobs(app: FastAPI) -> JobManager | None:
    """The app's job manager (`app.state.jobs`), started over the app's index once it is open
    (`app.state.dalil`) and stopped with the app (`app.state.on_shutdown`); None before that."""
    state = app.state
    manager: JobManager | None = getattr(state, "jobs", None)
    if manager is not None:
        return manager
    dalil = getattr(state, "dalil", None)
    if dalil is None:
        return None
    with _ATTACHING:
        manager = getattr(state, "jobs", None)
        if manager is None:
            manager = attach_jobs(state.settings, dalil.index)
            state.jobs = manager
            hooks = getattr(state, "on_shutdown", None)
            if hooks is not None:
                hooks.append(manager.close)
    return manager


def _jobs(request: Request) -> JobManager:
    manager = ensure_jobs(request.app)
    if manager is None:
        raise HTTPException(503, "the index is not open yet: retry once /readyz answers ready")
    return manager


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _accepted(job: Job, response: Response) -> dict[str, Any]:
    response.status_code = 202
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return job.as_dict()


def _submit(request: Request, kind: JobKind, params: dict[str, Any], caller: Caller) -> Job:
    try:
        return _jobs(request).submit(kind, params, requested_by=caller.recorded_as)
    except DalilError as exc:
        raise HTTPException(503, str(exc)) from exc


def _audiences(settings: Settings) -> dict[str, Audience]:
    return {name: c.audience for name, c in load_collections(settings.definitions_dir).items()}


def _visible(record: DocumentRecord, caller: Caller, audiences: dict[str, Audience]) -> bool:
    # a collection without a definition is public, as ingestion indexes it
    return caller.may_see(audiences.get(record.collection, Audience.PUBLIC))


def _record(settings: Settings, doc_id: str, caller: Caller) -> DocumentRecord:
    with Registry(settings.registry_path) as registry:
        rec = registry.get(doc_id)
    if rec is None or not _visible(rec, caller, _audiences(settings)):
        raise HTTPException(404, f"no document {doc_id!r}: see GET /v1/documents")
    return rec


def _shown(rec: DocumentRecord, caller: Caller) -> dict[str, Any]:
    """A registry row as `dalil sources --json` prints it; the file's location on the server only
    for owners."""
    row = rec.as_dict()
    if not caller.can_manage_documents:
        row.pop("path", None)
    return row


# ---------------------------------------------------------------------- documents
@router.get("/v1/documents")
def list_documents(
    request: Request, caller: AnyCaller, collection: str | None = None
) -> list[dict[str, Any]]:
    """The document registry (`dalil sources --json`), only the collections the caller may see."""
    settings = _settings(request)
    with Registry(settings.registry_path) as registry:
        records = registry.all(collection)
    audiences = _audiences(settings)
    return [_shown(r, caller) for r in records if _visible(r, caller, audiences)]


@router.get("/v1/documents/{doc_id}")
def show_document(request: Request, doc_id: str, caller: AnyCaller) -> dict[str, Any]:
    """One document: its registry row and its metadata (the owners' edits over the definition)."""
    settings = _settings(request)
    rec = _record(settings, doc_id, caller)
    meta = document_meta(settings, rec)
    out = _shown(rec, caller)
    out["metadata"] = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in meta.__dict__.items()}
    out["audience"] = _audiences(settings).get(rec.collection, Audience.PUBLIC).value
    return out


@router.post("/v1/documents", status_code=202)
async def upload_documents(
    request: Request,
    response: Response,
    caller: Owner,
    collection: Annotated[str, Form(description="The collection the files go to")],
    files: Annotated[list[UploadFile], File(description="One or more documents")],
) -> dict[str, Any]:
    """Upload files to a collection; a job ingests them (same limits as `dalil ingest`)."""
    settings = _settings(request)
    _jobs(request)  # 503 before anything is saved when no job can run yet
    if not COLLECTION_NAME.fullmatch(collection):
        raise HTTPException(
            422,
            f"collection name {collection!r} is not allowed: use 1 to 40 lowercase letters a-z, digits, "
            "'_' or '-', starting with a letter or digit",
        )
    if not files:
        raise HTTPException(422, "no file: send one or more `files` parts")
    limit = settings.tuning.max_file_bytes
    names = [_upload_name(f.filename) for f in files]
    if len(set(names)) != len(names):
        raise HTTPException(422, "two files have the same name: send each file once")
    target = settings.uploads_dir / collection
    target.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    staged: list[tuple[Path, Path]] = []
    try:
        for upload, name in zip(files, names, strict=True):
            final = target / name
            tmp = target / f".{name}.upload"
            size = 0
            with tmp.open("wb") as out:
                while chunk := await upload.read(UPLOAD_CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise HTTPException(
                            413,
                            f"{name}: file too large (over {limit:,} bytes, DALIL_MAX_FILE_BYTES): "
                            "split the document or ask the operator to raise the limit; nothing was ingested",
                        )
                    out.write(chunk)
            staged.append((tmp, final))
        for tmp, final in staged:  # all files accepted: only then do they replace anything
            os.replace(tmp, final)
            saved.append(final)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        for name in names:
            (target / f".{name}.upload").unlink(missing_ok=True)
    job = _submit(
        request, JobKind.UPLOAD, {"collection": collection, "paths": [str(p) for p in saved]}, caller
    )
    return _accepted(job, response)


def _upload_name(filename: str | None) -> str:
    name = Path((filename or "").replace("\\", "/")).name
    if not name or name.startswith("."):
        raise HTTPException(422, f"file name {filename!r} is not allowed: give the file a visible name")
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED:
        raise HTTPException(
            415,
            f"{name}: unsupported file type {suffix or '(none)'}; Dalil reads {', '.join(sorted(SUPPORTED))}",
        )
    return name


@router.post("/v1/documents/{doc_id}/withdraw", status_code=202)
def withdraw_document(request: Request, response: Response, doc_id: str, caller: Owner) -> dict[str, Any]:
    """Withdraw a document (recorded with the key's name and the time; no sync re-indexes it)."""
    _record(_settings(request), doc_id, caller)
    return _accepted(_submit(request, JobKind.WITHDRAW, {"doc_id": doc_id}, caller), response)


@router.post("/v1/documents/{doc_id}/restore", status_code=202)
def restore_document(request: Request, response: Response, doc_id: str, caller: Owner) -> dict[str, Any]:
    """Bring a withdrawn document back: its file returns and a job indexes it again."""
    rec = _record(_settings(request), doc_id, caller)
    if rec.status != DocumentStatus.WITHDRAWN:
        raise HTTPException(409, f"{doc_id} is not withdrawn (status {rec.status.value}): nothing to restore")
    return _accepted(_submit(request, JobKind.RESTORE, {"doc_id": doc_id}, caller), response)


@router.post("/v1/documents/{doc_id}/reindex", status_code=202)
def reindex_document(request: Request, response: Response, doc_id: str, caller: Owner) -> dict[str, Any]:
    """Process one document again, even if its file did not change."""
    rec = _record(_settings(request), doc_id, caller)
    if rec.status == DocumentStatus.WITHDRAWN:
        raise HTTPException(409, f"{doc_id} is withdrawn: restore it (POST /v1/documents/{doc_id}/restore)")
    return _accepted(_submit(request, JobKind.REINDEX, {"doc_id": doc_id}, caller), response)


class MetadataEdit(BaseModel):
    """The fields of a document's metadata to change (the others keep their value; null clears)."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    reference: str | None = None
    law_numbers: list[str] | None = None
    in_force_from: dt.date | None = None
    in_force_until: dt.date | None = None
    supersedes: list[str] | None = None
    superseded_by: str | None = None
    parallel: str | None = None
    source_url: str | None = None
    language: str | None = None


LIST_FIELDS = {"law_numbers", "supersedes"}


@router.patch("/v1/documents/{doc_id}", status_code=202)
def edit_document(
    request: Request, response: Response, doc_id: str, edit: MetadataEdit, caller: Owner
) -> dict[str, Any]:
    """Edit a document's metadata (kept in Dalil's data directory, never in the collection
    definitions); a job re-indexes the document so that its chunks carry the new values."""
    rec = _record(_settings(request), doc_id, caller)
    if rec.status == DocumentStatus.WITHDRAWN:
        raise HTTPException(409, f"{doc_id} is withdrawn: restore it before editing it")
    changes: dict[str, Any] = {}
    for key in edit.model_fields_set:
        value = getattr(edit, key)
        if key in LIST_FIELDS:
            value = value or []
        if key == "law_numbers":
            value = [normalise_law_number(n) for n in value]
        changes[key] = value.isoformat() if isinstance(value, dt.date) else value
    if not changes:
        raise HTTPException(422, "nothing to change: send at least one metadata field")
    if (frm := edit.in_force_from) and (until := edit.in_force_until) and until < frm:
        raise HTTPException(422, "in_force_until is before in_force_from")
    job = _submit(request, JobKind.EDIT, {"doc_id": doc_id, "changes": changes}, caller)
    return _accepted(job, response)


class ReindexRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    collection: str | None = None  # one collection of the corpus (default: the corpus and the uploads)
    prune: bool = False  # withdraw documents whose files disappeared (`dalil ingest --prune`)
    force: bool = False  # process every file again, even unchanged ones
    uploads: bool = True  # the uploaded files too (`dalil ingest` through the service: the corpus only)


@router.post("/v1/reindex", status_code=202)
def reindex_all(
    request: Request, response: Response, caller: Owner, body: ReindexRequest | None = None
) -> dict[str, Any]:
    """Synchronise the corpus (or one collection) and the uploads: what changed is processed
    again (`dalil ingest`), everything with `force`."""
    body = body or ReindexRequest()
    if body.collection is not None and not COLLECTION_NAME.fullmatch(body.collection):
        raise HTTPException(422, f"collection name {body.collection!r} is not allowed")
    return _accepted(_submit(request, JobKind.SYNC, body.model_dump(), caller), response)


# ---------------------------------------------------------------------- jobs
@router.get("/v1/jobs/{job_id}")
def get_job(request: Request, job_id: str, caller: Owner) -> dict[str, Any]:
    """A job: state, progress (files done / total, the current file), each file's outcome."""
    job = _jobs(request).get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r}: see GET /v1/jobs")
    return job.as_dict()


@router.get("/v1/jobs")
def list_jobs(
    request: Request, caller: Owner, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[dict[str, Any]]:
    """The job history, latest first."""
    return [j.as_dict() for j in _jobs(request).recent(limit)]
