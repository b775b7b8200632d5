"""Traceability: an append-only, hash-chained audit trail of every answer and every feedback.

Each entry (`entries` table) holds its number `seq` (1, 2, 3... without gaps), a UTC timestamp,
its kind (answer, feedback, purge), a body (canonical JSON: the pseudonymised question and
answer, cited chunk ids with document versions, model, prompt version, index version, user role,
timings) and two MACs: `prev_hash`, the `hash` of the entry before it, and its own `hash`, an
HMAC-SHA256 over (seq, ts, kind, prev_hash, body) keyed with the deployment's secret key
(assistant/keys.py), which never lives in the data directory. So:

- changing any stored field of any entry breaks that entry's hash;
- deleting an entry leaves a gap in `seq` and breaks the next entry's `prev_hash`;
- reordering entries breaks the hashes (the number is inside the MAC);
- and nobody holding only the data directory can recompute a consistent chain.

`verify()` (`dalil audit verify`) walks the chain and names the first bad entry. The retention
setting purges old entries: the purge deletes the oldest entries and appends a `purge` entry that
records how far it went and the hash of the last purged entry, so the remaining chain still verifies
from there. Removing the newest entries (the tail) is only detectable against a head recorded
elsewhere: `verify()` reports the head (seq and hash) for an operator to keep outside the server.

The `answers` and `feedback` views present the entries with the columns of the tables the
previous releases had, for the readers (`dalil audit`, the Quality page).

Writes are serialised inside a process (a lock) and across processes (BEGIN IMMEDIATE, WAL): no
entry is lost or duplicated under concurrency.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from assistant.dates import utc_now
from assistant.errors import ConfigError
from assistant.keys import derive, mac
from assistant.modes import PrivacyMode
from assistant.privacy import Entity, Pseudonymiser, detect, redact_known
from assistant.sqlite_store import Migration, SQLiteStore, sql_statements

GENESIS = "0" * 64

SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts TEXT NOT NULL,
    user TEXT,
    audience TEXT,
    question TEXT NOT NULL,
    question_hmac TEXT NOT NULL,
    language TEXT,
    mode TEXT,
    refused INTEGER,
    answer TEXT,
    citations TEXT,
    grounding TEXT,
    model TEXT,
    index_version TEXT,
    prompt_version TEXT,
    timings TEXT
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts TEXT NOT NULL,
    answer_id INTEGER,
    rating INTEGER NOT NULL,
    reason TEXT,
    comment TEXT,
    question TEXT,
    answer TEXT,
    citations TEXT,
    model TEXT,
    index_version TEXT
);
"""

ANSWER_FIELDS = (
    "user",
    "audience",
    "question",
    "question_hmac",
    "language",
    "mode",
    "refused",
    "answer",
    "citations",
    "grounding",
    "model",
    "index_version",
    "prompt_version",
    "timings",
)
FEEDBACK_FIELDS = (
    "answer_id",
    "answer_hash",
    "rating",
    "reason",
    "comment",
    "question",
    "answer",
    "citations",
    "model",
    "index_version",
)
JSON_FIELDS = ("citations", "grounding", "timings")


def _view(name: str, kind: str, fields: tuple[str, ...]) -> str:
    cols = ", ".join(f"json_extract(body, '$.{f}') AS {f}" for f in fields)
    return f"CREATE VIEW {name} AS SELECT seq AS id, ts, {cols} FROM entries WHERE kind = '{kind}';"


SCHEMA_V3 = f"""
CREATE TABLE entries (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX entries_ts ON entries (ts);
CREATE TRIGGER entries_append_only BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
{_view("answers", "answer", ANSWER_FIELDS)}
{_view("feedback", "feedback", FEEDBACK_FIELDS)}
"""


class EntryKind(StrEnum):
    ANSWER = "answer"
    FEEDBACK = "feedback"
    PURGE = "purge"  # entries older than the retention were deleted; the chain goes on from here


