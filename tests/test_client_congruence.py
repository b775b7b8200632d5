"""The two `DalilClient`s — in this process (`ingest.local_client.LocalClient`) and over HTTP to a
real `dalil serve` (`assistant.http_client.HttpClient`) — give the same JSON for the same calls,
and the command line gives the same output through either.

Timings differ from one run to the next and are left out of the comparison; everything else (ranks,
scores, texts, citations, refusals, errors) must be equal. A failure names the first item that
differs, with both sides."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from assistant.errors import ConfigError, DalilError, InputError, QueryError
from assistant.http_client import HttpClient, merge_reports
from assistant.index import shared_index
from assistant.modes import AnswerMode, Audience, Role
from assistant.settings import Settings
from ingest.local_client import LocalClient
from ingest.sync import Syncer
from tests.conftest import settings_env
from tests.serving import Service, running_service

pytestmark = pytest.mark.integration

VOLATILE = {"timings_ms", "seconds"}


def first_difference(a: Any, b: Any, where: str = "$") -> str | None:
    """Where `a` and `b` first differ (a JSON path and both values), ignoring timings."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key in VOLATILE:
                continue
            if key not in a or key not in b:
                return f"{where}.{key}: only on the {'in-process' if key in a else 'HTTP'} side"
            found = first_difference(a[key], b[key], f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            found = first_difference(x, y, f"{where}[{i}]")
            if found:
                return found
        if len(a) != len(b):
            return f"{where}: {len(a)} items in-process, {len(b)} over HTTP"
        return None
    if a != b:
        return f"{where}: in-process {a!r} | HTTP {b!r}"
    return None


def assert_congruent(local: Any, remote: Any, what: str) -> None:
    found = first_difference(local, remote)
    assert found is None, f"{what}: the two clients differ at {found}"


@pytest.fixture()
def service(fresh: Settings) -> Iterator[Service]:
    fresh = fresh.model_copy(update={"api_rate_per_s": 1000.0, "api_rate_burst": 1000})
    with Syncer(fresh, index := shared_index(fresh)) as syncer:
        assert not syncer.run().failed
    del index
    with running_service(fresh, role_keys=False) as running:
        yield running


@pytest.fixture()
def clients(service: Service) -> Iterator[tuple[LocalClient, HttpClient, str]]:
    key = service.add_key("owner1", Role.OWNER)
    remote_settings = service.settings.model_copy(update={"api_url": service.url, "api_key": SecretStr(key)})
    local = LocalClient(service.settings, index=shared_index(service.settings))
    remote = HttpClient(remote_settings)
    yield local, remote, key
    local.close()
    remote.close()


SEARCHES: list[dict[str, Any]] = [
    {"query": "congé annuel des agents publics"},
    {"query": "منحة التنقل الشهرية", "k": 3},
    {"query": "maternity leave duration", "audience": Audience.PUBLIC},
    {"query": "circulaire interne réservée aux agents", "collections": ["internes"]},
    {"query": "délai de réponse de l'administration", "date": "2024-01-01", "exclude_superseded": True},
    {"query": "congé", "languages": ["ar"], "id": "q-6"},
]

QUESTIONS: list[dict[str, Any]] = [
    {"question": "Quelle est la durée du congé de maternité ?", "id": "a1"},
    {"question": "ما هو مبلغ منحة التنقل الشهرية؟"},
    {"question": "How long does the administration have to answer a leave request?"},
    {"question": "Quel est le prix d'un billet de train Casablanca-Rabat ?"},  # refused
    {"question": "Que dit la circulaire interne 7/2026 ?", "audience": Audience.PUBLIC},
]


def test_search_and_ask_are_congruent(clients: tuple[LocalClient, HttpClient, str]) -> None:
    local, remote, _ = clients
    for args in SEARCHES:
        assert_congruent(local.search(**args), remote.search(**args), f"search {args}")
    for args in QUESTIONS:
        args = {"mode": AnswerMode.EXTRACTIVE, **args}
        assert_congruent(local.ask(**args), remote.ask(**args), f"ask {args}")
    # both asked the same questions: the audit trail holds both sides' entries, in the same shape
    entries = local.audit(2 * len(QUESTIONS))
    assert_congruent(entries, remote.audit(2 * len(QUESTIONS)), "audit")
    by_question: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        by_question.setdefault(e["question"], []).append(e)
    for question, pair in by_question.items():
        assert len(pair) == 2, question
        assert_congruent(
            {k: v for k, v in pair[0].items() if k in ("answer", "refused", "mode", "citations", "language")},
            {k: v for k, v in pair[1].items() if k in ("answer", "refused", "mode", "citations", "language")},
            f"audit entries of {question!r}",
        )


def test_errors_and_documents_are_congruent(clients: tuple[LocalClient, HttpClient, str]) -> None:
    local, remote, _ = clients
    for args in ({"query": "   "}, {"query": "congé", "collections": ["nope"]}, {"query": "x" * 20_000}):
        errors = []
        for client in (local, remote):
            with pytest.raises(DalilError) as caught:
                client.search(**args)  # type: ignore[arg-type]
            errors.append(caught.value)
        assert type(errors[0]) is type(errors[1]), errors
    assert_congruent(local.documents(), remote.documents(), "documents")
    # a sync with nothing changed: every document unchanged on both sides
    assert_congruent(local.ingest(), remote.ingest(), "ingest of an unchanged corpus")
    with pytest.raises(DalilError):
        local.withdraw("test_fr:nope")
    with pytest.raises(DalilError):
        remote.withdraw("test_fr:nope")


def _dalil(settings: Settings, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args], capture_output=True, text=True, env=env, timeout=600
    )


