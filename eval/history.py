"""Evaluation history: every run stored with its fingerprint, in SQLite."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

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


class History:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.executescript(SCHEMA)

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
    ts = dt.datetime.now(dt.UTC)
    return ts.strftime("%Y%m%dT%H%M%S%f")[:-3], ts.isoformat(timespec="seconds")
