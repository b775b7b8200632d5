"""`GET /v1/documents/{doc_id}/file`: the original of an indexed document, for the citation links.

Who may open it: a caller with an API key whose audience sees the document's collection, or a
browser following a citation link signed for such an audience (`a`, `e`, `t` query parameters,
assistant/files.py; they expire after `Tuning.file_link_ttl_s`). Without either: 401. A document
that is not registered, not indexed now (withdrawn, failed), whose file is gone or lies outside
the corpus and uploads folders, or whose collection the caller may not see: 404 (a citizen cannot
tell an agents-only document from one that does not exist).

Links are built from the request (`request.base_url`: the Host header, and the scheme and prefix
a reverse proxy passes), never bound to the address the service listens on; `page` (and the
`#page=N` fragment PDF viewers read) opens the cited page.
"""

from __future__ import annotations

import mimetypes
import time
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse

from assistant.files import FileAccess, signed_query
from assistant.modes import Audience
from server.auth import current_caller

router = APIRouter(prefix="/v1", tags=["files"])

# uploaded HTML (or SVG) must not run script in the service's origin
_SANDBOXED = {"text/html", "image/svg+xml", "application/xhtml+xml", "text/xml", "application/xml"}


def file_path(doc_id: str, page: int | None = None) -> str:
    """The route's path for a document (no host, no signature)."""
    return f"/v1/documents/{quote(doc_id, safe='')}/file" + (f"?page={page}" if page else "")


def file_link(request: Request, doc_id: str, page: int | None, audience: Audience) -> str:
    """An absolute link built from the request, signed for `audience`, opening at `page`."""
    files: FileAccess = request.app.state.files
    base = str(request.base_url).rstrip("/")
    signed = signed_query(files.link(doc_id, audience))
    query = (f"page={page}&" if page else "") + signed
    fragment = f"#page={page}" if page else ""
    return f"{base}/v1/documents/{quote(doc_id, safe='')}/file?{query}{fragment}"


async def _audience(request: Request, doc_id: str) -> Audience:
    if request.headers.get("authorization"):
        return (await current_caller(request)).audience
    if "t" in request.query_params:
        files: FileAccess = request.app.state.files
        signed = files.token_audience(doc_id, request.url.query, time.time())
        if signed is None:
            raise HTTPException(401, "this file link is invalid or expired: open the citation again")
        return Audience(signed)
    raise HTTPException(
        401,
        "an API key (Authorization: Bearer KEY) or a signed citation link is needed",
        headers={"WWW-Authenticate": "Bearer"},
    )


@router.get("/documents/{doc_id}/file", summary="The original file of an indexed document")
async def document_file(
    request: Request,
    doc_id: str,
    page: int | None = Query(None, ge=1, description="The cited page (PDF viewers open it with #page=N)"),
) -> FileResponse:
    audience = await _audience(request, doc_id)
    files: FileAccess = request.app.state.files
    rec = files.record(doc_id) if doc_id and "\x00" not in doc_id else None
    target = files.file_of(rec) if rec is not None else None
    if (
        rec is None
        or target is None
        or (files.audience_of(rec) is not Audience.PUBLIC and audience is not Audience.AGENTS)
    ):
        raise HTTPException(404, f"no indexed document {doc_id!r} you may open")
    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    headers = {
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if kind in _SANDBOXED:
        headers["Content-Security-Policy"] = "sandbox"
    return FileResponse(
        target, media_type=kind, headers=headers, filename=target.name, content_disposition_type="inline"
    )
