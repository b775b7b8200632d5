"""What an answer is made of and how it streams: citations, the answer record, and the events of
`Assistant.ask_stream` as a discriminated union (`kind`), handled exhaustively by every consumer
(the command line, the app, evaluation)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from assistant.modes import AnswerMode
from assistant.retrieval import Result


@dataclass
class Citation:
    n: int
    chunk_id: str
    doc_id: str
    source: str
    title: str
    article: str | None
    page: int | None
    excerpt: str
    in_force: bool = True
    reference: str | None = None
    text: str = ""
    source_url: str | None = None
    version: int | None = None  # the document's version in the registry when it was cited
    url: str | None = None  # a link opening the cited file at its page, signed for the asker (the service's)

    def as_dict(self, full: bool = False) -> dict[str, Any]:
        out = {
            "n": self.n,
            "chunk_id": self.chunk_id,
            "doc_id": self.doc_id,
            "source": self.source,
            "title": self.title,
            "article": self.article,
            "page": self.page,
            "excerpt": self.excerpt,
            "in_force": self.in_force,
            "reference": self.reference,
            "version": self.version,
        }
        if full:
            out["text"] = self.text
            out["source_url"] = self.source_url
        return out


@dataclass
class Answer:
    question: str
    language: str
    answer: str
    mode: AnswerMode
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    grounding: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    notice: str | None = None
    dialect: str | None = None
    standalone_question: str | None = None
    id: str | None = None
    relevance: float = 0.0
    retrieved: list[Result] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "language": self.language,
            "answer": self.answer,
            "mode": self.mode.value,
            "refused": self.refused,
            "citations": [c.as_dict() for c in self.citations],
            "grounding": self.grounding,
            "model": self.model,
            "timings_ms": self.timings_ms,
            "notice": self.notice,
            "dialect": self.dialect,
            "standalone_question": self.standalone_question,
            "relevance": round(self.relevance, 4),
        }


@dataclass(frozen=True)
class MetaEvent:
    """First event: how the answer will be produced."""

    mode: AnswerMode
    language: str
    model: str | None
    kind: Literal["meta"] = "meta"


@dataclass(frozen=True)
class TokenEvent:
    """A piece of answer text, to append to what was shown."""

    text: str
    kind: Literal["token"] = "token"


@dataclass(frozen=True)
class ResetEvent:
    """The text shown so far is replaced by this one (a repaired, downgraded or fallback answer)."""

    text: str
    kind: Literal["reset"] = "reset"


@dataclass(frozen=True)
class FinalEvent:
    """Last event: the complete answer, with citations, grounding report and timings; once the
    answer is recorded, its audit entry (`audit_id`, for feedback) and the index version it was
    answered from."""

    answer: Answer
    kind: Literal["final"] = "final"
    audit_id: int | None = None
    index_version: str | None = None


AnswerEvent = MetaEvent | TokenEvent | ResetEvent | FinalEvent
