"""API keys (stored hashed, shown once, revocable), roles, the rate limiter, CORS and the
`dalil keys` commands."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient

from assistant.apikeys import KEY_PREFIX, ApiKeyStore
from assistant.errors import InputError
from assistant.modes import Audience, Role
from assistant.settings import Settings
from server.auth import Caller, require
from server.limits import RateLimiter, retry_after

SECRET = b"s" * 32


@pytest.mark.unit
def test_a_key_is_stored_only_as_its_hmac(tmp_path: Path) -> None:
    path = tmp_path / "apikeys.sqlite"
    with ApiKeyStore(path, SECRET) as store:
        record, key = store.add("portail-citoyen", Role.CITIZEN)
        assert key.startswith(KEY_PREFIX) and len(key) > 40
        assert record.prefix == key[: len(record.prefix)] and len(record.prefix) < 12
        found = store.lookup(key)
        assert found is not None and (found.name, found.role) == ("portail-citoyen", Role.CITIZEN)
        assert store.lookup(key + "x") is None and store.lookup("dalil_") is None and store.lookup("") is None
    raw = path.read_bytes()
    assert key.encode() not in raw and key[len(record.prefix) :].encode() not in raw
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    # another deployment's secret cannot use the stored hashes
    with ApiKeyStore(path, b"t" * 32) as other:
        assert other.lookup(key) is None
    rows = sqlite3.connect(path).execute("SELECT key_hash FROM api_keys").fetchall()
    assert len(rows) == 1 and len(rows[0][0]) == 64


@pytest.mark.unit
def test_revocation_and_names(tmp_path: Path) -> None:
    with ApiKeyStore(tmp_path / "k.sqlite", SECRET) as store:
        _, first = store.add("agent-1", "agent")
        with pytest.raises(InputError, match="revoke it first"):
            store.add("agent-1", Role.AGENT)
        with pytest.raises(InputError, match="citizen, agent, owner, evaluator"):
            store.add("x", "admin")
        with pytest.raises(InputError, match="without spaces"):
            store.add("two words", Role.AGENT)
        assert store.revoke("agent-1") and not store.revoke("agent-1") and not store.revoke("nobody")
        assert store.lookup(first) is None
        _, second = store.add("agent-1", Role.OWNER)  # a revoked name may be given again
        assert store.lookup(second) is not None and store.lookup(first) is None
        listed = [(k.name, k.role, k.active) for k in store.list()]
        assert listed == [("agent-1", Role.AGENT, False), ("agent-1", Role.OWNER, True)]
        assert [k.role for k in store.list(include_revoked=False)] == [Role.OWNER]


@pytest.mark.unit
def test_roles_and_audiences() -> None:
    citizen, agent = Caller("c", Role.CITIZEN), Caller("a", Role.AGENT)
    assert citizen.audience is Audience.PUBLIC
    assert {Caller("x", r).audience for r in Role if r is not Role.CITIZEN} == {Audience.AGENTS}
    assert [r for r in Role if Caller("x", r).can_manage_documents] == [Role.OWNER]
    assert citizen.may_see(Audience.PUBLIC) and not citizen.may_see("agents")
    assert agent.may_see(Audience.PUBLIC) and agent.may_see(Audience.AGENTS)


@pytest.mark.unit
def test_rate_limiter_token_bucket() -> None:
    now = [100.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("k")
    assert wait == pytest.approx(0.5) and retry_after(wait) == "1"
    assert limiter.take("other") == 0.0  # one bucket per key
    now[0] += 0.5
    assert limiter.take("k") == 0.0 and limiter.take("k") > 0
    now[0] += 60  # refills up to the burst, no more
    assert [limiter.take("k") for _ in range(4)][:3] == [0.0, 0.0, 0.0] and limiter.take("k") > 0
    assert retry_after(7.2) == "8"
    with pytest.raises(ValueError):
        RateLimiter(rate=0, burst=1)


def _app_with_keys(tmp_path: Path, **settings: object) -> tuple[TestClient, dict[Role, str]]:
    """The service's app without its lifespan (the index is never opened), plus one key per role."""
    from server.app import create_app

    s = Settings(data_dir=tmp_path / "data", **settings)  # type: ignore[arg-type]
    store = ApiKeyStore(s.apikeys_path, SECRET)
    keys = {role: store.add(f"k-{role.value}", role)[1] for role in Role}
    app = create_app(s, keys=store)

    @app.get("/owners-only")
    async def owners_only(caller: Caller = Depends(require(Role.OWNER))) -> dict[str, str]:
        return {"name": caller.name}

    return TestClient(app), keys


@pytest.mark.unit
def test_require_answers_403_to_other_roles(tmp_path: Path) -> None:
    client, keys = _app_with_keys(tmp_path)
    for role, key in keys.items():
        r = client.get("/owners-only", headers={"authorization": f"Bearer {key}"})
        assert r.status_code == (200 if role is Role.OWNER else 403), role
        if role is not Role.OWNER:
            assert "needs role owner" in r.json()["error"]["message"]
    assert client.get("/owners-only").status_code == 401


@pytest.mark.unit
def test_cors_opens_only_to_the_configured_origins(tmp_path: Path) -> None:
    preflight = {"origin": "https://portail.example", "access-control-request-method": "POST"}
    closed, _ = _app_with_keys(tmp_path / "closed")
    assert "access-control-allow-origin" not in closed.options("/v1/search", headers=preflight).headers
    opened, _ = _app_with_keys(tmp_path / "open", cors_origins="https://portail.example")
    r = opened.options("/v1/search", headers=preflight)
    assert r.headers["access-control-allow-origin"] == "https://portail.example"
    other = opened.options("/v1/search", headers={**preflight, "origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.integration
def test_keys_commands(tmp_path: Path) -> None:
    env = dict(os.environ, DALIL_DATA_DIR=str(tmp_path / "data"))

    def dalil(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "assistant.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    added = dalil("keys", "add", "portail", "--role", "citizen", "--json")
    assert added.returncode == 0, added.stderr
    created = json.loads(added.stdout)
    assert created["key"].startswith(KEY_PREFIX) and created["role"] == "citizen"
    listed = dalil("keys", "list", "--json")
    assert created["key"] not in listed.stdout
    assert [(k["name"], k["active"]) for k in json.loads(listed.stdout)] == [("portail", True)]
    assert dalil("keys", "add", "portail", "--role", "agent").returncode == 1
    assert dalil("keys", "add", "x", "--role", "admin").returncode == 1
    assert dalil("keys", "revoke", "portail").returncode == 0
    assert dalil("keys", "revoke", "portail").returncode == 1
    plain = dalil("keys", "add", "agent-1", "--role", "agent")
    assert plain.returncode == 0 and KEY_PREFIX in plain.stdout


@pytest.mark.unit
def test_log_lines_are_json_with_the_request_id() -> None:
    import logging

    from server.logs import REQUEST_ID, JsonFormatter

    record = logging.makeLogRecord(
        {"name": "dalil.server", "msg": "request", "levelname": "INFO", "status": 200}
    )
    token = REQUEST_ID.set("portail-42")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        REQUEST_ID.reset(token)
    assert line["request_id"] == "portail-42" and line["status"] == 200 and line["message"] == "request"
    assert "request_id" not in json.loads(JsonFormatter().format(record))
