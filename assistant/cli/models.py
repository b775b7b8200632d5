"""`dalil serve-llm`: llama.cpp's HTTP server for a local GGUF model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.output import err


def register(app: typer.Typer) -> None:
    app.command("serve-llm")(serve_llm)


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
