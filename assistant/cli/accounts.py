"""`dalil users`: agent accounts for the app's sign-in."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from assistant.cli.output import fail
from assistant.errors import DalilError
from assistant.settings import get_settings

users_app = typer.Typer(
    help="Agent accounts for the app's sign-in (hashed passwords in DATA_DIR/users.sqlite).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    user: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Add or reset an agent account (PBKDF2-SHA256, salted) in DATA_DIR/users.sqlite."""
    from assistant.credentials import add_user

    settings = get_settings()
    if len(password) < 8:
        fail(DalilError("the password must have at least 8 characters"))
    add_user(settings.credentials_path, user, password)
    Console().print(f"account {user} saved in {settings.users_path}")
