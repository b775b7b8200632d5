"""Run the HTTP service for a test (`dalil serve`'s app, `server.app.create_app`): a real uvicorn
server on 127.0.0.1 (a free port), in a thread of the test process, with one API key per role
unless asked not to; its job manager started, its index released on exit. `copy_data` gives a test
a private copy of an indexed data directory."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from assistant.apikeys import ApiKeyStore
from assistant.index import drop_shared
from assistant.keys import secret_key
from assistant.modes import Audience, Role
from assistant.settings import Settings
from server.app import create_app
from server.documents import ensure_jobs
from tests.helpers import wait_until


@dataclass
class Service:
    url: str  # http://127.0.0.1:PORT
    app: FastAPI
    settings: Settings
    keys: dict[Role, str]  # one key per role

    def headers(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def client(self, role: Role | None = None, headers: dict[str, str] | None = None) -> httpx.Client:
        """A client with `role`'s key (none: anonymous) and these extra headers."""
        base = self.headers(role) if role else {}
        return httpx.Client(base_url=self.url, headers=base | (headers or {}), timeout=120)

    def add_key(self, name: str, role: Role) -> str:
        """A new API key for `role`, registered in the running service."""
        keys: ApiKeyStore = self.app.state.keys
        return keys.add(name, role)[1]

    def search(self, query: str, k: int = 10) -> list[dict[str, Any]]:
        """What an agent's search returns now (`dalil search --json`'s results), read in the
        service's process through its one index."""
        response = self.app.state.dalil.retriever.search(query, k=k, audience=Audience.AGENTS)
        return [r.as_dict() for r in response.results]


def copy_data(indexed: Settings, into: Path) -> Settings:
    """Settings over a private copy of `indexed`'s data directory (its index, registry, audit log),
    with a rate limit no test reaches by accident (the rate-limit test sets its own)."""
    shutil.copytree(indexed.data_dir, into)
    return indexed.model_copy(update={"data_dir": into, "api_rate_per_s": 1000.0, "api_rate_burst": 1000})


@contextmanager
def running_service(settings: Settings, role_keys: bool = True, **app_kwargs: Any) -> Iterator[Service]:
    """`role_keys`: register one key per role before the start (`Service.keys`)."""
    settings.ensure_dirs()
    keys: dict[Role, str] = {}
    if role_keys:
        store = ApiKeyStore(settings.apikeys_path, secret_key(settings))
        keys = {role: store.add(f"test-{role.value}", role)[1] for role in Role}
        store.close()
    app = create_app(settings, **app_kwargs)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=60, what="uvicorn to listen")
        port = server.servers[0].sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        wait_until(
            lambda: httpx.get(url + "/readyz").status_code == 200,
            timeout=180,
            what="the service to open its index (/readyz)",
            ignoring=(httpx.HTTPError,),
        )
        ensure_jobs(app)  # the job manager starts with the service, not at the first request
        yield Service(url, app, settings, keys)
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        drop_shared(settings)
