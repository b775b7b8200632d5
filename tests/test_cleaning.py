"""Bulletin officiel furniture and Arabic words split by stray spaces, cleaned after parsing."""

import pytest

from assistant.textnorm import match_key
from ingest.chunking import chunk_document
from ingest.cleaning import (
    Vocabulary,
    clean_lines,
    is_bare_header,
    is_bulletin_citation,
    rejoin_arabic,
    strip_trailing_citation,
)
from ingest.parsing import Line

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "line",
    [
        "الجريدة الرسمية عدد7469 بتاريخ8 رجب1447 (29 ديسمبر2025 )، ص10038.",
        "1 - الجريدة الرسمية عدد7469 بتاريخ8 رجب1447 (29 ديسمبر2025 )، ص10038.",
        "10038 الجريدة الرسمية عدد 7469 – 8 رجب 1447 (29 ديسمبر 2025)",
        "BULLETIN OFFICIEL N° 7328 – 15 rabii II 1446 (18-10-2024)",
        "N° 7328 – 15 rabii II 1446 (18-10-2024) BULLETIN OFFICIEL 2345",
        "1 - Bulletin Officiel n°5210 du 16 Rabii 1425 (6 Mai 2004), p.600.",
        "(2) Bulletin officiel n° 5964 bis du 28 chaabane 1432 (30 juillet 2011), p. 1902",
    ],
)
def test_bulletin_headers_footers_and_citation_footnotes_are_recognised(line):
    assert is_bulletin_citation(line)


@pytest.mark.parametrize(
    "line",
    [
        "يسند تنفيذ هذا المرسوم، الذي ينشر في الجريدة الرسمية، إلى وزير الإدماج الاقتصادي",
        "Est publiée au Bulletin officiel n° 5 du 3 mai 1990, p. 56",
        "Le présent décret sera publié au Bulletin officiel.",
        "12 - Décret n° 2-04-469 du 16 kaada 1425 relatif au délai de préavis; Bulletin Officiel n°5280",
        "Article 3 - Bulletin officiel n° 12 du 3 mai 1990",
        "المادة 29 : تنشر في الجريدة الرسمية الظهائر والمراسيم المتخذة بشأن الجنسية",
        "Le salaire minimum est fixé à 17,92 dirhams à compter du 1er janvier 2026.",
    ],
)
def test_text_that_mentions_the_bulletin_is_not_furniture(line):
    assert not is_bulletin_citation(line)


def _page(n: int, body: list[str]) -> list[Line]:
    return [Line(text, n) for text in body]


def test_article_text_is_never_removed():
    """Every line that holds a word other than the bulletin's, a date or a page survives cleaning,
    wherever it sits on its page; only the furniture goes."""
    article = [
        "المادة الثانية",
        "ابتداء من فاتح أبريل 2026 ،يحدد في سبعة وتسعين درهما وأربعة وأربعين سنتيما",
        "(97,44 درهما)، مبلغ الحد الأدنى القانوني للأجر المؤدى للأجراء عن يوم شغل.",
        "يسند تنفيذ هذا المرسوم، الذي ينشر في الجريدة الرسمية، إلى وزير الشغل.",
        "Article 4 - Le présent décret sera publié au Bulletin officiel n° 7469 du 29 décembre 2025.",
        "29 décembre 2025",  # a date alone on a line of an article: no bulletin named, kept
    ]
    furniture = [
        "الجريدة الرسمية عدد 7469 – 8 رجب 1447 (29 ديسمبر 2025) ص 10038",
        "1 - الجريدة الرسمية عدد7469 بتاريخ8 رجب1447 (29 ديسمبر2025 )، ص10038.",
    ]
    lines = _page(1, [furniture[0], *article, furniture[1]]) + _page(2, [furniture[0], *article])
    cleaned = [line.text for line in clean_lines(lines, Vocabulary.from_texts(article))]
    assert cleaned == article + article
    chunks = chunk_document(clean_lines(lines), "doc")
    text = "\n".join(c.text for c in chunks)
    assert all(match_key(a) in match_key(text) for a in article)
    assert "10038" not in text


