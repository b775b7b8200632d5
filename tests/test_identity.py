"""Document identity (docs/integrity.md): an id keeps the collection, the file name in any script and
its extension; two files never share one; an upload or a file from outside a collection's folder
never takes the place of a registered text; replacing one is an explicit, recorded update."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

import assistant.registry as registry_module
from assistant.index import Index
from assistant.registry import DocumentStatus, Registry, doc_id_for
from assistant.retrieval import Retriever
from assistant.settings import Settings
from assistant.store import Where
from ingest.sync import OUTSIDE, Outcome, Syncer
from tests.conftest import make_settings, settings_env

LAW = "# Article 1\n\nLa redevance d'occupation du domaine public est fixée à 40 dirhams par mètre carré.\n"
FEE_MD = "# Article 1\n\nLe droit de timbre des passeports est de 500 dirhams.\n"
FEE_TXT = "Article 1\n\nLa taxe sur les contrats de bail professionnel est due au taux de 3 %.\n"
QANUN = "المادة 1\n\nيحدد أجل تسليم رخصة البناء في ثلاثين يوما من تاريخ إيداع الطلب.\n"
MARSOUM = "المادة 1\n\nتمنح رخصة الصيد البحري لمدة سنة واحدة قابلة للتجديد.\n"
FORGED = "Article 1\n\nLa redevance d'occupation du domaine public est supprimée.\n"


def _legacy_doc_id(source: str) -> str:
    """The id the release before document identity gave (extension dropped, non-ASCII to `_`)."""
    import re

    stem = re.sub(r"\.[^.]+$", "", source)
    return re.sub(r"[^A-Za-z0-9_.\-/]+", "_", stem).replace("/", ":")


@pytest.fixture()
def small(tmp_path: Path, embed_cache: Path) -> Iterator[tuple[Settings, Index]]:
    root = tmp_path / "root"
    (root / "corpus" / "lois").mkdir(parents=True)
    (root / "defs").mkdir()
    (root / "defs" / "lois.yaml").write_text(
        "name: lois\naudience: public\nlanguage: fr\nfolder: lois\ndocuments:\n"
        "  redevance.md:\n    title: Loi 12-34 sur la redevance\n    law_numbers: ['12-34']\n",
        encoding="utf-8",
    )
    (root / "corpus" / "lois" / "redevance.md").write_text(LAW, encoding="utf-8")
    settings = make_settings(root, tmp_path / "data", embed_cache)
    index = Index(settings)
    yield settings, index
    index.close()


def _chunks(index: Index, doc_id: str) -> list[str]:
    return [p["text"] for p in index.store.scroll(Where(doc_ids=[doc_id]))]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("maroc_fr/Loi 09-08.pdf", "maroc_fr:Loi_09-08.pdf"),
        ("maroc_ar/قانون.md", "maroc_ar:قانون.md"),
        ("maroc_ar/مرسوم رقم 2.txt", "maroc_ar:مرسوم_رقم_2.txt"),
        ("c/a  (b)!.txt", "c:a_b_.txt"),
        ("uploads/avis/note.pdf", "uploads:avis:note.pdf"),
    ],
)
def test_ids_are_readable_in_any_script_and_keep_the_extension(source: str, expected: str) -> None:
    assert doc_id_for(source) == expected


@pytest.mark.unit
def test_ids_of_names_that_differ_only_by_unicode_form_are_the_same() -> None:
    composed, decomposed = "c/décret.md", unicodedata.normalize("NFD", "c/décret.md")
    assert composed != decomposed and doc_id_for(composed) == doc_id_for(decomposed) == "c:décret.md"
    # the vowel marks of Arabic are kept: a name with them is not folded onto another one's `_`
    assert doc_id_for("c/قانونٌ.md") != doc_id_for("c/قانون_.md")


@pytest.mark.unit
def test_the_registry_never_gives_one_id_to_two_sources(tmp_path: Path) -> None:
    with Registry(tmp_path / "registry.sqlite") as reg:
        first = reg.identify("c/a b.md")
        reg.upsert(first, source="c/a b.md", path="/x/a b.md", collection="c", status=DocumentStatus.NEW)
        second = reg.identify("c/a_b.md")
        assert (first, second) == ("c:a_b.md", f"c:a_b.md~{hashlib.sha256(b'c/a_b.md').hexdigest()[:8]}")
        reg.upsert(second, source="c/a_b.md", path="/x/a_b.md", collection="c", status=DocumentStatus.NEW)
        # stable: asked again, each source gets the id it was given
        assert (reg.identify("c/a b.md"), reg.identify("c/a_b.md")) == (first, second)
        # found by its file when its source was named otherwise (an upload under the older naming)
        assert reg.identify("uploads/c/a b.md", "/x/a b.md") == first


@pytest.mark.integration
def test_arabic_names_and_extensions_no_longer_collide(small: tuple[Settings, Index]) -> None:
    settings, index = small
    folder = settings.corpus_dir / "lois"
    (folder / "قانون.md").write_text(QANUN, encoding="utf-8")
    (folder / "مرسوم.md").write_text(MARSOUM, encoding="utf-8")
    (folder / "fee.md").write_text(FEE_MD, encoding="utf-8")
    (folder / "fee.txt").write_text(FEE_TXT, encoding="utf-8")
    with Syncer(settings, index) as syncer:
        report = syncer.run()
    outcomes = {d.doc_id: d.status for d in report.documents}
    assert outcomes == {
        "lois:redevance.md": Outcome.ADDED,
        "lois:قانون.md": Outcome.ADDED,
        "lois:مرسوم.md": Outcome.ADDED,
        "lois:fee.md": Outcome.ADDED,
        "lois:fee.txt": Outcome.ADDED,
    }, outcomes
    # before: قانون and مرسوم were both "lois:_", fee.md and fee.txt both "lois:fee"; each second
    # file replaced the first. Now every text keeps its own chunks and is found.
    for doc_id, needle in [
        ("lois:قانون.md", "رخصة البناء"),
        ("lois:مرسوم.md", "الصيد البحري"),
        ("lois:fee.md", "passeports"),
        ("lois:fee.txt", "bail professionnel"),
    ]:
        assert any(needle in t for t in _chunks(index, doc_id)), doc_id
    hits = Retriever(index).search("délai de délivrance du permis de construire رخصة البناء", k=3)
    assert "lois:قانون.md" in [r.doc_id for r in hits.results]
    with Registry(settings.registry_path) as reg:
        assert sorted(r.doc_id for r in reg.all() if r.status == DocumentStatus.INDEXED) == sorted(outcomes)


@pytest.mark.integration
def test_an_upload_or_an_outside_file_never_takes_an_official_texts_place(
    small: tuple[Settings, Index], tmp_path: Path
) -> None:
    settings, index = small
    with Syncer(settings, index) as syncer:
        syncer.run()
        official = _chunks(index, "lois:redevance.md")
        # a file outside the corpus with the same folder and file name as the official text
        forged = tmp_path / "other" / "lois" / "redevance.md"
        forged.parent.mkdir(parents=True)
        forged.write_text(FORGED, encoding="utf-8")
        (outside,) = syncer.run([forged]).documents
        assert (outside.status, outside.error) == (Outcome.FAILED, OUTSIDE)
        # an upload with the same collection and file name is a document of its own
        upload = settings.uploads_dir / "lois" / "redevance.md"
        upload.parent.mkdir(parents=True)
        upload.write_text(FORGED, encoding="utf-8")
        (uploaded,) = syncer.run([upload]).documents
    assert (uploaded.doc_id, uploaded.status, uploaded.path) == (
        "uploads:lois:redevance.md",
        Outcome.ADDED,
        "uploads/lois/redevance.md",
    )
    assert _chunks(index, "lois:redevance.md") == official  # untouched
    with Registry(settings.registry_path) as reg:
        law, up = reg.get("lois:redevance.md"), reg.get("uploads:lois:redevance.md")
    assert law is not None and up is not None
    assert (law.status, law.version, law.title) == (DocumentStatus.INDEXED, 1, "Loi 12-34 sur la redevance")
    # the upload does not inherit the official text's title and law numbers
    assert up.title != law.title
    assert not any(p.get("law_numbers") for p in index.store.scroll(Where(doc_ids=[up.doc_id])))


def _dalil(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.integration
def test_replacing_a_document_is_an_explicit_recorded_update(
    small: tuple[Settings, Index], tmp_path: Path
) -> None:
    settings, index = small
    with Syncer(settings, index) as syncer:
        syncer.run()
    index.close()
    target = settings.corpus_dir / "lois" / "redevance.md"
    old_hash = hashlib.sha256(target.read_bytes()).hexdigest()
    new = tmp_path / "redevance-2026.md"
    new.write_text(LAW.replace("40 dirhams", "55 dirhams"), encoding="utf-8")

    # a different kind of file, or an unknown id: refused with the reason, nothing changes
    wrong = tmp_path / "redevance.txt"
    wrong.write_text(FORGED, encoding="utf-8")
    out = _dalil(settings, "ingest", "--replace", "lois:redevance.md", str(wrong), "--json")
    assert out.returncode == 1 and "same kind of file" in json.loads(out.stdout)["error"], out.stdout
    out = _dalil(settings, "ingest", "--replace", "lois:absent.md", str(new), "--json")
    assert out.returncode == 1 and "no document 'lois:absent.md'" in json.loads(out.stdout)["error"]
    # a new version that cannot be indexed leaves the previous one, on disk and in the index
    empty = tmp_path / "empty.md"
    empty.write_bytes(b"")
    out = _dalil(settings, "ingest", "--replace", "lois:redevance.md", str(empty), "--json")
    assert out.returncode == 2, out.stdout + out.stderr
    assert hashlib.sha256(target.read_bytes()).hexdigest() == old_hash

    out = _dalil(settings, "ingest", "--replace", "lois:redevance.md", str(new), "--by", "owner-a", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    (doc,) = json.loads(out.stdout)["documents"]
    assert (doc["doc_id"], doc["status"]) == ("lois:redevance.md", "updated")
    with Registry(settings.registry_path) as reg:
        rec = reg.get("lois:redevance.md")
    assert rec is not None
    assert (rec.version, rec.previous_hash, rec.replaced_by) == (2, old_hash, "owner-a")
    assert rec.hash == hashlib.sha256(new.read_bytes()).hexdigest() and rec.replaced_at
    kept = list((settings.data_dir / "replaced").rglob(f"{old_hash}.md"))
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8") == LAW
    reopened = Index(settings)
    try:
        texts = _chunks(reopened, "lois:redevance.md")
        assert texts and all("55 dirhams" in t for t in texts if "dirhams" in t)
        assert not any("40 dirhams" in t for t in texts)
    finally:
        reopened.close()


@pytest.mark.integration
def test_documents_indexed_under_the_older_ids_are_updated_in_place(
    small: tuple[Settings, Index], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, index = small
    with monkeypatch.context() as m:  # what the previous release wrote
        m.setattr(registry_module, "doc_id_for", _legacy_doc_id)
        with Syncer(settings, index) as syncer:
            (first,) = syncer.run().documents
    assert first.doc_id == "lois:redevance"
    target = settings.corpus_dir / "lois" / "redevance.md"
    target.write_text(LAW.replace("40 dirhams", "45 dirhams"), encoding="utf-8")
    with Syncer(settings, index) as syncer:
        (again,) = syncer.run().documents
    # the same document, updated: its chunks replaced, none left under a second id
    assert (again.doc_id, again.status) == ("lois:redevance", Outcome.UPDATED)
    assert {p["doc_id"] for p in index.store.scroll()} == {"lois:redevance"}
    assert all("45 dirhams" in t for t in _chunks(index, "lois:redevance") if "dirhams" in t)
