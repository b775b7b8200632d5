"""The service's application: `create_app(settings)` -> FastAPI.

One process owns the index: the app opens one `assistant.service.Dalil` on the process's shared
index (`assistant.index.shared_index`), with the encoders and the model client, in a background
thread when it starts; `/healthz` answers at once, `/readyz` (and every route that needs the index)
once it is open. Background jobs (server/jobs.py) write through the same index.

What every request goes through, outermost first:
- a request id (the client's `X-Request-ID` when it is a short printable token, else a new one),
  echoed in the response and carried by every log line written while answering (server/logs.py);
- metrics (server/metrics.py): count and latency per route template and status;
- CORS, only when `DALIL_CORS_ORIGINS` lists origins (closed otherwise: no header is sent);
- the body size limit: 413 beyond `api_max_body_bytes` (uploads: `max_file_bytes` plus that);
- the routes, whose dependencies check the API key (401), the rate limit (429) and the role (403).

Every error is answered as `{"error": {"message", "type", "code"}}` (OpenAI's shape, which the
clients of `/v1/chat/completions` parse), with the status as its code.

App state (`request.app.state`) for the routers: `settings`, `dalil` (None until ready), `keys`
(`ApiKeyStore`), `limiter` (`RateLimiter`), `files` (`FileAccess`), `ready` (bool),
`open_error` (why the index could not be opened, or None).
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response

from assistant.apikeys import ApiKeyStore
from assistant.errors import DalilError, InputError, QueryError
from assistant.files import FileAccess
from assistant.generation.chat import ChatModel
from assistant.index import drop_shared
from assistant.keys import secret_key
from assistant.service import Dalil
from assistant.settings import Settings
from server import metrics
from server.limits import RateLimiter
from server.logs import REQUEST_ID, logger

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable",
}


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": _STATUS_TYPES.get(status, "server_error"), "code": status}}


def get_dalil(request: Request) -> Dalil:
    """The service's `Dalil` (FastAPI dependency): 503 with Retry-After while the index opens."""
    dalil: Dalil | None = request.app.state.dalil
    if dalil is None:
        why = request.app.state.open_error
        raise HTTPException(
            503,
            f"the index could not be opened: {why}" if why else "the index is opening: retry shortly",
            headers={"Retry-After": "2"},
        )
    return dalil


