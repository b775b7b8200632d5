"""Numbered schema migrations: a data directory written by the release before them
(tests/fixtures/legacy-data-v0, copied, never modified) opens through today's stores, is upgraded
once, stays readable, and is refused when it comes from a newer schema; the agent accounts of a
credentials YAML file are imported into users.sqlite."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assistant import audit, credentials, registry
from assistant.audit import AuditLog
from assistant.embeddings import cache
from assistant.embeddings.cache import EmbeddingCache
from assistant.errors import ConfigError
from assistant.modes import Role
from assistant.registry import DocumentStatus, Registry
from assistant.settings import Settings, get_settings
from assistant.sqlite_store import Migration, latest_version, open_database, sql_statements
from eval import history
from eval.history import History

pytestmark = pytest.mark.unit

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "legacy-data-v0"
KEY = bytes.fromhex("5f" * 32)


class KeyedAuditLog(AuditLog):
    """The audit log as the service opens it: with the deployment's secret key."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, key=KEY)


STORES = {
    "registry.sqlite": (Registry, registry.MIGRATIONS),
    "audit.sqlite": (KeyedAuditLog, audit.MIGRATIONS),
    "eval.sqlite": (History, history.MIGRATIONS),
}
RUN_ID = "20261001T100000000"


@pytest.fixture()
def legacy(tmp_path: Path) -> Path:
    """A private copy of the data directory written by the previous release."""
    data = tmp_path / "data"
    shutil.copytree(FIXTURE, data, ignore=shutil.ignore_patterns("*.md"))
    return data


