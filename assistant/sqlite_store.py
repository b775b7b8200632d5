"""The one way a store opens its SQLite file: parent directory, pragmas, numbered migrations.

Every SQLite store (the document registry, the audit log, the evaluation history, the embedding
cache, the agent accounts) declares its schema as an ordered tuple of `Migration`s and opens its
file with `open_database`, in the manner of simonw/llm's `migrations.py`:

- a migration is a number (1, 2, 3... with no gap), a one-line description, and either SQL
  (one or more statements) or a Python callable that takes the connection;
- the number of the last migration applied is kept in the file itself, in `PRAGMA user_version`
  (chosen over a `schema_migrations` table: it is part of the database header, so it moves in
  the same transaction as the schema, it costs no table in the stores' own namespace, and a file
  written before migrations existed reads as 0 without any bootstrap);
- the pending migrations run in order inside ONE transaction (BEGIN IMMEDIATE ... COMMIT): if one
  fails, the file is left exactly at the version it had before it was opened;
- migration 1 of every store is the schema as the release before migrations wrote it, with
  CREATE ... IF NOT EXISTS: a data directory made by that release (tables present, user_version
  0) is recognised, migration 1 is a no-op on it, and the later migrations upgrade it;
- a file whose version is newer than the code knows (written by a newer Dalil) is refused with a
  `ConfigError` naming the file, rather than read or written by code that does not know its schema.

A migration, once released, is never edited: a change is a new migration at the end of the list.

Pragmas: a busy timeout (30 s: the app, the command line and ingestion share these files),
foreign keys on, and the WAL journal for the stores that ask for it (`wal=True`): WAL lets readers
(the app) go on while a writer (ingestion, an evaluation run) commits. A store whose file may be
deleted while in use, or which may be placed on a network file system, keeps SQLite's default
rollback journal: a `-wal` file left beside a deleted or copied database is the classic way to
corrupt or resurrect one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from assistant.errors import ConfigError, StoreDamagedError

BUSY_TIMEOUT_S = 30.0
_log = logging.getLogger(__name__)
# SQLite's primary result codes for a damaged file (sqlite3.Error.sqlite_errorcode & 0xFF)
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26


@dataclass(frozen=True)
class Migration:
    """One numbered step of a store's schema: SQL, or a callable that takes the connection (and
    must neither commit nor roll back: it runs inside the migrations' transaction)."""

    number: int
    description: str
    sql: str | None = None
    run: Callable[[sqlite3.Connection], None] | None = None

    def __post_init__(self) -> None:
        if (self.sql is None) == (self.run is None):
            raise ValueError(f"migration {self.number} ({self.description}): give sql or run, not both")

    def apply(self, conn: sqlite3.Connection) -> None:
        if self.run is not None:
            self.run(conn)
            return
        for statement in sql_statements(self.sql or ""):
            conn.execute(statement)


def sql_statements(script: str) -> Iterator[str]:
    """The statements of an SQL script, one by one (`executescript` would COMMIT the migrations'
    transaction first). Semicolons inside strings or trigger bodies do not split a statement."""
    buffer = ""
    for part in script.split(";"):
        buffer += part + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \t\r\n;"):
                yield buffer.strip()
            buffer = ""
    if buffer.strip(" \t\r\n;"):
        yield buffer  # incomplete: let SQLite say what is wrong with it


def latest_version(migrations: Sequence[Migration]) -> int:
    return migrations[-1].number if migrations else 0


def check_migrations(migrations: Sequence[Migration]) -> None:
    """Numbers 1, 2, 3... in order and without gaps: a programming error otherwise."""
    numbers = [m.number for m in migrations]
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValueError(f"migrations must be numbered 1..n in order, got {numbers}")


