"""Traceability: every answer is logged (pseudonymised) with the sources, model, prompt and
index version that produced it; user feedback is stored alongside."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assistant.dates import utc_now
from assistant.privacy import pseudonym, redact
from assistant.sqlite_store import Migration, SQLiteStore

SCHEMA = """
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

# Released migrations are never edited: a change is a new migration at the end. Every `ts` has
# been UTC with its offset since the first release: no timestamp migration is needed.
MIGRATIONS = (
    Migration(1, "answers and feedback tables, as written by the release before migrations", sql=SCHEMA),
    Migration(
        2,
        "indexes on answers(ts) and feedback(answer_id)",
        sql="""
        CREATE INDEX IF NOT EXISTS answers_ts ON answers (ts);
        CREATE INDEX IF NOT EXISTS feedback_answer_id ON feedback (answer_id);
        """,
    ),
)


class AuditLog(SQLiteStore):
    """DATA_DIR/audit.sqlite (WAL: the app writes while `dalil audit` reads)."""

    MIGRATIONS = MIGRATIONS
    STORE = "audit log"

    def __init__(self, path: Path) -> None:
        self.data_dir = path.parent
        super().__init__(path)

    def record(
        self,
        answer: dict[str, Any],
        index_version: str,
        prompt_version: str,
        user: str | None = None,
        audience: str = "public",
    ) -> int:
        question = answer.get("question", "")
        cur = self.conn.execute(
            "INSERT INTO answers (ts, user, audience, question, question_hmac, language, mode, refused, answer,"
            " citations, grounding, model, index_version, prompt_version, timings)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                utc_now(),
                pseudonym(user, self.data_dir) if user else None,
                audience,
                redact(question),
                pseudonym(question, self.data_dir),
                answer.get("language"),
                answer.get("mode"),
                int(bool(answer.get("refused"))),
                redact(answer.get("answer", "")),
                json.dumps(
                    [
                        {k: c.get(k) for k in ("n", "chunk_id", "doc_id", "article", "page")}
                        for c in answer.get("citations", [])
                    ],
                    ensure_ascii=False,
                ),
                json.dumps(answer.get("grounding", {}), ensure_ascii=False),
                answer.get("model"),
                index_version,
                prompt_version,
                json.dumps(answer.get("timings_ms", {})),
            ),
        )
        self.conn.commit()
        return int(cur.lastrowid or 0)

    def feedback(
        self,
        answer_id: int | None,
        rating: int,
        reason: str | None,
        comment: str | None,
        answer: dict[str, Any],
        index_version: str,
    ) -> int:
        cur = self.conn.execute(
            "INSERT INTO feedback (ts, answer_id, rating, reason, comment, question, answer, citations, model,"
            " index_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                utc_now(),
                answer_id,
                rating,
                reason,
                redact(comment or ""),
                redact(answer.get("question", "")),
                redact(answer.get("answer", "")),
                json.dumps([c.get("chunk_id") for c in answer.get("citations", [])]),
                answer.get("model"),
                index_version,
            ),
        )
        self.conn.commit()
        return int(cur.lastrowid or 0)

    def answers(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM answers ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [dict(r) for r in rows]

    def feedback_rows(self, limit: int = 1000) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM feedback ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [dict(r) for r in rows]
