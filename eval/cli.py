"""Evaluators' commands: `dalil eval run|history|compare|report|gate|generate`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from assistant.cli.output import fail, print_json
from assistant.errors import DalilError
from assistant.settings import get_settings
from assistant.tuning import TUNING

eval_app = typer.Typer(
    help="Evaluation: run, history, compare, report, gate, generate.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")


@eval_app.command("run")
def eval_run(
    dataset: Annotated[Path, typer.Option(help="JSONL dataset")],
    mode: Annotated[str, typer.Option(help="llm or extractive")] = "extractive",
    judge_model: Annotated[str | None, typer.Option(help="Judge model name for Ragas LLM metrics")] = None,
    judge_url: Annotated[str | None, typer.Option(help="Judge server URL (Mistral-compatible)")] = None,
    tag: Annotated[str | None, typer.Option(help="A label for this run")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run the assistant on every question and score it; the run is stored in the history."""
    from eval.runner import run

    try:
        record = run(
            get_settings(),
            dataset,
            mode=mode,
            judge_model=judge_model,
            judge_url=judge_url,
            tag=tag,
            limit=limit,
        )
    except DalilError as exc:
        fail(exc, as_json=as_json)
        return
    if as_json:
        print_json(record)
        return
    m = record["metrics"]
    con = Console()
    con.print(f"run [bold]{record['run_id']}[/] · {record['n']} questions · {record['seconds']} s")
    from eval.runner import BREAKDOWNS, DEFINITIONS

    for k, v in m.items():
        if k not in (*BREAKDOWNS, "refusal_margins"):
            con.print(f"  {k}: {v}  [dim]{DEFINITIONS.get(k, '')}[/]")
    for key in BREAKDOWNS:
        if m.get(key):
            con.print(f"  {key.replace('_', ' ')}:")
        for group, vals in m.get(key, {}).items():
            figures = ("excerpt_recall@5", "source_hit@5", "answerable_refused", "unanswerable_refused")
            shown = ", ".join(f"{f} {vals[f]}" for f in figures if vals.get(f) is not None)
            con.print(f"    {group} (n={vals['n']}): {shown}")
    margins = m.get("refusal_margins")
    if margins:
        signal = margins.get("signal", "relevance")
        con.print(f"  refusal margins ({signal}, threshold {margins['threshold']}):")
        groups = [("all", margins["all"])]
        for key in ("by_language", "by_kind", "by_direction"):
            groups += [(f"{key[3:]} {name}", vals) for name, vals in margins.get(key, {}).items()]
        for name, vals in groups:
            con.print(
                f"    {name}: lowest answerable {vals['lowest_answerable']}, "
                f"highest unanswerable {vals['highest_unanswerable']}"
            )


@eval_app.command("history")
def eval_history(
    dataset: Annotated[str | None, typer.Option(help="Only runs of this dataset file name")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List stored evaluation runs."""
    from eval.history import History
    from eval.runner import HEADLINE

    with History(get_settings().eval_path) as history:
        runs = history.runs(dataset)
    if as_json:
        print_json(runs)
        return
    table = Table("run_id", "ts", "dataset", "mode", "tag", *HEADLINE[:5])
    for r in runs:
        table.add_row(
            r["run_id"],
            r["ts"],
            r["dataset"],
            r["mode"],
            r["tag"] or "",
            *[str(r["metrics"].get(k)) for k in HEADLINE[:5]],
        )
    Console().print(table)


@eval_app.command("compare")
def eval_compare(run_a: str, run_b: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Metric deltas between two runs and the questions that flipped."""
    from eval.history import History
    from eval.report import compare

    try:
        with History(get_settings().eval_path) as history:
            result = compare(history, run_a, run_b)
    except KeyError as exc:
        fail(DalilError(f"no run {exc}: see `dalil eval history`"), as_json=as_json)
        return
    if as_json:
        print_json(result)
        return
    table = Table("metric", result["a"], result["b"], "delta")
    for k, d in result["deltas"].items():
        table.add_row(k, str(d["a"]), str(d["b"]), f"{d['delta']:+}")
    Console().print(table)
    for f in result["flipped"]:
        Console().print(f"flipped {f['id']} {f['field']}: {f['a']} -> {f['b']}")


@eval_app.command("report")
def eval_report(
    run_id: Annotated[str, typer.Argument(help="Run id (or 'latest')")] = "latest",
    out: Annotated[Path | None, typer.Option(help="Output folder (default: DATA_DIR/reports)")] = None,
) -> None:
    """Write a Markdown report with PNG plots."""
    from eval.history import History
    from eval.report import write_report

    settings = get_settings()
    try:
        with History(settings.eval_path) as history:
            path = write_report(history, run_id, out or settings.data_dir / "reports")
    except KeyError:
        fail(DalilError(f"no run {run_id!r}: see `dalil eval history`"))
        return
    Console().print(str(path))


@eval_app.command("gate")
def eval_gate(
    run_id: Annotated[str, typer.Option("--run", help="Run to judge (default: latest)")] = "latest",
    baseline: Annotated[str | None, typer.Option(help="Baseline run id")] = None,
    thresholds: Annotated[Path | None, typer.Option(help="YAML file of metric minimums/maximums")] = None,
    tolerance: Annotated[
        float, typer.Option(help="Allowed drop against the baseline")
    ] = TUNING.gate_tolerance,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Exit non-zero (1) when the run regressed beyond tolerance."""
    from eval.gate import gate_against, gate_thresholds
    from eval.history import History

    with History(get_settings().eval_path) as history:
        run = history.get(run_id)
        if run is None:
            fail(DalilError(f"no run {run_id!r}: see `dalil eval history`"), as_json=as_json)
            return
        if baseline is None and thresholds is None:
            fail(DalilError("give --baseline RUN or --thresholds FILE"), as_json=as_json)
        try:
            if thresholds is not None:
                result = gate_thresholds(run["metrics"], thresholds)
            else:
                base = history.get(baseline or "")
                if base is None:
                    fail(DalilError(f"no baseline run {baseline!r}"), as_json=as_json)
                    return
                result = gate_against(run["metrics"], base["metrics"], tolerance)
        except DalilError as exc:
            fail(exc, as_json=as_json)
            return
    result["run"] = run["run_id"]
    if as_json:
        print_json(result)
    else:
        Console().print("[green]PASS[/]" if result["passed"] else "[red]FAIL[/]")
        for r in result["regressions"]:
            Console().print(f"  regression: {r}")
    if not result["passed"]:
        raise typer.Exit(1)


@eval_app.command("generate")
def eval_generate(
    collection: Annotated[str, typer.Option(help="Collection to draw documents from")],
    n: Annotated[int, typer.Option("--n", help="How many questions")] = 10,
    out: Annotated[Path, typer.Option(help="Output JSONL")] = Path("generated.jsonl"),
) -> None:
    """Generate a test set with Ragas' generator (needs a configured model)."""
    from eval.generate import generate

    try:
        count = generate(get_settings(), collection, n, out)
    except DalilError as exc:
        fail(exc)
        return
    Console().print(f"wrote {count} questions to {out}")
