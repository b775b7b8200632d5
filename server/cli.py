"""`dalil serve` (the HTTP service) and `dalil keys` (its API keys)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from assistant.apikeys import ApiKeyStore
from assistant.cli.output import fail, print_json
from assistant.errors import DalilError
from assistant.settings import get_settings

keys_app = typer.Typer(
    help="API keys of the HTTP service (stored hashed in DATA_DIR/apikeys.sqlite, shown once).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(demo)
    app.add_typer(keys_app, name="keys")


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on (default: loopback only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
) -> None:
    """The HTTP API: one process owns the index; OpenAI-compatible chat, search, answers, files."""
    import uvicorn

    from server.app import create_app
    from server.logs import log_config

    settings = get_settings()
    try:
        app = create_app(settings)
    except DalilError as exc:
        fail(exc)
    uvicorn.run(app, host=host, port=port, log_config=log_config(), access_log=False, proxy_headers=True)


def demo(
    port: Annotated[int, typer.Option(help="The app's port on 127.0.0.1 (another free one if taken)")] = 8501,
    api_port: Annotated[
        int, typer.Option(help="The service's port on 127.0.0.1 (another free one if taken)")
    ] = 8000,
) -> None:
    """Everything on this machine: `dalil serve`, the first ingestion as its job, and the app
    through it (`dalil ui`); Ctrl-C stops both."""
    from server.demo import run_demo

    try:
        run_demo(get_settings(), port, api_port)
    except DalilError as exc:
        fail(exc)


def _store() -> ApiKeyStore:
    from assistant.keys import secret_key

    settings = get_settings()
    try:
        settings.ensure_dirs()
        return ApiKeyStore(settings.apikeys_path, secret_key(settings))
    except DalilError as exc:
        fail(exc)


@keys_app.command("add")
def keys_add(
    name: Annotated[str, typer.Argument(help="Who holds the key (an application or a person)")],
    role: Annotated[str, typer.Option(help="citizen, agent, owner or evaluator")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create a key; it is printed once and never stored (only its HMAC is)."""
    with _store() as store:
        try:
            record, key = store.add(name, role)
        except DalilError as exc:
            fail(exc, as_json=as_json)
    if as_json:
        print_json(record.as_dict() | {"key": key})
        return
    Console().print(f"key {record.name} ({record.role.value}) created; it is shown only now:")
    typer.echo(key)


@keys_app.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every key ever created (name, role, first characters, created, revoked); never the secret."""
    with _store() as store:
        records = store.list()
    if as_json:
        print_json([r.as_dict() for r in records])
        return
    table = Table("name", "role", "prefix", "created", "revoked")
    for r in records:
        table.add_row(r.name, r.role.value, r.prefix + "…", r.created_at, r.revoked_at or "")
    Console().print(table)


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="The key's name")]) -> None:
    """Revoke the active key of that name: its next request gets 401."""
    with _store() as store:
        revoked = store.revoke(name)
    if not revoked:
        fail(DalilError(f"no active key named {name!r} (`dalil keys list` shows them)"))
    Console().print(f"key {name} revoked")
