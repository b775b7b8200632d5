"""A turn is merged with the conversation only when it refers to it."""

import pytest

from assistant.followup import refers_back, standalone_question, switches_topic, without_switch_marker

pytestmark = pytest.mark.unit

PREVIOUS = "Quelle est la période d'essai d'un cadre embauché en CDI ?"


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Et pour un ouvrier ?", "fr"),
        ("Et si c'est une employée de maison qui perd sa mère ?", "fr"),
        ("And what happens to the whole government if he resigns?", "en"),
        ("Is it higher if the offender is a company?", "en"),
        ("What happens if I go over that amount?", "en"),
        ("وإذا عاود نفس الشخص نفس المخالفة؟", "ar"),
        ("وماذا عن العمال المنزليين؟", "ar"),
        ("واش هاد الأيام كيتخلصو ولا لا؟", "ar"),
    ],
)
def test_turns_that_refer_back_are_merged(question: str, language: str) -> None:
    assert refers_back(question, language)
    assert standalone_question(question, PREVIOUS, language) == f"{question} {PREVIOUS}"


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("كيفاش نأسس جمعية؟", "ar"),  # a new subject, short, no pointer back
        ("Comment créer une association ?", "fr"),
        ("L'employeur peut-il refuser un congé ?", "fr"),  # subject inversion is not a pointer
        ("Autre chose : après une rupture de fiançailles, peut-on récupérer les cadeaux ?", "fr"),
        ("Different question: does the state compensate a judicial error?", "en"),
        ("سؤال آخر: هل يمكن لعضو في جمعية أن ينسحب منها متى شاء؟", "ar"),
        ("What is the minimum age to work as a domestic worker in Morocco under the 2016 law?", "en"),
    ],
)
def test_standalone_questions_are_searched_alone(question: str, language: str) -> None:
    assert not refers_back(question, language)
    assert standalone_question(question, PREVIOUS, language) in (question, without_switch_marker(question))


def test_the_switch_marker_is_not_searched() -> None:
    q = "Autre chose : après une rupture de fiançailles, peut-on récupérer les cadeaux ?"
    assert (
        standalone_question(q, PREVIOUS, "fr")
        == "après une rupture de fiançailles, peut-on récupérer les cadeaux ?"
    )
    q = "سؤال آخر: هل يمكن لعضو في جمعية أن ينسحب منها متى شاء؟"
    assert standalone_question(q, PREVIOUS, "ar") == "هل يمكن لعضو في جمعية أن ينسحب منها متى شاء؟"


def test_topic_switch_markers() -> None:
    assert switches_topic("Changement de sujet : quelles mesures de sécurité ?")
    assert switches_topic("Another question: who appoints the head of government?")
    assert not switches_topic("Et pour un ouvrier ?")


def test_no_history_means_the_question_alone() -> None:
    assert standalone_question("Et pour un ouvrier ?", None, "fr") == "Et pour un ouvrier ?"
