"""The OpenAI-compatible API: `POST /v1/chat/completions` (plain and streamed as server-sent
events) and `GET /v1/models`, so that the clients applications already have (the `openai` and
`mistralai` SDKs, LangChain's `ChatOpenAI` and `ChatMistralAI`, Open WebUI) talk to Dalil.

- The **model** names an answer profile: `dalil` (a model answer with verified citations when a
  model is configured, else extractive: `AnswerMode.AUTO`) or `dalil-extractive` (verbatim quotes,
  no model). Generation options (temperature, max_tokens...) are accepted and ignored: the
  deployment's settings decide them.
- The **last user message** is the question; the user and assistant messages before it are the
  conversation's history. System messages are ignored: what a client writes never becomes an
  instruction to Dalil's model.
- **Citations** travel as numbered markers `[n]` in the message content, and in the extra field
  `citations` of the response (of the last chunk when streamed): `n`, `doc_id`, `source`, `title`,
  `article`, `page`, `excerpt`, `in_force`, `reference`, `url` (the original file at the cited
  page, signed for the caller's audience, built from the request's host).
- The extra field `dalil` says how the answer was made: `refused` (true: the indexed texts do not
  cover the question; the content is the refusal, an ordinary answer), `mode` (llm or extractive),
  `model`, `language`, `grounding` (the check's action), `notice`.
- **Streaming**: `chat.completion.chunk` events, the first with the role, then the text, the last
  with `finish_reason: "stop"`, `citations` and `dalil`; then `data: [DONE]`. When the grounding
  check replaces a streamed model answer (repaired, downgraded or fallback), a chunk carries
  `dalil: {"reset": true}` and the replacement text as its content, after a blank line: a client
  that knows it replaces what it showed, any other shows both (as `dalil ask` on a terminal).
  With `stream_options: {"include_usage": true}` a last chunk without choices carries `usage`.
- `usage` counts are not measured (an extractive answer uses no tokens; a model's count is not
  passed through): they are 0.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal, assert_never

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse

from assistant.errors import InputError
from assistant.generation.chat import Message
from assistant.messages import Answer, AnswerEvent, Citation, FinalEvent, MetaEvent, ResetEvent, TokenEvent
from assistant.modes import AnswerMode, Audience
from assistant.service import Dalil
from server.answering import answer_events
from server.app import error_body
from server.app_deps import caller_dep, dalil_dep
from server.auth import Caller
from server.files import file_link

router = APIRouter(prefix="/v1", tags=["openai"])

PROFILES: dict[str, AnswerMode] = {
    "dalil": AnswerMode.AUTO,
    "dalil-extractive": AnswerMode.EXTRACTIVE,
}
CREATED = 1767225600  # 2026-01-01: when the profiles were defined (GET /v1/models' `created`)
_USAGE = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: the text ones
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(description="dalil or dalil-extractive")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    # Dalil's own options (the SDKs send them with extra_body)
    date: str | None = Field(None, description="Texts as in force on YYYY-MM-DD")
    collections: list[str] | None = Field(None, description="Restrict to these collections")


def _conversation(messages: list[ChatMessage]) -> tuple[str, list[Message]]:
    """(question, history): the last user message, and the user/assistant turns before it."""
    last = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last is None:
        raise InputError("no user message: the last message with role `user` is the question")
    history = [
        {"role": m.role, "content": m.text()} for m in messages[:last] if m.role in ("user", "assistant")
    ]
    return messages[last].text(), history


def citation_json(request: Request, c: Citation, audience: Audience) -> dict[str, Any]:
    return {
        "n": c.n,
        "doc_id": c.doc_id,
        "source": c.source,
        "title": c.title,
        "article": c.article,
        "page": c.page,
        "excerpt": c.excerpt,
        "in_force": c.in_force,
        "reference": c.reference,
        "url": file_link(request, c.doc_id, c.page, audience),
    }


def _extras(request: Request, answer: Answer, audience: Audience) -> dict[str, Any]:
    return {
        "citations": [citation_json(request, c, audience) for c in answer.citations],
        "dalil": {
            "refused": answer.refused,
            "mode": answer.mode.value,
            "model": answer.model,
            "language": answer.language,
            "grounding": answer.grounding.get("action"),
            "notice": answer.notice,
        },
    }


@router.get("/models", summary="The answer profiles, as models")
async def models(caller: Caller = caller_dep) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [
            {"id": name, "object": "model", "created": CREATED, "owned_by": "dalil"} for name in PROFILES
        ],
    }


@router.post(
    "/chat/completions", summary="OpenAI-compatible chat completion (cited answers)", response_model=None
)
async def chat_completions(
    req: ChatRequest, request: Request, caller: Caller = caller_dep, dalil: Dalil = dalil_dep
) -> dict[str, Any] | EventSourceResponse:
    mode = PROFILES.get(req.model)
    if mode is None:
        raise HTTPException(
            404, f"unknown model {req.model!r}: use one of {', '.join(PROFILES)} (GET /v1/models)"
        )
    question, history = _conversation(req.messages)
    events = answer_events(
        dalil, caller, question, mode=mode, history=history, date=req.date, collections=req.collections
    )
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    # the first event is computed before any byte is sent: a bad question is a 400, not a broken stream
    first = await run_in_threadpool(next, events)
    if not req.stream:
        final = await run_in_threadpool(_final, first, events)
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": req.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": final.answer},
                    "finish_reason": "stop",
                }
            ],
            "usage": dict(_USAGE),
        } | _extras(request, final, caller.audience)
    include_usage = bool(req.stream_options and req.stream_options.include_usage)
    chunks = _chunks(
        request, first, events, completion_id, created, req.model, caller.audience, include_usage
    )
    return EventSourceResponse(chunks, sep="\n")


def _final(first: AnswerEvent, events: Iterator[AnswerEvent]) -> Answer:
    for event in (first, *events):
        if isinstance(event, FinalEvent):
            return event.answer
    raise AssertionError("ask_stream ends with a FinalEvent")


def _chunks(
    request: Request,
    first: AnswerEvent,
    events: Iterator[AnswerEvent],
    completion_id: str,
    created: int,
    model: str,
    audience: Audience,
    include_usage: bool,
) -> Iterator[str]:
    def chunk(delta: dict[str, Any], finish: Literal["stop"] | None = None, **extra: Any) -> str:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return json.dumps(body | extra, ensure_ascii=False)

    def run() -> Iterator[str]:
        yield chunk({"role": "assistant", "content": ""})
        for event in _chain(first, events):
            match event:
                case MetaEvent():
                    pass
                case TokenEvent(text=text):
                    yield chunk({"content": text})
                case ResetEvent(text=text):
                    yield chunk({"content": "\n\n" + text}, dalil={"reset": True})
                case FinalEvent(answer=final):
                    yield chunk({}, "stop", **_extras(request, final, audience))
                case _:
                    assert_never(event)
        if include_usage:
            yield json.dumps(
                {
                    "id": completion_id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": dict(_USAGE),
                }
            )

    try:
        yield from run()
    except Exception as exc:  # after the headers: the error travels as an event the SDKs raise
        yield json.dumps(error_body(500, f"the answer failed: {exc}"), ensure_ascii=False)
    yield "[DONE]"


def _chain(first: AnswerEvent, events: Iterator[AnswerEvent]) -> Iterator[AnswerEvent]:
    yield first
    yield from events
