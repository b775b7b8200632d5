"""Agent sign-in against salted PBKDF2 password hashes, kept in the SQLite store DATA_DIR/users.sqlite.

Where the accounts live. Releases before this one kept them in a YAML file ({users: {name: hash}}):
DATA_DIR/credentials.yaml, or the file named by the `credentials_file` setting
(`Settings.credentials_path`). They now live in `users.sqlite` in the data directory
(`Settings.users_path`, created private to its owner, 0600). Its migration 2 imports the YAML file
found at the configured credentials path, once, when the users database is created (or upgraded
from version 1), and records the import (file, SHA-256, number of accounts, time) in the table
`imports`. The YAML file itself is never written, moved or deleted; an edit made to it after the
import is not read (add or reset accounts with `dalil users add`).

The public functions keep their arguments: `path` is still the credentials YAML path
(`Settings.credentials_path`), and `users_db_for(path)` derives the users database from it:
- the configured credentials path (that of `get_settings()`) -> that settings' `users_path`;
- any other YAML path -> `users.sqlite` in the same directory, which is the data directory
  whenever `credentials_file` is not set (credentials_path = DATA_DIR/credentials.yaml);
- a path ending in `.sqlite` is the users database itself.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import yaml

from assistant.dates import utc_now
from assistant.errors import ConfigError
from assistant.modes import Role
from assistant.sqlite_store import Migration, SQLiteStore

ITERATIONS = 200_000


# What a signed-in account may do in the app (`assistant.modes.Role`, the vocabulary API keys use
# too). Every account is an agent (the chat with the agents-only collections); evaluators also open
# the Quality page, owners the Documents page (uploads, collections, metadata). An account is
# never a citizen: citizens need none.
ACCOUNT_ROLES = (Role.AGENT, Role.EVALUATOR, Role.OWNER)


def parse_roles(text: str | Iterable[str] | None) -> frozenset[Role]:
    """Roles from a stored `agent,owner` text or a list of names; every account is an agent."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else list(text or [])) if n.strip()]
    unknown = [n for n in names if n not in {r.value for r in ACCOUNT_ROLES}]
    if unknown:
        known = ", ".join(r.value for r in ACCOUNT_ROLES)
        raise ConfigError(f"unknown role in {unknown!r}: an account's roles are {known}")
    return frozenset({Role.AGENT, *(Role(n) for n in names)})


def roles_text(roles: Iterable[Role]) -> str:
    return ",".join(sorted(r.value for r in {Role.AGENT, *roles}))


USERS_DB_NAME = "users.sqlite"
CREDENTIALS_YAML_NAME = "credentials.yaml"


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITERATIONS)
    return f"pbkdf2_sha256${ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        algo, iterations, salt, digest = encoded.split("$")
    except ValueError:
        return False
    if algo != "pbkdf2_sha256":
        return False
    computed = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    return hmac.compare_digest(computed, base64.b64decode(digest))


SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS imports (
    source TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    users INTEGER NOT NULL,
    imported_at TEXT NOT NULL
);
"""


def read_yaml_accounts(path: Path) -> dict[str, str]:
    """{name: hash} of a credentials YAML file written by a release before users.sqlite."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        users = data.get("users") or {}
        return {str(k): str(v) for k, v in users.items()}
    except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError) as exc:
        raise ConfigError(
            f"cannot import the agent accounts of {path}: {exc}. Fix the file (format: `users: "
            f"{{name: pbkdf2_sha256$...}}`) or move it aside, then start Dalil again."
        ) from exc


def _import_yaml(source: Path | None, conn: sqlite3.Connection) -> None:
    """Migration 2: copy the accounts of the credentials YAML file, if there is one."""
    if source is None or not source.is_file():
        return
    accounts = read_yaml_accounts(source)
    now = utc_now()  # the file does not say when its accounts were made: created_at is the import
    conn.executemany(
        "INSERT INTO users (name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (name) DO NOTHING",
        [(name, encoded, now, now) for name, encoded in accounts.items()],
    )
    conn.execute(
        "INSERT INTO imports (source, sha256, users, imported_at) VALUES (?, ?, ?, ?)",
        (str(source.resolve()), hashlib.sha256(source.read_bytes()).hexdigest(), len(accounts), now),
    )


