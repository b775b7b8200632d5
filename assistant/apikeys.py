"""API keys of the HTTP service, kept in the SQLite store DATA_DIR/apikeys.sqlite.

A key is `dalil_` followed by 43 random URL-safe characters (32 bytes). It is shown once, when it
is created (`dalil keys add NAME --role ROLE`); the store keeps only its HMAC-SHA256 under a key
derived from the deployment's secret (`derive(secret_key, "api-keys")`, assistant/keys.py), so a
copy of the data directory alone neither reveals a key nor lets anyone forge a row that matches
one. A key is looked up by that HMAC (an indexed column), never by comparing stored secrets.

Each key has a name (unique among active keys), a role (`assistant.modes.Role`: the audiences it
sees and what it may change) and is revoked by name (`dalil keys revoke NAME`): the row stays, with
the time of revocation, so `dalil keys list` shows the history; a revoked name may be given again
to a new key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from assistant.dates import utc_now
from assistant.errors import InputError
from assistant.modes import Role
from assistant.sqlite_store import Migration, SQLiteStore

KEY_PREFIX = "dalil_"
KEY_BYTES = 32
PURPOSE = "api-keys"
SHOWN_PREFIX_CHARS = 10  # "dalil_" + 4 characters: enough to recognise a key in a list, not to guess it

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS api_keys_active_name ON api_keys (name) WHERE revoked_at IS NULL;
"""

MIGRATIONS = (Migration(1, "api_keys table, one active key per name", sql=SCHEMA),)


@dataclass(frozen=True)
class ApiKey:
    """A stored key, without its secret."""

    name: str
    role: Role
    prefix: str
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def as_dict(self) -> dict[str, str | bool | None]:
        return {
            "name": self.name,
            "role": self.role.value,
            "prefix": self.prefix,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
            "active": self.active,
        }


def parse_role(value: str | Role) -> Role:
    try:
        return Role(value)
    except ValueError as exc:
        roles = ", ".join(r.value for r in Role)
        raise InputError(f"unknown role {value!r}: use one of {roles}") from exc


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100 or any(ch.isspace() or not ch.isprintable() for ch in name):
        raise InputError(
            f"key name {name!r}: give 1 to 100 printable characters without spaces (e.g. portail-citoyen)"
        )
    return name


class ApiKeyStore(SQLiteStore):
    """DATA_DIR/apikeys.sqlite: one row per key ever created. Private (0600); on the rollback
    journal (no `-wal` copy of the hashes beside it; keys are rarely written)."""

    STORE = "API keys"
    MIGRATIONS = MIGRATIONS
    WAL = False
    RECOVERY = "Restore it from a backup, or move it aside and create the keys again with `dalil keys add`."

    def __init__(self, path: Path, secret: bytes) -> None:
        self._mac_key = hmac.new(secret, PURPOSE.encode(), hashlib.sha256).digest()
        self._lock = threading.Lock()  # one connection, used from the service's threads
        super().__init__(path)

    def _hash(self, key: str) -> str:
        return hmac.new(self._mac_key, key.encode(), hashlib.sha256).hexdigest()

    def add(self, name: str, role: Role | str) -> tuple[ApiKey, str]:
        """Create a key; returns its record and the key itself (shown once, never stored)."""
        name, role = _check_name(name), parse_role(role)
        key = KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)
        now = utc_now()
        with self._lock, self.conn:
            if self.conn.execute(
                "SELECT 1 FROM api_keys WHERE name = ? AND revoked_at IS NULL", (name,)
            ).fetchone():
                raise InputError(
                    f"an active key is already named {name!r}: revoke it first (`dalil keys revoke {name}`) "
                    "or choose another name"
                )
            self.conn.execute(
                "INSERT INTO api_keys (name, role, key_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)",
                (name, role.value, self._hash(key), key[:SHOWN_PREFIX_CHARS], now),
            )
        return ApiKey(name, role, key[:SHOWN_PREFIX_CHARS], now), key

    def lookup(self, key: str) -> ApiKey | None:
        """The active key this secret belongs to, or None (unknown, malformed or revoked)."""
        if not key.startswith(KEY_PREFIX) or len(key) > 200:
            return None
        with self._lock:
            row = self.conn.execute(
                "SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", (self._hash(key),)
            ).fetchone()
        return _record(row) if row is not None else None

    def list(self, include_revoked: bool = True) -> list[ApiKey]:
        where = "" if include_revoked else " WHERE revoked_at IS NULL"
        with self._lock:
            rows = self.conn.execute(f"SELECT * FROM api_keys{where} ORDER BY created_at, id").fetchall()
        return [_record(r) for r in rows]

    def revoke(self, name: str) -> bool:
        """Revoke the active key of that name; False when there is none."""
        with self._lock, self.conn:
            cur = self.conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                (utc_now(), name),
            )
        return cur.rowcount > 0


def _record(row: object) -> ApiKey:
    r = dict(row)  # type: ignore[call-overload]  # a sqlite3.Row
    return ApiKey(r["name"], Role(r["role"]), r["prefix"], r["created_at"], r["revoked_at"])
