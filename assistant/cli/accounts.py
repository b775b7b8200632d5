"""`dalil users`: agent accounts for the app's sign-in."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from assistant.cli.output import fail
from assistant.errors import DalilError, InputError
from assistant.settings import get_settings

users_app = typer.Typer(
    help="Agent accounts for the app's sign-in (hashed passwords in DATA_DIR/users.sqlite).",
    no_args_is_help=True,
)
MIN_PASSWORD_CHARS = 8


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")


def read_password() -> str:
    """The new password: typed twice at a hidden prompt on a terminal, else the first line of
    standard input (`printf '%s\\n' "$PASS" | dalil users add NAME`). Never a command-line argument,
    which would land in the shell's history and in the process list."""
    if sys.stdin.isatty():
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    line = sys.stdin.readline()
    if not line:
        raise InputError(
            "no password given: type it at the prompt, or pipe it on standard input "
            "(printf '%s\\n' \"$PASS\" | dalil users add NAME)"
        )
    return line.rstrip("\r\n")


@users_app.command("add")
def users_add(
    user: str,
    role: Annotated[
        list[str] | None,
        typer.Option(
            "--role",
            help="evaluator (Quality page) or owner (Documents page); repeatable. Every account is an "
            "agent. Given, it replaces the account's roles; left out, an existing account keeps its own.",
        ),
    ] = None,
) -> None:
    """Add or reset an agent account (PBKDF2-SHA256, salted) in DATA_DIR/users.sqlite. The password
    is read from a hidden prompt, or from standard input when it is not a terminal."""
    from assistant.credentials import add_user, parse_roles

    settings = get_settings()
    try:
        roles = parse_roles(role) if role else None
        password = read_password()
        if len(password) < MIN_PASSWORD_CHARS:
            raise DalilError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
        add_user(settings.credentials_path, user, password, roles)
    except DalilError as exc:
        fail(exc)
    Console().print(f"account {user} saved in {settings.users_path}")
