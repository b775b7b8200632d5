"""The answer events (assistant/messages.py) as JSON objects, both ways, defined once: the service's
`POST /v1/answers/stream` writes each event as one server-sent event whose data is
`event_json(event)`, and `HttpClient.ask_stream` reads them back with `event_from_json`, so a front
end gets the same dataclasses in this process or over HTTP.

| kind | object |
|---|---|
| `meta` | `{kind, mode, language, model}` |
| `token` | `{kind, text}`: append to what was shown |
| `reset` | `{kind, text}`: replaces what was shown |
| `final` | `{kind, answer, sources, audit_id, index_version}`: `answer` is exactly `answer_shape` (`dalil ask --json`); `sources` adds, per citation (`n`), what a front end shows when it is opened: the article's full `text`, the official `source_url` and `url` (the file at the cited page, signed for the asker) |
| `error` | `{kind, error: {message, type, code}}`: the answer failed after the stream began |
"""

from __future__ import annotations

from typing import Any, assert_never

from assistant.api_shapes import answer_shape
from assistant.errors import DalilError
from assistant.messages import Answer, AnswerEvent, Citation, FinalEvent, MetaEvent, ResetEvent, TokenEvent
from assistant.modes import AnswerMode

_CITATION_FIELDS = (
    "n",
    "chunk_id",
    "doc_id",
    "source",
    "title",
    "article",
    "page",
    "excerpt",
    "in_force",
    "reference",
    "version",
)


def event_json(event: AnswerEvent) -> dict[str, Any]:
    """One event as a JSON-able object (the table above)."""
    match event:
        case MetaEvent(mode=mode, language=language, model=model):
            return {"kind": "meta", "mode": AnswerMode(mode).value, "language": language, "model": model}
        case TokenEvent(text=text):
            return {"kind": "token", "text": text}
        case ResetEvent(text=text):
            return {"kind": "reset", "text": text}
        case FinalEvent(answer=answer, audit_id=audit_id, index_version=index_version):
            return {
                "kind": "final",
                "answer": answer_shape(answer),
                "sources": [
                    {"n": c.n, "text": c.text, "source_url": c.source_url, "url": c.url}
                    for c in answer.citations
                ],
                "audit_id": audit_id,
                "index_version": index_version,
            }
        case _:
            assert_never(event)


def error_json(message: str, code: int = 500) -> dict[str, Any]:
    """The event that ends a stream whose answer failed after it began."""
    return {"kind": "error", "error": {"message": message, "type": "server_error", "code": code}}


def event_from_json(data: dict[str, Any]) -> AnswerEvent:
    """The event an `event_json` object stands for; an `error` object (or one of no known kind) is
    raised as a DalilError with its message."""
    kind = data.get("kind")
    if kind == "meta":
        return MetaEvent(mode=AnswerMode(data["mode"]), language=data["language"], model=data.get("model"))
    if kind == "token":
        return TokenEvent(text=data["text"])
    if kind == "reset":
        return ResetEvent(text=data["text"])
    if kind == "final":
        return FinalEvent(
            answer=answer_from_json(data["answer"], data.get("sources") or []),
            audit_id=data.get("audit_id"),
            index_version=data.get("index_version"),
        )
    if kind == "error":
        error = data.get("error") or {}
        raise DalilError(f"the answer failed: {error.get('message', 'no message')}")
    raise DalilError(f"unknown answer event {kind!r}: the client and the service differ in version")


def answer_from_json(shape: dict[str, Any], sources: list[dict[str, Any]] | None = None) -> Answer:
    """The `Answer` whose `answer_shape` is `shape` (what retrieval returned is not part of it),
    with each citation's `text`, `source_url` and `url` from `sources` when given."""
    extra = {s["n"]: s for s in sources or []}
    citations = []
    for c in shape.get("citations") or []:
        more = extra.get(c["n"], {})
        citations.append(
            Citation(
                **{f: c.get(f) for f in _CITATION_FIELDS},
                text=more.get("text") or "",
                source_url=more.get("source_url"),
                url=more.get("url"),
            )
        )
    return Answer(
        question=shape["question"],
        language=shape["language"],
        answer=shape["answer"],
        mode=AnswerMode(shape["mode"]),
        refused=shape["refused"],
        citations=citations,
        grounding=shape.get("grounding") or {},
        model=shape.get("model"),
        timings_ms=shape.get("timings_ms") or {},
        notice=shape.get("notice"),
        dialect=shape.get("dialect"),
        standalone_question=shape.get("standalone_question"),
        id=shape.get("id"),
        relevance=shape.get("relevance") or 0.0,
    )
