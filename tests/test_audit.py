"""The audit trail: hash-chained, verifiable, exportable, purged by retention without breaking,
safe under concurrency, keyed with a secret that is not in the data directory."""

from __future__ import annotations

import json
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from assistant import audit as audit_module
from assistant.audit import AuditLog
from assistant.errors import ConfigError
from assistant.keys import secret_key
from assistant.settings import Settings

pytestmark = pytest.mark.integration  # the privacy detector loads spaCy's French model

KEY = bytes.fromhex("5f" * 32)
REPO = Path(__file__).resolve().parent.parent


def _answer(i: int, question: str | None = None, answer: str | None = None) -> dict:
    return {
        "question": question or f"Question {i} sur le congé de maternité ?",
        "language": "fr",
        "mode": "extractive",
        "refused": False,
        "answer": answer or f"« quatorze semaines » [1] ({i})",
        "citations": [
            {"n": 1, "chunk_id": f"doc:{i}", "doc_id": "doc", "version": 2, "article": "Article 1", "page": 1}
        ],
        "grounding": {"action": "extractive"},
        "model": None,
        "timings_ms": {"total": 1.0},
    }


def _fill(path: Path, n: int = 6) -> None:
    with AuditLog(path, key=KEY) as log:
        for i in range(n):
            aid = log.record(_answer(i), "v1-3docs", "fr:1", user=f"agent{i}", audience="agents")
            if i == 2:
                log.feedback(aid, -1, "incomplete", "il manque l'article 2", {}, "v1-3docs")


