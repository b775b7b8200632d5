"""The `dalil` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from assistant.errors import DalilError
from assistant.settings import get_settings

app = typer.Typer(
    help="Dalil: answers from the official texts, with the exact article.", no_args_is_help=True
)
eval_app = typer.Typer(
    help="Evaluation: run, history, compare, report, gate, generate.", no_args_is_help=True
)
app.add_typer(eval_app, name="eval")
users_app = typer.Typer(
    help="Agent accounts for the app's sign-in (hashed credentials file).", no_args_is_help=True
)
app.add_typer(users_app, name="users")
err = Console(stderr=True)


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def _items(queries: Path | None, single: str | None, what: str) -> list[tuple[str | None, str]]:
    """(id, text) pairs from a JSONL file of {id, question}, or the one question given."""
    if queries is None:
        if single is None:
            _fail(DalilError(f"give a {what} or --queries FILE.jsonl"))
        return [(None, single)]
    items: list[tuple[str | None, str]] = []
    for n, line in enumerate(queries.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                obj = json.loads(line)
                items.append((str(obj.get("id", n)), str(obj["question"])))
            except (json.JSONDecodeError, KeyError, AttributeError) as exc:
                _fail(DalilError(f"{queries}:{n}: expected a JSON object with 'question' ({exc})"))
    return items


def _fail(exc: Exception, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(code)


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: the corpus directory)")
    ] = None,
    collection: Annotated[str | None, typer.Option(help="Put the files in this collection")] = None,
    prune: Annotated[bool, typer.Option(help="Withdraw documents whose files disappeared")] = False,
    rebuild: Annotated[bool, typer.Option(help="Drop the index and re-embed everything")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON summary")] = False,
    eval_dataset: Annotated[
        Path | None, typer.Option("--eval", help="Evaluate on this dataset afterwards")
    ] = None,
) -> None:
    """Parse, chunk, embed and index documents; only what changed is processed again."""
    from assistant.index import Index
    from ingest.sync import Syncer
    from ingest.sync import rebuild as do_rebuild

    settings = get_settings()
    settings.ensure_dirs()
    try:
        if rebuild:
            do_rebuild(settings)
        index = Index(settings)
        with _progress(as_json) as progress:
            syncer = Syncer(settings, index, progress=progress)
            report = syncer.run(paths, collection=collection, prune=prune)
    except DalilError as exc:
        _fail(exc)
        return
    gate_failed = False
    summary = report.as_dict()
    if eval_dataset is not None:
        from eval.runner import run_and_gate

        verdict = run_and_gate(settings, eval_dataset, index=index)
        summary["eval"] = verdict
        gate_failed = not verdict.get("passed", True)
    index.close()
    if as_json:
        _print_json(summary)
    else:
        _print_ingest(summary)
    if report.failed:
        raise typer.Exit(2)
    if gate_failed:
        raise typer.Exit(3)


class _progress:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def __enter__(self):  # type: ignore[no-untyped-def]
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("[bold]ingest"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        )
        self.bar.__enter__()
        self.task = self.bar.add_task("", total=None)
        return self.update

    def update(self, done: int, total: int, message: str) -> None:
        self.bar.update(self.task, completed=done, total=total, description=message[:50])

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)


def _print_ingest(summary: dict[str, Any]) -> None:
    table = Table("status", "document", "chunks", "error")
    for d in summary["documents"]:
        if d["status"] != "unchanged":
            table.add_row(d["status"], d["path"], str(d["chunks"]), d["error"] or "")
    Console().print(table)
    Console().print(f"totals: {summary['totals']}  ({summary['seconds']} s)")


@app.command()
def sources(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the document registry."""
    from ingest.registry import Registry

    settings = get_settings()
    rows = [r.as_dict() for r in Registry(settings.registry_path).all()]
    if as_json:
        _print_json(rows)
        return
    table = Table("doc_id", "status", "version", "chunks", "collection", "indexed_at", "error")
    for r in rows:
        table.add_row(
            r["doc_id"],
            r["status"],
            str(r["version"]),
            str(r["chunks"]),
            r["collection"],
            r["indexed_at"] or "",
            (r["error"] or "")[:60],
        )
    Console().print(table)


