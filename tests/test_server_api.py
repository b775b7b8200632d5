"""The HTTP service over the fixture corpus, through a real uvicorn server on 127.0.0.1 and a real
HTTP client: Dalil's own JSON (the shapes of `dalil search|ask --json`), keys and roles (a citizen
never sees the agents-only collection, in search, answers or files), 401/403/429/413, file links
from another host name, the audit trail, health, readiness, request ids and metrics."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from assistant.apikeys import ApiKeyStore
from assistant.audit import AuditLog
from assistant.keys import secret_key
from assistant.modes import Role
from assistant.settings import Settings
from server.limits import RateLimiter
from tests.conftest import settings_env
from tests.serving import Service, copy_data, running_service

pytestmark = pytest.mark.integration

QUESTION = "Combien de semaines dure le congé de maternité d'une agente publique ?"
INTERNAL = "Qui renouvelle le code d'accès interne au registre chaque trimestre ?"
INTERNAL_DOC = "internes:circulaire_7-2026.txt"


@pytest.fixture(scope="module")
def service(indexed: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    settings = copy_data(indexed, tmp_path_factory.mktemp("served") / "data")
    with running_service(settings) as svc:
        yield svc


def _cli(indexed: Settings, *args: str) -> dict:  # type: ignore[type-arg]
    out = subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args, "--json"],
        env=settings_env(indexed),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def _without_timings(obj: dict) -> dict:  # type: ignore[type-arg]
    return {k: v for k, v in obj.items() if k != "timings_ms"}


def _chat(client: httpx.Client, question: str, **extra: object) -> dict:  # type: ignore[type-arg]
    r = client.post(
        "/v1/chat/completions",
        json={"model": "dalil-extractive", "messages": [{"role": "user", "content": question}], **extra},
    )
    assert r.status_code == 200, r.text
    return r.json()


# ------------------------------------------------------------------ Dalil's own JSON
def test_search_and_answers_have_exactly_the_cli_shapes(service: Service, indexed: Settings) -> None:
    with service.client(Role.AGENT) as client:
        search = client.post("/v1/search", json={"query": "congé de maternité", "k": 3, "id": "q1"})
        answer = client.post("/v1/answers", json={"question": QUESTION, "mode": "extractive", "id": "a1"})
    assert search.status_code == 200 and answer.status_code == 200, (search.text, answer.text)
    cli_search = _cli(indexed, "search", "congé de maternité", "--k", "3")
    cli_answer = _cli(indexed, "ask", QUESTION, "--mode", "extractive")
    got_search, got_answer = search.json(), answer.json()
    assert got_search["id"] == "q1" and got_answer["id"] == "a1"
    # the same schema, key for key, and the same content
    assert set(got_search) == set(cli_search)
    assert [set(r) for r in got_search["results"]] == [set(r) for r in cli_search["results"]]
    assert [r["chunk_id"] for r in got_search["results"]] == [r["chunk_id"] for r in cli_search["results"]]
    assert set(got_answer) == set(cli_answer)
    assert set(got_answer["timings_ms"]) == set(cli_answer["timings_ms"])
    assert [set(c) for c in got_answer["citations"]] == [set(c) for c in cli_answer["citations"]]
    assert set(got_answer["grounding"]) == set(cli_answer["grounding"])
    assert (got_answer["answer"], got_answer["mode"]) == (cli_answer["answer"], cli_answer["mode"])
    assert got_answer["citations"] and not got_answer["refused"]


def test_answers_are_recorded_in_the_audit_trail_under_the_keys_name(service: Service) -> None:
    with service.client(Role.CITIZEN) as client:
        r = client.post("/v1/answers", json={"question": "congé annuel payé des agents publics"})
    assert r.status_code == 200
    log = AuditLog(service.settings.audit_path, key=secret_key(service.settings))
    try:
        latest = log.answers(1)[0]
        assert log.verify().ok
    finally:
        log.close()
    assert latest["question"] == "congé annuel payé des agents publics"
    assert latest["audience"] == "public" and latest["user"]
    assert latest["user"] != "test-citizen"  # pseudonymised by the audit log


def test_a_bad_question_is_a_400_in_the_error_shape(service: Service) -> None:
    with service.client(Role.AGENT) as client:
        empty = client.post("/v1/answers", json={"question": "   "})
        long = client.post("/v1/search", json={"query": "x" * (service.settings.tuning.max_query_chars + 1)})
        unknown_field = client.post("/v1/search", json={"query": "congé", "audiance": "agents"})
    assert empty.status_code == 400 and empty.json()["error"]["type"] == "invalid_request_error"
    assert long.status_code == 400 and "DALIL_MAX_QUERY_CHARS" in long.json()["error"]["message"]
    assert unknown_field.status_code == 422 and "audiance" in unknown_field.json()["error"]["message"]


# ------------------------------------------------------------------ roles and audiences
def test_a_citizen_key_never_sees_the_agents_only_collection(service: Service) -> None:
    with service.client(Role.CITIZEN) as citizen, service.client(Role.AGENT) as agent:
        seen = {
            who: client.post("/v1/search", json={"query": INTERNAL, "k": 20}).json()["results"]
            for who, client in (("citizen", citizen), ("agent", agent))
        }
        assert any(r["collection"] == "internes" for r in seen["agent"])
        assert seen["citizen"] and all(r["collection"] != "internes" for r in seen["citizen"])
        # asking for the wider audience is refused, not silently narrowed
        wider = citizen.post("/v1/search", json={"query": INTERNAL, "audience": "agents"})
        assert wider.status_code == 403 and wider.json()["error"]["type"] == "permission_error"
        # answers, both APIs
        for client, sees in ((citizen, False), (agent, True)):
            own = client.post("/v1/answers", json={"question": INTERNAL, "mode": "extractive"}).json()
            chat = _chat(client, INTERNAL)
            for cited in (own["citations"], chat["citations"]):
                assert any(c["doc_id"] == INTERNAL_DOC for c in cited) is sees, cited
        # the file itself
        path = f"/v1/documents/{INTERNAL_DOC.replace(':', '%3A')}/file"
        assert agent.get(path).status_code == 200
        refused = citizen.get(path)
        assert refused.status_code == 404 and "quatrième" not in refused.text
        # even naming the collection
        named = citizen.post("/v1/search", json={"query": INTERNAL, "collections": ["internes"]}).json()
        assert named["results"] == []


def test_the_role_decides_the_audience_of_every_role(service: Service) -> None:
    for role in Role:
        with service.client(role) as client:
            results = client.post("/v1/search", json={"query": INTERNAL, "k": 20}).json()["results"]
        assert any(r["collection"] == "internes" for r in results) is (role is not Role.CITIZEN), role


# ------------------------------------------------------------------ files
def _file_url(service: Service, role: Role, **headers: str) -> str:
    with service.client(role, headers) as client:
        body = _chat(client, QUESTION)
    cited = [c for c in body["citations"] if c["doc_id"] == "test_fr:loi_99-01_conges.pdf"]
    assert cited, body["citations"]
    return str(cited[0]["url"])


def test_file_links_follow_the_host_the_request_came_through(service: Service) -> None:
    url = _file_url(service, Role.CITIZEN, host="dalil.interieur.example", **{"x-forwarded-proto": "https"})
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", "dalil.interieur.example")
    assert parts.path == "/v1/documents/test_fr%3Aloi_99-01_conges.pdf/file"
    assert parts.fragment == "page=1" and "page=1" in parts.query
    # a browser behind the proxy follows it without any key: the link is signed
    r = httpx.get(f"{service.url}{parts.path}?{parts.query}", headers={"host": "dalil.interieur.example"})
    original = service.settings.corpus_dir / "test_fr" / "loi_99-01_conges.pdf"
    assert r.status_code == 200 and r.content == original.read_bytes()
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["x-content-type-options"] == "nosniff"
    # never bound to the address the service listens on
    assert "127.0.0.1" not in url


def test_file_links_need_a_key_or_a_valid_signature(service: Service) -> None:
    url = urlsplit(_file_url(service, Role.AGENT))
    path = url.path
    assert httpx.get(f"{service.url}{path}").status_code == 401
    tampered = url.query.replace("a=agents", "a=public")
    assert httpx.get(f"{service.url}{path}?{tampered}").status_code == 401
    with service.client(Role.CITIZEN) as citizen:
        assert citizen.get(path).status_code == 200  # a public document, any key
        assert citizen.get("/v1/documents/test_fr%3Anot-there.pdf/file").status_code == 404
        assert citizen.get("/v1/documents/..%2F..%2Fetc%2Fpasswd/file").status_code == 404


def test_a_withdrawn_document_is_no_longer_served(service: Service) -> None:
    from assistant.registry import DocumentStatus, Registry

    doc = "test_fr:faq_etat_civil.md"
    path = "/v1/documents/test_fr%3Afaq_etat_civil.md/file"
    with service.client(Role.AGENT) as agent:
        assert agent.get(path).status_code == 200
        registry = Registry(service.settings.registry_path)
        try:
            before = registry.get(doc)
            assert before is not None
            registry.upsert(doc, status=DocumentStatus.WITHDRAWN.value)
            assert agent.get(path).status_code == 404
        finally:
            registry.upsert(doc, status=before.status.value)  # type: ignore[union-attr]
            registry.close()


# ------------------------------------------------------------------ access
def test_401_without_a_valid_key(service: Service) -> None:
    body = {"query": "congé"}
    for headers in ({}, {"authorization": "Basic dXNlcjpwYXNz"}, {"authorization": "Bearer dalil_nope"}):
        r = httpx.post(f"{service.url}/v1/search", json=body, headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", headers
        assert r.json()["error"]["type"] == "authentication_error"
    # a revoked key stops working at once
    store = ApiKeyStore(service.settings.apikeys_path, secret_key(service.settings))
    _, key = store.add("short-lived", Role.AGENT)
    headers = {"authorization": f"Bearer {key}"}
    assert httpx.post(f"{service.url}/v1/search", json=body, headers=headers).status_code == 200
    assert store.revoke("short-lived")
    store.close()
    assert httpx.post(f"{service.url}/v1/search", json=body, headers=headers).status_code == 401


def test_429_with_retry_after_per_key(service: Service) -> None:
    saved = service.app.state.limiter
    service.app.state.limiter = RateLimiter(rate=0.01, burst=2)
    try:
        with service.client(Role.CITIZEN) as citizen, service.client(Role.AGENT) as agent:
            codes = [citizen.get("/v1/models").status_code for _ in range(3)]
            limited = citizen.get("/v1/models")
            other = agent.get("/v1/models")
    finally:
        service.app.state.limiter = saved
    assert codes == [200, 200, 429]
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"]["type"] == "rate_limit_error"
    assert other.status_code == 200  # one bucket per key


def test_413_for_a_body_over_the_limit(service: Service) -> None:
    limit = service.settings.tuning.api_max_body_bytes
    big = json.dumps({"query": "x" * (limit + 10)}).encode()
    with service.client(Role.AGENT) as client:
        declared = client.post("/v1/search", content=big, headers={"content-type": "application/json"})
        streamed = client.post(
            "/v1/search",
            content=iter([big[: limit // 2], big[limit // 2 :]]),  # chunked: no Content-Length
            headers={"content-type": "application/json"},
        )
    assert declared.status_code == 413 and streamed.status_code == 413
    assert declared.json()["error"]["type"] == "request_too_large"


def test_cors_is_closed_unless_configured(service: Service) -> None:
    preflight = {"origin": "https://portail.example", "access-control-request-method": "POST"}
    r = httpx.options(f"{service.url}/v1/search", headers=preflight)
    assert "access-control-allow-origin" not in r.headers


# ------------------------------------------------------------------ operations
def test_health_readiness_request_ids_and_metrics(service: Service) -> None:
    assert httpx.get(f"{service.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{service.url}/readyz").json() == {"status": "ready"}
    with service.client(Role.AGENT) as client:
        given = client.get("/v1/models", headers={"x-request-id": "portail-42"})
        made = client.get("/v1/models")
        refused = _chat(client, "Quelles sanctions prévoit la loi 05-20 sur la cybersécurité ?")
    assert given.headers["x-request-id"] == "portail-42"
    assert len(made.headers["x-request-id"]) == 32
    assert refused["dalil"]["refused"] is True and refused["choices"][0]["message"]["content"]
    text = httpx.get(f"{service.url}/metrics").text
    for series in (
        'dalil_http_requests_total{method="GET",route="/v1/models",status="200"}',
        'dalil_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/v1/models"}',
        "dalil_refusals_total",
        'dalil_answers_total{grounding="extractive",mode="extractive"}',
        "dalil_ready 1.0",
        "dalil_fallbacks",
        "dalil_http_errors",
    ):
        assert series in text, series
    assert "openapi" in httpx.get(f"{service.url}/openapi.json").json()
    assert httpx.get(f"{service.url}/docs").status_code == 404  # no page loading assets from a CDN


def test_readiness_waits_for_the_index(tmp_path: Path, indexed: Settings) -> None:
    """Before the index is open, /readyz and the routes that need it say 503 with Retry-After."""
    from fastapi.testclient import TestClient

    from server.app import create_app

    settings = copy_data(indexed, tmp_path / "data")
    store = ApiKeyStore(settings.apikeys_path, secret_key(settings))
    _, key = store.add("early", Role.AGENT)
    store.close()
    client = TestClient(create_app(settings))  # no lifespan: the index is never opened
    assert client.get("/healthz").status_code == 200
    r = client.get("/readyz")
    assert r.status_code == 503 and r.headers["retry-after"]
    r = client.post("/v1/search", json={"query": "congé"}, headers={"authorization": f"Bearer {key}"})
    assert r.status_code == 503 and "opening" in r.json()["error"]["message"]


# ------------------------------------------------------------------ streaming and concurrency
class _Scripted:
    """A chat model that streams a fixed text: for the stream translation, not for the SDKs
    (tests/test_server_llm.py runs a real model)."""

    name = "scripted"
    remote = False

    def __init__(self, text: str) -> None:
        self.text = text

    def complete(self, messages: list[dict[str, str]]) -> str:
        return self.text

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        yield from [self.text[i : i + 7] for i in range(0, len(self.text), 7)]


def _sse(client: httpx.Client, body: dict) -> list[dict]:  # type: ignore[type-arg]
    events: list[dict] = []  # type: ignore[type-arg]
    with client.stream("POST", "/v1/chat/completions", json=body | {"stream": True}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("data: "):
                events.append({"done": True} if line == "data: [DONE]" else json.loads(line[6:]))
    return events


@pytest.mark.parametrize(
    ("text", "grounding", "resets"),
    [
        ("Le congé de maternité dure quatorze semaines [1].", "none", 0),
        ("Le congé dure « cinquante-deux semaines pleines et entières » [1].", "downgraded", 1),
    ],
)
def test_a_replaced_model_answer_is_flagged_in_the_stream(
    service: Service, text: str, grounding: str, resets: int
) -> None:
    assistant = service.app.state.dalil.assistant
    assistant.chat = _Scripted(text)
    try:
        with service.client(Role.AGENT) as client:
            events = _sse(client, {"model": "dalil", "messages": [{"role": "user", "content": QUESTION}]})
    finally:
        assistant.chat = None
    assert events[-1] == {"done": True}
    chunks = events[:-1]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    flagged = [c for c in chunks if c.get("dalil", {}).get("reset")]
    assert len(flagged) == resets
    final = chunks[-1]
    assert final["choices"][0]["finish_reason"] == "stop" and final["citations"]
    assert final["dalil"]["grounding"] == grounding
    shown = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    if resets:
        replacement = flagged[0]["choices"][0]["delta"]["content"]
        assert replacement.startswith("\n\n") and "quatorze semaines" in replacement
        assert final["dalil"]["mode"] == "extractive"
    else:
        assert shown == text and final["dalil"]["mode"] == "llm"


def test_concurrent_requests_get_the_same_answers(service: Service) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def ask(i: int) -> dict:  # type: ignore[type-arg]
        with service.client(Role.AGENT if i % 2 else Role.CITIZEN) as client:
            r = client.post("/v1/answers", json={"question": QUESTION, "mode": "extractive"})
            assert r.status_code == 200, r.text
            return _without_timings(r.json())

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(ask, range(32)))
    assert all(a == answers[0] for a in answers), "the same question gets the same answer from every thread"


def test_dalil_serve_logs_json_lines_with_request_ids(indexed: Settings, tmp_path: Path) -> None:
    import socket
    import threading

    from tests.helpers import wait_until

    settings = copy_data(indexed, tmp_path / "data")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = settings_env(settings)
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr or []), daemon=True)
    reader.start()
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(
            lambda: httpx.get(url + "/readyz").status_code == 200,
            timeout=180,
            what="dalil serve to be ready",
            ignoring=(httpx.HTTPError,),
        )
        assert httpx.get(url + "/v1/models", headers={"x-request-id": "trace-7"}).status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    reader.join(timeout=10)
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    # a clean shutdown (uvicorn then re-raises SIGTERM, so the exit status says it was signalled)
    assert proc.returncode in (0, -15) and any(
        x["message"] == "Application shutdown complete." for x in logged
    )
    assert logged and len(logged) == len([line for line in lines if line.strip()])  # every line is JSON
    hit = [x for x in logged if x.get("request_id") == "trace-7"]
    assert hit and hit[0]["status"] == 401 and hit[0]["route"] == "/v1/models"
