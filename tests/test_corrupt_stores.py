"""A damaged data file gives one clear message naming it and how to recover, never a traceback
(docs/integrity.md, "Damaged data files"). Real commands in subprocesses over a copy of the
ingested fixture; the audit file is never replaced or touched."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.settings import Settings
from tests.conftest import settings_env

pytestmark = pytest.mark.integration

QUESTION = "congé de maternité"


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def overwrite_middle(path: Path) -> None:
    """Garbage over the page headers of the second half of a SQLite file (bytes in the middle: the
    header page stays intact, so the file still opens as SQLite)."""
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big") or 65536
    pages = len(data) // page
    assert pages >= 2, f"{path} has {pages} page(s)"
    for n in range(max(1, pages // 2), pages):
        data[n * page : n * page + 64] = b"\xde\xad\xbe\xef" * 16
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.truncate(max(size // 2, 1024) if size > 2048 else 512)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def template(indexed: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with every store: the ingested fixture, an audit trail (one real answer),
    an evaluation history, agent accounts and a private embedding cache."""
    from assistant.credentials import add_user
    from eval.history import History

    data = tmp_path_factory.mktemp("corrupt") / "data"
    shutil.copytree(indexed.data_dir, data)
    assert indexed.embed_cache is not None
    shutil.copy(indexed.embed_cache, data / "embedding-cache.sqlite")
    settings = Settings(
        data_dir=data,
        corpus_dir=indexed.corpus_dir,
        definitions_dir=indexed.definitions_dir,
        embed_cache=data / "embedding-cache.sqlite",
    )
    out = _cli(settings_env(settings), "ask", QUESTION, "--mode", "extractive", "--json")
    assert out.returncode == 0, out.stderr
    History(settings.eval_path).close()
    add_user(settings.credentials_path, "agent", "password-123")
    for name in ("audit.sqlite", "eval.sqlite", "users.sqlite", "registry.sqlite"):
        assert (data / name).exists(), name
    return data


@pytest.fixture()
def data(template: Path, tmp_path: Path, indexed: Settings) -> tuple[Path, dict[str, str]]:
    copy = tmp_path / "data"
    shutil.copytree(template, copy)
    settings = Settings(
        data_dir=copy,
        corpus_dir=indexed.corpus_dir,
        definitions_dir=indexed.definitions_dir,
        embed_cache=copy / "embedding-cache.sqlite",
    )
    return copy, {**settings_env(settings), "COLUMNS": "1000"}  # no line wrapped inside a path


def assert_clear_failure(out: subprocess.CompletedProcess[str], path: Path, *recovery: str) -> None:
    assert out.returncode != 0, out.stdout + out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    text = " ".join(out.stderr.split())  # rich wraps long lines
    assert str(path.name) in text and "damaged" in text, out.stderr
    assert any(r in text for r in recovery), out.stderr


@pytest.mark.parametrize("damage", [overwrite_middle, truncate])
def test_damaged_registry(data: tuple[Path, dict[str, str]], damage) -> None:  # type: ignore[no-untyped-def]
    root, env = data
    damage(root / "registry.sqlite")
    before = digest(root / "registry.sqlite")
    for args in (("sources",), ("ingest",), ("ask", QUESTION, "--mode", "extractive")):
        out = _cli(env, *args)
        assert_clear_failure(out, root / "registry.sqlite", "dalil ingest --rebuild")
    assert digest(root / "registry.sqlite") == before  # refused, left as it was
    rebuilt = _cli(env, "ingest", "--rebuild", "--json")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert _cli(env, "sources", "--json").returncode == 0


@pytest.mark.parametrize("damage", [overwrite_middle, truncate])
def test_damaged_audit_fails_fast_and_is_never_replaced(  # type: ignore[no-untyped-def]
    data: tuple[Path, dict[str, str]], damage
) -> None:
    root, env = data
    audit = root / "audit.sqlite"
    damage(audit)
    before = digest(audit)
    for args in (
        ("audit",),
        ("audit", "verify"),
        ("ask", QUESTION, "--mode", "extractive"),
        ("ask", QUESTION, "--mode", "extractive", "--json"),
    ):
        out = _cli(env, *args)
        assert_clear_failure(out, audit, "backup")
        assert QUESTION not in out.stdout or "error" in out.stdout  # no answer computed, then lost
    out = _cli(env, "ask", QUESTION, "--mode", "extractive", "--json")
    assert json.loads(out.stdout.splitlines()[-1])["type"] == "StoreDamagedError"
    assert digest(audit) == before  # never replaced, never rewritten
    assert not [p for p in root.iterdir() if p.name.startswith("audit.sqlite.")]


def test_damaged_history(data: tuple[Path, dict[str, str]]) -> None:
    root, env = data
    truncate(root / "eval.sqlite")
    assert_clear_failure(_cli(env, "eval", "history"), root / "eval.sqlite", "backup")


def test_damaged_users(data: tuple[Path, dict[str, str]]) -> None:
    root, env = data
    overwrite_middle(root / "users.sqlite")
    out = subprocess.run(  # the password on standard input, never on the command line
        [sys.executable, "-m", "assistant.cli", "users", "add", "other"],
        env=env,
        input="password-456\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert_clear_failure(out, root / "users.sqlite", "dalil users add")


def test_damaged_embedding_cache_is_moved_aside(data: tuple[Path, dict[str, str]]) -> None:
    """A cache: moved aside with a warning naming it, a new one created, the command goes on."""
    root, env = data
    cache = root / "embedding-cache.sqlite"
    overwrite_middle(cache)
    out = _cli(env, "ingest", "--json")
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    text = " ".join(out.stderr.split())
    assert cache.name in text and "damaged" in text and "cache" in text, out.stderr
    assert [p for p in root.iterdir() if p.name.startswith("embedding-cache.sqlite.damaged-")]
    assert _cli(env, "search", QUESTION, "--json").returncode == 0


def _garble(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.seek(size // 2)
        fh.write(b"\xde\xad\xbe\xef" * 8)


@pytest.mark.parametrize(
    "target",
    ["dalil-index.json", "shard/edge_config.json", "segment.json"],
)
def test_damaged_index(data: tuple[Path, dict[str, str]], target: str) -> None:
    root, env = data
    index = root / "index" / "edge"
    if target == "segment.json":
        paths = sorted(index.glob("shard/segments/*/segment.json"))
        assert paths
        for p in paths:
            _garble(p)
    else:
        truncate_to = (index / target).stat().st_size // 2
        os.truncate(index / target, truncate_to)
    before = {p: digest(p) for p in (root / "registry.sqlite", root / "audit.sqlite")}
    for args in (("search", QUESTION), ("ask", QUESTION, "--mode", "extractive"), ("ingest",)):
        out = _cli(env, *args)
        assert out.returncode != 0, out.stdout + out.stderr
        assert "Traceback" not in out.stderr, out.stderr
        text = " ".join(out.stderr.split())
        assert "damaged" in text and "dalil ingest --rebuild" in text, out.stderr
        assert "another Dalil process" not in text, out.stderr
    assert {p: digest(p) for p in before} == before
    rebuilt = _cli(env, "ingest", "--rebuild", "--json")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert _cli(env, "search", QUESTION, "--json").returncode == 0