@app.command()
def remove(doc_id: str) -> None:
    """Withdraw one document from the index."""
    from assistant.index import Index
    from ingest.sync import Syncer

    settings = get_settings()
    try:
        syncer = Syncer(settings, Index(settings))
        if not syncer.remove(doc_id):
            _fail(DalilError(f"no document {doc_id!r} in the registry: see `dalil sources`"), 1)
        syncer.index.close()
    except DalilError as exc:
        _fail(exc)
    Console().print(f"removed {doc_id}")


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="The question or keywords")] = None,
    k: Annotated[int, typer.Option("--k", help="How many results")] = 8,
    date: Annotated[str | None, typer.Option(help="Texts as in force on YYYY-MM-DD (default: today)")] = None,
    collection: Annotated[
        list[str] | None, typer.Option(help="Restrict to a collection (repeatable)")
    ] = None,
    language: Annotated[
        list[str] | None, typer.Option(help="Restrict to chunk language (repeatable)")
    ] = None,
    audience: Annotated[str, typer.Option(help="public or agents")] = "agents",
    exclude_superseded: Annotated[bool, typer.Option(help="Drop texts not in force on the date")] = False,
    queries: Annotated[
        Path | None, typer.Option(help="JSONL of {id, question}: many queries in one process")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Hybrid search over the indexed texts."""
    from assistant.errors import QueryError
    from assistant.index import Index
    from assistant.retrieval import Retriever

    settings = get_settings()
    try:
        retriever = Retriever(Index(settings))
    except DalilError as exc:
        _fail(exc)
        return
    items = _items(queries, query, "query")
    failed = False
    for qid, q in items:
        try:
            resp = retriever.search(
                q,
                k=k,
                date=date,
                collections=collection,
                languages=language,
                audience=audience,
                exclude_superseded=exclude_superseded,
            )
            out = {
                "id": qid,
                "query": q,
                "language": resp.language,
                "date": resp.date,
                "reason": resp.reason,
                "results": [r.as_dict() for r in resp.results],
                "timings_ms": resp.timings_ms,
            }
        except QueryError as exc:
            if not as_json and queries is None:
                _fail(exc)
            failed = True
            out = {"id": qid, "query": q, "error": str(exc), "results": []}
        if as_json:
            _print_json(out)
        else:
            _print_results(out)
    retriever.index.close()
    if failed and queries is None:
        raise typer.Exit(1)


def _print_results(out: dict[str, Any]) -> None:
    con = Console()
    if out.get("error"):
        con.print(f"[red]{out['error']}[/]")
        return
    if out.get("reason"):
        con.print(f"[yellow]{out['reason']}[/]")
    for r in out["results"]:
        flag = "" if r["in_force"] else " [red](not in force)[/]"
        con.print(f"[bold]{r['rank']}. {r['article'] or '—'}[/] · {r['title']} · p.{r['page']}{flag}")
        con.print(f"   [dim]{r['source']}[/]")
        con.print("   " + r["text"][:300].replace("\n", " "))


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="The question")] = None,
    mode: Annotated[
        str | None, typer.Option(help="llm or extractive (default: llm when a model is configured)")
    ] = None,
    date: Annotated[str | None, typer.Option(help="Texts as in force on YYYY-MM-DD")] = None,
    collection: Annotated[
        list[str] | None, typer.Option(help="Restrict to a collection (repeatable)")
    ] = None,
    audience: Annotated[str, typer.Option(help="public or agents")] = "agents",
    queries: Annotated[
        Path | None, typer.Option(help="JSONL of {id, question}: many questions in one process")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Answer from the official texts, citing the articles."""
    from assistant.errors import QueryError
    from assistant.service import Dalil

    settings = get_settings()
    try:
        dalil = Dalil.open(settings)
    except DalilError as exc:
        _fail(exc)
        return
    items = _items(queries, question, "question")
    con = Console()
    for qid, q in items:
        try:
            if as_json:
                ans = dalil.assistant.ask(q, mode=mode, date=date, collections=collection, audience=audience)
            else:
                ans = None
                for event in dalil.assistant.ask_stream(
                    q, mode=mode, date=date, collections=collection, audience=audience
                ):
                    if event["type"] == "token":
                        sys.stdout.write(event["text"])
                        sys.stdout.flush()
                    elif event["type"] == "reset":
                        sys.stdout.write("\n\n" + event["text"])
                    elif event["type"] == "final":
                        ans = event["answer"]
                sys.stdout.write("\n")
                assert ans is not None
        except (QueryError, ValueError) as exc:
            if as_json:
                _print_json({"id": qid, "question": q, "error": str(exc)})
                continue
            _fail(exc)
            return
        if ans is None:
            continue
        ans.id = qid
        dalil.log(ans, audience=audience)
        if as_json:
            _print_json(ans.as_dict())
        else:
            if ans.notice:
                con.print(f"[yellow]{ans.notice}[/]")
            for c in ans.citations:
                con.print(f"[bold][{c.n}][/] {c.title} — {c.article or ''} · p.{c.page} · [dim]{c.source}[/]")
            con.print(f"[dim]mode={ans.mode} model={ans.model} {ans.timings_ms}[/]")
    dalil.index.close()


@app.command()
def audit(
    limit: Annotated[int, typer.Option(help="How many entries")] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The trace of the latest answers (pseudonymised questions, sources, model, index version)."""
    from assistant.audit import AuditLog

    rows = AuditLog(get_settings().audit_path).answers(limit)
    if as_json:
        _print_json(rows)
        return
    table = Table("id", "ts", "lang", "mode", "refused", "question", "model", "index")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["ts"],
            r["language"] or "",
            r["mode"] or "",
            str(bool(r["refused"])),
            (r["question"] or "")[:60],
            r["model"] or "",
            r["index_version"] or "",
        )
    Console().print(table)


@app.command("serve-llm")
def serve_llm(
    gguf: Annotated[
        Path | None, typer.Option(help="GGUF file (default: the small test model shipped on PyPI)")
    ] = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port)")] = 8080,
    ctx: Annotated[int, typer.Option(help="Context size")] = 4096,
) -> None:
    """Run llama.cpp's HTTP server on 127.0.0.1 with a GGUF model (Mistral-compatible chat API)."""
    import time

    from assistant.generation.server import LlamaServer, bundled_test_gguf

    server = LlamaServer(gguf or bundled_test_gguf(), port=port, n_ctx=ctx)
    err.print(f"llama.cpp serving {server.alias} on {server.url} — set DALIL_LLM_URL={server.url}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1")] = 8501,
) -> None:
    """Start the Streamlit app on 127.0.0.1 (headless, no usage statistics)."""
    import os

    app_path = Path(__file__).resolve().parent.parent / "ui" / "app.py"
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_path),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "viewer",
        "--theme.primaryColor",
        "#0b5d3b",
    ]
    err.print(f"Dalil on http://127.0.0.1:{port}")
    sys.stdout.flush()
    # replace this process: a supervisor that stops `dalil ui` stops the server itself
    os.execve(sys.executable, cmd, os.environ.copy())


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
        _fail(exc)
        return
    if as_json:
        _print_json(record)
        return
    m = record["metrics"]
    con = Console()
    con.print(f"run [bold]{record['run_id']}[/] · {record['n']} questions · {record['seconds']} s")
    for k, v in m.items():
        if k not in ("by_language", "by_kind"):
            con.print(f"  {k}: {v}")


