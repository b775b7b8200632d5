"""The hand-written evaluation sets load through the same loader as any dataset and keep their shape."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from eval.dataset import load_dataset

pytestmark = pytest.mark.unit

EVAL = Path(__file__).resolve().parent.parent / "eval"


def test_question_set_loads_with_both_halves_and_every_kind() -> None:
    samples = load_dataset(EVAL / "sets" / "questions.jsonl")
    kinds = Counter(s.kind for s in samples)
    splits = Counter(s.split for s in samples)
    assert len(samples) >= 240 and kinds["unanswerable"] >= 40, kinds
    assert set(splits) == {"calibration", "test"} and abs(splits["calibration"] - splits["test"]) <= 6, splits
    assert {
        "factual",
        "procedural",
        "cross-lingual",
        "multi-hop",
        "temporal",
        "follow-up",
        "topic-switch",
    } <= set(kinds)
    follow = [s for s in samples if s.kind in ("follow-up", "topic-switch")]
    assert follow and all(s.history for s in follow)
    answerable = [s for s in samples if s.answerable]
    assert answerable and all(s.reference_contexts and s.source_files for s in answerable)


def test_privacy_lines_are_labelled_with_spans_that_exist() -> None:
    rows = [
        json.loads(x) for x in (EVAL / "privacy" / "lines.jsonl").read_text("utf-8").splitlines() if x.strip()
    ]
    assert len(rows) >= 120
    clean = [r for r in rows if not r["entities"]]
    assert len(clean) >= 30
    missing = [(r["id"], e["text"]) for r in rows for e in r["entities"] if e["text"] not in r["text"]]
    assert not missing, missing[:5]
