"""Evaluation: dataset validation, runs stored with fingerprints, reports with plots, the gate,
and the Ragas judge path against the local llama.cpp server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.errors import DatasetError
from eval.dataset import load_dataset
from eval.gate import gate_against, gate_thresholds
from eval.history import History
from tests.conftest import settings_env

DATASET = [
    {
        "id": "q1",
        "question": "Combien de semaines dure le congé de maternité d'une agente publique ?",
        "language": "fr",
        "reference_answer": "Quatorze semaines (article 3).",
        "reference_contexts": ["Le congé de maternité de l'agente publique est fixé à quatorze semaines"],
        "source_file": "test_fr/loi_99-01_conges.pdf",
        "kind": "factual",
        "context_files": ["test_fr/loi_99-01_conges.pdf"],
    },
    {
        "id": "q2",
        "question": "ما هو مبلغ منحة التنقل الشهرية للموظفين؟",
        "language": "ar",
        "reference_answer": "مائتا درهم.",
        "reference_contexts": ["يحدد مبلغ منحة التنقل الشهرية للموظفين في مائتي درهم"],
        "source_file": "test_ar/marsoum_2-99-10_minha.txt",
        "kind": "factual",
        "context_files": ["test_ar/marsoum_2-99-10_minha.txt"],
    },
    {
        "id": "q3",
        "question": "What does law 05-20 on cybersecurity require?",
        "language": "en",
        "reference_answer": "",
        "reference_contexts": [],
        "source_file": None,
        "kind": "unanswerable",
    },
]


@pytest.fixture()
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "mini.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in DATASET) + "\n", encoding="utf-8")
    return path


@pytest.mark.unit
@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 1: invalid JSON"),
        (json.dumps({"question": "q"}), "line 1: missing field 'id'"),
        (json.dumps({"id": 1, "question": "q", "language": "de"}), "line 1: field 'language'"),
        (json.dumps({"id": 1, "question": "q", "kind": "trivia"}), "line 1: field 'kind'"),
        (
            json.dumps({"id": 1, "question": "q", "reference_contexts": "x"}),
            "line 1: field 'reference_contexts'",
        ),
    ],
)
def test_dataset_errors_name_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=message):
        load_dataset(path)


@pytest.mark.unit
def test_gate_fails_on_injected_regression(tmp_path: Path) -> None:
    base = {"excerpt_recall@5": 0.9, "refusal_accuracy": 1.0, "answerable_refused": 0.0, "n": 40}
    assert gate_against(dict(base), base)["passed"]
    worse = {**base, "excerpt_recall@5": 0.8, "answerable_refused": 0.1}
    result = gate_against(worse, base)
    assert not result["passed"]
    assert {r["metric"] for r in result["regressions"]} == {"excerpt_recall@5", "answerable_refused"}
    thresholds = tmp_path / "t.yaml"
    thresholds.write_text("excerpt_recall@5: 0.85\nanswerable_refused: {max: 0.1}\n", encoding="utf-8")
    assert gate_thresholds(base, thresholds)["passed"]
    assert not gate_thresholds(worse, thresholds)["passed"]


@pytest.mark.integration
def test_eval_run_history_report_compare_and_gate_cli(indexed, dataset: Path, tmp_path: Path) -> None:
    env = settings_env(indexed)
    dalil = [sys.executable, "-m", "assistant.cli", "eval"]
    run = subprocess.run(
        [*dalil, "run", "--dataset", str(dataset), "--json", "--tag", "t1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    record = json.loads(run.stdout)
    m = record["metrics"]
    assert m["excerpt_recall@5"] == 1.0 and m["source_hit@5"] == 1.0
    assert m["refusal_accuracy"] == 1.0 and m["citation_validity"] == 1.0 and m["language_match"] == 1.0
    assert set(m["by_language"]) == {"fr", "ar", "en"} and "unanswerable" in m["by_kind"]
    assert {"bleu", "chrf", "string_similarity", "non_llm_context_recall"} <= set(m)
    assert set(m["by_direction"]) == {"fr->fr", "ar->ar"} and m["span_context_recall"] == 1.0
    assert set(record["definitions"]) >= {"excerpt_recall@5", "span_context_recall"}
    assert set(record["fingerprint"]) >= {
        "git_commit",
        "index_version",
        "embedding_model",
        "llm_model",
        "prompt_version",
    }
    assert record["dataset_hash"]
    # inject a regression: a second stored run with worse metrics, then gate it against the first
    history = History(indexed.eval_path)
    worse = dict(record, run_id=record["run_id"] + "-worse", ts=record["ts"] + "z")
    worse["metrics"] = {**m, "excerpt_recall@5": 0.5, "refusal_accuracy": 0.3}
    history.save(worse, history.items(record["run_id"]))
    gate = subprocess.run(
        [*dalil, "gate", "--run", worse["run_id"], "--baseline", record["run_id"], "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert gate.returncode == 1
    assert {r["metric"] for r in json.loads(gate.stdout)["regressions"]} >= {
        "excerpt_recall@5",
        "refusal_accuracy",
    }
    ok = subprocess.run(
        [*dalil, "gate", "--run", record["run_id"], "--baseline", record["run_id"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0
    cmp = subprocess.run(
        [*dalil, "compare", record["run_id"], worse["run_id"], "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(cmp.stdout)["deltas"]["excerpt_recall@5"]["delta"] == -0.5
    out = tmp_path / "report"
    rep = subprocess.run(
        [*dalil, "report", record["run_id"], "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rep.returncode == 0, rep.stderr
    md = (out / f"{record['run_id']}.md").read_text(encoding="utf-8")
    assert "excerpt_recall@5" in md and "![by language]" in md
    pngs = sorted(p.name for p in out.glob("*.png"))
    # over time, by language, by kind, by direction
    assert len(pngs) == 4 and all((out / p).stat().st_size > 5000 for p in pngs)
    hist = subprocess.run([*dalil, "history", "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert record["run_id"] in {r["run_id"] for r in json.loads(hist.stdout)}


@pytest.mark.integration
def test_ingest_with_eval_reports_the_gate_verdict(fresh, dataset: Path) -> None:  # type: ignore[no-untyped-def]
    env = settings_env(fresh)
    cmd = [sys.executable, "-m", "assistant.cli", "ingest", "--json", "--eval", str(dataset)]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    verdict = json.loads(first.stdout)["eval"]
    assert verdict["passed"] and verdict["baseline"] is None
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    verdict = json.loads(second.stdout)["eval"]
    assert verdict["passed"] and verdict["baseline"] == json.loads(first.stdout)["eval"]["run_id"]


# The Ragas judge path (LLM metrics against the local llama.cpp server) runs end to end in
# tests/test_offline.py, which also proves it never leaves loopback.


@pytest.mark.integration
def test_generate_without_a_model_is_a_clear_error(indexed) -> None:  # type: ignore[no-untyped-def]
    env = settings_env(indexed)
    for key in ("DALIL_LLM_URL", "MISTRAL_API_KEY", "DALIL_LLM_GGUF"):
        env.pop(key, None)
    out = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "eval", "generate", "--collection", "test_fr", "--n", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    assert "needs a language model" in out.stderr and "DALIL_LLM_URL" in out.stderr