@eval_app.command("history")
def eval_history(
    dataset: Annotated[str | None, typer.Option(help="Only runs of this dataset file name")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List stored evaluation runs."""
    from eval.history import History
    from eval.runner import HEADLINE

    runs = History(get_settings().eval_path).runs(dataset)
    if as_json:
        _print_json(runs)
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
        result = compare(History(get_settings().eval_path), run_a, run_b)
    except KeyError as exc:
        _fail(DalilError(f"no run {exc}: see `dalil eval history`"))
        return
    if as_json:
        _print_json(result)
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
        path = write_report(History(settings.eval_path), run_id, out or settings.data_dir / "reports")
    except KeyError:
        _fail(DalilError(f"no run {run_id!r}: see `dalil eval history`"))
        return
    Console().print(str(path))


@eval_app.command("gate")
def eval_gate(
    run_id: Annotated[str, typer.Option("--run", help="Run to judge (default: latest)")] = "latest",
    baseline: Annotated[str | None, typer.Option(help="Baseline run id")] = None,
    thresholds: Annotated[Path | None, typer.Option(help="YAML file of metric minimums/maximums")] = None,
    tolerance: Annotated[float, typer.Option(help="Allowed drop against the baseline")] = 0.02,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Exit non-zero (1) when the run regressed beyond tolerance."""
    from eval.gate import gate_against, gate_thresholds
    from eval.history import History

    history = History(get_settings().eval_path)
    run = history.get(run_id)
    if run is None:
        _fail(DalilError(f"no run {run_id!r}: see `dalil eval history`"))
        return
    if baseline is None and thresholds is None:
        _fail(DalilError("give --baseline RUN or --thresholds FILE"))
    try:
        if thresholds is not None:
            result = gate_thresholds(run["metrics"], thresholds)
        else:
            base = history.get(baseline or "")
            if base is None:
                _fail(DalilError(f"no baseline run {baseline!r}"))
                return
            result = gate_against(run["metrics"], base["metrics"], tolerance)
    except DalilError as exc:
        _fail(exc)
        return
    result["run"] = run["run_id"]
    if as_json:
        _print_json(result)
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
        _fail(exc)
        return
    Console().print(f"wrote {count} questions to {out}")


@users_app.command("add")
def users_add(
    user: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Add or reset an agent account (PBKDF2-SHA256, salted) in DATA_DIR/credentials.yaml."""
    from assistant.credentials import add_user

    settings = get_settings()
    if len(password) < 8:
        _fail(DalilError("the password must have at least 8 characters"))
    add_user(settings.credentials_path, user, password)
    Console().print(f"account {user} saved in {settings.credentials_path}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
