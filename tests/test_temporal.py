"""Dates read from a question's own words become the validity date of its search."""

import datetime as dt

import pytest

from assistant.temporal import asked_date

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("question", "date", "kind"),
    [
        ("Quel était le SMIG horaire en 2024 ?", dt.date(2024, 7, 1), "year"),
        ("Quel était le SMIG avant 2021 ?", dt.date(2020, 12, 31), "before"),
        ("Quel était le SMIG horaire en mai 2025 ?", dt.date(2025, 5, 15), "month"),
        ("Au 1er juin 2026, de combien le budget a-t-il été abondé ?", dt.date(2026, 6, 1), "day"),
        ("What was the minimum daily wage on 15 February 2026?", dt.date(2026, 2, 15), "day"),
        ("What was it on March 15, 2026?", dt.date(2026, 3, 15), "day"),
        ("Le montant applicable le 15/02/2026 ?", dt.date(2026, 2, 15), "day"),
        ("ما هو الحد الأدنى للأجر سنة 2024؟", dt.date(2024, 7, 1), "year"),
        ("شحال كان السميك فالساعة فشهر دجنبر 2025؟", dt.date(2025, 12, 15), "month"),
        ("شحال كان السميك فالساعة فـ 2023؟", dt.date(2023, 7, 1), "year"),
        ("في شهر مارس ٢٠٢٦، كم كان الحد الأدنى للأجر اليومي؟", dt.date(2026, 3, 15), "month"),
        # "de" after an ordinary word, or a time word after a text's kind: the time asked about
        ("Sur mon bulletin de paie de mars 2018, était-ce au moins le SMIG ?", dt.date(2018, 3, 15), "month"),
        ("كم بلغت الاعتمادات التي فتحتها الحكومة بمرسوم خلال سنة 2024؟", dt.date(2024, 7, 1), "year"),
        ("Combien de crédits ont été ouverts par décret en 2024 ?", dt.date(2024, 7, 1), "year"),
        ("What did the minimum wage decree set in 2023?", dt.date(2023, 7, 1), "year"),
    ],
)
def test_dates_and_years_in_a_question(question: str, date: dt.date, kind: str) -> None:
    found = asked_date(question)
    assert found is not None and found.date == date and found.kind == kind


@pytest.mark.parametrize(
    "question",
    [
        "Que dit l'article 19 de la loi 09-08 ?",  # a law number is not a year
        "Quel est le montant fixé par le décret 2-25-983 ?",
        "Selon la loi du 17 juillet 1978, comment communique-t-on un document ?",  # names the text
        "Under decree 2-26-395 of May 2026, who implements it?",
        "من هو الوزير المكلف بتنفيذ المرسوم الصادر في دجنبر 2025؟",
        "Combien de jours de congé pour une naissance ?",
        "La loi promulguée en août 2016 s'applique-t-elle aux employées de maison ?",
        "Que change la réforme de 2007 ?",
        "Quel décret a remplacé celui d'octobre 2023 ?",
    ],
)
def test_no_date_when_the_question_names_a_text_or_none(question: str) -> None:
    assert asked_date(question) is None