def test_a_footnote_citation_in_the_middle_of_a_page_without_a_footnote_number_stays():
    body = [f"ligne {i} du texte de l'article" for i in range(8)]
    middle = "Bulletin officiel n° 12 du 3 mai 1990, p. 56"
    lines = _page(1, [*body[:4], middle, *body[4:]])
    assert middle in [line.text for line in clean_lines(lines)]


def test_a_bare_running_header_goes_wherever_ocr_put_it():
    body = [f"ligne {i} du texte de l'article" for i in range(8)]
    lines = _page(7, [*body[:4], "BULLETIN OFFICIEL : 1907", *body[4:]])
    assert [line.text for line in clean_lines(lines)] == body
    assert is_bare_header("190 BULLETIN OFFICIEL") and not is_bare_header(
        "Bulletin officiel n° 12 du 3 mai 1990"
    )


def test_a_wrapped_citation_footnote_goes_with_its_tail():
    lines = _page(
        3,
        [
            "Article 2",
            "Le congé est de dix-huit jours ouvrables.",
            "1 - Bulletin Officiel n° 5280 du 24 kaada 1425 (6 Janvier 2005),",
            "p. 16.",
        ],
    )
    assert [line.text for line in clean_lines(lines)] == [
        "Article 2",
        "Le congé est de dix-huit jours ouvrables.",
    ]


def test_a_citation_footnote_at_the_end_of_a_page_long_line_is_cut():
    page = "المادة 9 يسند تنفيذ هذا المرسوم إلى وزير الداخلية. " * 12
    line = page + "1 - الجريدة الرسمية عدد 5680 الصادرة بتاريخ 7 ذو القعدة 1429 (6 نوفمبر 2008)، ص 4068 ."
    assert strip_trailing_citation(line) == page.rstrip()
    kept = page + "2 - الجريدة الرسمية عدد 5680 تنص على ما يلي"
    assert strip_trailing_citation(kept) == kept


def _vocab() -> Vocabulary:
    corpus = [
        "يحدد في النشاطات في الفلاحة في المدن في القرى في الصناعة",
        "الأجر المؤدى للأجراء والمؤدى عن الساعة المؤدى عن اليوم",
        "ما يلي ما يلي ما يلي",
        "من ذي القعدة من ذي الحجة منذ سنة منذ شهر",
        "رأس المال رأس المال",
    ]
    return Vocabulary.from_texts(corpus)


@pytest.mark.parametrize(
    ("split", "joined"),
    [
        ("يحدد ف ي النشاطات", "يحدد في النشاطات"),
        ("الأجر المؤد ى للأجراء", "الأجر المؤدى للأجراء"),
        ("ما ي لي", "ما يلي"),  # the stray letter goes to the side that makes the known word
        ("من ذ سنة", "منذ سنة"),
    ],
)
def test_split_arabic_words_are_joined_when_the_joined_form_is_known(split, joined):
    assert rejoin_arabic(split, _vocab()) == joined


@pytest.mark.parametrize(
    "text",
    [
        "من ذي القعدة",  # two words written apart in the corpus: kept apart
        "رأس المال",
        "ف ي",  # unknown to this vocabulary: left as it is
        "Le salaire minimum",
    ],
)
def test_known_separate_words_and_unknown_forms_stay_as_they_are(text):
    vocab = _vocab() if text != "ف ي" else Vocabulary.from_texts(["نص بلا كلمات مقسمة"])
    assert rejoin_arabic(text, vocab) == text


def test_rejoining_never_crosses_a_line_break():
    assert rejoin_arabic("ف\nي", _vocab()) == "ف\nي"


def test_parsed_documents_are_cleaned(tmp_path):
    from ingest.parsing import parse_file

    text = (
        "المادة الأولى\nيحدد ف ي النشاطات الفلاحية مبلغ الأجر في النشاطات في المدن.\n"
        "المادة الثانية\nيطبق في القرى.\n"
        "1 - الجريدة الرسمية عدد7469 بتاريخ8 رجب1447 (29 ديسمبر2025 )، ص10038.\n"
    )
    path = tmp_path / "decret.txt"
    path.write_text(text, encoding="utf-8")
    doc = parse_file(path, language="ar")
    assert "يحدد في النشاطات" in doc.text
    assert "10038" not in doc.text
    assert "يطبق في القرى." in doc.text
