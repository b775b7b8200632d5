"""Agents' sessions: signed, expiring session tokens, sign-out, and throttled sign-in.

A session token is `v1.<payload>.<mac>`: the payload (base64url JSON) names the account, a random
session id and the expiry (Unix seconds); the MAC is an HMAC-SHA256 under a key derived from the
deployment's secret key (`derive(key, "sessions")`, assistant/keys.py), so a token cannot be forged
or extended without the key, and a copy of the data directory does not give one. A token says
nothing about roles: they are read from the accounts store each time a token is read, so a
removed account or a withdrawn role takes effect at once.

Sign-out revokes the session id until the token would have expired (table `revoked`).

Failed sign-ins are counted per account and per address (`failures`) over `signin_window_s`;
reaching `signin_max_failures_account` (or `..._address`) locks the account (or the address) for
`signin_lockout_s` (`locks`), during which the password is not even checked. Accounts and
addresses are stored as keyed pseudonyms, never in clear. The numbers and their origins are in
assistant/tuning.py. The file is DATA_DIR/sessions.sqlite, private to its owner.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from assistant.credentials import check, user_roles
from assistant.keys import derive, mac, secret_key
from assistant.modes import Role
from assistant.settings import Settings
from assistant.sqlite_store import Migration, SQLiteStore
from assistant.tuning import Tuning

TOKEN_VERSION = "v1"
SESSIONS_DB_NAME = "sessions.sqlite"

MIGRATIONS = (
    Migration(
        1,
        "failed sign-ins, locks and revoked sessions",
        sql="""
        CREATE TABLE failures (scope TEXT NOT NULL, subject TEXT NOT NULL, ts REAL NOT NULL);
        CREATE INDEX failures_subject ON failures (scope, subject, ts);
        CREATE TABLE locks (
            scope TEXT NOT NULL, subject TEXT NOT NULL, until REAL NOT NULL,
            PRIMARY KEY (scope, subject)
        );
        CREATE TABLE revoked (sid TEXT PRIMARY KEY, expires REAL NOT NULL);
        """,
    ),
)


class Scope(StrEnum):
    """What a failed sign-in is counted against."""

    ACCOUNT = "account"
    ADDRESS = "address"


class Outcome(StrEnum):
    SIGNED_IN = "signed_in"
    REFUSED = "refused"  # wrong account or password
    LOCKED = "locked"  # too many failures: retry after `retry_after_s`


@dataclass(frozen=True)
class Session:
    """A signed-in agent: who, with which roles, the session id, and when it expires (Unix s)."""

    user: str
    roles: frozenset[Role]
    sid: str
    expires: float


@dataclass(frozen=True)
class SignIn:
    """The result of a sign-in attempt: a session and its token, or why not."""

    outcome: Outcome
    session: Session | None = None
    token: str | None = None
    retry_after_s: int = 0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Issues and reads session tokens (see the module docstring for their form)."""

    def __init__(self, key: bytes, ttl_s: int) -> None:
        self._key = derive(key, "sessions")
        self.ttl_s = ttl_s

    def _mac(self, payload: str) -> str:
        return mac(self._key, f"{TOKEN_VERSION}.{payload}")

    def issue(self, user: str, now: float | None = None) -> tuple[str, str, float]:
        """(token, session id, expiry) of a new session for `user`."""
        sid = secrets.token_urlsafe(16)
        expires = (time.time() if now is None else now) + self.ttl_s
        payload = _b64(json.dumps({"u": user, "sid": sid, "exp": expires}, separators=(",", ":")).encode())
        return f"{TOKEN_VERSION}.{payload}.{self._mac(payload)}", sid, expires

    def read(self, token: str, now: float | None = None) -> tuple[str, str, float] | None:
        """(user, session id, expiry) of a token whose MAC holds and that has not expired; None
        for anything else (forged, altered, expired, malformed)."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != TOKEN_VERSION:
            return None
        _, payload, tag = parts
        if not hmac.compare_digest(tag, self._mac(payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
            user, sid, expires = str(data["u"]), str(data["sid"]), float(data["exp"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        if expires <= (time.time() if now is None else now):
            return None
        return user, sid, expires


class SessionStore(SQLiteStore):
    """DATA_DIR/sessions.sqlite: failed sign-ins, locks and revoked sessions."""

    STORE = "sign-in sessions"
    MIGRATIONS = MIGRATIONS
    WAL = False
    RECOVERY = (
        "It only holds sign-in throttling and signed-out sessions: move it aside and Dalil starts a new "
        "one (agents signed in before may need to sign in again)."
    )

    def lock_remaining(self, scope: Scope, subject: str, now: float) -> float:
        row = self.conn.execute(
            "SELECT until FROM locks WHERE scope = ? AND subject = ?", (scope.value, subject)
        ).fetchone()
        return max(0.0, float(row["until"]) - now) if row else 0.0

    def fail(self, scope: Scope, subject: str, now: float, window_s: int, limit: int, lockout_s: int) -> None:
        """Count a failure; lock the subject when it reaches `limit` within the window."""
        self.conn.execute("DELETE FROM failures WHERE ts < ?", (now - window_s,))
        self.conn.execute(
            "INSERT INTO failures (scope, subject, ts) VALUES (?, ?, ?)", (scope.value, subject, now)
        )
        count = self.conn.execute(
            "SELECT COUNT(*) FROM failures WHERE scope = ? AND subject = ? AND ts >= ?",
            (scope.value, subject, now - window_s),
        ).fetchone()[0]
        if count >= limit:
            self.conn.execute(
                "INSERT INTO locks (scope, subject, until) VALUES (?, ?, ?) ON CONFLICT (scope, subject)"
                " DO UPDATE SET until = excluded.until",
                (scope.value, subject, now + lockout_s),
            )
            self.conn.execute("DELETE FROM failures WHERE scope = ? AND subject = ?", (scope.value, subject))
        self.conn.commit()

    def clear(self, scope: Scope, subject: str) -> None:
        self.conn.execute("DELETE FROM failures WHERE scope = ? AND subject = ?", (scope.value, subject))
        self.conn.commit()

    def revoke(self, sid: str, expires: float, now: float) -> None:
        self.conn.execute("DELETE FROM revoked WHERE expires < ?", (now,))
        self.conn.execute(
            "INSERT INTO revoked (sid, expires) VALUES (?, ?) ON CONFLICT (sid) DO NOTHING", (sid, expires)
        )
        self.conn.commit()

    def is_revoked(self, sid: str) -> bool:
        return self.conn.execute("SELECT 1 FROM revoked WHERE sid = ?", (sid,)).fetchone() is not None


class Sessions:
    """Sign-in, session tokens and sign-out for one deployment."""

    def __init__(self, credentials_path: Path, store_path: Path, key: bytes, tuning: Tuning) -> None:
        self.credentials_path = credentials_path
        self.store_path = store_path
        self.tuning = tuning
        self.signer = SessionSigner(key, tuning.session_ttl_s)
        self._subjects = derive(key, "sign-in-subjects")

    @classmethod
    def from_settings(cls, settings: Settings) -> Sessions:
        return cls(
            settings.credentials_path,
            settings.data_dir / SESSIONS_DB_NAME,
            secret_key(settings),
            settings.tuning,
        )

    def _subject(self, scope: Scope, value: str) -> str:
        return mac(self._subjects, f"{scope.value}\n{value}", 32)

    def sign_in(self, user: str, password: str, address: str | None, now: float | None = None) -> SignIn:
        """Check a password, counting failures per account and per address (None: unknown
        address, counted as one address) and refusing while either is locked."""
        now = time.time() if now is None else now
        tun = self.tuning
        subjects = [
            (Scope.ACCOUNT, self._subject(Scope.ACCOUNT, user), tun.signin_max_failures_account),
            (Scope.ADDRESS, self._subject(Scope.ADDRESS, address or "?"), tun.signin_max_failures_address),
        ]
        with SessionStore(self.store_path) as store:
            wait = max(store.lock_remaining(scope, subject, now) for scope, subject, _ in subjects)
            if wait > 0:
                return SignIn(Outcome.LOCKED, retry_after_s=int(wait + 0.999))
            if not (user and password and check(self.credentials_path, user, password)):
                for scope, subject, limit in subjects:
                    store.fail(scope, subject, now, tun.signin_window_s, limit, tun.signin_lockout_s)
                wait = max(store.lock_remaining(scope, subject, now) for scope, subject, _ in subjects)
                if wait > 0:
                    return SignIn(Outcome.LOCKED, retry_after_s=int(wait + 0.999))
                return SignIn(Outcome.REFUSED)
            store.clear(Scope.ACCOUNT, subjects[0][1])
        token, sid, expires = self.signer.issue(user, now)
        roles = user_roles(self.credentials_path, user)
        return SignIn(Outcome.SIGNED_IN, Session(user, roles, sid, expires), token)

    def resume(self, token: str, now: float | None = None) -> Session | None:
        """The session a token carries, if it is genuine, not expired, not signed out, and its
        account still exists (with the roles the account has now)."""
        read = self.signer.read(token, now)
        if read is None:
            return None
        user, sid, expires = read
        with SessionStore(self.store_path) as store:
            if store.is_revoked(sid):
                return None
        roles = user_roles(self.credentials_path, user)
        if not roles:
            return None
        return Session(user, roles, sid, expires)

    def sign_out(self, session: Session, now: float | None = None) -> None:
        """Revoke the session: its token is refused from now on, even if a copy was kept."""
        with SessionStore(self.store_path) as store:
            store.revoke(session.sid, session.expires, time.time() if now is None else now)
