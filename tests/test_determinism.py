"""The same question on the same index version and settings gets the same results in the same order
and the same answer: tied scores (RRF scores are often exactly equal) are ordered by chunk id, never
left to the engines or to the order Python happened to see them in."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from assistant.answer import Assistant
from assistant.index import Index
from assistant.payload import as_payload
from assistant.retrieval import Retriever
from assistant.store import Hit, ranked

# varied questions from tests/test_retrieval.py and tests/test_generation.py: FR, AR, EN, exact
# references, cross-lingual, superseded texts, agents-only texts, a follow-up-free refusal
QUESTIONS: list[tuple[str, dict[str, Any]]] = [
    ("Combien de semaines dure le congé de maternité d'une agente publique ?", {}),
    ("article 5 de la loi 99-01", {}),
    ("المادة الثانية من المرسوم رقم 2.99.10", {}),
    ("Quel est le montant de la prime de transport mensuelle des fonctionnaires ?", {}),
    ("ما هو مبلغ منحة التنقل الشهرية للموظفين؟", {"date": "2026-03-01"}),
    ("ما هو مبلغ منحة التنقل الشهرية للموظفين؟", {"date": "2025-06-01"}),
    ("How many weeks of maternity leave does a female public agent get?", {}),
    ("code d'accès interne au registre renouvelé chaque trimestre", {"audience": "agents"}),
    ("congé", {"audience": "agents"}),
    ("Quelles sanctions prévoit la loi 05-20 sur la cybersécurité ?", {}),
]
REPEATS = 3
THREADS = 8


def _hit(chunk_id: str, score: float) -> Hit:
    return Hit(chunk_id, score, as_payload({"chunk_id": chunk_id}))


@pytest.mark.unit
def test_tied_hits_are_ordered_by_score_then_chunk_id_whatever_their_input_order() -> None:
    hits = [
        _hit("b:2", 0.5),
        _hit("a:1", 0.5),
        _hit("c:9", 0.9),
        _hit("a:0", 0.5),
        _hit("z:1", 0.1),
        _hit("d:4", 0.9),
        _hit("e:5", 1 / 61 + 1 / 62),  # two RRF scores that are exactly equal
        _hit("e:3", 1 / 62 + 1 / 61),
    ]
    expected = ["c:9", "d:4", "a:0", "a:1", "b:2", "z:1", "e:3", "e:5"]
    rng = random.Random(7)
    for _ in range(20):
        shuffled = hits[:]
        rng.shuffle(shuffled)
        out = ranked(shuffled)
        assert [h.chunk_id for h in out] == expected
        assert [h.score for h in out] == sorted((h.score for h in hits), reverse=True)  # scores kept


def _search_key(retriever: Retriever, question: str, kwargs: dict[str, Any]) -> list[tuple[str, float]]:
    resp = retriever.search(question, k=8, **kwargs)
    return [(r.chunk_id, r.score) for r in resp.results]


def _answer_key(assistant: Assistant, question: str, kwargs: dict[str, Any]) -> tuple[Any, ...]:
    answer = assistant.ask(question, mode="extractive", **kwargs)
    cites = tuple((c.n, c.chunk_id, c.excerpt, c.in_force) for c in answer.citations)
    return answer.answer, answer.refused, cites, tuple(r.chunk_id for r in answer.retrieved)


@pytest.mark.integration
def test_same_question_same_results_and_answer_sequentially_and_from_threads(indexed) -> None:  # type: ignore[no-untyped-def]
    index = Index(indexed)
    try:
        retriever = Retriever(index)
        assistant = Assistant(retriever, None)
        first_search = {i: _search_key(retriever, q, kw) for i, (q, kw) in enumerate(QUESTIONS)}
        first_answer = {i: _answer_key(assistant, q, kw) for i, (q, kw) in enumerate(QUESTIONS)}
        assert all(first_search.values())  # every question finds something: the check is not vacuous
        assert sum(not a[1] for a in first_answer.values()) >= 5  # most are answered, with citations
        for _ in range(REPEATS - 1):
            for i, (q, kw) in enumerate(QUESTIONS):
                assert _search_key(retriever, q, kw) == first_search[i], q
                assert _answer_key(assistant, q, kw) == first_answer[i], q

        def one(job: tuple[int, int]) -> tuple[int, list[tuple[str, float]], tuple[Any, ...]]:
            i = job[1]
            q, kw = QUESTIONS[i]
            return i, _search_key(retriever, q, kw), _answer_key(assistant, q, kw)

        jobs = [(n, i) for n in range(2) for i in range(len(QUESTIONS))]
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            for i, search, answer in pool.map(one, jobs):
                assert search == first_search[i], QUESTIONS[i][0]
                assert answer == first_answer[i], QUESTIONS[i][0]
    finally:
        index.close()
