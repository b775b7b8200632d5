"""Agents' past conversations: DATA_DIR/conversations.sqlite, pseudonymised, deletable, purged.

Each signed-in agent has a list of conversations (title from the first question, date, language)
that reopen with their answers and citations. What is stored is minimised as the audit trail is
(assistant/audit.py): the account is a keyed pseudonym (the audit's, so the two can be linked by
an auditor holding the key, never by name), each question has its personal data replaced as
`DALIL_PRIVACY_MODE` says, and each answer loses the personal values that came from its question
(quoted law is never rewritten). An agent deletes one conversation or all of theirs; the setting
`DALIL_CONVERSATION_RETENTION_DAYS` purges conversations not touched for that many days whenever
the store is opened through `open_conversations`.

Citizens' conversations are never stored: the app keeps them for the browser session only.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.dates import utc_now
from assistant.keys import derive, mac, secret_key
from assistant.modes import PrivacyMode
from assistant.privacy import Pseudonymiser, detect, redact_known
from assistant.settings import Settings
from assistant.sqlite_store import Migration, SQLiteStore

CONVERSATIONS_DB_NAME = "conversations.sqlite"
TITLE_CHARS = 80
# what a stored turn keeps of an answer: enough to show it again and to export it
ANSWER_KEYS = ("answer", "language", "mode", "model", "refused", "notice", "citations")

MIGRATIONS = (
    Migration(
        1,
        "conversations and their turns",
        sql="""
        CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            title TEXT NOT NULL,
            language TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX conversations_owner ON conversations (owner, updated_at);
        CREATE TABLE turns (
            conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            n INTEGER NOT NULL,
            ts TEXT NOT NULL,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            index_version TEXT,
            PRIMARY KEY (conversation_id, n)
        );
        """,
    ),
)


@dataclass(frozen=True)
class Summary:
    """One line of an agent's list of conversations."""

    id: str
    title: str
    language: str | None
    created_at: str
    updated_at: str
    turns: int


@dataclass(frozen=True)
class Turn:
    """A question and the answer shown for it (a dict with the keys of `ANSWER_KEYS`)."""

    question: str
    answer: dict[str, Any]
    ts: str
    index_version: str | None = None


@dataclass
class Conversation:
    id: str
    title: str
    language: str | None
    created_at: str
    updated_at: str
    turns: list[Turn] = field(default_factory=list)


def conversations_path(settings: Settings) -> Path:
    return settings.data_dir / CONVERSATIONS_DB_NAME


class ConversationStore(SQLiteStore):
    """Agents' conversations, pseudonymised (see the module docstring)."""

    STORE = "conversations"
    MIGRATIONS = MIGRATIONS
    RECOVERY = (
        "Restore it from a backup, or move it aside: Dalil starts a new one and agents lose their list "
        "of past conversations (the audit trail keeps every answer)."
    )

    def __init__(self, path: Path, key: bytes, privacy_mode: PrivacyMode = PrivacyMode.PLACEHOLDERS) -> None:
        self._pseudonyms = derive(key, "pseudonyms")
        self._privacy_mode = PrivacyMode(privacy_mode)
        super().__init__(path)

    def _owner(self, user: str) -> str:
        return mac(self._pseudonyms, user, 20)

    def _minimised(self, question: str, language: str | None) -> tuple[str, list[str]]:
        entities = detect(question, language)
        text = (
            Pseudonymiser(self._privacy_mode, key=self._pseudonyms)
            .pseudonymise(question, language, entities)
            .text
        )
        return text, [e.text for e in entities]

    def append(
        self,
        user: str,
        conversation_id: str | None,
        question: str,
        answer: dict[str, Any],
        index_version: str | None = None,
    ) -> str:
        """Store a turn of `user`'s conversation (a new one when `conversation_id` is None or not
        theirs); return the conversation's id."""
        language = answer.get("language")
        stored_question, personal = self._minimised(question, language)
        kept = {k: answer.get(k) for k in ANSWER_KEYS}
        kept["answer"] = redact_known(str(answer.get("answer") or ""), personal)
        kept["question"] = stored_question
        owner, now = self._owner(user), utc_now()
        with self.conn:
            row = None
            if conversation_id is not None:
                row = self.conn.execute(
                    "SELECT id FROM conversations WHERE id = ? AND owner = ?", (conversation_id, owner)
                ).fetchone()
            if row is None:
                conversation_id = secrets.token_urlsafe(12)
                self.conn.execute(
                    "INSERT INTO conversations (id, owner, title, language, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (conversation_id, owner, _title(stored_question), language, now, now),
                )
            else:
                self.conn.execute(
                    "UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id)
                )
            n = self.conn.execute(
                "SELECT COALESCE(MAX(n), 0) + 1 FROM turns WHERE conversation_id = ?", (conversation_id,)
            ).fetchone()[0]
            self.conn.execute(
                "INSERT INTO turns (conversation_id, n, ts, question, answer, index_version)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    n,
                    now,
                    stored_question,
                    json.dumps(kept, ensure_ascii=False, default=str),
                    index_version,
                ),
            )
        assert conversation_id is not None
        return conversation_id

    def list(self, user: str) -> list[Summary]:
        """`user`'s conversations, the most recently used first."""
        rows = self.conn.execute(
            "SELECT c.*, (SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id) AS turns"
            " FROM conversations c WHERE owner = ? ORDER BY updated_at DESC, id",
            (self._owner(user),),
        ).fetchall()
        return [
            Summary(r["id"], r["title"], r["language"], r["created_at"], r["updated_at"], int(r["turns"]))
            for r in rows
        ]

    def get(self, user: str, conversation_id: str) -> Conversation | None:
        """One of `user`'s conversations with its turns (None: not there, or someone else's)."""
        row = self.conn.execute(
            "SELECT * FROM conversations WHERE id = ? AND owner = ?", (conversation_id, self._owner(user))
        ).fetchone()
        if row is None:
            return None
        turns = [
            Turn(t["question"], json.loads(t["answer"]), t["ts"], t["index_version"])
            for t in self.conn.execute(
                "SELECT * FROM turns WHERE conversation_id = ? ORDER BY n", (conversation_id,)
            )
        ]
        return Conversation(
            row["id"], row["title"], row["language"], row["created_at"], row["updated_at"], turns
        )

    def delete(self, user: str, conversation_id: str) -> bool:
        """Delete one of `user`'s conversations; False if it was not theirs or not there."""
        with self.conn:
            cur = self.conn.execute(
                "DELETE FROM conversations WHERE id = ? AND owner = ?", (conversation_id, self._owner(user))
            )
        return cur.rowcount > 0

    def delete_all(self, user: str) -> int:
        """Delete every conversation of `user`; return how many."""
        with self.conn:
            cur = self.conn.execute("DELETE FROM conversations WHERE owner = ?", (self._owner(user),))
        return cur.rowcount

    def purge(self, older_than_days: int) -> int:
        """Delete the conversations not used for `older_than_days` days; return how many."""
        cutoff = (dt.datetime.now(dt.UTC) - dt.timedelta(days=older_than_days)).isoformat(timespec="seconds")
        with self.conn:
            cur = self.conn.execute("DELETE FROM conversations WHERE updated_at < ?", (cutoff,))
        return cur.rowcount


def _title(question: str) -> str:
    line = " ".join(question.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


def open_conversations(settings: Settings) -> ConversationStore:
    """The deployment's conversation store, purged by its retention setting."""
    store = ConversationStore(conversations_path(settings), secret_key(settings), settings.privacy_mode)
    if settings.conversation_retention_days is not None:
        store.purge(settings.conversation_retention_days)
    return store