def schema_version(conn: sqlite3.Connection) -> int:
    """The number of the last migration applied to this database (0: none, or made before
    migrations existed)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _too_new(path: Path, store: str, found: int, known: int) -> ConfigError:
    return ConfigError(
        f"{path} ({store}) has schema version {found}, but this version of Dalil knows versions up to "
        f"{known}: the file was written by a newer release of Dalil. Upgrade Dalil to that release, or "
        f"point DALIL_DATA_DIR at another data directory; do not lower its version by hand "
        f"(PRAGMA user_version), the newer schema would then be read as an older one."
    )


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration], path: Path, store: str) -> int:
    """Apply the pending migrations in one transaction; return the version the file is now at.

    Opening an up-to-date file takes no write lock. Two processes opening an old file at once are
    serialised by BEGIN IMMEDIATE, and the second one finds nothing left to do."""
    check_migrations(migrations)
    known = latest_version(migrations)
    current = schema_version(conn)
    if current > known:
        raise _too_new(path, store, current, known)
    if current == known:
        return current
    saved_isolation = conn.isolation_level
    conn.isolation_level = None  # explicit BEGIN/COMMIT: nothing commits behind the migrations' back
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = schema_version(conn)  # another process may have migrated it meanwhile
            if current > known:
                raise _too_new(path, store, current, known)
            for migration in migrations:
                if migration.number > current:
                    try:
                        migration.apply(conn)
                    except sqlite3.Error as exc:
                        raise ConfigError(
                            f"{path} ({store}): migration {migration.number} ({migration.description}) "
                            f"failed: {exc}. The file is left at schema version {current}; fix the cause "
                            f"(disk full, permissions, a table altered by hand) and open it again."
                        ) from exc
            conn.execute(f"PRAGMA user_version = {known:d}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    finally:
        conn.isolation_level = saved_isolation
    return known


def _is_damage(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc)
    return "malformed" in text or "not a database" in text


def integrity_problem(conn: sqlite3.Connection) -> str | None:
    """What `PRAGMA quick_check` finds wrong with the file (None: nothing). A locked or busy file
    is not damage: its error propagates. quick_check reads every page but skips the index-content
    comparison of integrity_check (tens of milliseconds for these stores, see docs/integrity.md)."""
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        if _is_damage(exc):
            return str(exc)
        raise
    lines = [line.strip() for row in rows for line in str(row[0]).splitlines()]
    problems = [line for line in lines if line and line != "ok" and not line.startswith("*** in database")]
    return "; ".join(problems[:3]) or None


def damaged_message(path: Path, store: str, problem: str, recovery: str) -> str:
    return f"{path} ({store}) is damaged: {problem}. {recovery}"


def move_aside(path: Path) -> Path:
    """Rename a damaged file (and its journal) to `NAME.damaged-TIMESTAMP`; return the new path."""
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
    path.rename(aside)
    for suffix in ("-journal", "-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(aside.with_name(aside.name + suffix))
    return aside


def open_database(
    path: Path,
    migrations: Sequence[Migration],
    *,
    store: str,
    wal: bool = True,
    private: bool = False,
    recovery: str = "",
) -> sqlite3.Connection:
    """Open (creating it and its directory if needed) the SQLite file of one store, check it
    (`PRAGMA quick_check`), set the pragmas and apply the pending migrations. Rows come back as
    `sqlite3.Row`.

    `store` names the store in error messages; `wal` asks for the WAL journal (see the module
    docstring for when not to); `private` creates a new file readable by its owner only (0600);
    `recovery` is what the message of a damaged file tells the operator to do
    (`StoreDamagedError`: the file is left untouched)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # a new data directory is private
    if private and not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        problem = integrity_problem(conn)  # first: read-only, a damaged file is left untouched
        if problem is not None:
            raise StoreDamagedError(
                damaged_message(
                    path,
                    store,
                    problem,
                    recovery or "Restore it from a backup, or move it aside and Dalil starts a new one.",
                )
            )
        migrate(conn, migrations, path, store)  # first: a file it refuses is left untouched
        if wal:
            # busy, or a read-only medium: the file keeps the journal it has
            with contextlib.suppress(sqlite3.OperationalError):
                conn.execute("PRAGMA journal_mode = WAL")
    except sqlite3.DatabaseError as exc:
        conn.close()
        if _is_damage(exc):
            raise StoreDamagedError(
                damaged_message(
                    path,
                    store,
                    str(exc),
                    recovery or "Restore it from a backup, or move it aside and Dalil starts a new one.",
                )
            ) from exc
        raise ConfigError(
            f"{path} ({store}) cannot be opened: {exc}. Check that it is a SQLite file written by Dalil "
            f"and that it is readable and writable (and not locked by a stuck process); otherwise move "
            f"it aside and Dalil starts a new one."
        ) from exc
    except BaseException:
        conn.close()
        raise
    return conn


class SQLiteStore:
    """Base of the stores: `self.conn`, `close()`, and `with Store(path) as store:`.

    A subclass declares `MIGRATIONS` (and `WAL`, `PRIVATE`, `STORE` when the defaults do not fit)
    and calls `super().__init__(path)`; it may pass its own migrations (built from arguments)."""

    MIGRATIONS: Sequence[Migration] = ()
    STORE: str = "sqlite store"
    WAL: bool = True
    PRIVATE: bool = True  # data files are readable by the service's user only
    # what the message of a damaged file says to do (the file is never replaced automatically)
    RECOVERY: str = "Restore it from a backup."
    # a cache: a damaged file is moved aside (NAME.damaged-TIMESTAMP, with a warning) and a new
    # one is created; nothing is lost but the time to compute its contents again
    CACHE: bool = False

    def __init__(self, path: Path, migrations: Sequence[Migration] | None = None) -> None:
        self.path = path
        steps = self.MIGRATIONS if migrations is None else migrations
        try:
            self.conn = self._open(steps)
        except StoreDamagedError as exc:
            if not self.CACHE:
                raise
            aside = move_aside(path)
            _log.warning("%s It is a cache: moved aside to %s, a new one is created.", exc, aside)
            self.conn = self._open(steps)

    def _open(self, migrations: Sequence[Migration]) -> sqlite3.Connection:
        return open_database(
            self.path,
            migrations,
            store=self.STORE,
            wal=self.WAL,
            private=self.PRIVATE,
            recovery=self.RECOVERY,
        )

    @property
    def schema_version(self) -> int:
        return schema_version(self.conn)

    def close(self) -> None:
        """Close the connection (a second call does nothing)."""
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
