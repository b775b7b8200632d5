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
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from assistant.errors import ConfigError

BUSY_TIMEOUT_S = 30.0


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


def open_database(
    path: Path,
    migrations: Sequence[Migration],
    *,
    store: str,
    wal: bool = True,
    private: bool = False,
) -> sqlite3.Connection:
    """Open (creating it and its directory if needed) the SQLite file of one store, set the
    pragmas and apply the pending migrations. Rows come back as `sqlite3.Row`.

    `store` names the store in error messages; `wal` asks for the WAL journal (see the module
    docstring for when not to); `private` creates a new file readable by its owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # a new data directory is private
    if private and not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        migrate(conn, migrations, path, store)  # first: a file it refuses is left untouched
        if wal:
            # busy, or a read-only medium: the file keeps the journal it has
            with contextlib.suppress(sqlite3.OperationalError):
                conn.execute("PRAGMA journal_mode = WAL")
    except sqlite3.DatabaseError as exc:
        conn.close()
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

    def __init__(self, path: Path, migrations: Sequence[Migration] | None = None) -> None:
        self.path = path
        self.conn = open_database(
            path,
            self.MIGRATIONS if migrations is None else migrations,
            store=self.STORE,
            wal=self.WAL,
            private=self.PRIVATE,
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