def migrations(import_from: Path | None) -> tuple[Migration, ...]:
    """The users store's migrations; `import_from` is the credentials YAML file to import."""
    return (
        Migration(1, "users and imports tables", sql=SCHEMA),
        Migration(
            2,
            "import the accounts of the credentials YAML file (releases before users.sqlite)",
            run=functools.partial(_import_yaml, import_from),
        ),
        Migration(
            3,
            "a roles column (agent, evaluator, owner); accounts made before roles keep every page",
            sql="""
            ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT 'agent';
            UPDATE users SET roles = 'agent,evaluator,owner';
            """,
        ),
    )


class UserStore(SQLiteStore):
    """DATA_DIR/users.sqlite: one row per agent account. Private (0600) and on the rollback
    journal: no `-wal` copy of the hashes beside it, and accounts are rarely written."""

    STORE = "agent accounts"
    WAL = False
    PRIVATE = True
    RECOVERY = (
        "Restore it from a backup, or move it aside and add the accounts again with `dalil users add NAME`."
    )

    def __init__(self, path: Path, import_from: Path | None = None) -> None:
        super().__init__(path, migrations(import_from))

    def get(self, name: str) -> str | None:
        row = self.conn.execute("SELECT password_hash FROM users WHERE name = ?", (name,)).fetchone()
        return str(row["password_hash"]) if row else None

    def all(self) -> dict[str, str]:
        rows = self.conn.execute("SELECT name, password_hash FROM users ORDER BY name").fetchall()
        return {str(r["name"]): str(r["password_hash"]) for r in rows}

    def set(self, name: str, password_hash: str) -> None:
        now = utc_now()
        self.conn.execute(
            "INSERT INTO users (name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash,"
            " updated_at = excluded.updated_at",
            (name, password_hash, now, now),
        )
        self.conn.commit()

    def roles(self, name: str) -> frozenset[Role]:
        row = self.conn.execute("SELECT roles FROM users WHERE name = ?", (name,)).fetchone()
        return parse_roles(str(row["roles"])) if row else frozenset()

    def set_roles(self, name: str, roles: Iterable[Role]) -> None:
        self.conn.execute("UPDATE users SET roles = ? WHERE name = ?", (roles_text(roles), name))
        self.conn.commit()

    def imports(self) -> list[dict[str, object]]:
        rows = self.conn.execute("SELECT * FROM imports ORDER BY imported_at").fetchall()
        return [dict(r) for r in rows]


def _same(a: Path, b: Path) -> bool:
    return a.expanduser().resolve() == b.expanduser().resolve()


def users_db_for(path: Path) -> tuple[Path, Path]:
    """(users database, credentials YAML to import) for the `path` the functions below take:
    see the module docstring."""
    from assistant.settings import get_settings

    settings = get_settings()
    if path.suffix == ".sqlite":
        if _same(path, settings.users_path):
            return path, settings.credentials_path
        return path, path.with_name(CREDENTIALS_YAML_NAME)
    if _same(path, settings.credentials_path):
        return settings.users_path, path
    return path.with_name(USERS_DB_NAME), path


def open_users(path: Path) -> UserStore:
    db, yaml_path = users_db_for(path)
    return UserStore(db, import_from=yaml_path)


def load_users(path: Path) -> dict[str, str]:
    """{name: hash} of every agent account."""
    with open_users(path) as store:
        return store.all()


def add_user(path: Path, user: str, password: str, roles: Iterable[Role] | None = None) -> None:
    """Add an account, or reset its password; `roles` (when given) replaces the account's roles
    (a new account without them is an agent only)."""
    with open_users(path) as store:
        store.set(user, hash_password(password))
        if roles is not None:
            store.set_roles(user, roles)


def user_roles(path: Path, user: str) -> frozenset[Role]:
    """The account's roles (empty: no such account)."""
    with open_users(path) as store:
        return store.roles(user)


def check(path: Path, user: str, password: str) -> bool:
    with open_users(path) as store:
        encoded = store.get(user)
    return bool(encoded) and verify_password(password, encoded or "")
