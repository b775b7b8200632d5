"""A real `dalil serve` for tests: the service's app (`server.app.create_app`) on uvicorn, in a
thread of the test process, on a free port of 127.0.0.1; stopped (jobs, index) on exit."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from assistant.apikeys import ApiKeyStore
from assistant.index import drop_shared
from assistant.modes import Audience, Role
from assistant.settings import Settings
from server.app import create_app
from server.documents import ensure_jobs
from tests.helpers import wait_until


@dataclass
class RunningService:
    settings: Settings
    app: FastAPI
    url: str

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120, **kwargs)

    def add_key(self, name: str, role: Role) -> str:
        keys: ApiKeyStore = self.app.state.keys
        return keys.add(name, role)[1]

    def search(self, query: str, k: int = 10) -> list[dict[str, Any]]:
        """What an agent's search returns now (`dalil search --json`'s results), read in the
        service's process through its one index."""
        dalil = self.app.state.dalil
        response = dalil.retriever.search(query, k=k, audience=Audience.AGENTS)
        return [r.as_dict() for r in response.results]


@contextlib.contextmanager
def start_service(settings: Settings) -> Iterator[RunningService]:
    settings.ensure_dirs()
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=120, what="the service to start")
        wait_until(lambda: getattr(app.state, "ready", True), timeout=300, what="the service's index to open")
        ensure_jobs(app)  # the job manager starts with the service, not at the first request
        yield RunningService(settings, app, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(60)
        sock.close()
        drop_shared(settings)
