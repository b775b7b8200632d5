"""Content owners: upload, registry, re-index, withdraw, edit metadata. Ingestion runs in the
app's process because the embedded index accepts one process at a time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import streamlit as st

from assistant.corpus import (
    COLLECTION_NAME,
    Collection,
    DocumentMeta,
    check_collection_name,
    load_collections,
    save_document_meta,
)
from assistant.errors import DalilError
from assistant.registry import DocumentStatus, Registry
from ingest.sync import Syncer
from ui import state
from ui.i18n import t


def _run(
    paths: list[Path] | None, collection: str | None = None, force: bool = False, lang: str = "fr"
) -> None:
    d = state.dalil()
    bar = st.progress(0.0, text=t(lang, "running"))

    def progress(done: int, total: int, name: str) -> None:
        bar.progress(done / total if total else 1.0, text=f"{t(lang, 'running')} {name}")

    with d.index.lock, Syncer(d.settings, d.index, progress=progress) as syncer:
        report = syncer.run(paths, collection=collection, force=force)
    bar.progress(1.0, text=t(lang, "done"))
    rows = [x.as_dict() for x in report.documents if x.status != "unchanged"]
    st.session_state["last_ingest"] = {"rows": rows, "totals": report.totals}


def admin_page() -> None:
    lang = st.session_state.lang
    st.header(t(lang, "admin"))
    if not st.session_state.agent:
        st.warning(t(lang, "agent_only"))
        return
    try:
        d = state.dalil()
    except DalilError as exc:
        st.error(str(exc))
        return
    settings = d.settings
    collections = load_collections(settings.definitions_dir)
    with st.container(border=True):
        st.subheader(t(lang, "upload"))
        names = sorted(collections) + [t(lang, "new_collection")]
        choice = st.selectbox(t(lang, "collection"), names, key="upload_collection")
        if choice == t(lang, "new_collection"):
            choice = st.text_input(t(lang, "new_collection"), key="upload_new_collection").strip()
        files = st.file_uploader("PDF, DOCX, HTML, MD, TXT", accept_multiple_files=True, key="uploads")
        bad_name = bool(choice) and not COLLECTION_NAME.fullmatch(choice)
        if bad_name:  # the name becomes a folder under the uploads folder: no `/`, no `..`
            st.error(t(lang, "bad_collection", name=choice))
        if st.button(
            t(lang, "index"), type="primary", disabled=not files or not choice or bad_name, key="upload_index"
        ):
            target = settings.uploads_dir / check_collection_name(choice)
            target.mkdir(parents=True, exist_ok=True)
            paths = []
            for f in files or []:
                path = target / Path(f.name).name
                path.write_bytes(f.getvalue())
                paths.append(path)
            _run(paths, collection=choice, lang=lang)
    last = st.session_state.get("last_ingest")
    if last:
        st.dataframe(last["rows"], use_container_width=True, hide_index=True)
        st.caption(str(last["totals"]))
    st.subheader(t(lang, "registry"))
    with Registry(settings.registry_path) as registry:
        records = registry.all()
    st.dataframe(
        [
            {
                k: r.as_dict()[k]
                for k in (
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
            }
            for r in records
        ],
        use_container_width=True,
        hide_index=True,
    )
    flagged = sum(1 for r in records if r.flagged_chunks)
    if flagged:
        st.warning(t(lang, "flagged_notice", n=flagged))
    c1, c2 = st.columns(2)
    if c1.button(t(lang, "reindex_all"), key="reindex_all"):
        _run(None, lang=lang)
        uploads = settings.uploads_dir
        if uploads.exists():
            _run([uploads], lang=lang)
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
        _run([Path(rec.path)], collection=rec.collection, force=True, lang=lang)
        st.rerun()
    if withdrawn:
        st.info(t(lang, "withdrawn_notice", by=rec.withdrawn_by or "?", day=(rec.withdrawn_at or "")[:10]))
        if b2.button(t(lang, "restore"), key="restore"):
            with d.index.lock, Syncer(settings, d.index) as syncer:
                report = syncer.restore(rec.doc_id)
            if report is not None:
                rows = [x.as_dict() for x in report.documents]
                st.session_state["last_ingest"] = {"rows": rows, "totals": report.totals}
            st.rerun()
    else:
        if b2.button(t(lang, "withdraw"), key="withdraw"):
            st.session_state["confirm_withdraw"] = rec.doc_id
        if st.session_state.get("confirm_withdraw") == rec.doc_id:  # asks, for this document only
            st.warning(t(lang, "withdraw_confirm", doc=rec.doc_id))
            y, n = st.columns(2)
            if y.button(t(lang, "withdraw_yes"), key="withdraw_yes", type="primary"):
                with d.index.lock, Syncer(settings, d.index) as syncer:
                    syncer.withdraw(rec.doc_id, by=str(st.session_state.agent))
                st.session_state.pop("confirm_withdraw", None)
                st.rerun()
            if n.button(t(lang, "cancel"), key="withdraw_cancel"):
                st.session_state.pop("confirm_withdraw", None)
                st.rerun()
    coll = collections.get(rec.collection) or Collection(name=rec.collection)
    name = Path(rec.path).name
    meta = coll.documents.get(name) or DocumentMeta()
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
            if coll.definition_path is None:
                coll.definition_path = settings.definitions_dir / f"{coll.name}.yaml"
                coll.definition_path.write_text(
                    f"name: {coll.name}\naudience: public\nfolder: {coll.name}\n", encoding="utf-8"
                )
            save_document_meta(coll, name, meta)
            _run([Path(rec.path)], collection=rec.collection, force=True, lang=lang)
            st.rerun()
