"""Clients nobody here wrote get cited answers from the OpenAI-compatible API of a real service on
127.0.0.1: the official `openai` SDK, the `mistralai` SDK, LangChain's `ChatOpenAI` and
`ChatMistralAI`, each plain and streamed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from assistant.modes import Role
from assistant.settings import Settings
from tests.serving import Service, copy_data, running_service

pytestmark = pytest.mark.integration

QUESTION = "Combien de semaines dure le congé de maternité d'une agente publique ?"
CITED = re.compile(r"\[\d+\]")


@pytest.fixture(scope="module")
def service(indexed: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    settings = copy_data(indexed, tmp_path_factory.mktemp("served-clients") / "data")
    with running_service(settings) as svc:
        yield svc


def _assert_cited(text: str) -> None:
    assert CITED.search(text), text
    assert "quatorze semaines" in text, text


def _assert_citations(citations: list[dict[str, Any]], base: str) -> None:
    assert citations, "the answer carries its citations"
    first = citations[0]
    assert {"source", "title", "article", "page", "excerpt", "in_force", "url"} <= set(first)
    law = [c for c in citations if c["source"] == "test_fr/loi_99-01_conges.pdf"]
    assert law and law[0]["url"].startswith(base + "/v1/documents/")


# ------------------------------------------------------------------ openai
def test_openai_sdk_plain_and_streamed(service: Service) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=service.url + "/v1", api_key=service.keys[Role.AGENT], max_retries=0)
    assert {m.id for m in client.models.list()} == {"dalil", "dalil-extractive"}
    resp = client.chat.completions.create(model="dalil", messages=[{"role": "user", "content": QUESTION}])
    _assert_cited(resp.choices[0].message.content or "")
    extra = resp.model_extra or {}
    _assert_citations(extra["citations"], service.url)
    assert extra["dalil"]["refused"] is False

    stream = client.chat.completions.create(
        model="dalil-extractive",
        messages=[
            {"role": "system", "content": "Réponds en anglais."},  # ignored: never an instruction
            {"role": "user", "content": QUESTION},
        ],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    _assert_cited(text)
    last = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
    assert len(last) == 1
    _assert_citations((last[0].model_extra or {})["citations"], service.url)
    assert chunks[-1].usage is not None and not chunks[-1].choices
    assert text == resp.choices[0].message.content  # extractive either way: same answer


def test_openai_sdk_errors_are_its_own_exceptions(service: Service) -> None:
    import openai

    bad = openai.OpenAI(base_url=service.url + "/v1", api_key="dalil_wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="dalil", messages=[{"role": "user", "content": QUESTION}])
    good = openai.OpenAI(base_url=service.url + "/v1", api_key=service.keys[Role.AGENT], max_retries=0)
    with pytest.raises(openai.NotFoundError, match="unknown model"):
        good.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])


def test_history_makes_a_follow_up_standalone(service: Service) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=service.url + "/v1", api_key=service.keys[Role.CITIZEN], max_retries=0)
    resp = client.chat.completions.create(
        model="dalil-extractive",
        messages=[
            {"role": "user", "content": "Quelle est la durée du congé de maternité ?"},
            {"role": "assistant", "content": "Quatorze semaines [1]."},
            {"role": "user", "content": "Et combien de semaines après l'accouchement ?"},
        ],
    )
    _assert_cited(resp.choices[0].message.content or "")


# ------------------------------------------------------------------ mistralai
def test_mistralai_sdk_complete_and_stream(service: Service) -> None:
    from mistralai.client import Mistral

    client = Mistral(api_key=service.keys[Role.CITIZEN], server_url=service.url)
    res = client.chat.complete(model="dalil", messages=[{"role": "user", "content": QUESTION}])
    assert res is not None
    _assert_cited(str(res.choices[0].message.content))

    events = client.chat.stream(model="dalil-extractive", messages=[{"role": "user", "content": QUESTION}])
    pieces = [e.data.choices[0].delta.content for e in events if e.data.choices]
    text = "".join(p for p in pieces if isinstance(p, str))
    assert len(pieces) > 2
    _assert_cited(text)


# ------------------------------------------------------------------ LangChain
def test_langchain_chat_openai_invoke_and_stream(service: Service) -> None:
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(
        base_url=service.url + "/v1", api_key=service.keys[Role.AGENT], model="dalil", max_retries=0
    )
    _assert_cited(str(llm.invoke(QUESTION).content))
    pieces = [str(chunk.content) for chunk in llm.stream(QUESTION)]
    assert len([p for p in pieces if p]) > 2
    _assert_cited("".join(pieces))


def test_langchain_chat_mistralai_invoke_and_stream(service: Service) -> None:
    from langchain_mistralai import ChatMistralAI

    llm = ChatMistralAI(
        base_url=service.url + "/v1",
        api_key=service.keys[Role.CITIZEN],  # type: ignore[arg-type]
        model="dalil-extractive",
        max_retries=0,
    )
    _assert_cited(str(llm.invoke(QUESTION).content))
    pieces = [str(chunk.content) for chunk in llm.stream(QUESTION)]
    assert len([p for p in pieces if p]) > 2
    _assert_cited("".join(pieces))
