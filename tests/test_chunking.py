import pytest

from assistant.legal import article_key
from ingest.chunking import chunk_document
from ingest.parsing import Line, remove_furniture, split_long_line
from ingest.structure import parse_heading

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("line", "label", "key"),
    [
        ("Article premier", "Article premier", "1"),
        ("Article 1er", "Article 1er", "1"),
        ("ARTICLE 12", "Article 12", "12"),
        ("Article 6 bis", "Article 6 bis", "6-bis"),
        ("Article 16-1 : Le contrat", "Article 16-1", "16-1"),
        ("Art. 5 - Les dispositions", "Art. 5", "5"),
        ("المادة 19", "المادة 19", "19"),
        ("المادة الأولى", "المادة الأولى", "1"),
        ("المادة ١٢", "المادة 12", "12"),
        ("المادة 5 مكررة", "المادة 5 مكررة", "5-bis"),
    ],
)
def test_article_headings(line, label, key):
    h = parse_heading(line)
    assert h is not None and h.kind == "article"
    assert h.label == label
    assert h.key == key


@pytest.mark.parametrize(
    "line",
    ["article 19 de la présente loi", "Article 19 de la loi 09-08 est abrogé", "المادة 16 من هذا القانون"],
)
def test_cross_references_are_not_headings(line):
    assert parse_heading(line) is None


def test_levels_build_the_hierarchy_path():
    lines = [
        Line("Dahir portant promulgation de la loi", 1),
        Line("Livre II", 1),
        Line("Titre I : Des congés", 1),
        Line("Chapitre III", 2),
        Line("Article 231", 2),
        Line("Tout salarié a droit à un congé annuel payé.", 2),
        Line("Article 232", 3),
        Line("La durée du congé est augmentée.", 3),
    ]
    chunks = chunk_document(lines, "doc")
    assert [c.kind for c in chunks] == ["preamble", "article", "article"]
    assert chunks[1].article == "Article 231"
    assert chunks[1].path == "Livre II > Titre I : Des congés > Chapitre III"
    assert chunks[1].pages == [2]
    assert chunks[2].pages == [3]
    assert chunks[1].text.startswith("Article 231")


def test_long_article_splits_into_overlapping_parts_with_same_id():
    body = [Line(f"Phrase numéro {i} de l'article avec un peu de texte juridique.", 1) for i in range(80)]
    chunks = chunk_document([Line("Article 7", 1), *body], "doc", max_chars=600, overlap=120)
    assert len(chunks) > 3
    assert {c.article_key for c in chunks} == {"7"}
    assert [c.part for c in chunks] == list(range(1, len(chunks) + 1))
    assert all(len(c.text) <= 700 for c in chunks)
    # overlap: the start of part 2 repeats the end of part 1
    assert chunks[1].text.split("\n")[0] in chunks[0].text


def test_chunk_ids_are_stable_while_text_is_unchanged():
    lines = [Line("Article 1", 1), Line("Texte un.", 1), Line("Article 2", 1), Line("Texte deux.", 1)]
    first = chunk_document(lines, "doc")
    changed = chunk_document([*lines[:3], Line("Texte deux modifié.", 1)], "doc")
    assert first[0].chunk_id == changed[0].chunk_id
    assert first[1].chunk_id != changed[1].chunk_id


def test_arabic_one_line_pages_split_at_articles_and_glued_footnotes_are_cut():
    page = (
        "ظهير شريف يعلم من ظهيرنا الشريف هذا ما يلي: الفصل 1 الجمعية هي اتفاق لتحقيق تعاون مستمر بين شخصين. "
        "الفصل 2 يجوز تأسيس جمعيات الأشخاص بكل حرية بشرط أن تراعى في ذلك مقتضيات الفصل 5 من هذا الظهير. "
        "الفصل 34 يجب أن تقدم كل جمعية تصريحا إلى مقر السلطة الإدارية المحلية " + "نص " * 60
    )
    chunks = chunk_document([Line(page, 1)], "doc", default_language="ar")
    labels = [c.article for c in chunks if c.article]
    assert labels == ["الفصل 1", "الفصل 2", "الفصل 3"]


def test_arabic_ordinals_and_madda_marker():
    lines = [
        Line("مرسوم بتحديد مبلغ الحد الأدنى القانوني للأجر", 1),
        Line("المادة الأولى", 1),
        Line("ابتداء من فاتح يناير 2026، يحدد في سبعة عشر درهما", 1),
        Line("المادة الثانية", 2),
        Line("ابتداء من فاتح أبريل 2026", 2),
    ]
    chunks = chunk_document(lines, "doc", default_language="ar")
    assert [c.article_key for c in chunks] == [None, "1", "2"]
    assert chunks[1].language == "ar"


def test_non_legal_documents_fall_back_to_sections():
    lines = [Line("Guide de l'usager", 1, "Title")] + [Line("Texte explicatif " * 10, 1)] * 3
    lines += [Line("Deuxième partie", 2, "Title")] + [Line("Encore du texte " * 10, 2)] * 3
    chunks = chunk_document(lines, "doc")
    assert {c.kind for c in chunks} == {"section"}
    assert len(chunks) == 2


def test_furniture_is_removed():
    bodies = ["Le salarié a droit.", "L'employeur doit.", "La commission statue.", "Le juge décide.", "Fin."]
    pages = [
        [f"- {i} -", "BULLETIN OFFICIEL N° 5714", f"Article {i}", b] for i, b in enumerate(bodies, start=1)
    ]
    pages[2].insert(3, "AF AL A")
    cleaned = remove_furniture(pages)
    assert cleaned == [[f"Article {i}", b] for i, b in enumerate(bodies, start=1)]


def test_inline_page_marks_split_long_lines():
    assert len(split_long_line("a" * 300 + " - 3 - " + "b" * 300)) == 2


def test_article_key_normalises():
    assert article_key("premier") == "1"
    assert article_key("الأولى") == "1"
    assert article_key("6", "bis") == "6-bis"
