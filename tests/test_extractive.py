"""Extractive answers open with the sentence that carries the answer."""

import pytest

from assistant.answer import key_sentence

pytestmark = pytest.mark.unit

ART_231 = (
    "Article 231\nSauf dispositions plus favorables, tout salarié a droit, après six mois de service "
    "continu dans la même entreprise, à un congé annuel payé dont la durée est fixée comme suit :\n"
    "- un jour et demi de travail effectif par mois de service ;\n"
    "- deux jours de travail effectif par mois de service pour les salariés âgés de moins de dix-huit ans."
)
ART_240 = (
    "Article 240\nLes dates de départ en congé sont fixées par l'employeur après consultation des délégués."
)


def test_the_sentence_with_the_asked_figure_comes_first() -> None:
    found = key_sentence(
        [(1, ART_240, "fr"), (2, ART_231, "fr")], "Combien de jours de congé annuel payé par mois ?"
    )
    assert found is not None
    n, sentence = found
    assert n == 2 and sentence in ART_231 and "jour" in sentence


def test_ties_go_to_the_earlier_passage() -> None:
    text = "Le salarié a droit à un congé de naissance de trois jours."
    assert key_sentence([(1, text, "fr"), (2, text, "fr")], "congé de naissance") == (1, text)


def test_no_sentence_without_a_shared_word() -> None:
    assert key_sentence([(1, ART_240, "fr")], "passeport biométrique") is None
