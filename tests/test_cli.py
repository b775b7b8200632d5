"""The CLI's JSON contracts (other tools rely on them), run as separate processes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import settings_env

pytestmark = pytest.mark.integration


def test_search_cli_batch_json(indexed, tmp_path) -> None:  # type: ignore[no-untyped-def]
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        json.dumps({"id": "a", "question": "congé de maternité"})
        + "\n"
        + json.dumps({"id": "b", "question": "منحة التنقل"})
        + "\n"
        + json.dumps({"id": "c", "question": ""})
        + "\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "search", "--queries", str(queries), "--json", "--k", "3"],
        env=settings_env(indexed),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert [x["id"] for x in lines] == ["a", "b", "c"]
    first = lines[0]["results"][0]
    assert set(first) >= {
        "rank",
        "score",
        "chunk_id",
        "doc_id",
        "source",
        "title",
        "article",
        "page",
        "language",
        "text",
    }
    assert first["source"] == "test_fr/loi_99-01_conges.pdf" and first["rank"] == 1
    assert "error" in lines[2] and lines[2]["results"] == []
