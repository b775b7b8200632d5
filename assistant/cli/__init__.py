"""The `dalil` command line: one Typer app, assembled from the commands each package registers.

The library's own commands (search, ask, audit, serve-llm, users) are registered here; `ingest`,
`eval` and `ui` register theirs through the `dalil.commands` entry points (see pyproject.toml), so
the library never imports the packages that sit on top of it.
"""

from __future__ import annotations

import typer

from assistant.cli import accounts, answers, models, privacy
from assistant.cli.output import fail
from assistant.cli.plugins import register_plugin_commands
from assistant.errors import DalilError

app = typer.Typer(
    help="Dalil: answers from the official texts, with the exact article.", no_args_is_help=True
)
for _module in (answers, models, accounts, privacy):
    _module.register(app)
register_plugin_commands(app)


def main() -> None:
    try:
        app()
    except DalilError as exc:  # e.g. a configuration refused while reading the settings
        try:
            fail(exc)
        except typer.Exit as done:
            raise SystemExit(done.exit_code) from None
