"""Evaluation history: every run stored with its fingerprint, in SQLite."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from assistant.dates import utc_iso
from assistant.sqlite_store import Migration, SQLiteStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    ts TEXT NOT NULL,
    tag TEXT,
    dataset TEXT,
    dataset_hash TEXT,
    mode TEXT,
    fingerprint TEXT,
    metrics TEXT,
    n INTEGER
);
CREATE TABLE IF NOT EXISTS items (
    run_id TEXT NOT NULL,
    sample_id TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, sample_id)
);
"""

# Released migrations are never edited: a change is a new migration at the end. Every `ts` has
# been UTC with its offset since the first release: no timestamp migration is needed.
MIGRATIONS = (
    Migration(1, "runs and items tables, as written by the release before migrations", sql=SCHEMA),
    Migration(
        2,
        "index on runs(dataset, ts)",
        sql="CREATE INDEX IF NOT EXISTS runs_dataset_ts ON runs (dataset, ts)",
    ),
)


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parent.parent,
            timeout=5,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


class History(SQLiteStore):
    """DATA_DIR/eval.sqlite (WAL: the quality page reads while a run is saved)."""

    MIGRATIONS = MIGRATIONS
    STORE = "evaluation history"
    RECOVERY = (
        "Restore it from a backup, or move it aside: a new, empty history is started and the "
        "reports already written under DATA_DIR/reports stay."
    )

    def __init__(self, path: Path) -> None:
        super().__init__(path)

    def save(self, run: dict[str, Any], items: list[dict[str, Any]]) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run["run_id"],
                run["ts"],
                run.get("tag"),
                run["dataset"],
                run["dataset_hash"],
                run["mode"],
                json.dumps(run["fingerprint"]),
                json.dumps(run["metrics"]),
                run["n"],
            ),
        )
        self.conn.executemany(
            "INSERT OR REPLACE INTO items VALUES (?, ?, ?)",
            [(run["run_id"], it["id"], json.dumps(it, ensure_ascii=False, default=str)) for it in items],
        )
        self.conn.commit()

    def runs(self, dataset: str | None = None) -> list[dict[str, Any]]:
        q = "SELECT * FROM runs" + (" WHERE dataset = ?" if dataset else "") + " ORDER BY ts"
        rows = self.conn.execute(q, (dataset,) if dataset else ()).fetchall()
        return [self._row(r) for r in rows]

    def get(self, run_id: str) -> dict[str, Any] | None:
        if run_id == "latest":
            row = self.conn.execute("SELECT * FROM runs ORDER BY ts DESC LIMIT 1").fetchone()
        else:
            row = self.conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                row = self.conn.execute(
                    "SELECT * FROM runs WHERE run_id LIKE ? ORDER BY ts DESC LIMIT 1", (run_id + "%",)
                ).fetchone()
        return self._row(row) if row else None

    def items(self, run_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT data FROM items WHERE run_id = ? ORDER BY sample_id", (run_id,)
        ).fetchall()
        return [json.loads(r["data"]) for r in rows]

    @staticmethod
    def _row(row: sqlite3.Row) -> dict[str, Any]:
        out = dict(row)
        out["fingerprint"] = json.loads(out["fingerprint"] or "{}")
        out["metrics"] = json.loads(out["metrics"] or "{}")
        return out


def now_id() -> tuple[str, str]:
    """(run id, stored timestamp) of one instant, both UTC."""
    ts = dt.datetime.now(dt.UTC)
    return ts.strftime("%Y%m%dT%H%M%S%f")[:-3], utc_iso(ts)