def user_version(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def index_names(path: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        return {r[0] for r in rows}
    finally:
        conn.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_fixture_is_still_the_previous_release() -> None:
    """Guard: the fixture must never be regenerated (or opened read-write) by current code."""
    for name in STORES:
        assert user_version(FIXTURE / name) == 0, name
        assert not index_names(FIXTURE / name), name


def test_legacy_registry_is_readable_and_upgraded(legacy: Path) -> None:
    path = legacy / "registry.sqlite"
    with Registry(path) as reg:
        loi = reg.get("test_fr:loi_99-01_conges")
        assert loi is not None
        assert loi.status is DocumentStatus.INDEXED
        assert (loi.version, loi.chunks, loi.pages, loi.method) == (2, 7, 3, "pypdf")
        assert loi.title == "Loi 99-01 congés"
        # written in local time without an offset by the previous release: kept as it was
        assert loi.indexed_at == "2026-10-01T10:00:00"
        failed = reg.get("test_ar:marsoum")
        assert failed is not None and failed.status is DocumentStatus.FAILED
        assert failed.error == "no chunk could be made from the extracted text"
        assert [r.doc_id for r in reg.all()] == [
            "test_ar:marsoum",
            "test_fr:loi_99-01_conges",
            "test_fr:retire",
        ]
        assert [r.doc_id for r in reg.all("test_fr")] == ["test_fr:loi_99-01_conges", "test_fr:retire"]
        assert reg.by_hash("ab" * 32) == loi
        # the fingerprint the previous release computed: answers already logged keep matching it
        assert reg.index_version() == "6a9c21df2d08-1docs"
        assert reg.schema_version == latest_version(registry.MIGRATIONS) == 5
        assert loi.flagged_chunks == 0  # migration 3: no chunk of a legacy document counted as flagged
        assert (loi.withdrawn_by, loi.withdrawn_at) == (None, None)  # migration 4: nobody withdrew it
        assert (loi.previous_hash, loi.replaced_by) == (None, None)  # migration 5: never replaced
        # ids given under the older naming (no extension) stay with their files: the next sync
        # updates those documents instead of indexing them again under a new id
        assert reg.identify(loi.source) == "test_fr:loi_99-01_conges"
    assert user_version(path) == 5
    assert "documents_status" in index_names(path)


def test_legacy_audit_log_is_readable_and_upgraded(legacy: Path) -> None:
    path = legacy / "audit.sqlite"
    with pytest.raises(ConfigError, match="secret key"):
        AuditLog(path)  # its rows are chained with the deployment's key: without it, nothing changes
    assert user_version(path) == 0
    with AuditLog(path, key=KEY) as log:
        answers = log.answers()
        assert len(answers) == 1
        assert answers[0]["question"] == "Quelle est la durée du congé de maternité ?"
        assert answers[0]["ts"] == "2026-11-23T12:13:15+00:00"
        feedback = log.feedback_rows()
        assert len(feedback) == 1 and feedback[0]["answer_id"] == answers[0]["id"]
        assert feedback[0]["rating"] == -1
        # the previous release's rows are the first entries of the chain, which verifies
        assert log.verify().ok and log.verify().entries == 2
        # and it is still written to, with UTC timestamps
        new_id = log.record({"question": "q", "answer": "a", "citations": []}, "v-0docs", "p1")
        assert new_id == 3
        assert log.answers(1)[0]["ts"].endswith("+00:00")
        log.feedback(new_id, 1, None, None, {"question": "q"}, "v-0docs")
        assert log.feedback_rows(1)[0]["ts"].endswith("+00:00")
        assert log.verify().ok
    assert user_version(path) == latest_version(audit.MIGRATIONS) == 3
    assert "entries_ts" in index_names(path)


def test_legacy_eval_history_is_readable_and_upgraded(legacy: Path) -> None:
    path = legacy / "eval.sqlite"
    with History(path) as hist:
        runs = hist.runs()
        assert [r["run_id"] for r in runs] == [RUN_ID]
        assert hist.runs("dev.jsonl") == runs and hist.runs("other.jsonl") == []
        run = hist.get(RUN_ID)
        assert run is not None and run["n"] == 1 and run["ts"] == "2026-10-01T10:00:00+00:00"
        assert isinstance(run["metrics"], dict) and isinstance(run["fingerprint"], dict)
        assert hist.get("latest") == run and hist.get(RUN_ID[:8]) == run
        assert hist.items(RUN_ID) == [{"id": "q1", "question": "x", "refused": False}]
    assert user_version(path) == latest_version(history.MIGRATIONS) == 2
    assert "runs_dataset_ts" in index_names(path)


@pytest.mark.parametrize("name", sorted(STORES))
def test_opening_twice_is_a_no_op(legacy: Path, name: str) -> None:
    store, migrations = STORES[name]
    path = legacy / name
    with store(path):
        pass
    before = digest(path)
    applied: list[int] = []

    def spy(number: int) -> Callable[[sqlite3.Connection], None]:
        return lambda conn: applied.append(number)

    spied = [Migration(m.number, m.description, run=spy(m.number)) for m in migrations]
    open_database(path, spied, store=name, wal=store.WAL).close()
    with store(path) as again:
        assert again.schema_version == latest_version(migrations)
    assert applied == []
    assert digest(path) == before
    assert user_version(path) == latest_version(migrations)


@pytest.mark.parametrize("name", sorted(STORES))
def test_a_newer_schema_is_refused_clearly(legacy: Path, name: str) -> None:
    store, migrations = STORES[name]
    path = legacy / name
    newer = latest_version(migrations) + 1
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {newer}")
    conn.commit()
    conn.close()
    before = digest(path)
    with pytest.raises(ConfigError) as info:
        store(path)
    message = str(info.value)
    assert str(path) in message and "newer" in message and str(newer) in message
    assert "Upgrade Dalil" in message
    assert digest(path) == before


def test_a_failing_migration_leaves_the_file_at_its_previous_version(legacy: Path) -> None:
    path = legacy / "registry.sqlite"
    last = latest_version(registry.MIGRATIONS)
    broken = (
        *registry.MIGRATIONS,
        Migration(
            last + 1,
            "an index, then a table that already exists",
            sql="CREATE INDEX doomed ON documents (source); CREATE TABLE documents (x TEXT)",
        ),
    )
    with pytest.raises(ConfigError, match=f"migration {last + 1}"):
        open_database(path, broken, store="registry")
    # one transaction: neither the released migrations nor the first half of the new one stayed
    assert user_version(path) == 0
    assert not index_names(path)

    def boom(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x TEXT)")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        open_database(path, (*registry.MIGRATIONS, Migration(last + 1, "python", run=boom)), store="registry")
    assert user_version(path) == 0
    with Registry(path) as reg:  # the real migrations still apply afterwards
        assert reg.schema_version == last
        assert len(reg.all()) == 3
        tables = {r[0] for r in reg.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "half_done" not in tables


def test_a_new_data_directory_gets_every_store_at_the_latest_version(tmp_path: Path) -> None:
    data = tmp_path / "new" / "data"  # the parent directories are created
    with Registry(data / "registry.sqlite") as reg:
        reg.upsert("c:d", path="/x", source="c/d.md", collection="c", status=DocumentStatus.INDEXED)
        rec = reg.get("c:d")
        assert rec is not None and rec.created_at.endswith("+00:00") and rec.updated_at.endswith("+00:00")
    with AuditLog(data / "audit.sqlite", key=KEY), History(data / "eval.sqlite"):
        pass
    with EmbeddingCache(data / "embedding-cache.sqlite") as emb:
        assert emb.schema_version == latest_version(cache.MIGRATIONS) == 1
    for name, (_, migrations) in STORES.items():
        assert user_version(data / name) == latest_version(migrations), name
    # WAL where it is safe, the rollback journal for files deleted by a rebuild or shared
    for name, mode in [("audit.sqlite", "wal"), ("eval.sqlite", "wal"), ("registry.sqlite", "delete")]:
        conn = sqlite3.connect(data / name)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == mode, name
        conn.close()


def test_stores_close_and_work_as_context_managers(tmp_path: Path) -> None:
    with Registry(tmp_path / "r.sqlite") as reg:
        assert reg.all() == []
    with pytest.raises(sqlite3.ProgrammingError):
        reg.all()
    reg.close()  # a second close does nothing


def test_migrations_are_numbered_without_gaps(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="numbered"):
        open_database(
            tmp_path / "x.sqlite",
            [Migration(1, "a", sql="SELECT 1"), Migration(3, "c", sql="SELECT 1")],
            store="x",
        )
    with pytest.raises(ValueError, match="sql or run"):
        Migration(1, "neither")


def test_sql_scripts_split_on_statements_not_on_every_semicolon() -> None:
    script = "CREATE TABLE t (x TEXT DEFAULT 'a;b');\n\nINSERT INTO t VALUES ('c;d');\n"
    assert list(sql_statements(script)) == [
        "CREATE TABLE t (x TEXT DEFAULT 'a;b');",
        "INSERT INTO t VALUES ('c;d');",
    ]


def test_a_file_that_is_not_sqlite_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    path.write_text("not a database, " * 100)
    with pytest.raises(ConfigError, match="audit.sqlite"):
        AuditLog(path)


# ---------------------------------------------------------------------------------- accounts


@pytest.fixture()
def accounts_yaml(tmp_path: Path) -> tuple[Settings, bytes]:
    """A data directory with the credentials.yaml `dalil users add` wrote before users.sqlite."""
    settings = Settings(data_dir=tmp_path / "data")
    settings.ensure_dirs()
    text = (
        "users:\n"
        f"  owner: {credentials.hash_password('old-owner-pass')}\n"
        f"  clerk: {credentials.hash_password('old-clerk-pass')}\n"
    ).encode()
    settings.credentials_path.write_bytes(text)
    return settings, text


def test_yaml_accounts_are_imported_once_and_the_yaml_is_left_untouched(
    accounts_yaml: tuple[Settings, bytes],
) -> None:
    settings, text = accounts_yaml
    path = settings.credentials_path
    assert credentials.check(path, "owner", "old-owner-pass")
    assert not credentials.check(path, "owner", "wrong")
    assert credentials.check(path, "clerk", "old-clerk-pass")
    assert not credentials.check(path, "nobody", "old-clerk-pass")
    assert settings.users_path.exists()
    assert stat.S_IMODE(settings.users_path.stat().st_mode) == 0o600
    assert path.read_bytes() == text

    credentials.add_user(path, "owner", "new-owner-pass")
    credentials.add_user(path, "third", "third-pass")
    assert credentials.check(path, "owner", "new-owner-pass")
    assert not credentials.check(path, "owner", "old-owner-pass")
    assert sorted(credentials.load_users(path)) == ["clerk", "owner", "third"]
    assert path.read_bytes() == text  # never written again

    with credentials.UserStore(settings.users_path) as store:
        assert store.schema_version == 3
        # accounts made before roles keep every page; an account added since is an agent only
        assert store.roles("clerk") == set(credentials.ACCOUNT_ROLES)
        assert store.roles("third") == {Role.AGENT}
        (record,) = store.imports()
        assert record["source"] == str(path.resolve())
        assert record["sha256"] == hashlib.sha256(text).hexdigest()
        assert record["users"] == 2
        assert str(record["imported_at"]).endswith("+00:00")
        rows = {r["name"]: dict(r) for r in store.conn.execute("SELECT * FROM users")}
        assert rows["owner"]["created_at"].endswith("+00:00")
        assert rows["owner"]["updated_at"] >= rows["owner"]["created_at"]

    # an edit of the YAML after the import is not read back
    path.write_text(f"users:\n  late: {credentials.hash_password('late-pass')}\n", encoding="utf-8")
    assert not credentials.check(path, "late", "late-pass")


def test_without_a_yaml_file_accounts_start_empty(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    assert credentials.load_users(settings.credentials_path) == {}
    assert not settings.credentials_path.exists()
    credentials.add_user(settings.credentials_path, "owner", "s3cret-pass")
    assert credentials.check(settings.credentials_path, "owner", "s3cret-pass")
    assert not settings.credentials_path.exists()
    assert stat.S_IMODE(settings.users_path.stat().st_mode) == 0o600


def test_a_broken_yaml_file_stops_the_import_clearly_and_can_be_fixed(
    accounts_yaml: tuple[Settings, bytes],
) -> None:
    settings, text = accounts_yaml
    settings.credentials_path.write_text("users: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="credentials.yaml"):
        credentials.check(settings.credentials_path, "owner", "old-owner-pass")
    assert user_version(settings.users_path) == 0  # nothing half imported
    settings.credentials_path.write_bytes(text)
    assert credentials.check(settings.credentials_path, "owner", "old-owner-pass")


@pytest.fixture()
def configured_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env_settings: None
) -> Iterator[tuple[Settings, Path]]:
    """`credentials_file` names a YAML file outside the data directory."""
    yaml_path = tmp_path / "etc" / "agents.yaml"
    yaml_path.parent.mkdir()
    yaml_path.write_text(f"users:\n  owner: {credentials.hash_password('pass-1234')}\n", encoding="utf-8")
    monkeypatch.setenv("DALIL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DALIL_CREDENTIALS_FILE", str(yaml_path))
    get_settings.cache_clear()
    yield get_settings(), yaml_path


def test_a_configured_credentials_file_is_imported_into_the_data_directory(
    configured_elsewhere: tuple[Settings, Path],
) -> None:
    settings, yaml_path = configured_elsewhere
    assert settings.credentials_path == yaml_path
    assert credentials.users_db_for(settings.credentials_path) == (settings.users_path, yaml_path)
    assert credentials.users_db_for(settings.users_path) == (settings.users_path, yaml_path)
    assert credentials.check(settings.credentials_path, "owner", "pass-1234")
    assert settings.users_path == settings.data_dir / "users.sqlite" and settings.users_path.exists()
    assert not (yaml_path.parent / "users.sqlite").exists()
