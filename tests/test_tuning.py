"""Every tuned number has an origin, the page that documents them is the code's, and operators'
overrides reach the components."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from assistant import tuning
from assistant.settings import Settings

pytestmark = pytest.mark.unit

DOCS = Path(__file__).resolve().parent.parent / "docs" / "tuning.md"


def test_every_number_has_an_origin_and_a_group() -> None:
    fields = dataclasses.fields(tuning.Tuning)
    assert fields
    missing = [
        f.name for f in fields if len(f.metadata.get("origin", "")) < 12 or not f.metadata.get("group")
    ]
    assert not missing, f"tuning fields without a documented origin: {missing}"


def test_docs_page_is_rendered_from_the_code() -> None:
    assert DOCS.read_text(encoding="utf-8") == tuning.markdown(), (
        "docs/tuning.md is stale: run `python -m assistant.tuning > docs/tuning.md`"
    )


def test_settings_overrides_reach_the_tuning(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, refusal_threshold=0.9, cross_language_weight=0.5, top_k=12)
    t = s.tuning
    assert t.min_similarity_for("multilingual-e5-small-q4") == 0.9
    assert t.min_similarity_for("some-other-encoder") == 0.9
    assert t.cross_language_weight == 0.5 and t.top_k == 12
    default = Settings(data_dir=tmp_path).tuning
    assert default == tuning.TUNING
    assert (
        default.min_similarity_for("multilingual-e5-small-q4")
        == tuning.TUNING.min_similarity["multilingual-e5-small-q4"]
    )


def test_a_negative_threshold_still_means_the_calibrated_one(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path, refusal_threshold=-1).tuning == tuning.TUNING
