"""The citation file server: opens the original of a cited document on 127.0.0.1, at its page.

No Streamlit here, so every rule is unit-tested (tests/test_file_server.py):

- bound to 127.0.0.1 only; a request whose Host header is not `127.0.0.1:<port>` or
  `localhost:<port>` is refused (403: a DNS-rebinding page cannot read files through it);
- a link names a document of the registry, never a path: `/<doc id>?a=<audience>&e=<expiry>&t=<mac>`.
  Only documents indexed now are served, from the file the registry recorded, which must lie in the
  corpus or uploads folder and be reached through no symlink; anything else is 404, and no folder
  is ever listed;
- a document whose collection is agents-only is served only with a valid, unexpired token signed
  with the deployment's key (`derive(secret_key, "file-links")`) for the agents audience (403
  otherwise): a link given to a signed-in agent works, a citizen or anyone guessing URLs gets 403.
  Links expire after `Tuning.file_link_ttl_s`.
"""

from __future__ import annotations

import http.server
import mimetypes
import time
from pathlib import Path
from urllib.parse import unquote

from assistant.files import PURPOSE, FileAccess
from assistant.modes import Audience

__all__ = ["PURPOSE", "FileAccess", "authorise", "host_allowed", "make_server"]

# uploaded HTML (or SVG) must not run script in this server's origin
_SANDBOXED = {"text/html", "image/svg+xml", "application/xhtml+xml", "text/xml", "application/xml"}


def host_allowed(host: str | None, port: int) -> bool:
    return host in (f"127.0.0.1:{port}", f"localhost:{port}")


def authorise(
    path: str, query: str, host: str | None, *, port: int, access: FileAccess, now: float | None = None
) -> tuple[int, Path | None]:
    """(HTTP status, file to send): 200 and the file, or 403 / 404 and None."""
    if not host_allowed(host, port):
        return 403, None
    name = path.split("#", 1)[0]
    if not name.startswith("/") or name.count("/") != 1:  # folders, `../`, anything but /<doc id>
        return 404, None
    doc_id = unquote(name[1:])
    if not doc_id or "/" in doc_id or "\x00" in doc_id:
        return 404, None
    rec = access.record(doc_id)
    if rec is None:
        return 404, None
    target = access.file_of(rec)
    if target is None:
        return 404, None
    if access.audience_of(rec) != Audience.PUBLIC:
        signed = access.token_audience(doc_id, query, time.time() if now is None else now)
        if signed != Audience.AGENTS.value:
            return 403, None
    return 200, target


class FileHandler(http.server.BaseHTTPRequestHandler):
    """GET and HEAD through `authorise`; every other method is refused by the base class (501)."""

    access: FileAccess  # set on a subclass by `make_server`
    server_version = "Dalil-files"
    sys_version = ""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return

    def _answer(self, with_body: bool) -> None:
        path, _, query = self.path.partition("?")
        port = self.server.server_port  # type: ignore[attr-defined]  # an HTTPServer's
        status, target = authorise(path, query, self.headers.get("Host"), port=port, access=self.access)
        if target is None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            return
        try:
            body = target.read_bytes()
        except OSError:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "private, no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if kind in _SANDBOXED:
            self.send_header("Content-Security-Policy", "sandbox")
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(with_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(with_body=False)


def make_server(access: FileAccess, port: int = 0) -> http.server.ThreadingHTTPServer:
    """A server on 127.0.0.1 (never another interface); port 0: any free port."""
    handler = type("Handler", (FileHandler,), {"access": access})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    return server
