"""`dalil corpus …`: the corpus folder itself (`dalil corpus fetch`)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from assistant.cli.output import fail, print_json
from assistant.errors import DalilError
from assistant.settings import get_settings
from ingest.fetch import CorpusFetcher, FetchStatus

corpus_app = typer.Typer(
    help="The corpus folder: download and verify the texts of the collection definitions."
)


@corpus_app.command()
def fetch(
    collection: Annotated[
        str | None, typer.Option(help="Only this collection (default: every collection definition)")
    ] = None,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing when the corpus folder already exists")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON summary")] = False,
) -> None:
    """Download the texts named by corpora/*.yaml into the corpus folder, checksums verified.

    Files already present and verified are skipped, an interrupted download resumes, a file whose
    checksum differs is kept apart in <corpus>/.quarantine/. Remote hosts must be listed in
    DALIL_ALLOWED_HOSTS. Exit 0: every document in place and verified; 2: some missing, changed or
    refused; 1: the command could not run."""
    settings = get_settings()
    if if_missing and settings.corpus_dir.is_dir():
        message = f"corpus folder present: {settings.corpus_dir} (nothing fetched)"
        if as_json:
            print_json({"corpus_dir": str(settings.corpus_dir), "skipped": message})
        else:
            Console().print(message)
        return
    try:
        with CorpusFetcher(settings) as fetcher:
            report = fetcher.run(collection)
    except DalilError as exc:
        fail(exc, as_json=as_json)
    summary = report.as_dict()
    if as_json:
        print_json(summary)
    else:
        _print_fetch(summary)
    raise typer.Exit(report.exit_code)


def _print_fetch(summary: dict[str, Any]) -> None:
    console = Console()
    table = Table("status", "document", "bytes", "note")
    for d in summary["documents"]:
        if d["status"] in (FetchStatus.PRESENT, FetchStatus.NO_SOURCE):  # the latter listed once below
            continue
        note = d["error"] or ("resumed" if d["resumed"] else "")
        table.add_row(d["status"], d["file"], f"{d['bytes']:,}" if d["bytes"] else "", escape(note))
    if table.row_count:
        console.print(table)
    if summary["no_source"]:
        console.print(
            "[yellow]no downloadable source[/] (copy these files into the corpus folder by hand): "
            + ", ".join(summary["no_source"])
        )
    for q in summary["quarantined"]:
        console.print(f"[red]changed at the source, kept apart:[/] {q['file']} → {escape(q['path'] or '')}")
    console.print(f"corpus folder: {summary['corpus_dir']}")
    console.print(f"totals: {summary['totals']}  ({summary['seconds']} s)")
