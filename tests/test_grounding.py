import pytest

from assistant.generation import grounding

pytestmark = pytest.mark.unit

SOURCES = {
    1: "Article 3 Le congé de maternité est fixé à quatorze semaines.",
    2: "Article 5 Amende de 5.000 dirhams.",
}


def test_valid_answer() -> None:
    r = grounding.check(
        "Le congé de maternité est de quatorze semaines [1]. L'amende est de 5.000 dirhams [2].", SOURCES
    )
    assert r.ok and r.cited == [1, 2] and grounding.decide(r) == "none"


def test_citation_to_nothing_is_repaired() -> None:
    text = "Le congé est de quatorze semaines [1][3]."
    r = grounding.check(text, SOURCES)
    assert r.invalid_citations == [3] and grounding.decide(r) == "repaired"
    assert grounding.repair(text, r) == "Le congé est de quatorze semaines [1]."


def test_uncited_sentences_are_found() -> None:
    r = grounding.check(
        "Le congé est de quatorze semaines [1]. Il peut aussi être prolongé de deux mois par simple demande.",
        SOURCES,
    )
    assert len(r.uncited_sentences) == 1


def test_quote_must_exist_in_cited_chunk() -> None:
    good = grounding.check("La loi dit « Le congé de maternité est fixé à quatorze semaines » [1].", SOURCES)
    bad = grounding.check("La loi dit « Le congé de maternité est fixé à vingt semaines » [1].", SOURCES)
    assert good.unsupported_quotes == [] and bad.unsupported_quotes
    assert grounding.decide(bad) == "downgraded"


def test_no_citation_at_all_is_downgraded() -> None:
    assert (
        grounding.decide(
            grounding.check("Je ne sais pas vraiment ce que dit la loi sur ce point précis.", SOURCES)
        )
        == "downgraded"
    )


def test_multiple_numbers_in_one_bracket() -> None:
    assert grounding.citation_numbers("voir [1, 2] et [2;1]") == [1, 2, 2, 1]
