"""`dalil ui`: the Streamlit app."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.output import err


def register(app: typer.Typer) -> None:
    app.command()(ui)


def ui(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1")] = 8501,
) -> None:
    """Start the Streamlit app on 127.0.0.1 (headless, no usage statistics)."""
    import os

    app_path = Path(__file__).resolve().parent / "app.py"
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
