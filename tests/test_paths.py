"""Paths and names that could reach outside the corpus and uploads folders (docs/integrity.md):
symbolic links and `..` are refused per file, collection names are short safe names."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.corpus import check_collection_name, load_collections
from assistant.errors import ConfigError
from assistant.index import Index
from assistant.registry import Registry
from assistant.settings import Settings
from ingest.sync import OUTSIDE, SYMLINK, Syncer, confinement_error
from tests.conftest import settings_env

SECRET = "# Article 1\n\nroot:x:0:0:root:/root:/bin/bash motdepassesecret\n"


@pytest.mark.unit
@pytest.mark.parametrize("name", ["maroc_fr", "test-ar", "a", "x" * 40, "2024_circulaires"])
def test_safe_collection_names_are_accepted(name: str) -> None:
    assert check_collection_name(name) == name


@pytest.mark.unit
@pytest.mark.parametrize(
    "name",
    ["", "../x", "..", "a/b", "a\\b", "/etc", "Maroc", "x" * 41, "-x", "_x", "a b", "a..b/..", "é"],
)
def test_unsafe_collection_names_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="not allowed"):
        check_collection_name(name)


@pytest.mark.unit
def test_a_collection_yaml_with_an_unsafe_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("name: ../../etc\naudience: public\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml: name '../../etc' is not allowed"):
        load_collections(tmp_path)


@pytest.mark.unit
def test_confinement_of_paths(tmp_path: Path) -> None:
    corpus, uploads, outside = tmp_path / "corpus", tmp_path / "uploads", tmp_path / "outside"
    for d in (corpus / "c", uploads / "c", outside):
        d.mkdir(parents=True)
    (outside / "secret.txt").write_text(SECRET, encoding="utf-8")
    (corpus / "c" / "ok.txt").write_text("x", encoding="utf-8")
    (corpus / "c" / "link.txt").symlink_to(outside / "secret.txt")
    (corpus / "linked_dir").symlink_to(outside, target_is_directory=True)
    roots = [corpus, uploads]
    assert confinement_error(corpus / "c" / "ok.txt", roots) is None
    assert confinement_error(uploads / "c" / "new.txt", roots) is None
    assert confinement_error(corpus / "c" / "link.txt", roots) == SYMLINK
    assert confinement_error(corpus / "linked_dir" / "secret.txt", roots) == SYMLINK
    assert confinement_error(corpus / "c" / ".." / ".." / "outside" / "secret.txt", roots) == OUTSIDE
    assert confinement_error(outside / "secret.txt", roots) == OUTSIDE
    # the corpus folder itself may be a link (e.g. to a shared volume)
    (tmp_path / "corpus_link").symlink_to(corpus, target_is_directory=True)
    assert confinement_error(tmp_path / "corpus_link" / "c" / "ok.txt", [tmp_path / "corpus_link"]) is None


@pytest.mark.integration
def test_symlinks_and_escaping_paths_are_never_indexed(fresh: Settings, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "passwd.txt"
    secret.write_text(SECRET, encoding="utf-8")
    (fresh.corpus_dir / "test_fr" / "passwd.txt").symlink_to(secret)
    (fresh.corpus_dir / "test_fr" / "etc").symlink_to(outside, target_is_directory=True)
    index = Index(fresh)
    try:
        report = Syncer(fresh, index).run()
        docs = {Path(d.path).name: d for d in report.documents}
        assert docs["passwd.txt"].status == "skipped" and docs["passwd.txt"].error == SYMLINK
        assert docs["etc"].status == "skipped" and docs["etc"].error == SYMLINK
        # named explicitly: a link, or a path leaving the corpus with `..`, fails with the reason
        explicit = Syncer(fresh, index).run(
            [
                fresh.corpus_dir / "test_fr" / "passwd.txt",
                fresh.corpus_dir / "test_fr" / ".." / ".." / ".." / "outside" / "passwd.txt",
                secret,
            ]
        )
        assert [(d.status, d.error) for d in explicit.documents] == [
            ("failed", SYMLINK),
            ("failed", OUTSIDE),
            ("failed", OUTSIDE),
        ]
        assert not any("motdepassesecret" in (p.get("text") or "") for p in index.store.scroll())
    finally:
        index.close()
    with Registry(fresh.registry_path) as registry:
        assert not [r for r in registry.all() if "passwd" in r.source or "etc" in r.source.split("/")]


@pytest.mark.integration
def test_an_unsafe_collection_name_writes_nothing(fresh: Settings) -> None:
    index = Index(fresh)
    try:
        with pytest.raises(ConfigError, match="--collection '../escape' is not allowed"):
            Syncer(fresh, index).run([fresh.corpus_dir / "test_fr"], collection="../escape")
    finally:
        index.close()
    with Registry(fresh.registry_path) as registry:
        assert registry.all() == []
    out = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ingest", "--collection", "a/../../b", "--json"],
        env=settings_env(fresh),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    assert json.loads(out.stdout)["type"] == "ConfigError" and "not allowed" in out.stdout
