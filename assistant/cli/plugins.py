"""Commands and hooks contributed by the packages above the library, found through entry points.

- group `dalil.commands`: `register(app: typer.Typer) -> None` adds a package's commands;
- group `dalil.hooks`, name `after_ingest`: an `AfterIngest` callable, run by `dalil ingest --eval`.
"""

from __future__ import annotations

import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import typer

if TYPE_CHECKING:
    from assistant.index import Index
    from assistant.settings import Settings

COMMANDS_GROUP = "dalil.commands"
HOOKS_GROUP = "dalil.hooks"


class AfterIngest(Protocol):
    def __call__(self, settings: Settings, dataset: Path, index: Index | None = None) -> dict[str, Any]:
        """Evaluate the freshly synchronised index on `dataset` and gate it against the previous run
        of the same dataset. Returns a JSON-ready verdict whose boolean "passed" decides exit code 3."""
        ...


def register_plugin_commands(app: typer.Typer) -> None:
    found = sorted(entry_points(group=COMMANDS_GROUP), key=lambda ep: ep.name)
    if not found:
        sys.stderr.write(
            "dalil: no command package is registered (ingest, eval, ui): the installed metadata is stale; "
            "run `make setup` or `pip install -e .` again.\n"
        )
    for ep in found:
        ep.load()(app)


def after_ingest_hook() -> AfterIngest | None:
    for ep in entry_points(group=HOOKS_GROUP, name="after_ingest"):
        return cast(AfterIngest, ep.load())
    return None
