"""`dalil demo`: the whole of Dalil on this machine in one command, the way it is deployed.

1. `dalil serve` starts (a child process, 127.0.0.1): the one process that owns the index;
2. an owner's key for the demo is made when none is configured (`DALIL_API_KEY`), revoked at the end;
3. the first ingestion is submitted as a job of the service (`POST /v1/reindex`), not awaited: the
   job takes text files first, so the first documents answer within seconds while the PDFs follow;
4. the Streamlit app starts (`dalil ui`, a child process) with `DALIL_API_URL` and `DALIL_API_KEY`:
   it answers, searches and manages documents through the service and never opens the index;
5. the app's address and the job's progress are printed; Ctrl-C (SIGINT) or SIGTERM stops the app,
   then the service (each child in its own process group: nothing is left running).

The children's logs go to `DATA_DIR/logs/demo-service.log` and `demo-app.log`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import httpx

from assistant.apikeys import ApiKeyStore
from assistant.errors import ConfigError, DalilError
from assistant.keys import secret_key
from assistant.modes import Role
from assistant.settings import Settings

DEMO_KEY_NAME = "demo"
READY_TIMEOUT_S = 600.0  # the service opens its index and loads its encoders (cold disk: minutes)
POLL_S = 1.0  # how often the job's progress and the children are looked at (one request a second)
STOP_GRACE_S = 30.0  # what a child gets to stop on SIGTERM (the service finishes its current file)


class Stop(Exception):
    """SIGINT or SIGTERM: stop the demo."""


@dataclass
class Demo:
    settings: Settings
    app_port: int
    api_port: int
    out: TextIO = sys.stdout
    started: float = field(default_factory=time.monotonic)
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def say(self, line: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f} s] {line}", file=self.out, flush=True)

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        logs = log_dir(self.settings)
        logs.mkdir(parents=True, exist_ok=True)
        with (logs / f"demo-{name}.log").open("ab") as log:
            child = subprocess.Popen(
                [sys.executable, "-m", "assistant.cli", *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped as a whole, never orphaned
                preexec_fn=_stop_with_parent,
            )
        self.children.append((name, child))
        return child

    def check_children(self) -> None:
        for name, child in self.children:
            if child.poll() is not None:
                raise DalilError(
                    f"the {name} stopped (exit {child.returncode}): see "
                    f"{log_dir(self.settings) / f'demo-{name}.log'}"
                )

    def stop(self) -> None:
        """The app first, then the service: SIGTERM to each process group, SIGKILL after the grace."""
        for name, child in reversed(self.children):
            if child.poll() is None:
                self.say(f"stopping the {name} (pid {child.pid})")
                _signal_group(child.pid, signal.SIGTERM)
                try:
                    child.wait(STOP_GRACE_S)
                except subprocess.TimeoutExpired:
                    _signal_group(child.pid, signal.SIGKILL)
                    child.wait()
            _signal_group(child.pid, signal.SIGKILL)  # whatever it started and left behind
        self.children.clear()


def _stop_with_parent() -> None:
    """In the child, before it runs: on Linux, SIGTERM when the demo itself dies (even killed with
    SIGKILL, when it cannot stop its children)."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def free_port(preferred: int | None) -> int:
    """`preferred` when it is free on 127.0.0.1 (0 or None: any free port)."""
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise ConfigError("no free TCP port on 127.0.0.1")


@contextlib.contextmanager
def demo_key(settings: Settings) -> Iterator[str]:
    """The configured key (DALIL_API_KEY), or a one-off owner key named `demo`, revoked at the end."""
    if settings.api_key is not None:
        yield settings.api_key.get_secret_value()
        return
    with ApiKeyStore(settings.apikeys_path, secret_key(settings)) as store:
        store.revoke(DEMO_KEY_NAME)  # one left by a demo that was killed
        _, key = store.add(DEMO_KEY_NAME, Role.OWNER)
    try:
        yield key
    finally:
        with ApiKeyStore(settings.apikeys_path, secret_key(settings)) as store:
            store.revoke(DEMO_KEY_NAME)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise Stop(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_demo(
    settings: Settings, app_port: int | None, api_port: int | None, out: TextIO = sys.stdout
) -> None:
    """Start the service and the app, submit the first ingestion, follow it, and stop both on
    SIGINT/SIGTERM. Raises DalilError when a child stops on its own or the service never opens."""
    settings.ensure_dirs()
    demo = Demo(settings, free_port(app_port or 8501), free_port(api_port or 8000), out)
    with stop_on_signals(), demo_key(settings) as key:
        try:
            _run(demo, key)
        except Stop as why:
            demo.say(f"{why}: stopping")
        finally:
            demo.stop()
            demo.say("stopped")


def _run(demo: Demo, key: str) -> None:
    env = dict(os.environ)
    env.pop("DALIL_API_URL", None)  # the service is the one that owns the index
    service = demo.start("service", ["serve", "--port", str(demo.api_port)], env)
    demo.say(f"service starting on {demo.api_url} (pid {service.pid})")
    http = httpx.Client(base_url=demo.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    with http:
        _wait_ready(demo, http)
        demo.say("service ready: index open")
        job = _call(http, "POST", "/v1/reindex", json={})
        demo.say(f"first ingestion submitted as job {job['id']} (GET {demo.api_url}/v1/jobs/{job['id']})")
        app = demo.start(
            "app",
            ["ui", "--port", str(demo.app_port)],
            env | {"DALIL_API_URL": demo.api_url, "DALIL_API_KEY": key},
        )
        demo.say(f"app starting (pid {app.pid})")
        app_ready = first_doc = False
        shown = None
        while True:
            demo.check_children()
            if not app_ready and _healthy(f"http://127.0.0.1:{demo.app_port}/_stcore/health"):
                app_ready = True
                demo.say(
                    f"Dalil on http://127.0.0.1:{demo.app_port}   (Ctrl-C stops the app and the service)"
                )
            if job["state"] in ("queued", "running"):
                job = _call(http, "GET", f"/v1/jobs/{job['id']}")
                if not first_doc and any(f.get("status") == "added" for f in job["files"]):
                    first_doc = True
                    demo.say("first document indexed: questions can be asked")
                p = job["progress"]
                line = f"ingestion {job['state']}: {p['done']}/{p['total']} {p['current'] or ''}".rstrip()
                if line != shown:
                    shown = line
                    demo.say(line)
                if job["state"] not in ("queued", "running"):
                    totals = (job.get("result") or {}).get("totals", {})
                    summary = ", ".join(f"{k} {v}" for k, v in totals.items() if v) or "nothing to do"
                    demo.say(
                        f"ingestion {job['state']}: {summary}{' — ' + job['error'] if job['error'] else ''}"
                    )
            time.sleep(POLL_S)


def _wait_ready(demo: Demo, http: httpx.Client) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        demo.check_children()
        with contextlib.suppress(httpx.HTTPError):
            r = http.get("/readyz")
            if r.status_code == 200:
                return
            message = r.json().get("error", {}).get("message", "")
            if "could not be opened" in message:
                raise DalilError(f"the service could not open the index: {message}")
        time.sleep(POLL_S)
    raise DalilError(f"the service was not ready after {READY_TIMEOUT_S:.0f} s: see its log")


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _call(http: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    try:
        response = http.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise DalilError(f"the service did not answer {method} {path}: {exc}") from exc
    if not response.is_success:
        raise DalilError(
            f"the service refused {method} {path} ({response.status_code}): {response.text[:300]}"
        )
    return response.json()


def log_dir(settings: Settings) -> Path:
    """Where the demo's children write their logs."""
    return settings.data_dir / "logs"
