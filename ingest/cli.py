"""Content owners' commands: ingest, sources, remove (withdraw), restore."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from assistant.cli.output import err, fail, print_json
from assistant.cli.plugins import after_ingest_hook
from assistant.corpus import check_collection_name
from assistant.errors import DalilError
from assistant.http_client import HttpClient
from assistant.index import Index
from assistant.registry import Registry
from assistant.settings import get_settings
from ingest.corpus_cli import corpus_app
from ingest.fetch import require_corpus
from ingest.sync import Syncer
from ingest.sync import rebuild as do_rebuild


def register(app: typer.Typer) -> None:
    app.command()(ingest)
    app.command()(sources)
    app.command()(remove)
    app.command()(restore)
    app.add_typer(corpus_app, name="corpus")


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
    replace: Annotated[
        str | None,
        typer.Option(
            "--replace",
            metavar="DOC_ID",
            help="Replace this document's file with the one file given (an explicit update by its "
            "owner, recorded with the previous version's hash)",
        ),
    ] = None,
    by: Annotated[
        str | None, typer.Option(help="With --replace: who replaces it (default: the OS user)")
    ] = None,
) -> None:
    """Parse, chunk, embed and index documents; only what changed is processed again."""
    settings = get_settings()
    if settings.api_url:  # a running service owns the index: the ingestion is one of its jobs
        if rebuild or replace is not None or eval_dataset is not None:
            fail(
                DalilError(
                    "--rebuild, --replace and --eval run in the process that owns the index: unset "
                    "DALIL_API_URL and stop the service first, or use the service's document API"
                ),
                as_json=as_json,
            )
        try:
            with _progress(as_json) as progress, contextlib.closing(HttpClient(settings)) as client:
                summary = client.ingest(paths, collection=collection, prune=prune, progress=progress)
        except DalilError as exc:
            fail(exc, as_json=as_json)
        if as_json:
            print_json(summary)
        else:
            _print_ingest(summary)
        if summary.get("totals", {}).get("failed"):
            raise typer.Exit(2)
        return
    settings.ensure_dirs()
    try:
        if collection is not None:  # it names a folder: checked before anything is opened
            check_collection_name(collection, where="--collection")
        if replace is not None and (len(paths or []) != 1 or rebuild or prune or collection):
            raise DalilError(
                "--replace DOC_ID takes exactly one file (the new version), without --rebuild, "
                "--prune or --collection: dalil ingest --replace DOC_ID NEW_FILE"
            )
        if not paths:
            require_corpus(settings.corpus_dir)  # before the index and its encoder are opened
        if rebuild:
            do_rebuild(settings)
        index = Index(settings)
        with _progress(as_json) as progress, Syncer(settings, index, progress=progress) as syncer:
            if replace is not None and paths:
                report = syncer.replace(replace, paths[0], by=by or _os_user())
            else:
                report = syncer.run(paths, collection=collection, prune=prune)
    except DalilError as exc:
        fail(exc, as_json=as_json)
        return
    gate_failed = False
    summary = report.as_dict()
    if eval_dataset is not None:
        after_ingest = after_ingest_hook()
        if after_ingest is None:
            index.close()
            fail(
                DalilError("--eval needs the evaluation package: reinstall Dalil with `make setup`"),
                as_json=as_json,
            )
        try:
            verdict = after_ingest(settings, eval_dataset, index=index)
        except DalilError as exc:  # the documents are indexed; the evaluation could not run
            index.close()
            fail(exc, as_json=as_json)
        summary["eval"] = verdict
        gate_failed = not verdict.get("passed", True)
    index.close()
    if as_json:
        print_json(summary)
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
    for item in summary.get("ignored", []):
        Console().print(f"[dim]not a document: {item['path']} ({item['reason']})[/]")
    if summary.get("orphans_removed"):
        Console().print(f"[yellow]removed {summary['orphans_removed']} chunks left by an interrupted run[/]")
    if summary.get("optimize_resumed"):
        Console().print("[yellow]resumed an interrupted index optimisation[/]")
    Console().print(f"totals: {summary['totals']}  ({summary['seconds']} s)")


def sources(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the document registry."""
    settings = get_settings()
    if settings.api_url:  # the service's registry, as far as the key may see
        try:
            with contextlib.closing(HttpClient(settings)) as client:
                rows = client.documents()
        except DalilError as exc:
            fail(exc, as_json=as_json)
    else:
        with Registry(settings.registry_path) as registry:
            rows = [r.as_dict() for r in registry.all()]
    if as_json:
        print_json(rows)
        return
    table = Table("doc_id", "status", "version", "chunks", "flagged", "collection", "indexed_at", "error")
    for r in rows:
        table.add_row(
            r["doc_id"],
            r["status"],
            str(r["version"]),
            str(r["chunks"]),
            str(r["flagged_chunks"]),  # chunks holding instructions aimed at a model
            r["collection"],
            r["indexed_at"] or "",
            (r["error"] or "")[:60],
        )
    Console().print(table)


def remove(
    doc_id: str,
    by: Annotated[
        str | None, typer.Option(help="Who withdraws it, recorded in the registry (default: the OS user)")
    ] = None,
) -> None:
    """Withdraw one document: out of the index, and never re-indexed until `dalil restore DOC_ID`."""
    settings = get_settings()
    if settings.api_url:  # a job of the service, recorded under the key's name
        try:
            with contextlib.closing(HttpClient(settings)) as client:
                client.withdraw(doc_id)
        except DalilError as exc:
            fail(exc)
        Console().print(f"removed {doc_id}")
        return
    try:
        index = Index(settings)
        with Syncer(settings, index) as syncer:
            removed = syncer.withdraw(doc_id, by=by or _os_user())
        index.close()
        if not removed:
            fail(DalilError(f"no document {doc_id!r} in the registry: see `dalil sources`"), 1)
    except DalilError as exc:
        fail(exc)
    Console().print(f"removed {doc_id}")


def restore(
    doc_id: str, as_json: Annotated[bool, typer.Option("--json", help="Print one JSON summary")] = False
) -> None:
    """Bring back a withdrawn document: its file returns and it is indexed again."""
    settings = get_settings()
    if settings.api_url:  # a job of the service
        try:
            with contextlib.closing(HttpClient(settings)) as client:
                summary = client.restore(doc_id)
        except DalilError as exc:
            fail(exc, as_json=as_json)
        if as_json:
            print_json(summary)
        else:
            _print_ingest(summary)
            Console().print(f"restored {doc_id}")
        if summary.get("totals", {}).get("failed"):
            raise typer.Exit(2)
        return
    try:
        index = Index(settings)
        with Syncer(settings, index) as syncer:
            report = syncer.restore(doc_id)
        index.close()
        if report is None:
            fail(
                DalilError(f"no withdrawn document {doc_id!r} in the registry: see `dalil sources`"),
                1,
                as_json=as_json,
            )
            return
    except DalilError as exc:
        fail(exc, as_json=as_json)
        return
    summary = report.as_dict()
    if as_json:
        print_json(summary)
    else:
        _print_ingest(summary)
        Console().print(f"restored {doc_id}")
    if report.failed:
        raise typer.Exit(2)


def _os_user() -> str:
    """The operating system's user running the command (recorded as who withdrew a document)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