def _tamper(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER IF EXISTS entries_append_only")  # someone with file access can
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    conn.close()


def _verify(path: Path):  # type: ignore[no-untyped-def]
    with AuditLog(path, key=KEY) as log:
        return log.verify()


def test_a_fresh_chain_verifies_and_feedback_is_tied_to_its_answer(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    _fill(path)
    result = _verify(path)
    assert result.ok and result.entries == 7 and result.head_seq == 7, result
    with AuditLog(path) as log:  # reading needs no key
        answers, feedback = log.answers(), log.feedback_rows()
        entries = list(log.entries())
    assert len(answers) == 6 and len(feedback) == 1
    fb = feedback[0]
    linked = next(e for e in entries if e["seq"] == fb["answer_id"])
    assert fb["answer_hash"] == linked["hash"] and fb["question"] == linked["question"]
    assert json.loads(answers[0]["citations"])[0]["version"] == 2
    assert answers[0]["user"] and "agent" not in answers[0]["user"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("case", "statements", "bad"),
    [
        (
            "answer text changed",
            ["UPDATE entries SET body = replace(body, 'quatorze', 'douze') WHERE seq = 4"],
            4,
        ),
        ("timestamp changed", ["UPDATE entries SET ts = '2020-01-01T00:00:00+00:00' WHERE seq = 5"], 5),
        ("kind changed", ["UPDATE entries SET kind = 'purge' WHERE seq = 2"], 2),
        ("entry deleted", ["DELETE FROM entries WHERE seq = 3"], 3),
        ("first entry deleted", ["DELETE FROM entries WHERE seq = 1"], 1),
        (
            "two entries reordered",
            [
                "UPDATE entries SET seq = -1 WHERE seq = 5",
                "UPDATE entries SET seq = 5 WHERE seq = 6",
                "UPDATE entries SET seq = 6 WHERE seq = -1",
            ],
            5,
        ),
        (
            "ids renumbered after a deletion",
            ["DELETE FROM entries WHERE seq = 2", "UPDATE entries SET seq = seq - 1 WHERE seq > 2"],
            2,
        ),
    ],
)
def test_verify_names_the_first_bad_entry(tmp_path: Path, case: str, statements: list[str], bad: int) -> None:
    path = tmp_path / "audit.sqlite"
    _fill(path)
    _tamper(path, *statements)
    result = _verify(path)
    assert not result.ok, case
    assert result.bad_seq == bad, (case, result)


def test_a_rechained_copy_does_not_verify_without_the_key(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    _fill(path)
    with AuditLog(path, key=b"another key of thirty-two bytes!!") as log:
        assert not log.verify().ok


def test_cli_verify_export_and_exit_codes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _fill(data / "audit.sqlite")
    env = {**_env(), "DALIL_DATA_DIR": str(data)}
    dalil = [sys.executable, "-m", "assistant.cli", "audit"]
    ok = subprocess.run([*dalil, "verify", "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True
    listing = subprocess.run(
        [*dalil, "--json", "--limit", "2"], env=env, capture_output=True, text=True, timeout=120
    )
    assert listing.returncode == 0 and len(json.loads(listing.stdout)) == 2
    out = tmp_path / "export.csv"
    exp = subprocess.run(
        [*dalil, "export", "--since", "2000-01-01", "--format", "csv", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert exp.returncode == 0, exp.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("seq,ts,kind,hash,prev_hash") and len(lines) == 8
    jl = subprocess.run(
        [*dalil, "export", "--since", "2000-01-01"], env=env, capture_output=True, text=True, timeout=120
    )
    assert [json.loads(x)["seq"] for x in jl.stdout.splitlines()] == list(range(1, 8))
    none = subprocess.run(
        [*dalil, "export", "--since", "2000-01-01", "--until", "2000-01-02"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert none.returncode == 0 and none.stdout == ""
    _tamper(data / "audit.sqlite", "DELETE FROM entries WHERE seq = 4")
    broken = subprocess.run([*dalil, "verify"], env=env, capture_output=True, text=True, timeout=120)
    assert broken.returncode == 1 and "entry 4" in broken.stderr
    bad_date = subprocess.run(
        [*dalil, "export", "--since", "yesterday"], env=env, capture_output=True, text=True, timeout=120
    )
    assert bad_date.returncode == 1 and "YYYY-MM-DD" in bad_date.stderr


def test_retention_purges_and_the_chain_still_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "audit.sqlite"
    old = iter(["2020-01-0%dT10:00:00+00:00" % d for d in range(1, 10)])
    monkeypatch.setattr(audit_module, "utc_now", lambda: next(old))
    with AuditLog(path, key=KEY) as log:
        for i in range(4):
            log.record(_answer(i), "v", "p")
    monkeypatch.undo()
    with AuditLog(path, key=KEY) as log:
        for i in range(3):
            log.record(_answer(10 + i), "v", "p")
        assert log.purge(30) == 4
        assert log.purge(30) == 0  # nothing older left: no new entry
        result = log.verify()
        kinds = [e["kind"] for e in log.entries()]
    assert result.ok and result.first_seq == 5 and result.head_seq == 8, result
    assert kinds == ["answer", "answer", "answer", "purge"]
    _tamper(path, "DELETE FROM entries WHERE seq = 5")  # deleting past the purge is still caught
    assert _verify(path).bad_seq == 5


def test_no_entry_is_lost_with_32_threads_and_two_processes(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    AuditLog(path, key=KEY).close()
    script = (
        "import sys; from pathlib import Path; from assistant.audit import AuditLog\n"
        f"log = AuditLog(Path(sys.argv[1]), key=bytes.fromhex('{'5f' * 32}'))\n"
        "for i in range(40):\n"
        "    log.record({'question': f'process question {i}', 'answer': 'a'}, 'v', 'p')\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(path)], cwd=REPO, env=_env()) for _ in range(2)
    ]
    shared = AuditLog(path, key=KEY)
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(5):
                shared.record({"question": f"thread {t} question {i}", "answer": "a"}, "v", "p")
        except BaseException as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(32)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for p in procs:
        assert p.wait(timeout=300) == 0
    result = shared.verify()
    questions = {e["question"] for e in shared.entries()}
    shared.close()
    assert not errors, errors[:3]
    assert result.ok and result.entries == 32 * 5 + 2 * 40, result
    assert len(questions) == 32 * 5 + 40  # the two processes wrote the same 40 texts


def test_the_stored_answer_loses_the_askers_personal_data_but_never_the_quoted_law(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    question = (
        "Je m'appelle Youssef El Amrani, CIN BE123456, joignable au 0612345678 : quel congé pour ma fille ?"
    )
    answer = (
        "Bonjour Youssef El Amrani. « السيد (ة) رئيس المصلحة يمنح الإجازة » [1] "
        "Nous vous rappellerons au 0612345678."
    )
    with AuditLog(path, key=KEY) as log:
        log.record(_answer(1, question=question, answer=answer), "v", "p")
        row = log.answers()[0]
    for value in ("Youssef", "El Amrani", "BE123456", "0612345678"):
        assert value not in row["question"] and value not in row["answer"], value
    assert "« السيد (ة) رئيس المصلحة يمنح الإجازة » [1]" in row["answer"]
    assert "congé pour ma fille" in row["question"]


def test_the_key_never_lives_in_the_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    inside = Settings(data_dir=data, pseudonym_key=None, secret_key_file=data / "secret.key")
    with pytest.raises(ConfigError, match="inside the data directory"):
        secret_key(inside)
    outside = Settings(data_dir=data, pseudonym_key=None, secret_key_file=tmp_path / "keys" / "secret.key")
    key = secret_key(outside)
    assert len(key) == 32 and secret_key(outside) == key
    assert stat.S_IMODE((tmp_path / "keys" / "secret.key").stat().st_mode) == 0o600
    with pytest.raises(ConfigError, match="too short"):
        secret_key(Settings(data_dir=data, pseudonym_key="short"))
    data_settings = Settings(data_dir=data)
    data_settings.ensure_dirs()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": str(REPO)}
