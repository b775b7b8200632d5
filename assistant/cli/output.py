"""What every command shares: JSON lines on standard output, errors on standard error, the
batch-question file reader."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

from assistant.errors import DalilError

err = Console(stderr=True)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def fail(exc: Exception, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(code)


def read_items(queries: Path | None, single: str | None, what: str) -> list[tuple[str | None, str]]:
    """(id, text) pairs from a JSONL file of {id, question}, or the one question given."""
    if queries is None:
        if single is None:
            fail(DalilError(f"give a {what} or --queries FILE.jsonl"))
        return [(None, single)]
    items: list[tuple[str | None, str]] = []
    for n, line in enumerate(queries.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                obj = json.loads(line)
                items.append((str(obj.get("id", n)), str(obj["question"])))
            except (json.JSONDecodeError, KeyError, AttributeError) as exc:
                fail(DalilError(f"{queries}:{n}: expected a JSON object with 'question' ({exc})"))
    return items
