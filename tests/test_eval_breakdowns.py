"""Evaluation figures per language, direction and kind, context metrics on the best-matching spans,
one-line definitions in the report, and conversations (history) in batch questions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from assistant.cli.output import check_history, read_items
from eval.dataset import Sample
from eval.history import History
from eval.ragas_metrics import non_llm_scores
from eval.report import write_report
from eval.retrieval_metrics import best_span, best_spans
from eval.runner import BREAKDOWNS, DEFINITIONS, HEADLINE, aggregate, breakdown, direction, refusal_margins
from tests.conftest import settings_env

REFERENCE = (
    "La Commission nationale délivre, dans un délai de 24 heures courant à compter de la date du dépôt "
    "de la déclaration un récépissé"
)
ARTICLE = (
    "Article 19\nLa déclaration prévue à l'article 12 est déposée auprès de la Commission nationale. "
    + REFERENCE
    + ". Le responsable du traitement peut mettre en oeuvre le traitement dès réception du récépissé. "
    + "Il demeure responsable des obligations que lui imposent la loi et ses textes d'application. " * 8
)
OTHER = "Article 5\nLe contrat de travail est conclu pour une durée indéterminée ou déterminée. " * 4


@pytest.mark.unit
def test_the_best_span_of_a_chunk_is_the_reference_passage() -> None:
    span, score = best_span(REFERENCE, ARTICLE)
    assert span == REFERENCE and score == 100.0
    assert best_span(REFERENCE, "court")[0] == "court"  # shorter than the reference: the whole text
    spans = best_spans([OTHER, ARTICLE], [REFERENCE])
    assert spans[1] == (REFERENCE, [REFERENCE])


@pytest.mark.unit
def test_context_metrics_on_spans_see_an_excerpt_that_whole_articles_hide() -> None:
    spans = best_spans([OTHER, ARTICLE], [REFERENCE])
    item = {
        "question": "Dans quel délai la Commission délivre-t-elle le récépissé ?",
        "answer": "",
        "reference_answer": "",
        "contexts": [ARTICLE],
        "reference_contexts": [REFERENCE],
        "span_contexts": [best for best, _ in spans],
        "span_contexts_by_reference": [s for _, per_ref in spans for s in per_ref],
    }
    scores = non_llm_scores(item)
    assert scores["span_context_recall"] == 1.0
    assert scores["non_llm_context_recall"] is not None and scores["non_llm_context_recall"] < 0.5
    # the relevant chunk is second: precision counts the irrelevant first one
    assert scores["span_context_precision"] is not None and 0.4 < scores["span_context_precision"] < 0.6
    unanswerable = non_llm_scores({**item, "reference_contexts": [], "span_contexts": []})
    assert "span_context_recall" not in unanswerable


@pytest.mark.unit
def test_direction_comes_from_the_dataset_or_the_language_of_the_answering_text() -> None:
    languages = {"maroc_ar/decret.pdf": "ar", "decret.pdf": "ar", "maroc_fr/code.pdf": "fr"}
    given = Sample(id="1", question="q", language="en", direction="en->ar", kind="cross-lingual")
    assert direction(given, languages) == "en->ar"
    derived = Sample(id="2", question="q", language="fr", context_files=["maroc_ar/decret.pdf"])
    assert direction(derived, languages) == "fr->ar"
    by_name = Sample(id="3", question="q", language="ar", source_files=["elsewhere/decret.pdf"])
    assert direction(by_name, languages) == "ar->ar"
    assert direction(Sample(id="4", question="q", language="fr", kind="unanswerable"), languages) is None
    assert direction(Sample(id="5", question="q", language="fr", source_files=["x.pdf"]), languages) is None


def _item(
    qid: str, language: str, kind: str, dirn: str | None, recall: float, refused: bool
) -> dict[str, Any]:
    answerable = kind != "unanswerable"
    item: dict[str, Any] = {
        "id": qid,
        "language": language,
        "kind": kind,
        "direction": dirn,
        "answerable": answerable,
        "refused": refused,
        "refusal_correct": refused != answerable,
        "language_match": True,
        "citations_valid": 1,
        "citations_total": 1,
        "latency_ms": 10.0,
        "relevance": 0.9 if answerable else 0.7,
        "ragas": {"span_context_recall": recall if answerable else None},
        "answer": "réponse",
        "question": "question",
    }
    if answerable:
        item.update({"excerpt_recall@5": recall, "source_hit@5": 1.0, "mrr": recall, "ndcg@10": recall})
    return item


ITEMS = [
    _item("a", "fr", "factual", "fr->fr", 1.0, False),
    _item("b", "fr", "cross-lingual", "fr->ar", 0.0, False),
    _item("c", "en", "cross-lingual", "en->ar", 1.0, False),
    _item("d", "ar", "follow-up", "ar->ar", 1.0, False),
    _item("e", "ar", "topic-switch", "ar->ar", 0.0, True),
    _item("f", "fr", "unanswerable", None, 0.0, True),
]


@pytest.mark.unit
def test_every_figure_is_broken_down_by_direction_and_kind() -> None:
    by_direction = breakdown(ITEMS, "direction")
    assert set(by_direction) == {"fr->fr", "fr->ar", "en->ar", "ar->ar"}  # unanswerable: no direction
    assert by_direction["fr->ar"]["excerpt_recall@5"] == 0.0
    assert by_direction["ar->ar"]["n"] == 2 and by_direction["ar->ar"]["answerable_refused"] == 0.5
    assert by_direction["en->ar"]["span_context_recall"] == 1.0
    by_kind = breakdown(ITEMS, "kind")
    assert (
        by_kind["follow-up"]["excerpt_recall@5"] == 1.0 and by_kind["topic-switch"]["excerpt_recall@5"] == 0.0
    )
    assert aggregate(ITEMS)["span_context_recall"] == 0.6
    margins = refusal_margins(ITEMS, 0.8)
    assert set(margins) >= {"threshold", "all", "by_language", "by_kind", "by_direction"}
    assert margins["by_kind"]["unanswerable"]["unanswerable_margin"] == 0.1
    assert margins["by_direction"]["fr->ar"]["answerable_margin"] == 0.1


@pytest.mark.unit
def test_every_headline_figure_has_a_definition() -> None:
    assert set(HEADLINE) <= set(DEFINITIONS)
    assert all(DEFINITIONS[k] and "\n" not in DEFINITIONS[k] for k in DEFINITIONS)


@pytest.mark.unit
def test_the_report_defines_its_figures_and_shows_directions_and_conversations(tmp_path: Path) -> None:
    metrics = aggregate(ITEMS)
    for key in BREAKDOWNS:
        metrics[key] = breakdown(ITEMS, key[3:])
    metrics["refusal_margins"] = refusal_margins(ITEMS, 0.8)
    run_id = "run-20260101T000000-abcd"
    record: dict[str, Any] = {
        "run_id": run_id,
        "ts": "2026-01-01T00:00:00",
        "tag": None,
        "dataset": "set.jsonl",
        "dataset_hash": "0" * 16,
        "mode": "extractive",
        "n": len(ITEMS),
        "seconds": 1.0,
        "fingerprint": {"git_commit": "x"},
        "metrics": metrics,
    }
    with History(tmp_path / "eval.sqlite") as history:
        history.save(record, ITEMS)
        path = write_report(history, run_id, tmp_path / "out")
    md = path.read_text(encoding="utf-8")
    for name in HEADLINE:
        assert f"| **{name}** |" in md and DEFINITIONS[name] in md
    assert "## By direction" in md and "| fr->ar |" in md and "| en->ar |" in md
    assert "## Conversations" in md and "| follow-up |" in md and "| topic-switch |" in md
    assert "| kind unanswerable |" in md  # refusal margins per kind
    assert (tmp_path / "out" / f"{run_id}-by-direction.png").exists()


@pytest.mark.unit
def test_history_of_a_batch_line_is_checked() -> None:
    turns, problem = check_history([{"role": "user", "content": "Période d'essai d'un CDI ?"}])
    assert problem is None and turns == [{"role": "user", "content": "Période d'essai d'un CDI ?"}]
    assert check_history(None) == ([], None)
    for bad in ("texte", [{"role": "system", "content": "x"}], [{"role": "user"}], [["user", "x"]]):
        turns, problem = check_history(bad, "q.jsonl:2: ")
        assert turns == [] and problem is not None and "q.jsonl:2: 'history'" in str(problem)


@pytest.mark.unit
def test_batch_lines_carry_their_history(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    lines = [
        {"id": "q1", "question": "Durée du congé de maternité ?"},
        {
            "id": "q2",
            "question": "Et pour les hommes ?",
            "history": [{"role": "user", "content": "Durée du congé ?"}],
        },
        {"id": "q3", "question": "Et après ?", "history": "pas une liste"},
    ]
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    items = read_items(path, None, "question", 2000, with_history=True)
    assert [it.history for it in items[:2]] == [[], [{"role": "user", "content": "Durée du congé ?"}]]
    assert items[0].error is None and items[1].error is None
    assert items[2].error is not None and "'history'" in str(items[2].error)
    assert all(it.error is None and it.history == [] for it in read_items(path, None, "query", 2000))


@pytest.mark.integration
def test_ask_queries_asks_a_line_with_history_as_a_follow_up(indexed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first = "Combien de semaines dure le congé de maternité d'une agente publique ?"
    follow = "Et pour le congé de paternité ?"
    lines = [
        {"id": "alone", "question": follow},
        {"id": "follow", "question": follow, "history": [{"role": "user", "content": first}]},
        {"id": "bad", "question": follow, "history": [{"role": "robot", "content": first}]},
    ]
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "ask",
            "--queries",
            str(path),
            "--json",
            "--mode",
            "extractive",
        ],
        env=settings_env(indexed),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    answers = {a["id"]: a for a in map(json.loads, out.stdout.splitlines())}
    assert "'history'" in answers["bad"]["error"]
    alone, followed = answers["alone"], answers["follow"]
    assert "error" not in alone and "error" not in followed
    assert (alone.get("standalone_question") or follow) == follow
    assert followed["standalone_question"] != follow and "maternité" in followed["standalone_question"]


@pytest.mark.unit
def test_answer_language_ignores_quotes_that_hold_guillemets_of_their_own() -> None:
    from eval.runner import answer_language

    answer = (
        "These provisions of the official texts answer your question:\n\n"
        "« Le texte en langue arabe a été publié dans l'édition générale du « Bulletin officiel » n° 6721 "
        "du 19 safar 1440 (29 octobre 2018). La loi relative à la formation continue est promulguée. » [1]\n\n"
        "[1] Loi n° 60-17 relative à l'organisation de la formation continue"
    )
    assert answer_language(answer, "fr") == "en"
