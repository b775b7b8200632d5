"""What every command shares: JSON lines on standard output, errors on standard error (and as a
JSON object on standard output in --json mode), the batch-question file reader."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from assistant.errors import DalilError, InputError
from assistant.linefile import has_surrogate, printable, read_lines

err = Console(stderr=True)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def error_object(exc: BaseException, **context: Any) -> dict[str, Any]:
    """The JSON form of an error: {..context, "error": message, "type": error class}."""
    return {**context, "error": str(exc), "type": type(exc).__name__}


def fail(exc: Exception, code: int = 1, as_json: bool = False) -> NoReturn:
    """Exit with `code` (non-zero) after saying why: on standard error, and with --json also as
    {"error", "type"} on standard output."""
    err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
    if as_json:
        print_json(error_object(exc))
    raise typer.Exit(code)


@dataclass
class Item:
    """One question of a command: its id (None for a question given on the command line), its text
    (printable), the error that keeps it from being answered, if any, and the conversation it is
    asked in (earlier turns as {role: user|assistant, content}; empty for a question on its own)."""

    id: str | None
    text: str
    error: InputError | None = None
    history: list[dict[str, str]] = field(default_factory=list)


def check_history(value: object, where: str = "") -> tuple[list[dict[str, str]], InputError | None]:
    """The earlier turns of a --queries line ('history'), or why they cannot be used."""
    if value is None:
        return [], None
    if not isinstance(value, list) or not all(
        isinstance(turn, dict)
        and turn.get("role") in ("user", "assistant")
        and isinstance(turn.get("content"), str)
        for turn in value
    ):
        return [], InputError(
            f"{where}'history' must be a list of earlier turns like "
            '{"role": "user", "content": "..."} (role user or assistant)'
        )
    turns = [{"role": turn["role"], "content": turn["content"]} for turn in value]
    if any(has_surrogate(turn["content"]) for turn in turns):
        return [], InputError(f"{where}'history' holds a lone surrogate, which is not text: fix the escapes")
    return turns, None


def check_question(text: str, max_chars: int, where: str = "") -> InputError | None:
    """Why a question cannot be asked (a lone surrogate, too long), or None."""
    if has_surrogate(text):
        return InputError(
            f"{where}the question holds a lone surrogate ({printable(text)[:80]!r}), which is not text: "
            "fix the escapes or the encoding"
        )
    if len(text) > max_chars:
        return InputError(
            f"{where}question too long ({len(text):,} characters, limit DALIL_MAX_QUERY_CHARS="
            f"{max_chars}): ask a shorter question"
        )
    return None


def read_items(
    queries: Path | None,
    single: str | None,
    what: str,
    max_chars: int,
    as_json: bool = False,
    with_history: bool = False,
) -> list[Item]:
    """The questions of a JSONL file of {id, question}, or the one question given. With
    `with_history`, a line may also carry `history` (its earlier turns, checked by check_history).

    A missing, unreadable or binary file fails the command (exit 1); a bad line (not UTF-8, not
    JSON, no question, a lone surrogate, too long) is an Item with its error, the others are asked.
    """
    if queries is None:
        if single is None:
            fail(InputError(f"give a {what} or --queries FILE.jsonl"), as_json=as_json)
        return [Item(None, printable(single), check_question(single, max_chars))]
    try:
        lines = read_lines(queries, "--queries file")
    except DalilError as exc:
        fail(exc, as_json=as_json)
    if not lines:
        fail(
            InputError(f"--queries file {queries} holds no {what}: one JSON object per line"), as_json=as_json
        )
    items: list[Item] = []
    for n, line in lines:
        where = f"{queries.name}:{n}: "
        if line is None:
            items.append(Item(str(n), "", InputError(f"{where}not valid UTF-8 text: save the file as UTF-8")))
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problem = InputError(
                f"{where}not JSON ({exc.msg} at column {exc.colno}): expected an object like "
                '{"id": "q1", "question": "..."}'
            )
            items.append(Item(str(n), printable(line[:200]), problem))
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("question"), str):
            problem = InputError(f"{where}expected a JSON object with a 'question' string")
            items.append(Item(str(n), printable(line[:200]), problem))
            continue
        raw_id = str(obj.get("id", n))
        qid = raw_id if not has_surrogate(raw_id) else str(n)
        question = obj["question"]
        history, bad_history = check_history(obj.get("history"), where) if with_history else ([], None)
        items.append(
            Item(qid, printable(question), check_question(question, max_chars, where) or bad_history, history)
        )
    return items
