"""Compound questions are split into parts; each part's best text keeps a place in the top k."""

import pytest

from assistant.compound import question_parts
from assistant.retrieval import Result, _keep_room

pytestmark = pytest.mark.unit


def test_two_question_marks() -> None:
    q = "Le contrat écrit d'une travailleuse domestique est-il soumis aux droits d'enregistrement ? Et comment prouver le contrat s'il n'y a pas d'écrit ?"
    assert question_parts(q, "fr") == [
        "Le contrat écrit d'une travailleuse domestique est-il soumis aux droits d'enregistrement ?",
        "Et comment prouver le contrat s'il n'y a pas d'écrit ?",
    ]


def test_coordination_of_two_asks() -> None:
    q = (
        "Les associations professionnelles prévues par la loi 60-17 : sous quel régime sont-elles "
        "créées et auprès de qui déposent-elles leur déclaration ?"
    )
    parts = question_parts(q, "fr")
    assert len(parts) == 2 and parts[1].startswith("auprès de qui")
    q = "كم عدد أعضاء المجلس الإداري المختص بالتكوين المستمر وما النصاب اللازم لصحة مداولاته؟"
    assert question_parts(q, "ar") == [
        "كم عدد أعضاء المجلس الإداري المختص بالتكوين المستمر",
        "ما النصاب اللازم لصحة مداولاته؟",
    ]


def test_between_two_things() -> None:
    q = "Quelle différence entre le SMIG de 2025 et le SMIG de 2026 ?"
    assert question_parts(q, "fr") == [
        "Quelle différence le SMIG de 2025 ?",
        "Quelle différence le SMIG de 2026 ?",
    ]


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Quelle est la durée du congé de maternité ?", "fr"),
        ("داخل كم يوما يجب على الإدارة منح الاعتماد؟", "ar"),  # و inside a word is no conjunction
        (
            "Pendant la période d'essai, peut-il me renvoyer alors que je suis payé au mois et que j'ai travaillé ?",
            "fr",
        ),
        (
            "How long does the minister have to respond, and what if he does not?",
            "en",
        ),  # too short to stand alone
    ],
)
def test_simple_questions_are_not_split(question: str, language: str) -> None:
    assert question_parts(question, language) == []


def _r(chunk: str) -> Result:
    return Result(0, 0.0, chunk, "d", "s", "t", None, None, "fr", "text")


def test_each_part_keeps_room_in_the_top_k() -> None:
    whole = [_r(c) for c in ("a1", "a2", "a3", "a4", "a5", "b1")]
    parts = [[_r("a1"), _r("a2")], [_r("b1"), _r("a3")]]
    ids = [r.chunk_id for r in _keep_room(whole, parts, 1)]
    assert ids[:5] == ["a1", "b1", "a2", "a3", "a4"]
    assert sorted(ids) == sorted({"a1", "a2", "a3", "a4", "a5", "b1"})
