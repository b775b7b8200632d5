"""Streamed answers for front ends: `DalilClient.ask_stream` in this process (`LocalClient`) and over
HTTP (`HttpClient` reading `POST /v1/answers/stream` of a real `dalil serve` on 127.0.0.1) give the
same events: the same text shown, the same final answer (the JSON of `dalil ask --json`, timings
aside), the same citations' full texts, each answer recorded in the audit trail. A failure names
the first item that differs, with both sides."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, assert_never

import httpx
import pytest
from pydantic import SecretStr

from assistant.api_shapes import answer_shape
from assistant.errors import ConfigError, DalilError, QueryError
from assistant.events_json import error_json, event_from_json, event_json
from assistant.http_client import HttpClient, server_sent_data
from assistant.index import shared_index
from assistant.messages import (
    Answer,
    AnswerEvent,
    Citation,
    FinalEvent,
    MetaEvent,
    ResetEvent,
    TokenEvent,
)
from assistant.modes import AnswerMode, Audience, Role
from assistant.settings import Settings
from ingest.local_client import LocalClient
from tests.serving import Service, copy_data, running_service
from tests.test_client_congruence import assert_congruent

QUESTIONS: list[dict[str, Any]] = [
    {"question": "Quelle est la durée du congé de maternité ?", "id": "s1"},
    {"question": "ما هو مبلغ منحة التنقل الشهرية؟"},
    {"question": "How long does the administration have to answer a leave request?"},
    {"question": "Quel est le prix d'un billet de train Casablanca-Rabat ?"},  # refused
    {"question": "Qui renouvelle le code d'accès interne au registre chaque trimestre ?"},  # agents only
    {"question": "Que dit la circulaire interne 7/2026 ?", "audience": Audience.PUBLIC},
    {
        "question": "Et pour un agent contractuel ?",
        "history": [
            {"role": "user", "content": "Quelle est la durée du congé de maternité ?"},
            {"role": "assistant", "content": "Quatorze semaines [1]."},
        ],
    },
]


# ------------------------------------------------------------------ the wire format, both ways
def test_every_event_survives_its_json_both_ways() -> None:
    citation = Citation(
        1,
        "test_fr:a.md#3",
        "test_fr:a.md",
        "test_fr/a.md",
        "Statut",
        "Article 3",
        2,
        "extrait",
        reference="Dahir 1-58-008",
        text="Article 3. Le texte entier.",
        source_url="https://example.org/a",
        version=2,
        url="http://127.0.0.1:8000/v1/documents/test_fr%3Aa.md/file?page=2",
    )
    answer = Answer(
        "q ?",
        "fr",
        "réponse [1]",
        AnswerMode.LLM,
        False,
        [citation],
        {"action": "none"},
        "m",
        {"total": 1.5},
        "note",
        None,
        "q standalone",
        "id-1",
        0.4321,
    )
    events: list[AnswerEvent] = [
        MetaEvent(AnswerMode.LLM, "fr", "m"),
        TokenEvent("réponse "),
        ResetEvent("autre [1]"),
        FinalEvent(answer, audit_id=7, index_version="v9"),
    ]
    for event in events:
        back = event_from_json(event_json(event))
        assert event_json(back) == event_json(event)
        if isinstance(back, FinalEvent):
            assert back.answer.citations == [citation] and back.audit_id == 7
    with pytest.raises(DalilError, match="the answer failed: boom"):
        event_from_json(error_json("boom"))


def test_server_sent_events_are_read_as_the_standard_says() -> None:
    lines = [": ping", "event: token", 'data: {"a":', "data: 1}", "", "", "data: x", "", "data:y"]
    assert list(server_sent_data(lines)) == ['{"a":\n1}', "x", "y"]


# ------------------------------------------------------------------ in process and over HTTP
@pytest.fixture(scope="module")
def service(indexed: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    settings = copy_data(indexed, tmp_path_factory.mktemp("streamed") / "data")
    with running_service(settings) as svc:
        yield svc


@pytest.fixture()
def clients(service: Service) -> Iterator[tuple[LocalClient, HttpClient]]:
    local = LocalClient(service.settings, index=shared_index(service.settings))
    remote = HttpClient(
        service.settings.model_copy(
            update={"api_url": service.url, "api_key": SecretStr(service.keys[Role.AGENT])}
        )
    )
    yield local, remote
    local.close()
    remote.close()


def shown(events: list[AnswerEvent]) -> str:
    """The text a front end shows once every event was applied."""
    text = ""
    for event in events:
        match event:
            case MetaEvent() | FinalEvent():
                pass
            case TokenEvent(text=piece):
                text += piece
            case ResetEvent(text=replacement):
                text = replacement
            case _:
                assert_never(event)
    return text


def compare(local: list[AnswerEvent], remote: list[AnswerEvent], what: str) -> FinalEvent:
    assert [e.kind for e in local] == [e.kind for e in remote], what
    assert_congruent(event_json(local[0]), event_json(remote[0]), f"{what}: meta")
    assert_congruent(shown(local), shown(remote), f"{what}: text shown")
    finals = local[-1], remote[-1]
    assert isinstance(finals[0], FinalEvent) and isinstance(finals[1], FinalEvent), what
    a, b = finals
    assert_congruent(answer_shape(a.answer), answer_shape(b.answer), f"{what}: final answer")
    assert_congruent(
        [(c.n, c.text, c.source_url) for c in a.answer.citations],
        [(c.n, c.text, c.source_url) for c in b.answer.citations],
        f"{what}: citations' full texts",
    )
    assert a.audit_id is not None and b.audit_id is not None and a.audit_id != b.audit_id, what
    assert a.index_version == b.index_version, what
    # over HTTP each citation opens its file through the service
    assert all(c.url and c.url.startswith("http://127.0.0.1:") for c in b.answer.citations), what
    return b


def test_streamed_answers_are_the_same_in_process_and_over_http(
    clients: tuple[LocalClient, HttpClient],
) -> None:
    local, remote = clients
    for args in QUESTIONS:
        args = {"mode": AnswerMode.EXTRACTIVE, **args}
        final = compare(list(local.ask_stream(**args)), list(remote.ask_stream(**args)), f"ask_stream {args}")
        # the streamed final answer is the one `ask` returns
        assert_congruent(answer_shape(final.answer), remote.ask(**args), f"ask_stream and ask {args}")


class _Scripted:
    """A chat model that streams a fixed text (the stream's translation; real models are tested in
    tests/test_server_llm.py)."""

    name = "scripted"
    remote = False

    def __init__(self, text: str) -> None:
        self.text = text

    def complete(self, messages: list[dict[str, str]]) -> str:
        return self.text

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        yield from [self.text[i : i + 7] for i in range(0, len(self.text), 7)]


@pytest.mark.parametrize(
    ("text", "resets"),
    [
        ("Le congé de maternité dure quatorze semaines [1].", 0),
        ("Le congé dure « cinquante-deux semaines pleines et entières » [1].", 1),
    ],
)
def test_a_model_answer_and_its_replacement_stream_the_same(
    service: Service, clients: tuple[LocalClient, HttpClient], text: str, resets: int
) -> None:
    local, remote = clients
    served = service.app.state.dalil.assistant
    served.chat = local.dalil.assistant.chat = _Scripted(text)
    try:
        question = "Combien de semaines dure le congé de maternité d'une agente publique ?"
        events = list(remote.ask_stream(question))
        compare(list(local.ask_stream(question)), events, f"model answer {text!r}")
    finally:
        served.chat = local.dalil.assistant.chat = None
    assert sum(isinstance(e, ResetEvent) for e in events) == resets
    assert isinstance(events[0], MetaEvent) and events[0].model == "scripted"
    if not resets:
        assert shown(events) == text


def test_errors_status_and_feedback(service: Service, clients: tuple[LocalClient, HttpClient]) -> None:
    local, remote = clients
    for client in (local, remote):
        with pytest.raises(QueryError):
            next(iter(client.ask_stream("x" * 20_000)))
    citizen = HttpClient(
        service.settings.model_copy(
            update={"api_url": service.url, "api_key": SecretStr(service.keys[Role.CITIZEN])}
        )
    )
    try:
        with pytest.raises(ConfigError, match="403"):
            next(iter(citizen.ask_stream("congé", audience=Audience.AGENTS)))
        assert "internes" not in citizen.status(audience=Audience.PUBLIC)["collections"]
    finally:
        citizen.close()
    for audience in Audience:
        assert_congruent(
            local.status(audience=audience), remote.status(audience=audience), f"status {audience}"
        )
    assert "internes" in remote.status()["collections"] and remote.status()["chunks"] > 0
    # a rating is tied to the answer's audit entry, through either client
    finals = [
        list(c.ask_stream("Quelle est la durée du congé de maternité ?", mode=AnswerMode.EXTRACTIVE))[-1]
        for c in (local, remote)
    ]
    for client, final in zip((local, remote), finals, strict=True):
        assert isinstance(final, FinalEvent) and final.audit_id is not None
        client.feedback(final.audit_id, -1, reason="wrong", comment="pas la bonne durée")
    rows = service.app.state.dalil.audit.feedback_rows(2)
    assert sorted(r["answer_id"] for r in rows) == sorted(f.audit_id for f in finals)  # type: ignore[union-attr]
    # the stream's content type, as a browser's EventSource expects it
    http = httpx.Client(base_url=service.url, headers=service.headers(Role.AGENT), timeout=120)
    with http, http.stream("POST", "/v1/answers/stream", json={"question": "congé de maternité"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        assert [line for line in r.iter_lines() if line.startswith("event:")][-1] == "event: final"
