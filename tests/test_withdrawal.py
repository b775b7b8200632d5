"""Withdrawal is a state: a withdrawn document stays out of the index, of search and of the file
server through every later sync ("re-index all" included) until its owner restores it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.modes import Audience
from assistant.registry import DocumentStatus, Registry
from assistant.retrieval import Retriever
from assistant.settings import Settings
from assistant.store import Where
from ingest.sync import Outcome, Syncer
from tests.conftest import settings_env
from ui.files import FileAccess, authorise

pytestmark = pytest.mark.integration

UPLOAD = "# Article 1\n\nLe télétravail des agents est autorisé trois jours par semaine au plus.\n"
DOC = "uploads:notes:teletravail.md"


def _reindex_all(syncer: Syncer, settings: Settings) -> list[Outcome]:
    """What the Documents page's "re-index all" does: the corpus, then the uploads folder."""
    report = syncer.run(None)
    if settings.uploads_dir.exists():
        report.documents += syncer.run([settings.uploads_dir]).documents
    return [d.status for d in report.documents if d.doc_id == DOC]


def _served(settings: Settings, doc_id: str) -> int:
    access = FileAccess.from_settings(settings)
    path, _, query = access.link(doc_id, Audience.PUBLIC, now=1000.0).partition("?")
    return authorise(path, query, "127.0.0.1:8502", port=8502, access=access, now=1000.0)[0]


def _cited(settings: Settings, syncer: Syncer) -> bool:
    hits = Retriever(syncer.index).search("télétravail des agents trois jours par semaine", k=5)
    return any(r.doc_id == DOC for r in hits.results)


def test_withdrawn_upload_stays_withdrawn_until_restored(fresh: Settings) -> None:
    from assistant.index import Index

    upload = fresh.uploads_dir / "notes" / "teletravail.md"
    upload.parent.mkdir(parents=True)
    upload.write_text(UPLOAD, encoding="utf-8")
    index = Index(fresh)
    try:
        with Syncer(fresh, index) as syncer:
            assert [d.status for d in syncer.run([upload], collection="notes").documents] == ["added"]
            assert _cited(fresh, syncer) and _served(fresh, DOC) == 200

            assert syncer.withdraw(DOC, by="owner")
            rec = syncer.registry.get(DOC)
            assert rec is not None and rec.status == DocumentStatus.WITHDRAWN
            assert rec.withdrawn_by == "owner" and rec.withdrawn_at
            kept = fresh.data_dir / "withdrawn" / "notes" / "teletravail.md"
            assert not upload.exists() and kept.read_text(encoding="utf-8") == UPLOAD  # kept, not served
            assert rec.path == str(kept)

            # re-index all: still withdrawn, not searchable, not served
            _reindex_all(syncer, fresh)
            # even when the same file is uploaded again under the same name
            upload.write_text(UPLOAD, encoding="utf-8")
            report = syncer.run([fresh.uploads_dir])
            (again,) = [d for d in report.documents if d.doc_id == DOC]
            assert again.status == Outcome.SKIPPED
            assert again.error == (
                f"withdrawn by owner on {rec.withdrawn_at[:10]}; restore it with `dalil restore {DOC}`"
            )
            forced = syncer.run([upload], collection="notes", force=True).documents[0]
            assert forced.status == Outcome.SKIPPED
            upload.unlink()
            rec2 = syncer.registry.get(DOC)
            assert rec2 is not None and rec2.status == DocumentStatus.WITHDRAWN and rec2.version == 1
            assert index.store.count(Where(doc_ids=[DOC])) == 0
            assert not _cited(fresh, syncer)
            assert _served(fresh, DOC) == 404

            # restore: the file returns to the uploads folder and the document is indexed again
            restored = syncer.restore(DOC)
            assert restored is not None and [d.status for d in restored.documents] == ["added"]
            assert upload.exists() and not kept.exists()
            back = syncer.registry.get(DOC)
            assert back is not None and back.status == DocumentStatus.INDEXED and back.withdrawn_by is None
            assert _cited(fresh, syncer) and _served(fresh, DOC) == 200
            assert syncer.restore(DOC) is None  # not withdrawn any more
    finally:
        index.close()


def test_cli_remove_records_who_and_restore_brings_it_back(fresh: Settings) -> None:
    env = settings_env(fresh)
    dalil = [sys.executable, "-m", "assistant.cli"]
    folder = str(fresh.corpus_dir / "test_fr")
    doc = "test_fr:faq_etat_civil.md"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*dalil, *args], env=env, capture_output=True, text=True, timeout=300)

    assert run("ingest", folder, "--json").returncode == 0
    removed = run("remove", doc, "--by", "alice")
    assert removed.returncode == 0 and f"removed {doc}" in removed.stdout
    ingest = run("ingest", folder, "--json")
    assert ingest.returncode == 0, ingest.stderr
    (row,) = [d for d in json.loads(ingest.stdout)["documents"] if d["doc_id"] == doc]
    assert row["status"] == "skipped"
    assert row["error"].startswith("withdrawn by alice on ") and f"`dalil restore {doc}`" in row["error"]
    sources = {r["doc_id"]: r for r in json.loads(run("sources", "--json").stdout)}
    assert sources[doc]["status"] == "withdrawn" and sources[doc]["withdrawn_by"] == "alice"
    # the OS user when --by is not given; withdrawing twice keeps the first record
    assert run("remove", doc).returncode == 0
    restored = run("restore", doc, "--json")
    assert restored.returncode == 0, restored.stderr
    assert [d["status"] for d in json.loads(restored.stdout)["documents"]] == ["added"]
    sources = {r["doc_id"]: r for r in json.loads(run("sources", "--json").stdout)}
    assert sources[doc]["status"] == "indexed"
    missing = run("restore", doc)
    assert missing.returncode == 1 and "no withdrawn document" in missing.stderr


def test_withdrawals_outlive_a_rebuild(fresh: Settings) -> None:
    from assistant.index import Index
    from ingest.sync import rebuild

    index = Index(fresh)
    try:
        with Syncer(fresh, index) as syncer:
            syncer.run([fresh.corpus_dir / "test_fr"])
            assert syncer.withdraw("test_fr:faq_etat_civil.md", by="owner")
    finally:
        index.close()
    rebuild(fresh)
    index = Index(fresh)
    try:
        with Syncer(fresh, index) as syncer:
            report = syncer.run([fresh.corpus_dir / "test_fr"])
            (row,) = [d for d in report.documents if d.doc_id == "test_fr:faq_etat_civil.md"]
            assert row.status == Outcome.SKIPPED and "withdrawn by owner" in (row.error or "")
    finally:
        index.close()


def test_the_migration_adds_who_and_when(tmp_path: Path) -> None:
    with Registry(tmp_path / "registry.sqlite") as registry:
        registry.upsert("c:d", status=DocumentStatus.WITHDRAWN, withdrawn_by="x", withdrawn_at="2026-01-01")
    conn = sqlite3.connect(tmp_path / "registry.sqlite")
    cols = {r[1] for r in conn.execute("PRAGMA table_info(documents)")}
    conn.close()
    assert {"withdrawn_by", "withdrawn_at"} <= cols
