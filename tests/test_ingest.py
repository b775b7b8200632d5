"""Ingestion on real files: every format, bad input, incremental and atomic sync, CLI contract."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.index import Index
from assistant.settings import Settings
from assistant.store import Where
from ingest.sync import Syncer
from tests.conftest import settings_env
from tests.fixtures.build import law_pdf

pytestmark = pytest.mark.integration


def _sync(settings: Settings, paths: list[Path] | None = None, **kw: object):
    index = Index(settings)
    try:
        return Syncer(settings, index).run(paths, **kw), index.store.count()
    finally:
        index.close()


def _by_name(report) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {Path(d.path).name: d for d in report.documents}


def test_every_format_is_parsed_and_chunked_by_article(fresh: Settings) -> None:
    report, count = _sync(fresh)
    docs = _by_name(report)
    assert not report.failed, report.as_dict()
    assert {d.status for d in docs.values()} == {"added"}
    assert docs["loi_99-01_conges.pdf"].chunks == 6  # preamble + 5 articles
    assert docs["constitution_extrait_scan.pdf"].chunks >= 2  # OCR found both articles
    assert count == report.totals["chunks"]
    index = Index(fresh)
    payloads = list(index.store.scroll(Where(doc_ids=["test_fr:loi_99-01_conges.pdf"])))
    index.close()
    arts = {p["article"]: p for p in payloads}
    assert set(arts) == {None, "Article premier", "Article 2", "Article 3", "Article 4", "Article 5"}
    a4 = arts["Article 4"]
    assert a4["hierarchy"] == "Chapitre II : Procédure"
    assert a4["title"] == "Loi n° 99-01 relative aux congés des agents publics"
    assert a4["reference"].startswith("Dahir n° 1-99-01")
    assert a4["language"] == "fr" and a4["pages"] == [1] and a4["version"] == 1
    assert a4["char_end"] > a4["char_start"] >= 0
    assert len(a4["content_hash"]) == 16 and a4["audience"] == "public"
    assert a4["valid_from"] == 20000101


def test_ocr_and_encodings(fresh: Settings) -> None:
    _sync(fresh)
    index = Index(fresh)
    texts = {p["source"]: p["text"] for p in index.store.scroll()}
    by_doc: dict[str, str] = {}
    for p in index.store.scroll():
        by_doc[p["source"]] = by_doc.get(p["source"], "") + "\n" + p["text"]
    index.close()
    assert "information détenue" in by_doc["test_fr/constitution_extrait_scan.pdf"]
    # Windows-1256 Arabic and Latin-1 French text files decode to real letters
    assert "منحة التنقل" in by_doc["test_ar/marsoum_2-98-10_minha_old.txt"]
    assert "vérifient l'identité" in by_doc["internes/circulaire_7-2026.txt"]
    assert texts


def test_bad_input_fails_alone_with_specific_errors(fresh: Settings) -> None:
    bad = fresh.corpus_dir / "bad"
    bad.mkdir()
    good = fresh.corpus_dir / "test_fr" / "loi_99-01_conges.pdf"
    data = good.read_bytes()
    (bad / "truncated.pdf").write_bytes(data[: len(data) // 2])
    (bad / "binary.pdf").write_bytes(bytes(range(256)) * 20)
    (bad / "zero.txt").write_bytes(b"")
    (bad / "blank.txt").write_text("   \n\n  ", encoding="utf-8")
    (bad / "notes.xyz").write_text("unknown", encoding="utf-8")
    shutil.copy(good, bad / "copy_of_loi.pdf")
    import pypdf

    writer = pypdf.PdfWriter(clone_from=str(good))
    writer.encrypt("secret")
    with (bad / "locked.pdf").open("wb") as fh:
        writer.write(fh)
    law_pdf(bad / "long_300_pages.pdf", pages_of_filler=299)
    report, _ = _sync(fresh)
    docs = _by_name(report)
    assert docs["truncated.pdf"].status == "failed" and "truncated PDF" in docs["truncated.pdf"].error
    assert docs["binary.pdf"].status == "failed" and "not a PDF" in docs["binary.pdf"].error
    assert docs["zero.txt"].status == "failed" and "0 bytes" in docs["zero.txt"].error
    assert docs["blank.txt"].status == "failed" and "empty document" in docs["blank.txt"].error
    assert docs["notes.xyz"].status == "failed" and "unsupported file type .xyz" in docs["notes.xyz"].error
    assert docs["locked.pdf"].status == "failed" and "password-protected" in docs["locked.pdf"].error
    twins = sorted([docs["copy_of_loi.pdf"].status, docs["loi_99-01_conges.pdf"].status])
    assert twins == ["added", "skipped"]  # the first one seen is indexed, its copy is reported
    skipped = next(d for d in docs.values() if d.status == "skipped")
    assert "duplicate: same content as" in skipped.error
    assert docs["long_300_pages.pdf"].status == "added" and docs["long_300_pages.pdf"].chunks >= 300
    # the rest of the batch went in
    assert docs["guide_archives.docx"].status == "added"


def test_a_file_that_disappears_during_the_run(fresh: Settings) -> None:
    victim = fresh.corpus_dir / "test_fr" / "page_horaires.html"
    index = Index(fresh)

    def progress(done: int, total: int, name: str) -> None:
        if name == "guide_archives.docx" and victim.exists():
            victim.unlink()  # removed after discovery, before it is read

    report = Syncer(fresh, index, progress=progress).run()
    index.close()
    docs = _by_name(report)
    assert docs["page_horaires.html"].status == "failed"
    assert (
        "disappeared" in docs["page_horaires.html"].error or "not found" in docs["page_horaires.html"].error
    )
    assert docs["loi_99-01_conges.pdf"].status == "added"


def test_second_run_is_a_noop_and_a_change_reindexes_only_that_file(fresh: Settings) -> None:
    first, count = _sync(fresh)
    again, count2 = _sync(fresh)
    assert {d.status for d in again.documents} == {"unchanged"}
    assert again.totals["embedded"] == 0 and count2 == count
    md = fresh.corpus_dir / "test_fr" / "faq_etat_civil.md"
    md.write_text(md.read_text(encoding="utf-8") + "\nIl est gratuit.\n", encoding="utf-8")
    changed, count3 = _sync(fresh)
    statuses = {Path(d.path).name: d.status for d in changed.documents}
    assert statuses["faq_etat_civil.md"] == "updated"
    assert [n for n, s in statuses.items() if s != "unchanged"] == ["faq_etat_civil.md"]
    assert changed.totals["embedded"] == 1
    index = Index(fresh)
    versions = {p["version"] for p in index.store.scroll(Where(doc_ids=["test_fr:faq_etat_civil.md"]))}
    index.close()
    assert versions == {2} and count3 == count
    md.unlink()
    pruned, count4 = _sync(fresh, prune=True)
    assert [d.status for d in pruned.documents if Path(d.path).name == "faq_etat_civil.md"] == ["removed"]
    assert count4 == count - 1


def test_crash_between_write_and_delete_never_loses_the_document(fresh: Settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _sync(fresh)
    md = fresh.corpus_dir / "test_fr" / "faq_etat_civil.md"
    md.write_text("# Article 12\n\nTexte entièrement réécrit par la nouvelle version.\n", encoding="utf-8")
    index = Index(fresh)
    real_delete = index.store.delete

    def crash(where: Where) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(index.store, "delete", crash)
    report = Syncer(fresh, index).run([md])
    assert report.documents[0].status == "failed"
    # both versions are present: never missing, never half indexed
    chunks = list(index.store.scroll(Where(doc_ids=["test_fr:faq_etat_civil.md"])))
    assert {c["version"] for c in chunks} == {1, 2}
    monkeypatch.setattr(index.store, "delete", real_delete)
    recovered = Syncer(fresh, index).run([md])
    assert recovered.documents[0].status == "updated"
    chunks = list(index.store.scroll(Where(doc_ids=["test_fr:faq_etat_civil.md"])))
    index.close()
    assert {c["version"] for c in chunks} == {2}  # the new version, old leftovers reconciled
    assert "réécrit" in chunks[0]["text"]


def test_embedding_model_mismatch_is_a_clear_error(fresh: Settings) -> None:
    from assistant.errors import IndexMismatchError

    _sync(fresh, [fresh.corpus_dir / "test_fr" / "faq_etat_civil.md"])
    other = fresh.model_copy(update={"embedder": "use"})
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        Index(other)


def test_cli_json_contract_and_exit_codes(fresh: Settings) -> None:
    env = settings_env(fresh)
    dalil = [sys.executable, "-m", "assistant.cli"]
    ok = subprocess.run(
        [*dalil, "ingest", str(fresh.corpus_dir / "test_ar"), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ok.returncode == 0, ok.stderr
    summary = json.loads(ok.stdout)
    assert set(summary) >= {"documents", "totals", "seconds"}
    assert set(summary["documents"][0]) == {"path", "doc_id", "status", "chunks", "error"}
    assert summary["totals"]["added"] == 2
    bad = fresh.corpus_dir / "test_ar" / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4 garbage")
    failed = subprocess.run(
        [*dalil, "ingest", str(fresh.corpus_dir / "test_ar"), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert failed.returncode == 2
    statuses = {d["path"].split("/")[-1]: d["status"] for d in json.loads(failed.stdout)["documents"]}
    assert statuses == {
        "broken.pdf": "failed",
        "marsoum_2-99-10_minha.txt": "unchanged",
        "marsoum_2-98-10_minha_old.txt": "unchanged",
    }
    sources = subprocess.run(
        [*dalil, "sources", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    rows = json.loads(sources.stdout)
    assert {r["status"] for r in rows} == {"indexed", "failed"}
    removed = subprocess.run(
        [*dalil, "remove", "test_ar:marsoum_2-99-10_minha.txt"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert removed.returncode == 0
    missing = subprocess.run([*dalil, "remove", "nope"], env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "dalil sources" in missing.stderr
