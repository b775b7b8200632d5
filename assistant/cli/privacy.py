"""`dalil privacy eval`: the personal-data detector measured on a hand-labelled set."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from assistant.cli.output import fail, print_json
from assistant.errors import DalilError
from assistant.settings import REPO_ROOT

DEFAULT_LINES = REPO_ROOT / "eval" / "privacy" / "lines.jsonl"

privacy_app = typer.Typer(help="Personal-data detection (assistant/privacy/).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(privacy_app, name="privacy")


@privacy_app.command("eval")
def privacy_eval(
    lines: Annotated[
        Path, typer.Option("--lines", help="JSONL of labelled lines (format: eval/privacy/README.md)")
    ] = DEFAULT_LINES,
    split: Annotated[
        str, typer.Option(help="all, or the lines whose id ends with an even / odd number")
    ] = "all",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on standard output")] = False,
    errors: Annotated[bool, typer.Option("--errors", help="List every miss and false positive")] = False,
    gate: Annotated[bool, typer.Option("--gate", help="Exit 3 when a target is not met")] = False,
) -> None:
    """Precision, recall and F1 per entity type and language, and the share of lines without personal
    data left untouched. A prediction is a true positive when its type matches and it overlaps the
    labelled span by at least half of that span. Exit 1 when the file is missing or malformed."""
    from assistant.privacy.detector import analyzer, detect
    from assistant.privacy.evaluation import evaluate, load_lines, select

    try:
        chosen = select(load_lines(lines), split)
    except DalilError as exc:
        fail(exc, as_json=as_json)
    t = time.perf_counter()
    model = analyzer().model
    load_s = round(time.perf_counter() - t, 2)
    report: dict[str, Any] = {"file": str(lines), "split": split, "model": model, "model_load_s": load_s}
    report |= evaluate(chosen, detect)
    if as_json:
        print_json(report)
    else:
        _print(report, errors)
    if gate and not report["targets_met"]:
        raise typer.Exit(3)


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def _print(r: dict[str, Any], errors: bool) -> None:
    out = Console()
    out.print(
        f"{r['file']} ({r['split']}): {r['lines']} lines, model {r['model']} loaded in {r['model_load_s']} s; "
        f"rule: {r['rule']}"
    )
    table = Table("type", "tp", "fp", "fn", "precision", "recall", "F1", "fr R", "ar R", "en R")
    for ty, m in r["by_type"].items():
        per = r["by_type_language"][ty]
        table.add_row(
            ty,
            str(m["tp"]),
            str(m["fp"]),
            str(m["fn"]),
            _fmt(m["precision"]),
            _fmt(m["recall"]),
            _fmt(m["f1"]),
            *(_fmt(per[lang]["recall"]) for lang in ("fr", "ar", "en")),
        )
    o = r["overall"]
    table.add_row(
        "all",
        str(o["tp"]),
        str(o["fp"]),
        str(o["fn"]),
        _fmt(o["precision"]),
        _fmt(o["recall"]),
        _fmt(o["f1"]),
        *(_fmt(r["by_language"][lang]["recall"]) for lang in ("fr", "ar", "en")),
    )
    out.print(table)
    langs = ", ".join(
        f"{lang} P {_fmt(m['precision'])} R {_fmt(m['recall'])} F1 {_fmt(m['f1'])}"
        for lang, m in r["by_language"].items()
    )
    out.print(f"per language: {langs}")
    out.print(
        f"lines without personal data left untouched: {_fmt(r['no_pii_untouched'])} of {r['no_pii_lines']}; "
        f"detection latency per line p50 {r['latency_ms']['p50']} ms, p95 {r['latency_ms']['p95']} ms"
    )
    for t in r["targets"]:
        out.print(f"  {'met' if t['ok'] else 'NOT MET'}: {t['target']} (measured {_fmt(t['value'])})")
    if errors:
        for m in r["misses"]:
            out.print(f"  miss {m['id']} {m['type']}: {m['text']}")
        for m in r["false_positives"]:
            out.print(f"  false positive {m['id']} {m['type']}: {m['text']}")