# ------------------------------------------------------------------ middleware (pure ASGI)
class RequestContext:
    """Request id, JSON access log line and metrics for every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        status = 500
        t0 = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - t0
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            metrics.REQUESTS.labels(method, route, str(status)).inc()
            metrics.LATENCY.labels(method, route).observe(elapsed)
            if status >= 500:
                metrics.ERRORS.labels(route).inc()
            caller = getattr(scope.get("state", {}).get("caller"), "name", None)
            logger().info(
                "request",
                extra={
                    "method": method,
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                    "key": caller,
                },
            )
            REQUEST_ID.reset(token)


class _TooLarge(Exception):
    pass


class BodyLimit:
    """413 for a body longer than the limit, declared (Content-Length) or streamed (chunked)."""

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        kind = headers.get(b"content-type", b"").decode("latin-1").lower()
        limit = self.upload_limit if kind.startswith("multipart/form-data") else self.limit
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_413(send, limit)
            return
        seen = 0
        over = False  # the body went past the limit: whatever the app answers becomes a 413

        async def counted() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise _TooLarge  # the app's body parser answers an error, replaced below
            return message

        answered = False

        async def replacing(message: Message) -> None:
            nonlocal answered
            if not over:
                await send(message)
            elif message["type"] == "http.response.start" and not answered:
                answered = True
                await _send_413(send, limit)

        try:
            await self.app(scope, counted, replacing)
        except _TooLarge:
            if not answered:
                await _send_413(send, limit)


async def _send_413(send: Send, limit: int) -> None:
    response = JSONResponse(
        error_body(413, f"request body larger than {limit:,} bytes (DALIL_API_MAX_BODY_BYTES)"), 413
    )
    await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


# ------------------------------------------------------------------ the app
def _open_in_background(app: FastAPI, settings: Settings, chat: ChatModel | None) -> threading.Thread:
    def run() -> None:
        try:
            dalil = Dalil.open(settings, chat=chat, shared=True)
        except Exception as exc:  # reported by /readyz and every route that needs the index
            app.state.open_error = str(exc)
            logger().error("the index could not be opened", extra={"error": str(exc)})
            return
        try:
            dalil.retriever.warm()  # the first question does not pay for it
        except Exception as exc:  # an optimisation: the first question builds what is missing
            logger().warning("warming the retriever failed", extra={"error": str(exc)})
        app.state.dalil = dalil
        # the job runner starts with the index: jobs a stopped service left are marked interrupted now
        from server.documents import ensure_jobs

        ensure_jobs(app)
        app.state.ready = True
        metrics.READY.set(1)
        logger().info("ready", extra={"index": str(settings.index_dir)})

    thread = threading.Thread(target=run, name="dalil-open", daemon=True)
    thread.start()
    return thread


def create_app(
    settings: Settings, *, chat: ChatModel | None = None, keys: ApiKeyStore | None = None
) -> FastAPI:
    """The HTTP service over `settings`' data directory. `chat`: a chat model to use instead of
    the one the settings configure (tests); `keys`: an API key store instead of DATA_DIR's."""
    settings.ensure_dirs()
    key_store = keys or ApiKeyStore(settings.apikeys_path, secret_key(settings))
    tuning = settings.tuning

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opener = _open_in_background(app, settings, chat)
        try:
            yield
        finally:
            opener.join()
            metrics.READY.set(0)
            shutdown = getattr(app.state, "on_shutdown", [])
            for hook in shutdown:  # e.g. the job runner's: stop taking jobs, finish the current one
                hook()
            if app.state.dalil is not None:
                app.state.dalil.close()
            drop_shared(settings)
            if keys is None:
                key_store.close()

    app = FastAPI(
        title="Dalil",
        summary="Answers from the official texts, with citations: OpenAI-compatible chat, search, "
        "answers, documents and their files.",
        version="1",
        lifespan=lifespan,
        # the interactive pages load their scripts from a CDN: a sovereign deployment makes no
        # outside request, so only the schema is served (/openapi.json); see docs/api.md
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.dalil = None
    app.state.ready = False
    app.state.open_error = None
    app.state.keys = key_store
    app.state.limiter = RateLimiter(tuning.api_rate_per_s, tuning.api_rate_burst)
    app.state.files = FileAccess.from_settings(settings)
    app.state.on_shutdown = []

    _install_errors(app)
    _install_operations(app)

    from server import api, documents, events, files, openai_compat

    app.include_router(api.router)
    app.include_router(events.router)  # answers as events, status, feedback (front ends)
    app.include_router(openai_compat.router)
    app.include_router(files.router)
    app.include_router(documents.router)  # documents and jobs

    app.add_middleware(
        BodyLimit,  # type: ignore[arg-type]
        limit=tuning.api_max_body_bytes,
        upload_limit=settings.max_file_bytes + tuning.api_max_body_bytes,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,  # type: ignore[arg-type]
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(RequestContext)  # type: ignore[arg-type]
    return app


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 429:
            metrics.RATE_LIMITED.inc()
        return JSONResponse(
            error_body(exc.status_code, str(exc.detail)), exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body')}: {e.get('msg')}"
            for e in exc.errors()
        )
        return JSONResponse(error_body(422, f"invalid request: {problems}"), 422)

    @app.exception_handler(QueryError)
    @app.exception_handler(InputError)
    async def bad_question(request: Request, exc: DalilError) -> Response:
        return JSONResponse(error_body(400, str(exc)), 400)

    @app.exception_handler(DalilError)
    async def dalil_error(request: Request, exc: DalilError) -> Response:
        logger().error("request failed", extra={"error": str(exc), "type": type(exc).__name__})
        return JSONResponse(error_body(500, str(exc)), 500)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # the trace goes to the log (with the request id), never to the client
        logger().error("unexpected error", exc_info=exc, extra={"type": type(exc).__name__})
        return JSONResponse(error_body(500, "internal error: the service's log has the details"), 500)


def _install_operations(app: FastAPI) -> None:
    @app.get("/healthz", tags=["operations"], summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="The index is open: the service answers")
    async def readyz(request: Request) -> Response:
        if request.app.state.ready:
            return JSONResponse({"status": "ready"})
        why = request.app.state.open_error
        body = error_body(503, f"the index could not be opened: {why}" if why else "the index is opening")
        return JSONResponse(body, 503, headers={"Retry-After": "2"})

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", include_in_schema=False)
    async def prometheus() -> Response:
        body, kind = metrics.exposition()
        return Response(body, media_type=kind)
