"""The lexicon learned from the parallel texts (assistant/lexicon/learned.py): IBM Model 1 over
aligned articles finds which terms translate which, and a French question reaches a text that
exists only in Arabic through its translated terms."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.index import Index
from assistant.lexicon.learned import LearnedLexicon, aligned_articles, content_terms, ibm1
from assistant.retrieval import Retriever
from assistant.settings import Settings
from assistant.sparse import term_id
from assistant.store import Where
from ingest.sync import Syncer
from tests.conftest import make_settings

# A small law in French and its Arabic version, article by article, each article mixing a few of
# the same words in other company: enough for IBM Model 1 to tell them apart.
PAIRS = [
    (
        "La déclaration de l'association est déposée auprès de l'autorité locale.",
        "يودع تصريح الجمعية لدى السلطة المحلية.",
    ),
    (
        "Les membres fondateurs signent les statuts de l'association.",
        "يوقع الأعضاء المؤسسون النظام الأساسي للجمعية.",
    ),
    ("L'autorité délivre un récépissé de la déclaration.", "تسلم السلطة وصلا عن التصريح."),
    ("Le tribunal prononce la dissolution de l'association.", "تصدر المحكمة حكما بحل الجمعية."),
    ("Les membres élisent le bureau pour un délai de trois ans.", "ينتخب الأعضاء المكتب لأجل ثلاث سنوات."),
    ("Le délai de recours devant le tribunal est de trente jours.", "أجل الطعن أمام المحكمة ثلاثون يوما."),
    ("Les statuts fixent le siège et le nom.", "يحدد النظام الأساسي المقر والاسم."),
    (
        "La dissolution est déclarée à l'autorité dans un délai de trente jours.",
        "يصرح بالحل للسلطة داخل أجل ثلاثين يوما.",
    ),
    ("Les fondateurs déposent les statuts auprès du tribunal.", "يودع المؤسسون النظام الأساسي لدى المحكمة."),
]
ONLY_ARABIC = (
    "المادة 1\n\nتمنح رخصة الصيد البحري لمدة سنة واحدة قابلة للتجديد.\n\n"
    "المادة 2\n\nيحدد أجل تسليم رخصة البناء في ستين يوما من تاريخ الطلب.\n\n"
    "المادة 3\n\nيجب على مؤسسي الجمعية إيداع التصريح لدى السلطة المحلية داخل أجل ثلاثين يوما من تاريخ التأسيس.\n"
)


def _numbered(texts: list[str], word: str) -> str:
    return "\n\n".join(f"{word} {i}\n\n{t}" for i, t in enumerate(texts, start=1)) + "\n"


@pytest.mark.unit
def test_ibm1_learns_the_translation_and_is_deterministic() -> None:
    pairs = [(content_terms(fr, "fr"), content_terms(ar, "ar")) for fr, ar in PAIRS]
    table = ibm1(pairs, iterations=8, min_df=2, keep=3, floor=0.1)
    assert table == ibm1(pairs, iterations=8, min_df=2, keep=3, floor=0.1)
    (association,) = set(content_terms("association", "fr"))
    (tribunal,) = set(content_terms("tribunal", "fr"))
    assert table[association][0].term in content_terms("الجمعية", "ar"), table[association]
    assert table[tribunal][0].term in content_terms("المحكمة", "ar"), table[tribunal]
    # a term of one article only takes no part (min_df)
    (siege,) = set(content_terms("siège", "fr"))
    assert siege not in table


@pytest.mark.unit
def test_articles_are_aligned_on_their_key_between_parallel_texts_only() -> None:
    def chunk(source: str, lang: str, key: str, text: str, parallel: str | None) -> dict[str, object]:
        return {
            "source": source,
            "doc_language": lang,
            "language": lang,
            "article_key": key,
            "text": text,
            "parallel": parallel,
            "doc_id": source,
        }

    rows = [
        chunk("fr/loi.md", "fr", "1", "un", "ar/qanun.md"),
        chunk("fr/loi.md", "fr", "2", "deux", "ar/qanun.md"),
        chunk("ar/qanun.md", "ar", "1", "واحد", "fr/loi.md"),
        chunk("ar/qanun.md", "ar", "3", "ثلاثة", "fr/loi.md"),
        chunk("ar/marsoum.md", "ar", "1", "آخر", None),
    ]
    assert aligned_articles(rows) == {("ar", "fr"): [("واحد", "un")]}


@pytest.mark.unit
def test_a_parallel_declared_on_one_side_only_is_learned_from_both() -> None:
    def chunk(doc: str, lang: str, key: str, text: str, parallel: str | None) -> dict[str, object]:
        return {
            "source": doc,
            "doc_id": doc,
            "doc_language": lang,
            "language": lang,
            "article_key": key,
            "text": text,
            "parallel": parallel,
        }

    rows = [chunk("ar/jamiyat.md", "ar", str(i), ar, "fr/associations.md") for i, (_, ar) in enumerate(PAIRS)]
    rows += [chunk("fr/associations.md", "fr", str(i), fr, None) for i, (fr, _) in enumerate(PAIRS)]
    rows += [chunk("ar/marsoum.md", "ar", "1", "مرسوم", None)]
    asked: list[list[str] | None] = []

    def scroll(ids: list[str] | None) -> list[dict[str, object]]:
        asked.append(ids)
        return [r for r in rows if ids is None or r["doc_id"] in ids]

    lexicon = LearnedLexicon(iterations=8, min_df=2, keep=3, floor=0.1)
    lexicon.refresh(len(rows), scroll)
    assert asked == [None, ["fr/associations.md"]]  # the French text's chunks fetched in a second pass
    assert set(lexicon.tables) == {("ar", "fr"), ("fr", "ar")}
    assert lexicon.only_in("ar") == ["ar/marsoum.md"] and lexicon.only_in("fr") == []
    lexicon.refresh(len(rows), scroll)
    assert len(asked) == 2  # same number of chunks: nothing relearned
    # a declared parallel that is not indexed links nothing: the text is in one language only
    alone = [r for r in rows if r["doc_id"] != "fr/associations.md"]
    lexicon = LearnedLexicon(iterations=8, min_df=2, keep=3, floor=0.1)
    lexicon.refresh(len(alone), lambda ids: [r for r in alone if ids is None or r["doc_id"] in ids])
    assert lexicon.tables == {} and lexicon.only_in("ar") == ["ar/jamiyat.md", "ar/marsoum.md"]


@pytest.fixture()
def bilingual(tmp_path: Path, embed_cache: Path) -> Iterator[tuple[Settings, Index]]:
    root = tmp_path / "root"
    for folder in ("lois_fr", "lois_ar", "textes_ar"):
        (root / "corpus" / folder).mkdir(parents=True)
    (root / "defs").mkdir()
    (root / "corpus" / "lois_fr" / "associations.md").write_text(
        _numbered([fr for fr, _ in PAIRS], "Article"), encoding="utf-8"
    )
    (root / "corpus" / "lois_ar" / "jamiyat.md").write_text(
        _numbered([ar for _, ar in PAIRS], "المادة"), encoding="utf-8"
    )
    (root / "corpus" / "textes_ar" / "marsoum.md").write_text(ONLY_ARABIC, encoding="utf-8")
    (root / "defs" / "lois_fr.yaml").write_text(
        "name: lois_fr\naudience: public\nlanguage: fr\nfolder: lois_fr\ndocuments:\n"
        "  associations.md:\n    title: Loi sur les associations\n",
        encoding="utf-8",
    )
    (root / "defs" / "lois_ar.yaml").write_text(
        "name: lois_ar\naudience: public\nlanguage: ar\nfolder: lois_ar\ndocuments:\n"
        "  jamiyat.md:\n    title: قانون الجمعيات\n    parallel: lois_fr/associations.md\n",
        encoding="utf-8",
    )
    (root / "defs" / "textes_ar.yaml").write_text(
        "name: textes_ar\naudience: public\nlanguage: ar\nfolder: textes_ar\ndocuments:\n"
        "  marsoum.md:\n    title: مرسوم\n",
        encoding="utf-8",
    )
    settings = make_settings(root, tmp_path / "data", embed_cache)
    index = Index(settings)
    with Syncer(settings, index) as syncer:
        syncer.run()
    yield settings, index
    index.close()


@pytest.mark.integration
def test_a_french_question_reaches_the_arabic_only_text_through_learned_terms(
    bilingual: tuple[Settings, Index],
) -> None:
    _, index = bilingual
    retriever = Retriever(index)
    lexicon = retriever.learned_lexicon()
    assert set(lexicon.tables) == {("fr", "ar"), ("ar", "fr")}
    assert lexicon.only_in("ar") == ["textes_ar:marsoum.md"]
    assert lexicon.only_in("fr") == []
    question = (
        "Dans quel délai les fondateurs d'une association déposent-ils la déclaration auprès de l'autorité ?"
    )
    vector = lexicon.translate(question, "fr", "ar")
    assert vector is not None
    jamiya = {term_id(t) for t in content_terms("الجمعية", "ar")}
    assert jamiya & set(vector.indices), "association should translate to الجمعية"
    # searched only in the text that exists in Arabic alone (the parallel law is found in French)
    retriever.tuning = retriever.tuning.replace(learned_lexicon_margin=1.0)
    dense = index.embed_query(question)
    sparse = index.sparse.encode_query(question, "fr")
    legs = retriever._legs(question, dense, sparse, Where(), "fr", 20)
    learned = [leg for leg in legs if leg.where is not None and leg.where.doc_ids == ["textes_ar:marsoum.md"]]
    assert len(learned) == 1 and learned[0].weight == retriever.tuning.learned_lexicon_weight

    def rank(weight: float) -> int:
        retriever.tuning = retriever.tuning.replace(learned_lexicon_weight=weight, learned_lexicon_margin=1.0)
        results = retriever.search(question, k=10).results
        found = [
            r.rank
            for r in results
            if r.doc_id == "textes_ar:marsoum.md" and r.payload.get("article_key") == "3"
        ]
        return found[0] if found else 99

    with_lexicon, without = rank(1.0), rank(0.0)
    assert with_lexicon <= 3, with_lexicon
    assert with_lexicon <= without, (with_lexicon, without)
