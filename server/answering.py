"""What every answering route shares: the question's checks, the answer stream, and what is done
with a final answer (the audit entry, as `dalil ask` records it, and the metrics)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from assistant.cli.output import check_question
from assistant.errors import InputError
from assistant.generation.chat import Message
from assistant.messages import Answer, AnswerEvent, FinalEvent
from assistant.modes import AnswerMode, Audience, GroundingAction
from assistant.service import Dalil
from server import metrics
from server.auth import Caller


def checked(question: str, dalil: Dalil) -> str:
    """The question, or an InputError (400) for an empty, too long or non-text one."""
    problem = check_question(question, dalil.settings.tuning.max_query_chars)
    if problem is not None:
        raise problem
    if not question.strip():
        raise InputError("the question is empty: ask something")
    return question


def answer_events(
    dalil: Dalil,
    caller: Caller,
    question: str,
    *,
    mode: AnswerMode | str | None = None,
    history: list[Message] | None = None,
    audience: Audience | None = None,
    answer_id: str | None = None,
    **where: Any,
) -> Iterator[AnswerEvent]:
    """`Assistant.ask_stream` for this caller (its audience, or a narrower one it asked for),
    recording the final answer (with `answer_id`) in the audit log and the metrics before it is
    passed on."""
    audience = audience or caller.audience
    assert caller.may_see(audience), "the routes check the audience a caller asks for"
    for event in dalil.assistant.ask_stream(
        checked(question, dalil), mode=mode, audience=audience, history=history, **where
    ):
        if isinstance(event, FinalEvent):
            event.answer.id = answer_id
            entry = record(dalil, event.answer, caller, audience)
            event = FinalEvent(event.answer, audit_id=entry)
        yield event


def answer(dalil: Dalil, caller: Caller, question: str, **kwargs: Any) -> Answer:
    """The final answer of `answer_events` (recorded)."""
    final = None
    for event in answer_events(dalil, caller, question, **kwargs):
        if isinstance(event, FinalEvent):
            final = event.answer
    assert final is not None, "ask_stream ends with a FinalEvent"
    return final


def record(dalil: Dalil, answer: Answer, caller: Caller, audience: Audience) -> int:
    """The audit entry (user: the key's name, pseudonymised by the audit log) and the metrics."""
    entry = dalil.log(answer, user=caller.recorded_as, audience=audience)
    action = str(answer.grounding.get("action", ""))
    metrics.ANSWERS.labels(answer.mode.value, action or "none").inc()
    metrics.ANSWER_LATENCY.labels(answer.mode.value).observe(answer.timings_ms.get("total", 0.0) / 1000)
    if answer.refused:
        metrics.REFUSALS.inc()
    if action in (GroundingAction.DOWNGRADED.value, GroundingAction.FALLBACK.value):
        metrics.FALLBACKS.labels(action).inc()
    return entry
