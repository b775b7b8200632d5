"""The JSON of a search and of an answer, defined once: `dalil search --json` and `dalil ask --json`
print these dicts, and the HTTP service's `POST /v1/search` and `POST /v1/answers` return them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the command line imports this module at start-up: no index code loaded here
    from assistant.messages import Answer
    from assistant.retrieval import SearchResponse


def search_shape(resp: SearchResponse, query: str, id: str | None = None) -> dict[str, Any]:  # noqa: A002
    """One search: its id (the batch line's, or None), the query, the detected language, the date
    the texts were taken as in force, why nothing was found (or None), the ranked results and the
    timings."""
    return {
        "id": id,
        "query": query,
        "language": resp.language,
        "date": resp.date,
        "reason": resp.reason,
        "results": [r.as_dict() for r in resp.results],
        "timings_ms": resp.timings_ms,
    }


def answer_shape(answer: Answer) -> dict[str, Any]:
    """One answer: `Answer.as_dict()` (question, language, answer text with [n] markers, mode,
    refused, citations, grounding report, model, timings, notice, relevance)."""
    return answer.as_dict()
