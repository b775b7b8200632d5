"""Dalil's own JSON: `POST /v1/search` and `POST /v1/answers`, with exactly the shapes of
`dalil search --json` and `dalil ask --json` (assistant/api_shapes.py). The caller's key decides
the audience: a citizen key searches public collections only, whatever the request says."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from assistant.api_shapes import answer_shape, search_shape
from assistant.generation.chat import Message
from assistant.modes import AnswerMode, Audience
from assistant.service import Dalil
from server.answering import answer, checked
from server.app_deps import caller_dep, dalil_dep
from server.auth import Caller

router = APIRouter(prefix="/v1", tags=["dalil"])


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(description="The question or keywords")
    k: int = Field(8, ge=1, le=100, description="How many results")
    date: str | None = Field(None, description="Texts as in force on YYYY-MM-DD (default: today)")
    collections: list[str] | None = Field(None, description="Restrict to these collections")
    languages: list[str] | None = Field(None, description="Restrict to these chunk languages")
    audience: Audience | None = Field(
        None, description="public or agents; at most the key's own (a citizen key: public)"
    )
    exclude_superseded: bool = Field(False, description="Drop texts not in force on the date")
    id: str | None = Field(None, description="Echoed in the response (as a batch line's id)")


class AnswerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str
    mode: AnswerMode | None = Field(
        None, description="llm or extractive (default: llm when a model is configured)"
    )
    date: str | None = Field(None, description="Texts as in force on YYYY-MM-DD")
    collections: list[str] | None = None
    audience: Audience | None = Field(None, description="public or agents; at most the key's own")
    history: list[dict[str, str]] | None = Field(
        None, description="Earlier turns, oldest first: {role: user|assistant, content}"
    )
    id: str | None = None

    def turns(self) -> list[Message]:
        """The earlier turns kept for the answer: user and assistant ones, oldest first."""
        return [
            {"role": t.get("role", ""), "content": t.get("content", "")}
            for t in self.history or []
            if t.get("role") in ("user", "assistant")
        ]


def _audience(caller: Caller, asked: Audience | None) -> Audience:
    if asked is None:
        return caller.audience
    if not caller.may_see(asked):
        raise HTTPException(
            403, f"key {caller.name!r} ({caller.role.value}) may not search the {asked.value} audience"
        )
    return asked


@router.post("/search", summary="Hybrid search (the shape of `dalil search --json`)")
def search(req: SearchRequest, caller: Caller = caller_dep, dalil: Dalil = dalil_dep) -> dict[str, Any]:
    resp = dalil.retriever.search(
        checked(req.query, dalil),
        k=req.k,
        date=req.date,
        collections=req.collections,
        languages=req.languages,
        audience=_audience(caller, req.audience),
        exclude_superseded=req.exclude_superseded,
    )
    return search_shape(resp, req.query, req.id)


@router.post("/answers", summary="A cited answer (the shape of `dalil ask --json`)")
def answers(req: AnswerRequest, caller: Caller = caller_dep, dalil: Dalil = dalil_dep) -> dict[str, Any]:
    ans = answer(
        dalil,
        caller,
        req.question,
        mode=req.mode,
        date=req.date,
        collections=req.collections,
        history=req.turns(),
        audience=_audience(caller, req.audience),
        answer_id=req.id,
    )
    return answer_shape(ans)
