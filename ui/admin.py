"""Content owners: collections, upload, registry, re-index, withdraw, edit metadata, through the
app's client (`state.client()`): jobs of the service when DALIL_API_URL is set (the service owns the
index; its jobs and their progress are listed here), else in the app's process.

Metadata edits are kept in the data directory (`Settings.metadata_path`, laid over the collection
definitions by ingestion), never written into the definitions. A new collection is a definition
file, written only where the operator configured a definitions folder (`DALIL_DEFINITIONS_DIR`):
the repository's `corpora/` holds the shipped defaults and is never written by the app."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st
import yaml

from assistant.client import IngestProgress
from assistant.corpus import (
    COLLECTION_NAME,
    DocumentMeta,
    check_collection_name,
    load_collections,
    load_metadata_edits,
)
from assistant.errors import DalilError
from assistant.language import LANGUAGES
from assistant.modes import Audience, Role
from assistant.registry import DocumentRecord, DocumentStatus
from assistant.settings import REPO_ROOT, Settings
from ingest.sync import Outcome
from ui import state
from ui.access import require
from ui.i18n import error_message, t

REGISTRY_COLUMNS = (
    "doc_id",
    "status",
    "version",
    "chunks",
    "flagged_chunks",
    "collection",
    "method",
    "indexed_at",
    "error",
)
SUMMARY_KEYS = tuple(o.value for o in Outcome) + ("chunks", "embedded")


def _run(work: Callable[[IngestProgress], dict[str, Any]], lang: str = "fr") -> None:
    """Run one change of the client (`work(progress)`, returning its `SyncReport.as_dict()`) with a
    progress bar, and keep what it did for the summary."""
    bar = st.progress(0.0, text=t(lang, "running"))

    def progress(done: int, total: int, name: str) -> None:
        bar.progress(done / total if total else 1.0, text=f"{t(lang, 'running')} {name}")

    try:
        report = work(progress)
    except DalilError as exc:
        st.error(error_message(lang, exc))
        return
    bar.progress(1.0, text=t(lang, "done"))
    rows = [x for x in report.get("documents", []) if x["status"] != Outcome.UNCHANGED]
    st.session_state["last_ingest"] = {"rows": rows, "totals": report.get("totals", {})}


JOBS_SHOWN = 8  # the service's latest jobs listed on the page
JOBS_REFRESH_S = 2.0  # how often the list is read again while a job is queued or running


def _jobs_box(lang: str) -> None:
    """The service's latest jobs (another owner's upload, the first ingestion of `dalil demo`) with
    their progress, read again every few seconds while one is under way."""
    try:
        under_way = any(j["state"] in ("queued", "running") for j in state.client().jobs(JOBS_SHOWN))
    except DalilError as exc:
        st.error(error_message(lang, exc))
        return

    @st.fragment(run_every=JOBS_REFRESH_S if under_way else None)
    def jobs() -> None:
        rows = []
        for j in state.client().jobs(JOBS_SHOWN):
            p = j["progress"]
            rows.append(
                {
                    t(lang, "col_kind"): t(lang, f"job_kind_{j['kind']}"),
                    t(lang, "col_status"): t(lang, f"job_state_{j['state']}"),
                    t(lang, "col_progress"): f"{p['done']}/{p['total']}" if p["total"] else "",
                    t(lang, "col_current"): p["current"] or "",
                    t(lang, "col_created_at"): (j["created_at"] or "")[:19].replace("T", " "),
                    t(lang, "col_error"): j["error"] or "",
                }
            )
        with st.container(border=True):
            st.subheader(t(lang, "jobs_title"))
            st.dataframe(rows, use_container_width=True, hide_index=True)

    jobs()


def _status(lang: str, value: str) -> str:
    return t(lang, f"status_{value}")


def summary_text(lang: str, totals: dict[str, int]) -> str:
    """An ingestion's totals as a sentence in `lang` (never a dict)."""
    parts = [f"{t(lang, 'status_' + k)} : {totals[k]}" for k in SUMMARY_KEYS if totals.get(k)]
    return " · ".join(parts) or t(lang, "nothing_changed")


