"""Refusal from several signals: coverage of the question's words by the passages, words no
indexed text contains, validity at the asked date, text that is not a question; a logistic decision."""

import datetime as dt

import pytest

from assistant.answer import _series_in_force
from assistant.references import find_references
from assistant.refusal import Signals, Vocabulary, decide, is_not_a_question, key_words, signals
from assistant.retrieval import Result

pytestmark = pytest.mark.unit

WEIGHTS = {"bias": -10.0, "similarity": 10.0, "coverage": 4.0, "named_unknown": -3.0}
CODE = "Article 14. La période d'essai des cadres est de trois mois ; elle peut être renouvelée une fois."


def _vocab(*texts: tuple[str, str]) -> Vocabulary:
    v = Vocabulary()
    v.refresh(len(texts), ({"text": t, "language": lang} for t, lang in texts))
    return v


def test_key_words_drop_asking_words() -> None:
    assert key_words("Quelle est la durée de la période d'essai d'un cadre ?", "fr") == [
        "duree",
        "periode",
        "essai",
        "cadre",
    ]
    assert "what" not in key_words("What is the trial period?", "en")


def test_covered_question_is_answered() -> None:
    vocab = _vocab((CODE, "fr"))
    sig = signals("Quelle est la période d'essai d'un cadre ?", "fr", 0.9, [(CODE, "fr", True)], vocab)
    assert sig.coverage == 1.0 and not sig.unknown
    decision = decide(sig, WEIGHTS, 0.0)
    assert decision.answers and decision.margin > 0


def test_words_no_text_contains_are_named_in_the_refusal() -> None:
    vocab = _vocab((CODE, "fr"))
    sig = signals("Quelle est la période d'essai en Tunisie ?", "fr", 0.85, [(CODE, "fr", True)], vocab)
    assert sig.unknown == ("tunisie",) and sig.named_unknown == ("tunisie",)
    decision = decide(sig, WEIGHTS, 0.0)
    assert not decision.answers and decision.reason == "unknown_terms"
    assert decision.details["terms"] == "tunisie"


def test_cross_language_coverage_through_the_glossary() -> None:
    ar = "تحدد فترة الاختبار بالنسبة للأطر في ثلاثة أشهر"
    vocab = _vocab((ar, "ar"))
    sig = signals("période d'essai", "fr", 0.85, [(ar, "ar", True)], vocab)
    assert sig.coverage > 0 and not sig.unknown


def test_nothing_in_force_at_the_asked_date_is_refused_with_the_period() -> None:
    vocab = _vocab((CODE, "fr"))
    sig = signals(
        "période d'essai d'un cadre en 1990",
        "fr",
        0.9,
        [(CODE, "fr", False)],
        vocab,
        dt.date(1990, 7, 1),
        dated_in_force=False,
    )
    decision = decide(sig, WEIGHTS, 0.0)
    assert not decision.answers and decision.reason == "period"


@pytest.mark.parametrize(
    "text", ["<script>alert(1)</script>", "asdfgh", "???", "<img src=x onerror=alert(1)>"]
)
def test_text_that_is_not_a_question(text: str) -> None:
    sig = signals(text, "en", 0.95, [(CODE, "fr", True)], _vocab((CODE, "fr")))
    decision = decide(sig, WEIGHTS, 0.0)
    assert not decision.answers and decision.reason == "not_a_question"


def test_markup_is_not_a_question() -> None:
    assert is_not_a_question("<script>alert(1)</script>", "en")
    assert is_not_a_question("", "fr")


def test_a_real_question_is_a_question() -> None:
    assert not is_not_a_question("Quelle est la durée du congé de maternité ?", "fr")
    assert not is_not_a_question("ما هي مدة فترة الاختبار؟", "ar")


def test_margin_is_the_log_odds_distance_to_the_threshold() -> None:
    sig = Signals(language="fr", similarity=1.0, coverage=0.5)
    assert decide(sig, WEIGHTS, 0.0).margin == pytest.approx(-10 + 10 + 2)
    assert decide(sig, WEIGHTS, 1.0).margin == pytest.approx(1.0)


def test_a_law_quoted_in_passing_is_not_the_text_asked_about() -> None:
    refs = find_references("Les salariés soumis à la loi 65-99 peuvent-ils travailler un jour férié ?")
    assert refs.laws == ["65-99"] and refs.in_passing == ["65-99"] and refs.asked == []
    refs = find_references("Mon fils a sa CNIE (loi 35-06) : peut-il obtenir un passeport provisoire ?")
    assert refs.asked == []
    refs = find_references("Quel budget prévoit la loi de finances 2026 (loi 50-25) ?")
    assert refs.asked == ["50-25"]
    refs = find_references("Que prévoit l'article 7 de la loi 09-08 ?")
    assert refs.asked == ["09-08"] and refs.articles == ["7"]


def _result(source: str, score: float, in_force: bool, **payload: object) -> Result:
    p = {"source": source, **payload}
    return Result(0, score, f"{source}#1", source, source, "t", None, None, "fr", "x", in_force, payload=p)  # type: ignore[arg-type]


def test_a_series_of_decrees_none_in_force_at_the_asked_date() -> None:
    smig_2025 = _result("smig-2025", 0.9, False, superseded_by="smig-2026")
    smig_2026 = _result("smig-2026", 0.8, False, supersedes=["smig-2025"])
    code = _result("code", 0.95, True)
    # asked about 2024: the code is in force, but no decree of the series was
    assert _series_in_force([code, smig_2025, smig_2026]) is False
    # asked about May 2025: the 2025 decree was in force, the 2026 one not yet
    in_2025 = _result("smig-2025", 0.9, True, superseded_by="smig-2026")
    assert _series_in_force([smig_2026, in_2025]) is True
    # nothing dated among the most relevant texts: nothing to say
    assert _series_in_force([code]) is None
