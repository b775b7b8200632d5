"""Commands that read the index: search, ask, audit."""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any, assert_never

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from assistant.api_shapes import answer_shape, search_shape
from assistant.audit import AuditLog, export
from assistant.cli.output import err, error_object, fail, print_json, read_items
from assistant.dates import parse_date
from assistant.errors import DalilError, InputError
from assistant.keys import secret_key
from assistant.messages import FinalEvent, MetaEvent, ResetEvent, TokenEvent
from assistant.settings import get_settings


def register(app: typer.Typer) -> None:
    app.command()(search)
    app.command()(ask)
    app.add_typer(audit_app, name="audit")


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
    items = read_items(queries, query, "query", settings.tuning.max_query_chars, as_json)
    if settings.api_url:  # a running service owns the index: ask it
        where = {
            "k": k,
            "date": date,
            "collections": collection,
            "languages": language,
            "audience": audience,
            "exclude_superseded": exclude_superseded,
        }
        _through_service(
            items, lambda c, q, qid: c.search(q, id=qid, **where), queries, as_json, _print_results
        )
        return
    try:
        retriever = Retriever(Index(settings))
    except DalilError as exc:
        fail(exc, as_json=as_json)
        return
    failed = 0
    for item in items:
        qid, q = item.id, item.text
        try:
            if item.error is not None:
                raise item.error
            resp = retriever.search(
                q,
                k=k,
                date=date,
                collections=collection,
                languages=language,
                audience=audience,
                exclude_superseded=exclude_superseded,
            )
            out = search_shape(resp, q, qid)
        except (QueryError, InputError) as exc:
            if not as_json and queries is None:
                retriever.index.close()
                fail(exc)
            failed += 1
            out = error_object(exc, id=qid, query=q) | {"results": []}
        if as_json:
            print_json(out)
        else:
            _print_results(out)
    retriever.index.close()
    # one question: its error is the command's; a batch fails only when no line could be run
    if failed == len(items):
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
        Path | None,
        typer.Option(
            help="JSONL of {id, question, history?}: many questions in one process; 'history' (earlier "
            "turns as {role, content}) asks a line as a follow-up"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Answer from the official texts, citing the articles."""
    from assistant.errors import QueryError
    from assistant.service import Dalil

    settings = get_settings()
    items = read_items(
        queries, question, "question", settings.tuning.max_query_chars, as_json, with_history=True
    )
    if settings.api_url:  # a running service owns the index and the model: ask it

        def ask_one(client: Any, q: str, qid: str | None, history: list[dict[str, str]]) -> dict[str, Any]:
            return dict(
                client.ask(
                    q,
                    id=qid,
                    mode=mode,
                    date=date,
                    collections=collection,
                    audience=audience,
                    history=history,
                )
            )

        _through_service(items, ask_one, queries, as_json, _print_answer, history=True)
        return
    try:
        dalil = Dalil.open(settings)
    except DalilError as exc:
        fail(exc, as_json=as_json)
        return
    con = Console()
    failed = 0
    for item in items:
        qid, q = item.id, item.text
        try:
            if item.error is not None:
                raise item.error
            if as_json:
                ans = dalil.assistant.ask(
                    q,
                    mode=mode,
                    date=date,
                    collections=collection,
                    audience=audience,
                    history=item.history or None,
                )
            else:
                ans = None
                for event in dalil.assistant.ask_stream(
                    q,
                    mode=mode,
                    date=date,
                    collections=collection,
                    audience=audience,
                    history=item.history or None,
                ):
                    match event:
                        case MetaEvent():
                            pass
                        case TokenEvent(text=text):
                            sys.stdout.write(text)
                            sys.stdout.flush()
                        case ResetEvent(text=text):
                            sys.stdout.write("\n\n" + text)
                        case FinalEvent(answer=final):
                            ans = final
                        case _:
                            assert_never(event)
                sys.stdout.write("\n")
                assert ans is not None
        except (QueryError, InputError, ValueError) as exc:
            failed += 1
            if queries is None:  # the one question: its error is the command's
                dalil.close()
                if as_json:
                    print_json(error_object(exc, id=qid, question=q))
                fail(exc)
            if as_json:
                print_json(error_object(exc, id=qid, question=q))
            else:
                err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            continue
        if ans is None:
            continue
        ans.id = qid
        dalil.log(ans, audience=audience)
        if as_json:
            print_json(answer_shape(ans))
        else:
            if ans.notice:
                con.print(f"[yellow]{ans.notice}[/]")
            for c in ans.citations:
                con.print(f"[bold][{c.n}][/] {c.title} — {c.article or ''} · p.{c.page} · [dim]{c.source}[/]")
            con.print(f"[dim]mode={ans.mode} model={ans.model} {ans.timings_ms}[/]")
    dalil.close()
    if failed == len(items):  # a batch fails only when no line could be answered
        raise typer.Exit(1)


def _through_service(
    items: list[Any],
    call: Any,
    queries: Path | None,
    as_json: bool,
    show: Any,
    history: bool = False,
) -> None:
    """Run each item through the service (DALIL_API_URL) with the same output and exit codes as
    in-process: a bad line fails alone, a batch fails only when no line could be run."""
    from assistant.errors import QueryError
    from assistant.http_client import HttpClient

    try:
        client = HttpClient(get_settings())
    except DalilError as exc:
        fail(exc, as_json=as_json)
    what = "question" if history else "query"
    failed = 0
    with contextlib.closing(client):
        for item in items:
            try:
                if item.error is not None:
                    raise item.error
                args = (item.history or None,) if history else ()
                out = call(client, item.text, item.id, *args)
            except (QueryError, InputError) as exc:
                failed += 1
                if queries is None:  # the one question: its error is the command's
                    if as_json:
                        print_json(error_object(exc, id=item.id, **{what: item.text}))
                    fail(exc)
                out = error_object(exc, id=item.id, **{what: item.text}) | (
                    {} if history else {"results": []}
                )
                if not as_json:
                    err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
                    continue
            except DalilError as exc:  # the service cannot be reached or refused the key
                fail(exc, as_json=as_json)
            if as_json:
                print_json(out)
            else:
                show(out)
    if failed == len(items):
        raise typer.Exit(1)


def _print_answer(out: dict[str, Any]) -> None:
    """An answer received whole from the service, printed as a streamed one ends."""
    con = Console()
    sys.stdout.write(out["answer"] + "\n")
    if out.get("notice"):
        con.print(f"[yellow]{out['notice']}[/]")
    for c in out["citations"]:
        con.print(
            f"[bold][{c['n']}][/] {c['title']} — {c['article'] or ''} · p.{c['page']} · [dim]{c['source']}[/]"
        )
    con.print(f"[dim]mode={out['mode']} model={out['model']} {out['timings_ms']}[/]")


audit_app = typer.Typer(
    help="The audit trail: list, verify, export, purge.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@audit_app.callback()
def audit(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many entries")] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The trace of the latest answers (pseudonymised questions, sources, model, index version)."""
    if ctx.invoked_subcommand is not None:
        return
    settings = get_settings()
    if settings.api_url:  # the service's trail (owner and evaluator keys)
        from assistant.http_client import HttpClient

        try:
            with contextlib.closing(HttpClient(settings)) as client:
                rows = client.audit(limit)
        except DalilError as exc:
            fail(exc, as_json=as_json)
    else:
        with _audit_log() as log:
            rows = log.answers(limit)
    if as_json:
        print_json(rows)
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


def _audit_log() -> AuditLog:
    settings = get_settings()
    try:
        return AuditLog(settings.audit_path, key=secret_key(settings))
    except DalilError as exc:
        fail(exc)


@audit_app.command("verify")
def audit_verify(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Check the whole chain; exit 1 naming the first entry that was changed, deleted or moved."""
    with _audit_log() as log:
        result = log.verify()
    if as_json:
        print_json(result.as_dict())
    elif result.ok:
        Console().print(
            f"[green]OK[/] {result.entries} entries ({result.first_seq}..{result.head_seq}); "
            f"head {result.head_seq}:{result.head_hash} (keep it elsewhere: it proves the tail was not cut)"
        )
    else:
        err.print(f"[bold red]audit trail broken at entry {result.bad_seq}:[/] {result.reason}")
    if not result.ok:
        raise typer.Exit(1)


def _day(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    try:
        return parse_date(value).isoformat()
    except DalilError:
        fail(DalilError(f"{option} {value!r}: use YYYY-MM-DD"))


@audit_app.command("export")
def audit_export(
    since: Annotated[str, typer.Option(help="First day, YYYY-MM-DD (UTC)")],
    until: Annotated[str | None, typer.Option(help="Last day included, YYYY-MM-DD (UTC)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    out: Annotated[Path | None, typer.Option(help="Output file (default: standard output)")] = None,
) -> None:
    """Entries between two days, with their numbers and hashes, as JSON lines or CSV."""
    if fmt not in ("jsonl", "csv"):
        fail(DalilError(f"--format {fmt!r}: use jsonl or csv"))
    start = _day(since, "--since")
    end = _day(until, "--until")
    stop = (dt.date.fromisoformat(end) + dt.timedelta(days=1)).isoformat() if end else None
    with _audit_log() as log:
        chunks = export(log.entries(start, stop), fmt)
        if out is None:
            for chunk in chunks:
                sys.stdout.write(chunk)
            sys.stdout.flush()
        else:
            with out.open("w", encoding="utf-8", newline="") as f:
                for chunk in chunks:
                    f.write(chunk)


@audit_app.command("purge")
def audit_purge(
    days: Annotated[
        int | None, typer.Option(help="Retention in days (default: DALIL_AUDIT_RETENTION_DAYS)")
    ] = None,
) -> None:
    """Delete entries older than the retention; the purge is itself an entry and the chain stays verifiable."""
    retention = days if days is not None else get_settings().audit_retention_days
    if retention is None or retention < 0:
        fail(DalilError("give --days N or set DALIL_AUDIT_RETENTION_DAYS"))
    with _audit_log() as log:
        deleted = log.purge(retention)
    Console().print(f"purged {deleted} entries older than {retention} days")
