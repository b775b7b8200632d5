"""Agents' sessions and conversations: signed expiring tokens, sign-out, throttled sign-in, roles,
the pseudonymised conversation store, and `dalil users add` reading the password off argv."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.conversations import ConversationStore
from assistant.credentials import add_user, parse_roles, user_roles
from assistant.errors import ConfigError
from assistant.modes import Role
from assistant.sessions import Outcome, Sessions, SessionSigner
from assistant.settings import Settings
from assistant.tuning import TUNING

KEY = bytes.fromhex("5f" * 32)


@pytest.fixture()
def sessions(tmp_path: Path) -> Sessions:
    creds = tmp_path / "credentials.yaml"
    add_user(creds, "amina", "correct-horse", {Role.OWNER})
    add_user(creds, "karim", "battery-staple")
    return Sessions(creds, tmp_path / "sessions.sqlite", KEY, TUNING)


@pytest.mark.unit
def test_a_token_is_signed_expires_and_cannot_be_altered() -> None:
    signer = SessionSigner(KEY, ttl_s=60)
    token, sid, expires = signer.issue("amina", now=1000.0)
    assert signer.read(token, now=1059.0) == ("amina", sid, expires)
    assert signer.read(token, now=1060.0) is None  # expired
    version, payload, tag = token.split(".")
    assert signer.read(f"{version}.{payload}.{'0' * len(tag)}", now=1001.0) is None
    assert SessionSigner(b"another key of thirty-two bytes!", 60).read(token, now=1001.0) is None
    assert signer.read("garbage", now=1001.0) is None
    assert signer.read("v1.!!!.abc", now=1001.0) is None


@pytest.mark.unit
def test_sign_in_resume_and_sign_out(sessions: Sessions) -> None:
    result = sessions.sign_in("amina", "correct-horse", "10.0.0.1")
    assert result.outcome is Outcome.SIGNED_IN and result.token and result.session
    assert result.session.roles == {Role.AGENT, Role.OWNER}
    resumed = sessions.resume(result.token)
    assert resumed is not None and resumed.user == "amina" and resumed.sid == result.session.sid
    sessions.sign_out(resumed)
    assert sessions.resume(result.token) is None  # revoked, even though still signed and unexpired
    assert sessions.resume(result.token, now=time.time() + TUNING.session_ttl_s + 1) is None


@pytest.mark.unit
def test_roles_are_read_when_a_session_resumes(sessions: Sessions) -> None:
    token = sessions.sign_in("karim", "battery-staple", None).token
    assert token
    first = sessions.resume(token)
    assert first is not None and first.roles == {Role.AGENT}
    add_user(sessions.credentials_path, "karim", "battery-staple", {Role.EVALUATOR})
    again = sessions.resume(token)
    assert again is not None and again.roles == {Role.AGENT, Role.EVALUATOR}


@pytest.mark.unit
def test_failed_sign_ins_lock_the_account_then_the_address(sessions: Sessions) -> None:
    now = 10_000.0
    limit = TUNING.signin_max_failures_account
    for i in range(limit - 1):
        assert sessions.sign_in("amina", f"wrong-{i}", "10.0.0.1", now=now + i).outcome is Outcome.REFUSED
    locked = sessions.sign_in("amina", "wrong-last", "10.0.0.1", now=now + limit)
    assert locked.outcome is Outcome.LOCKED and 0 < locked.retry_after_s <= TUNING.signin_lockout_s
    # locked: even the right password, from another address, is not checked
    right = sessions.sign_in("amina", "correct-horse", "10.0.0.2", now=now + limit + 1)
    assert right.outcome is Outcome.LOCKED
    # another account from the same address is not locked by amina's failures
    assert sessions.sign_in("karim", "battery-staple", "10.0.0.1", now=now + limit + 2).token
    # once the lockout is over the account signs in again
    later = now + limit + TUNING.signin_lockout_s + 1
    assert sessions.sign_in("amina", "correct-horse", "10.0.0.2", now=later).outcome is Outcome.SIGNED_IN

    # one address guessing across accounts is locked as an address
    t0 = later + 10
    for i in range(TUNING.signin_max_failures_address - 1):
        out = sessions.sign_in(f"user{i}", "nope", "192.0.2.9", now=t0 + i)
        assert out.outcome is Outcome.REFUSED
    out = sessions.sign_in("someone", "nope", "192.0.2.9", now=t0 + 100)
    assert out.outcome is Outcome.LOCKED
    assert sessions.sign_in("karim", "battery-staple", "192.0.2.9", now=t0 + 101).outcome is Outcome.LOCKED
    assert sessions.sign_in("karim", "battery-staple", "192.0.2.10", now=t0 + 102).token


@pytest.mark.unit
def test_the_throttling_store_holds_no_name_or_address(sessions: Sessions) -> None:
    sessions.sign_in("amina", "wrong", "10.0.0.1")
    raw = sessions.store_path.read_bytes()
    assert b"amina" not in raw and b"10.0.0.1" not in raw


@pytest.mark.unit
def test_roles_parse_and_refuse_unknown_names() -> None:
    assert parse_roles("owner, evaluator") == {Role.AGENT, Role.EVALUATOR, Role.OWNER}
    assert parse_roles([]) == {Role.AGENT}
    for bad in (["admin"], ["citizen"]):  # an account is never a citizen
        with pytest.raises(ConfigError, match="agent, evaluator, owner"):
            parse_roles(bad)


@pytest.mark.integration  # the real personal-data detector (Presidio, spaCy)
def test_conversations_are_pseudonymised_per_agent_deletable_and_purged(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite"
    question = "Mon nom est Youssef Alaoui, CIN AB123456 : quel est le délai de recours ?"
    answer = {
        "answer": "Le délai est de deux mois [1]. Youssef Alaoui peut former un recours.",
        "language": "fr",
        "citations": [{"n": 1, "article": "Article 7", "title": "Loi", "page": 3, "doc_id": "x:y"}],
        "grounding": {"secret": "not kept"},
    }
    with ConversationStore(path, KEY) as store:
        cid = store.append("amina", None, question, answer, "v1")
        assert (
            store.append("amina", cid, "Et en appel ?", {"answer": "Trente jours.", "language": "fr"}) == cid
        )
        other = store.append("karim", None, "ما هي مدة الطعن؟", {"answer": "شهران.", "language": "ar"})
        (mine,) = store.list("amina")
        assert (mine.id, mine.turns, mine.language) == (cid, 2, "fr")
        assert "Youssef" not in mine.title and "AB123456" not in mine.title
        conv = store.get("amina", cid)
        assert conv is not None and [t.question for t in conv.turns][1] == "Et en appel ?"
        first = conv.turns[0]
        assert "Youssef" not in first.answer["answer"] and "deux mois [1]" in first.answer["answer"]
        assert first.answer["citations"][0]["article"] == "Article 7" and first.index_version == "v1"
        assert "grounding" not in first.answer
        assert store.get("karim", cid) is None and not store.delete("karim", cid)  # not theirs
        assert [s.id for s in store.list("karim")] == [other]
        assert store.delete("amina", cid) and store.list("amina") == []
        # the retention purges what was not used for that many days, nothing younger
        store.conn.execute("UPDATE conversations SET updated_at = '2020-01-01T00:00:00+00:00'")
        store.conn.commit()
        store.append("amina", None, "Une autre question ?", {"answer": "Oui.", "language": "fr"})
        assert store.purge(30) == 1 and store.list("karim") == [] and len(store.list("amina")) == 1
    raw = path.read_bytes()
    assert b"Youssef" not in raw and b"AB123456" not in raw and b"amina" not in raw


def _users_add(env: dict[str, str], *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", "users", "add", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.integration
def test_users_add_reads_the_password_from_stdin_never_argv(tmp_path: Path) -> None:
    env = dict(os.environ) | {"DALIL_DATA_DIR": str(tmp_path / "data")}
    settings = Settings(data_dir=tmp_path / "data")
    out = _users_add(env, "amina", "--role", "owner", stdin="correct-horse\n")
    assert out.returncode == 0, out.stderr
    assert user_roles(settings.credentials_path, "amina") == {Role.AGENT, Role.OWNER}
    out = _users_add(env, "amina", "--password", "on-the-command-line", stdin="")
    assert out.returncode != 0 and "--password" in out.stderr  # no such option any more
    out = _users_add(env, "bob", stdin="short\n")
    assert out.returncode == 1 and "at least 8" in out.stderr
    out = _users_add(env, "bob", stdin="")
    assert out.returncode == 1 and "no password given" in out.stderr
    out = _users_add(env, "bob", "--role", "admin", stdin="long-enough\n")
    assert out.returncode == 1 and "unknown role" in out.stderr
    # an existing account keeps its roles when its password is reset without --role
    assert _users_add(env, "amina", stdin="another-pass\n").returncode == 0
    assert user_roles(settings.credentials_path, "amina") == {Role.AGENT, Role.OWNER}