def _translated_rows(lang: str, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        row = {t(lang, f"col_{c}"): r.get(c) for c in columns}
        status_col = t(lang, "col_status")
        if status_col in row and row[status_col] is not None:
            row[status_col] = _status(lang, str(row[status_col]))
        out.append(row)
    return out


def definitions_writable(settings: Settings) -> bool:
    """The app writes collection definitions only into a folder the operator configured."""
    return settings.definitions_dir.resolve() != (REPO_ROOT / "corpora").resolve()


def _collections_box(settings: Settings, lang: str) -> None:
    with st.container(border=True):
        st.subheader(t(lang, "collections_title"))
        collections = load_collections(settings.definitions_dir)
        if collections:
            st.dataframe(
                [
                    {
                        t(lang, "col_collection"): c.name,
                        t(lang, "audience_col"): t(lang, f"audience_{c.audience.value}"),
                        t(lang, "col_language"): t(lang, f"lang_{c.language}")
                        if c.language in LANGUAGES
                        else c.language,
                    }
                    for c in collections.values()
                ],
                use_container_width=True,
                hide_index=True,
            )
        if not definitions_writable(settings):
            st.info(t(lang, "definitions_readonly"))
            return
        with st.form("new_collection_form", clear_on_submit=True):
            name = st.text_input(t(lang, "new_collection_name"), key="new_collection_name").strip()
            audience = st.radio(
                t(lang, "audience_col"),
                [a.value for a in Audience],
                format_func=lambda a: t(lang, f"audience_{a}"),
                horizontal=True,
                key="new_collection_audience",
            )
            language = st.selectbox(
                t(lang, "col_language"),
                LANGUAGES,
                format_func=lambda code: t(lang, f"lang_{code}"),
                key="new_collection_language",
            )
            if st.form_submit_button(t(lang, "create_collection")):
                if not COLLECTION_NAME.fullmatch(name):
                    st.error(t(lang, "bad_collection", name=name))
                elif name in collections:
                    st.error(t(lang, "collection_exists", name=name))
                else:
                    path = settings.definitions_dir / f"{check_collection_name(name)}.yaml"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(
                        yaml.safe_dump(
                            {"name": name, "audience": audience, "language": language, "folder": name},
                            allow_unicode=True,
                            sort_keys=False,
                        ),
                        encoding="utf-8",
                    )
                    st.session_state["upload_collection"] = name
                    if not state.remote():  # the running retriever learns it without a restart
                        state.dalil().retriever.collections = load_collections(settings.definitions_dir)
                    st.success(t(lang, "collection_created", name=name))


def admin_page() -> None:
    lang = st.session_state.lang
    st.header(t(lang, "admin"))
    if not require(Role.OWNER, lang):
        return
    try:
        state.client()
    except DalilError as exc:
        st.error(error_message(lang, exc))
        return
    settings = state.settings()
    if state.remote():
        _jobs_box(lang)
    _collections_box(settings, lang)
    collections = load_collections(settings.definitions_dir)
    with st.container(border=True):
        st.subheader(t(lang, "upload"))
        names = sorted(collections)
        if st.session_state.get("upload_collection") not in names:
            st.session_state.pop("upload_collection", None)
        choice = st.selectbox(
            t(lang, "collection"),
            names,
            index=None,
            placeholder=t(lang, "choose_collection"),
            format_func=lambda n: f"{n} · {t(lang, 'audience_' + collections[n].audience.value)}",
            key="upload_collection",
        )
        st.caption(t(lang, "upload_help", mb=settings.max_file_bytes // 1_048_576))
        files = st.file_uploader(
            t(lang, "upload_files"),
            accept_multiple_files=True,
            key="uploads",
            type=["pdf", "docx", "html", "htm", "md", "txt"],
        )
        if st.button(t(lang, "index"), type="primary", disabled=not files or not choice, key="upload_index"):
            assert choice is not None
            # through a service the files are sent to it (its job saves them); else saved in place
            folder = (
                Path(tempfile.mkdtemp(prefix="dalil-upload-")) if state.remote() else settings.uploads_dir
            )
            target = folder / check_collection_name(choice)
            target.mkdir(parents=True, exist_ok=True)
            paths = []
            for f in files or []:
                path = target / Path(f.name).name
                path.write_bytes(f.getvalue())
                paths.append(path)
            _run(lambda p: state.client().ingest(paths, collection=choice, progress=p), lang)
            if state.remote():
                shutil.rmtree(folder, ignore_errors=True)
    last = st.session_state.get("last_ingest")
    if last:
        st.dataframe(
            _translated_rows(lang, last["rows"], ("doc_id", "status", "chunks", "error")),
            use_container_width=True,
            hide_index=True,
        )
        st.caption(summary_text(lang, last["totals"]))
    st.subheader(t(lang, "registry"))
    try:  # (a service shows file locations to owners' keys only)
        records = [DocumentRecord(**({"path": ""} | r)) for r in state.client().documents()]
    except DalilError as exc:
        st.error(error_message(lang, exc))
        return
    st.dataframe(
        _translated_rows(lang, [r.as_dict() for r in records], REGISTRY_COLUMNS),
        use_container_width=True,
        hide_index=True,
    )
    flagged = sum(1 for r in records if r.flagged_chunks)
    if flagged:
        st.warning(t(lang, "flagged_notice", n=flagged))
    c1, c2 = st.columns(2)
    if c1.button(t(lang, "reindex_all"), key="reindex_all"):
        _run(lambda p: state.client().reindex(progress=p), lang)  # the corpus and the uploads
        st.rerun()
    active = [r for r in records if r.status != "removed"]
    if not active:
        return
    ids = [r.doc_id for r in active]
    if st.session_state.get("doc_select") not in ids:  # the selection is a doc id, kept across actions
        st.session_state.pop("doc_select", None)
    doc = c2.selectbox(t(lang, "document"), ids, key="doc_select")
    rec = next(r for r in active if r.doc_id == doc)
    withdrawn = rec.status == DocumentStatus.WITHDRAWN
    b1, b2 = st.columns(2)
    if b1.button(t(lang, "reindex"), key="reindex_one", disabled=withdrawn):
        _run(lambda p: state.client().reindex(rec.doc_id, progress=p), lang)
        st.rerun()
    if withdrawn:
        st.info(t(lang, "withdrawn_notice", by=rec.withdrawn_by or "?", day=(rec.withdrawn_at or "")[:10]))
        if b2.button(t(lang, "restore"), key="restore"):
            _run(lambda p: state.client().restore(rec.doc_id, progress=p), lang)
            st.rerun()
    else:
        if b2.button(t(lang, "withdraw"), key="withdraw"):
            st.session_state["confirm_withdraw"] = rec.doc_id
        if st.session_state.get("confirm_withdraw") == rec.doc_id:  # asks, for this document only
            st.warning(t(lang, "withdraw_confirm", doc=rec.doc_id))
            y, n = st.columns(2)
            if y.button(t(lang, "withdraw_yes"), key="withdraw_yes", type="primary"):
                # through a service, the key's name is recorded as who withdrew it
                state.client().withdraw(rec.doc_id, by=str(st.session_state.agent))
                st.session_state.pop("confirm_withdraw", None)
                st.rerun()
            if n.button(t(lang, "cancel"), key="withdraw_cancel"):
                st.session_state.pop("confirm_withdraw", None)
                st.rerun()
    _metadata_form(settings, rec, collections, lang)


def _metadata_form(settings: Settings, rec: Any, collections: dict[str, Any], lang: str) -> None:
    name = Path(rec.path).name
    coll = collections.get(rec.collection)
    edits = load_metadata_edits(settings.metadata_path)  # by document id
    meta = edits.get(rec.doc_id) or (coll.documents.get(name) if coll is not None else None) or DocumentMeta()
    with st.form("metadata"):
        st.markdown(f"**{t(lang, 'edit')}** — `{rec.doc_id}`")
        title = st.text_input(t(lang, "doc_title"), meta.title or rec.title or "")
        reference = st.text_input(t(lang, "reference"), meta.reference or "")
        c3, c4 = st.columns(2)
        start = c3.date_input(t(lang, "from"), meta.in_force_from, min_value=dt.date(1900, 1, 1))
        until = c4.date_input(t(lang, "until"), meta.in_force_until, min_value=dt.date(1900, 1, 1))
        supersedes = st.text_input(t(lang, "supersedes"), ", ".join(meta.supersedes))
        superseded_by = st.text_input(t(lang, "superseded_by"), meta.superseded_by or "")
        if st.form_submit_button(t(lang, "save")):
            meta.title, meta.reference = title or None, reference or None
            meta.in_force_from, meta.in_force_until = start or None, until or None
            meta.supersedes = [s.strip() for s in supersedes.split(",") if s.strip()]
            meta.superseded_by = superseded_by or None
            _run(lambda p: state.client().edit(rec.doc_id, meta, progress=p), lang)
            st.rerun()
