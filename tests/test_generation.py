"""The generation path through the real mistralai SDK against a real llama.cpp server on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from assistant.answer import Assistant
from assistant.errors import LLMError
from assistant.generation.chat import MistralChat
from assistant.generation.server import LlamaServer, bundled_test_gguf
from assistant.index import Index
from assistant.messages import FinalEvent
from assistant.prompts import load_prompts
from assistant.retrieval import Retriever

pytestmark = pytest.mark.integration

QUESTION_FR = "Combien de semaines dure le congé de maternité d'une agente publique ?"


@pytest.fixture(scope="module")
def llama() -> Iterator[LlamaServer]:
    server = LlamaServer(bundled_test_gguf(), port=0, n_ctx=2048, alias="gemma-test")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def retriever(indexed):  # type: ignore[no-untyped-def]
    index = Index(indexed)
    yield Retriever(index)
    index.close()


def test_complete_and_stream_through_the_sdk(llama: LlamaServer) -> None:
    chat = MistralChat(llama.url, "any-key", llama.alias, max_tokens=12)
    assert llama.url.startswith("http://127.0.0.1:")
    text = chat.complete([{"role": "user", "content": "Bonjour"}])
    assert isinstance(text, str) and text
    pieces = list(chat.stream([{"role": "user", "content": "Hello"}]))
    assert len(pieces) > 1


def test_llm_mode_answer_is_checked_and_never_crashes(llama: LlamaServer, retriever) -> None:  # type: ignore[no-untyped-def]
    assistant = Assistant(retriever, MistralChat(llama.url, "k", llama.alias, max_tokens=48))
    events = list(assistant.ask_stream(QUESTION_FR, mode="llm"))
    assert isinstance(events[-1], FinalEvent)
    final = events[-1].answer
    assert events[0].kind == "meta" and any(e.kind == "token" for e in events)
    # the 270M base model cannot cite (or emits only template tokens): the result is checked and
    # downgraded or replaced by the extractive answer, never shown ungrounded
    assert final.grounding["action"] in ("downgraded", "fallback", "none", "repaired")
    if final.grounding["action"] in ("downgraded", "fallback"):
        assert final.mode == "extractive" and final.notice
    assert final.citations and all(c.chunk_id for c in final.citations)
    assert final.timings_ms["generation"] > 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("case", ["timeout", "server_down"])
def test_model_failures_fall_back_to_extractive(llama: LlamaServer, retriever, case: str) -> None:  # type: ignore[no-untyped-def]
    if case == "timeout":
        chat = MistralChat(llama.url, "k", llama.alias, timeout_s=0.001, max_tokens=64)
    else:
        chat = MistralChat(f"http://127.0.0.1:{_free_port()}", "k", "none", timeout_s=5)
    with pytest.raises(LLMError):
        chat.complete([{"role": "user", "content": "x"}])
    answer = Assistant(retriever, chat).ask(QUESTION_FR, mode="llm")
    assert answer.mode == "extractive" and answer.grounding["action"] == "fallback"
    assert answer.notice and "modèle de langage n'a pas pu répondre" in answer.notice
    assert "quatorze semaines" in answer.answer


def test_wrong_api_key_is_a_401_and_falls_back(retriever) -> None:  # type: ignore[no-untyped-def]
    server = LlamaServer(bundled_test_gguf(), port=0, n_ctx=1024, api_key="right-key", alias="guarded")
    try:
        chat = MistralChat(server.url, "wrong-key", "guarded", timeout_s=30)
        with pytest.raises(LLMError, match="401"):
            chat.complete([{"role": "user", "content": "x"}])
        answer = Assistant(retriever, chat).ask(QUESTION_FR, mode="llm")
        assert answer.mode == "extractive" and "401" in answer.grounding["error"]
        ok = MistralChat(server.url, "right-key", "guarded", max_tokens=4).complete(
            [{"role": "user", "content": "x"}]
        )
        assert isinstance(ok, str)
    finally:
        server.stop()


class _Scripted:
    """A chat model that returns a fixed text: for the grounding logic, not for the SDK."""

    name = "scripted"

    def __init__(self, text: str) -> None:
        self.text = text

    def complete(self, messages):  # type: ignore[no-untyped-def]
        return self.text

    def stream(self, messages):  # type: ignore[no-untyped-def]
        yield from [self.text[i : i + 7] for i in range(0, len(self.text), 7)]


@pytest.mark.parametrize(
    ("text", "action", "mode"),
    [
        ("", "fallback", "extractive"),
        ("Le congé de maternité dure quatorze semaines [1].", "none", "llm"),
        ("Le congé dure quatorze semaines [1]. Il est payé [9].", "repaired", "llm"),
        ("Le congé dure « cinquante-deux semaines pleines et entières » [1].", "downgraded", "extractive"),
        (
            "Je pense que le congé dure longtemps et que tout le monde y a droit sans condition.",
            "downgraded",
            "extractive",
        ),
    ],
)
def test_grounding_outcomes(retriever, text: str, action: str, mode: str) -> None:  # type: ignore[no-untyped-def]
    answer = Assistant(retriever, _Scripted(text)).ask(QUESTION_FR, mode="llm")
    assert answer.grounding["action"] == action
    assert answer.mode == mode
    if action == "repaired":
        assert "[9]" not in answer.answer and answer.grounding["invalid_citations"] == []


@pytest.mark.parametrize(
    ("question", "lang", "intro"),
    [
        (QUESTION_FR, "fr", "Voici les dispositions"),
        ("How many weeks of maternity leave does a female public agent get?", "en", "These provisions"),
        ("ما هو مبلغ منحة التنقل الشهرية للموظفين؟", "ar", "إليكم مقتضيات"),
    ],
)
def test_extractive_answers_in_the_askers_language(retriever, question: str, lang: str, intro: str) -> None:  # type: ignore[no-untyped-def]
    answer = Assistant(retriever, None).ask(question)
    assert answer.mode == "extractive" and answer.language == lang
    # the quotes are introduced as answering only when the refusal signals are confident they do
    closest = str(load_prompts(lang)["extractive_intro_closest"])
    assert answer.answer.startswith(intro) or answer.answer.startswith(closest)
    assert answer.citations
    for c in answer.citations:
        assert c.excerpt and c.excerpt in c.text  # every quote is verbatim in its chunk


def test_refusal_before_generation(retriever) -> None:  # type: ignore[no-untyped-def]
    calls: list[str] = []

    class Spy(_Scripted):
        def stream(self, messages):  # type: ignore[no-untyped-def]
            calls.append("called")
            yield "x"

    answer = Assistant(retriever, Spy("")).ask(
        "Quelles sanctions prévoit la loi 05-20 sur la cybersécurité ?", mode="llm"
    )
    assert answer.refused and "05-20" in answer.answer
    assert calls == []  # no model call wasted


def test_a_text_named_by_a_title_no_indexed_text_has_is_refused(retriever) -> None:  # type: ignore[no-untyped-def]
    answer = Assistant(retriever).ask(
        "Quelle peine le code pénal prévoit-il pour un chef de service ?", mode="extractive"
    )
    assert answer.refused and "« code pénal »" in answer.answer
    # the fixture's own law, called by its name, is answered
    answer = Assistant(retriever).ask(
        "Selon la loi sur les congés des agents publics, quelle amende pour un chef de service ?",
        mode="extractive",
    )
    assert not answer.refused and answer.citations


def test_a_name_successive_texts_share_does_not_lift_the_period_check(retriever) -> None:  # type: ignore[no-untyped-def]
    # both transport-allowance decrees go by this name; neither was in force in 2023
    answer = Assistant(retriever).ask(
        "Quel était le montant de la prime de transport selon le décret sur la prime de transport en 2023 ?",
        mode="extractive",
    )
    assert answer.refused and "2023" in answer.answer
    assert answer.grounding["decision"]["reason"] == "period"


def test_follow_up_is_made_standalone_without_a_model(retriever) -> None:  # type: ignore[no-untyped-def]
    history = [
        {"role": "user", "content": QUESTION_FR},
        {"role": "assistant", "content": "quatorze semaines [1]"},
    ]
    answer = Assistant(retriever, None).ask("Et après l'accouchement ?", history=history)
    assert answer.standalone_question and "maternité" in answer.standalone_question
    assert any("quatorze semaines" in c.text for c in answer.citations)


def test_a_model_that_says_the_texts_do_not_cover_it_is_a_refusal(retriever) -> None:  # type: ignore[no-untyped-def]
    text = "Les textes indexés ne couvrent pas cette question."
    answer = Assistant(retriever, _Scripted(text)).ask(QUESTION_FR, mode="llm")
    assert answer.refused and answer.mode == "llm" and answer.grounding["action"] == "refused"
    assert answer.citations == []