def test_command_line_through_the_service(
    service: Service, clients: tuple[LocalClient, HttpClient, str]
) -> None:
    """`dalil search|ask|sources|audit --json` print the same through DALIL_API_URL as in-process."""
    local, _, key = clients
    env = settings_env(service.settings) | {"DALIL_API_URL": service.url, "DALIL_API_KEY": key}
    query = "congé annuel des agents publics"
    out = _dalil(service.settings, "search", query, "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert_congruent(local.search(query), json.loads(out.stdout), "dalil search --json")
    question = "Quelle est la durée du congé de maternité ?"
    out = _dalil(service.settings, "ask", question, "--mode", "extractive", "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert_congruent(
        local.ask(question, mode=AnswerMode.EXTRACTIVE), json.loads(out.stdout), "dalil ask --json"
    )
    out = _dalil(service.settings, "sources", "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert_congruent(local.documents(), json.loads(out.stdout), "dalil sources --json")
    out = _dalil(service.settings, "audit", "--limit", "2", "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert_congruent(local.audit(2), json.loads(out.stdout), "dalil audit --json")
    bad = _dalil(service.settings, "search", "  ", "--json", env=env)
    assert bad.returncode == 1 and "error" in json.loads(bad.stdout.strip().splitlines()[-1])
    wrong = _dalil(service.settings, "sources", "--json", env=env | {"DALIL_API_KEY": "dalil-wrong"})
    assert wrong.returncode == 1 and "DALIL_API_KEY" in wrong.stdout + wrong.stderr
    # withdrawing and restoring are jobs of the service too, recorded under the key's name
    doc = next(d for d in local.documents() if d["source"].endswith(".md"))
    out = _dalil(service.settings, "remove", doc["doc_id"], env=env)
    assert out.returncode == 0, out.stderr
    assert next(d for d in local.documents() if d["doc_id"] == doc["doc_id"])["withdrawn_by"] == "owner1"
    out = _dalil(service.settings, "restore", doc["doc_id"], "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["totals"]["added"] + json.loads(out.stdout)["totals"]["updated"] == 1
    assert _dalil(service.settings, "restore", doc["doc_id"], env=env).returncode == 1  # not withdrawn
    # a content owner's ingest is a job of the service: the summary of `dalil ingest --json`
    out = _dalil(service.settings, "ingest", "--json", env=env)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["totals"]["unchanged"] == len([d for d in local.documents() if d["status"] == "indexed"])


@pytest.mark.unit
@pytest.mark.parametrize(
    ("status", "error", "words"),
    [
        (401, ConfigError, "DALIL_API_KEY"),
        (403, ConfigError, "403"),
        (404, InputError, "no document"),
        (400, QueryError, "no document"),
        (429, DalilError, "retry in 3 s"),
        (500, DalilError, r"failed \(500\)"),
    ],
)
def test_service_errors_become_the_errors_of_the_library(
    status: int, error: type[DalilError], words: str
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        body = {"error": {"message": "no document 'x'", "type": "error", "code": status}}
        return httpx.Response(status, json=body, headers={"Retry-After": "3"})

    settings = Settings(api_url="http://127.0.0.1:9", api_key=SecretStr("dalil-k"))
    client = HttpClient(settings, transport=httpx.MockTransport(answer))
    with contextlib.closing(client), pytest.raises(error, match=words) as caught:
        client.documents()
    assert type(caught.value) is error


@pytest.mark.unit
def test_a_remote_service_must_be_allowed_and_needs_a_key() -> None:
    with pytest.raises(ConfigError, match="DALIL_ALLOWED_HOSTS"):
        HttpClient(Settings(api_url="https://dalil.example.org", api_key=SecretStr("dalil-k")))
    with pytest.raises(ConfigError, match="DALIL_API_KEY"):
        HttpClient(Settings(api_url="http://127.0.0.1:8000"))


@pytest.mark.unit
def test_reports_of_several_jobs_merge_into_one() -> None:
    one = {"documents": [{"doc_id": "a"}], "totals": {"added": 1, "chunks": 3}, "seconds": 1.5}
    two = {"documents": [{"doc_id": "b"}], "totals": {"added": 0, "failed": 1, "chunks": 0}, "seconds": 0.25}
    merged = merge_reports([one, two])
    assert [d["doc_id"] for d in merged["documents"]] == ["a", "b"]
    assert merged["totals"] == {"added": 1, "failed": 1, "chunks": 3}
    assert merged["seconds"] == 1.75
