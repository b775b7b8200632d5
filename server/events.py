"""What a front end of the service needs beyond the OpenAI-compatible chat:

- `POST /v1/answers/stream`: an answer as it is produced, Dalil's own events (assistant/messages.py:
  meta, token, reset, final) as server-sent events, each `event: KIND` with the JSON of
  `assistant.events_json.event_json` as its data; the final event carries `answer_shape` (the
  object `POST /v1/answers` returns), what a front end shows when a citation is opened (full text,
  signed file link) and the answer's audit entry. The same checks, audit entry and metrics as
  `POST /v1/answers`; a bad question is a 400 before the stream begins; an answer that fails after
  it began ends the stream with an `error` event.
- `GET /v1/status`: the model answers come from, the collections the caller may choose, and how
  many passages are indexed (an empty index says so before anyone asks).
- `POST /v1/feedback`: an asker's rating of an answer, tied to its audit entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse, ServerSentEvent

from assistant.corpus import load_collections
from assistant.events_json import error_json, event_json
from assistant.messages import AnswerEvent, FinalEvent
from assistant.modes import Audience
from assistant.service import Dalil
from server.answering import answer_events
from server.api import AnswerRequest, _audience
from server.app_deps import caller_dep, dalil_dep
from server.auth import Caller
from server.files import file_link

router = APIRouter(prefix="/v1", tags=["dalil"])


@router.post(
    "/answers/stream",
    summary="A cited answer as it is produced (server-sent events of Dalil's answer events)",
    response_model=None,
)
async def answers_stream(
    req: AnswerRequest, request: Request, caller: Caller = caller_dep, dalil: Dalil = dalil_dep
) -> EventSourceResponse:
    audience = _audience(caller, req.audience)
    events = answer_events(
        dalil,
        caller,
        req.question,
        mode=req.mode,
        date=req.date,
        collections=req.collections,
        history=req.turns(),
        audience=audience,
        answer_id=req.id,
    )
    # the first event is computed before any byte is sent: a bad question is a 400, not a broken stream
    first = await run_in_threadpool(next, events)
    return EventSourceResponse(_stream(request, dalil, audience, first, events), sep="\n")


def _stream(
    request: Request, dalil: Dalil, audience: Audience, first: AnswerEvent, events: Iterator[AnswerEvent]
) -> Iterator[ServerSentEvent]:
    def sse(data: dict[str, Any]) -> ServerSentEvent:
        return ServerSentEvent(data=json.dumps(data, ensure_ascii=False), event=str(data["kind"]))

    def run() -> Iterator[AnswerEvent]:
        yield first
        yield from events

    try:
        for event in run():
            if isinstance(event, FinalEvent):
                for c in event.answer.citations:
                    c.url = file_link(request, c.doc_id, c.page, audience)
                event = FinalEvent(event.answer, audit_id=event.audit_id, index_version=dalil.index_version())
            yield sse(event_json(event))
    except Exception as exc:  # after the headers: the error travels as the stream's last event
        yield sse(error_json(f"{type(exc).__name__}: {exc}"))


@router.get("/status", summary="The model, the collections the caller may choose, the passages indexed")
def status(
    audience: Audience | None = None, caller: Caller = caller_dep, dalil: Dalil = dalil_dep
) -> dict[str, Any]:
    seen = _audience(caller, audience)
    defined = load_collections(dalil.settings.definitions_dir)
    known = sorted(
        c
        for c in dalil.retriever.known_collections()
        if c not in defined or seen is Audience.AGENTS or defined[c].audience == Audience.PUBLIC
    )
    chat = dalil.assistant.chat
    return {"model": chat.name if chat else None, "collections": known, "chunks": dalil.index.store.count()}


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    audit_id: int = Field(description="The answer's audit entry (the final event's `audit_id`)")
    rating: Literal[1, -1] = Field(description="1: useful, -1: not useful")
    reason: str | None = Field(None, max_length=64, description="Why not (a reason code)")
    comment: str | None = Field(None, max_length=2000, description="Free text (pseudonymised when stored)")


@router.post("/feedback", summary="Rate an answer (tied to its audit entry)")
def feedback(req: FeedbackRequest, caller: Caller = caller_dep, dalil: Dalil = dalil_dep) -> dict[str, Any]:
    entry = dalil.audit.feedback(req.audit_id, req.rating, req.reason, req.comment, {}, dalil.index_version())
    return {"id": entry}
