"""A `dalil ingest` killed (SIGKILL) at each stage of a new file, then a normal run: the registry
and the index agree, no orphan chunk stays searchable, an interrupted optimisation runs again.
Uses the test hook DALIL_TEST_CRASH_AT of ingest/sync.py (`crash_point`)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.settings import Settings
from tests.conftest import make_settings, settings_env

pytestmark = pytest.mark.integration

UNIQUE = "zorglubisme quantique des formulaires"
NAME = "crash_unique.txt"
TEXT = (
    "Circulaire d'essai\n\nArticle 1\n"
    f"Le {UNIQUE} est interdit dans les guichets de l'administration.\n\n"
    "Article 2\nLes agents signalent tout cas de zorglubisme au chef de service.\n"
)


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture()
def setup(indexed: Settings, fixture_root: Path, tmp_path: Path) -> tuple[Settings, dict[str, str]]:
    """A copy of the ingested fixture (corpus and data directory) with one new file."""
    root = tmp_path / "root"
    shutil.copytree(fixture_root, root)
    data = tmp_path / "data"
    shutil.copytree(indexed.data_dir, data)
    assert indexed.embed_cache is not None
    shutil.copy(indexed.embed_cache, tmp_path / "cache.sqlite")
    settings = make_settings(root, data, tmp_path / "cache.sqlite")
    (settings.corpus_dir / "test_fr" / NAME).write_text(TEXT, encoding="utf-8")
    return settings, {**settings_env(settings), "COLUMNS": "1000"}


def agree(settings: Settings) -> None:
    """Every indexed record's chunk count is the index's count for its doc_id and version, and
    the index holds no other chunk."""
    from assistant.index import Index
    from assistant.registry import DocumentStatus, Registry
    from assistant.store import Where

    index = Index(settings)
    try:
        with Registry(settings.registry_path) as registry:
            records = [r for r in registry.all() if r.status == DocumentStatus.INDEXED]
        total = 0
        for rec in records:
            found = index.store.count(Where(doc_ids=[rec.doc_id], version=rec.version))
            assert found == rec.chunks, (rec.doc_id, rec.version, found, rec.chunks)
            total += found
        assert index.store.count() == total
    finally:
        index.close()


def found(env: dict[str, str]) -> bool:
    out = _cli(env, "search", UNIQUE, "--json", "--k", "20")
    assert out.returncode == 0, out.stderr
    return any(r["source"].endswith(NAME) for r in json.loads(out.stdout)["results"])


@pytest.mark.parametrize("stage", ["parsing", "embedding", "upserting", "registry"])
def test_crash_before_the_registry_leaves_nothing_searchable(setup, stage: str) -> None:  # type: ignore[no-untyped-def]
    settings, env = setup
    crashed = _cli({**env, "DALIL_TEST_CRASH_AT": f"{stage}:{NAME}"}, "ingest", "--json")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    (settings.corpus_dir / "test_fr" / NAME).unlink()
    out = _cli(env, "ingest", "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    if stage in ("upserting", "registry"):  # the chunks were written: they were orphans
        assert summary["orphans_removed"] > 0, summary
    else:
        assert summary["orphans_removed"] == 0, summary
    agree(settings)
    assert not found(env)


def test_crash_during_optimisation_resumes_it(setup) -> None:  # type: ignore[no-untyped-def]
    settings, env = setup
    crashed = _cli({**env, "DALIL_TEST_CRASH_AT": "optimisation"}, "ingest", "--json")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    marker = settings.index_dir / "optimize-pending"
    assert marker.exists()
    out = _cli(env, "ingest", "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["optimize_resumed"] is True and summary["orphans_removed"] == 0, summary
    assert not marker.exists()
    agree(settings)
    assert found(env)  # recorded before the crash: indexed
    again = json.loads(_cli(env, "ingest", "--json").stdout)
    assert again["optimize_resumed"] is False