def canonical(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def entry_hash(key: bytes, seq: int, ts: str, kind: str, prev_hash: str, body: str) -> str:
    return mac(key, f"{seq}\n{ts}\n{kind}\n{prev_hash}\n{body}")


def _chain_legacy_rows(conn: sqlite3.Connection, key: bytes | None) -> None:
    """Migration 3: the rows of the previous releases' tables become the first entries of the chain
    (answers then feedback, each in id order; feedback keeps the link to its answer's new number)."""
    conn.execute("ALTER TABLE answers RENAME TO legacy_answers")
    conn.execute("ALTER TABLE feedback RENAME TO legacy_feedback")
    conn.execute("DROP INDEX IF EXISTS answers_ts")
    conn.execute("DROP INDEX IF EXISTS feedback_answer_id")
    for statement in sql_statements(SCHEMA_V3):
        conn.execute(statement)
    legacy_answers = conn.execute("SELECT * FROM legacy_answers ORDER BY id").fetchall()
    legacy_feedback = conn.execute("SELECT * FROM legacy_feedback ORDER BY id").fetchall()
    if (legacy_answers or legacy_feedback) and key is None:
        raise sqlite3.OperationalError(
            "the audit log holds entries of a previous release; chaining them needs the secret key "
            "(set DALIL_PSEUDONYM_KEY or DALIL_SECRET_KEY_FILE)"
        )
    prev, seq, new_ids = GENESIS, 0, {}
    for kind, rows, fields in (
        (EntryKind.ANSWER, legacy_answers, ANSWER_FIELDS),
        (EntryKind.FEEDBACK, legacy_feedback, FEEDBACK_FIELDS),
    ):
        for row in rows:
            seq += 1
            data = dict(row)
            body: dict[str, Any] = {f: data.get(f) for f in fields}
            for f in JSON_FIELDS:
                if isinstance(body.get(f), str):
                    with contextlib.suppress(json.JSONDecodeError):
                        body[f] = json.loads(body[f])
            if kind == EntryKind.ANSWER:
                new_ids[data["id"]] = seq
            else:
                body["answer_id"] = new_ids.get(data.get("answer_id"))
            text = canonical(body)
            assert key is not None
            h = entry_hash(key, seq, data["ts"], kind, prev, text)
            conn.execute(
                "INSERT INTO entries (seq, ts, kind, body, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?)",
                (seq, data["ts"], kind.value, text, prev, h),
            )
            prev = h
    conn.execute("DROP TABLE legacy_answers")
    conn.execute("DROP TABLE legacy_feedback")


def migrations(key: bytes | None) -> tuple[Migration, ...]:
    # Released migrations are never edited: a change is a new migration at the end.
    return (
        Migration(
            1, "answers and feedback tables, as written by the release before migrations", sql=SCHEMA_V1
        ),
        Migration(
            2,
            "indexes on answers(ts) and feedback(answer_id)",
            sql="""
            CREATE INDEX IF NOT EXISTS answers_ts ON answers (ts);
            CREATE INDEX IF NOT EXISTS feedback_answer_id ON feedback (answer_id);
            """,
        ),
        Migration(
            3,
            "append-only hash-chained entries; answers and feedback become views of them",
            run=lambda conn: _chain_legacy_rows(conn, key),
        ),
    )


MIGRATIONS = migrations(None)


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    first_seq: int | None
    head_seq: int | None
    head_hash: str | None
    bad_seq: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class AuditLog(SQLiteStore):
    """DATA_DIR/audit.sqlite (WAL: the app writes while `dalil audit` reads). Reading needs no key;
    writing and verifying need the deployment's secret key."""

    STORE = "audit log"
    PRIVATE = True
    RECOVERY = (
        "Restore it from a backup; Dalil never replaces the audit trail by itself (it is the record "
        "of past answers). To start a new trail, stop Dalil, move the damaged file aside and keep it "
        "as evidence; `dalil audit verify` checks a restored copy."
    )

    def __init__(
        self, path: Path, key: bytes | None = None, privacy_mode: PrivacyMode = PrivacyMode.PLACEHOLDERS
    ) -> None:
        self._key = derive(key, "audit-chain") if key is not None else None
        self._pseudonyms = derive(key, "pseudonyms") if key is not None else None
        self._privacy_mode = PrivacyMode(privacy_mode)
        self._lock = threading.Lock()
        super().__init__(path, migrations(self._key))

    # ------------------------------------------------------------------ writing
    def _require_key(self) -> bytes:
        if self._key is None:
            raise ConfigError(
                "writing or verifying the audit trail needs the secret key: open it with "
                "AuditLog(path, key=assistant.keys.secret_key(settings))"
            )
        return self._key

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: serialised within the process (lock) and across processes
        (BEGIN IMMEDIATE); committed on success, rolled back on any error."""
        with self._lock:
            conn = self.conn
            saved = conn.isolation_level
            conn.isolation_level = None
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            finally:
                conn.isolation_level = saved

    @staticmethod
    def _chain(conn: sqlite3.Connection, key: bytes, kind: EntryKind, text: str) -> tuple[int, str]:
        """Insert an entry after the last one (inside a `_writing` transaction)."""
        last = conn.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        seq = (int(last["seq"]) + 1) if last else 1
        prev = str(last["hash"]) if last else GENESIS
        ts = utc_now()
        h = entry_hash(key, seq, ts, kind, prev, text)
        conn.execute(
            "INSERT INTO entries (seq, ts, kind, body, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?)",
            (seq, ts, kind.value, text, prev, h),
        )
        return seq, h

    def _append(self, kind: EntryKind, body: dict[str, Any]) -> tuple[int, str]:
        key = self._require_key()
        with self._writing() as conn:
            return self._chain(conn, key, kind, canonical(body))

    def _minimised(self, text: str, language: str | None = None, entities: list[Entity] | None = None) -> str:
        """`text` with its personal data replaced, as the privacy mode says: numbered placeholders, or
        keyed pseudonyms (the same value gets the same pseudonym in every entry, so an auditor can
        link a person's questions without reading who they are)."""
        if not text:
            return text
        return (
            Pseudonymiser(self._privacy_mode, key=self._pseudonyms)
            .pseudonymise(text, language, entities)
            .text
        )

    def _pseudonym(self, text: str) -> str:
        assert self._pseudonyms is not None
        return mac(self._pseudonyms, text, 20)

    def record(
        self,
        answer: dict[str, Any],
        index_version: str,
        prompt_version: str,
        user: str | None = None,
        audience: str = "public",
    ) -> int:
        """Append an answer. The stored question has its personal data replaced; the stored answer is
        the one the asker saw minus the personal values that came from the question (quoted law is
        never rewritten). Returns the entry's number."""
        self._require_key()
        question = str(answer.get("question", ""))
        language = answer.get("language")
        entities = detect(question, language)
        personal = [e.text for e in entities]
        body = {
            "user": self._pseudonym(user) if user else None,
            "audience": audience,
            "question": self._minimised(question, language, entities),
            "question_hmac": self._pseudonym(question),
            "language": language,
            "mode": answer.get("mode"),
            "refused": int(bool(answer.get("refused"))),
            "answer": redact_known(str(answer.get("answer", "")), personal),
            "citations": [
                {k: c.get(k) for k in ("n", "chunk_id", "doc_id", "version", "article", "page")}
                for c in answer.get("citations", [])
            ],
            "grounding": _without_personal(answer.get("grounding", {}), personal),
            "model": answer.get("model"),
            "index_version": index_version,
            "prompt_version": prompt_version,
            "timings": answer.get("timings_ms", {}),
        }
        seq, _ = self._append(EntryKind.ANSWER, body)
        return seq

    def feedback(
        self,
        answer_id: int | None,
        rating: int,
        reason: str | None,
        comment: str | None,
        answer: dict[str, Any],
        index_version: str,
    ) -> int:
        """Append a feedback tied to its answer entry (number and hash): the question and answer are
        those of that entry, pseudonymised as it was; the comment is pseudonymised too."""
        self._require_key()
        linked = self._entry(answer_id) if answer_id is not None else None
        if linked is not None and linked["kind"] == EntryKind.ANSWER:
            stored = json.loads(linked["body"])
            question, text, citations = stored["question"], stored["answer"], stored["citations"]
            answer_hash = linked["hash"]
        else:
            raw_q = str(answer.get("question", ""))
            personal = [e.text for e in detect(raw_q)]
            question = self._minimised(raw_q)
            text = redact_known(str(answer.get("answer", "")), personal)
            citations = [c.get("chunk_id") for c in answer.get("citations", [])]
            answer_hash = None
        body = {
            "answer_id": answer_id if linked is not None else None,
            "answer_hash": answer_hash,
            "rating": rating,
            "reason": reason,
            "comment": self._minimised(comment or ""),
            "question": question,
            "answer": text,
            "citations": citations,
            "model": answer.get("model"),
            "index_version": index_version,
        }
        seq, _ = self._append(EntryKind.FEEDBACK, body)
        return seq

    def purge(self, older_than_days: int) -> int:
        """Delete the entries older than `older_than_days` and append a purge entry that keeps the
        remaining chain verifiable. Returns how many entries were deleted."""
        key = self._require_key()
        cutoff = (dt.datetime.now(dt.UTC) - dt.timedelta(days=older_than_days)).isoformat(timespec="seconds")
        with self._writing() as conn:
            row = conn.execute(
                "SELECT seq, hash FROM entries WHERE ts < ? ORDER BY seq DESC LIMIT 1", (cutoff,)
            ).fetchone()
            if row is None:
                return 0
            through, anchor = int(row["seq"]), str(row["hash"])
            count = int(conn.execute("SELECT COUNT(*) FROM entries WHERE seq <= ?", (through,)).fetchone()[0])
            body = {
                "through_seq": through,
                "anchor": anchor,
                "deleted": count,
                "cutoff": cutoff,
                "retention_days": older_than_days,
            }
            # chained after the newest entry before the old ones go (all of them may be older)
            self._chain(conn, key, EntryKind.PURGE, canonical(body))
            conn.execute("DELETE FROM entries WHERE seq <= ?", (through,))
            return count

    # ------------------------------------------------------------------ reading
    def _entry(self, seq: int) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute("SELECT * FROM entries WHERE seq = ?", (seq,)).fetchone()
        return row

    def answers(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM answers ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [dict(r) for r in rows]

    def feedback_rows(self, limit: int = 1000) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM feedback ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [dict(r) for r in rows]

    def entries(self, since: str | None = None, until: str | None = None) -> Iterator[dict[str, Any]]:
        """Entries in chain order, `since` <= ts < `until` (ISO dates or timestamps), bodies decoded."""
        sql, args = "SELECT * FROM entries WHERE 1 = 1", list[str]()
        if since:
            sql, args = sql + " AND ts >= ?", [*args, since]
        if until:
            sql, args = sql + " AND ts < ?", [*args, until]
        for row in self.conn.execute(sql + " ORDER BY seq", args):
            yield {
                "seq": row["seq"],
                "ts": row["ts"],
                "kind": row["kind"],
                "hash": row["hash"],
                "prev_hash": row["prev_hash"],
                **json.loads(row["body"]),
            }

    def verify(self) -> Verification:
        """Walk the chain; the first entry whose number, link or MAC does not hold is named."""
        key = self._require_key()
        rows = self.conn.execute(
            "SELECT seq, ts, kind, body, prev_hash, hash FROM entries ORDER BY seq"
        ).fetchall()
        if not rows:
            return Verification(True, 0, None, None, None)
        start_seq, start_prev = 1, GENESIS
        purges = [r for r in rows if r["kind"] == EntryKind.PURGE]
        if purges:
            try:
                last_purge = json.loads(purges[-1]["body"])
                start_seq, start_prev = int(last_purge["through_seq"]) + 1, str(last_purge["anchor"])
            except (ValueError, KeyError, TypeError):
                return self._bad(rows, purges[-1]["seq"], "a purge entry's body is not readable")
        expected_seq, expected_prev = start_seq, start_prev
        for row in rows:
            seq = int(row["seq"])
            if seq != expected_seq:
                what = "missing (deleted)" if seq > expected_seq else "out of order"
                return self._bad(
                    rows, expected_seq if seq > expected_seq else seq, f"entry {expected_seq} is {what}"
                )
            if row["prev_hash"] != expected_prev:
                return self._bad(
                    rows,
                    seq,
                    "its link to the previous entry does not match (an entry before it was deleted, changed or moved)",
                )
            if entry_hash(key, seq, row["ts"], row["kind"], row["prev_hash"], row["body"]) != row["hash"]:
                return self._bad(
                    rows, seq, "its content does not match its hash (a stored field was changed)"
                )
            expected_seq, expected_prev = seq + 1, row["hash"]
        head = rows[-1]
        return Verification(True, len(rows), int(rows[0]["seq"]), int(head["seq"]), str(head["hash"]))

    @staticmethod
    def _bad(rows: list[sqlite3.Row], seq: int, reason: str) -> Verification:
        head = rows[-1]
        return Verification(
            False,
            len(rows),
            int(rows[0]["seq"]),
            int(head["seq"]),
            str(head["hash"]),
            bad_seq=seq,
            reason=reason,
        )


def _without_personal(value: Any, personal: list[str]) -> Any:
    """The grounding report may quote the rejected model answer: the question's personal values go."""
    if not personal:
        return value
    if isinstance(value, str):
        return redact_known(value, personal)
    if isinstance(value, list):
        return [_without_personal(v, personal) for v in value]
    if isinstance(value, dict):
        return {k: _without_personal(v, personal) for k, v in value.items()}
    return value


EXPORT_COLUMNS = ("seq", "ts", "kind", "hash", "prev_hash", *dict.fromkeys(ANSWER_FIELDS + FEEDBACK_FIELDS))


def export(entries: Iterator[dict[str, Any]], fmt: str) -> Iterator[str]:
    """Entries as JSON lines or CSV (nested values JSON-encoded), one chunk of text at a time."""
    if fmt == "jsonl":
        for e in entries:
            yield json.dumps(e, ensure_ascii=False) + "\n"
        return
    if fmt != "csv":
        raise ValueError(f"unknown export format {fmt!r}: use jsonl or csv")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*EXPORT_COLUMNS, "other"], extrasaction="ignore")
    writer.writeheader()
    for e in entries:
        row = {
            k: (json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v) for k, v in e.items()
        }
        other = {k: v for k, v in e.items() if k not in EXPORT_COLUMNS}
        row["other"] = json.dumps(other, ensure_ascii=False) if other else ""
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()
