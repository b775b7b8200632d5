import pytest

from assistant.language import detect
from assistant.references import (
    find_references,
    indexed_names,
    text_name,
    unindexed_governing_texts,
    unindexed_mentions,
)
from assistant.sparse import SparseEncoder, terms
from assistant.textnorm import clean_text, contains_excerpt, match_key

pytestmark = pytest.mark.unit


def test_match_key_unifies_reversed_lam_alef_and_alef_forms():
    # the TXT extraction writes الإدارية as اإلدارية; both must compare equal
    assert match_key("السلطة الإدارية") == match_key("السلطة اإلدارية")
    assert match_key("صلاحية") == match_key("صالحية")
    assert match_key("أربعة عشر أسبوعا") == match_key("اربعة عشر اسبوعا")


def test_match_key_ignores_stray_spaces_and_case():
    assert contains_excerpt("les  heures Supplé-\nmentaires donnent lieu", "heures supplémentaires")
    assert contains_excerpt("ت شغيل الأحداث", "تشغيل الأحداث")
    assert not contains_excerpt("rien à voir", "heures supplémentaires")


def test_clean_text_removes_bidi_controls_and_presentation_forms():
    assert clean_text("\u202bﻻ\u202c") == "لا"
    assert clean_text("اإلدارية") == "الإدارية"


@pytest.mark.parametrize(
    ("text", "lang", "dialect"),
    [
        ("Quel est le délai de préavis pour un salarié ?", "fr", None),
        ("What is the minimum wage in Morocco?", "en", None),
        ("ما هي مدة إجازة الولادة؟", "ar", None),
        ("واش خاصني نجدد البطاقة الوطنية؟", "ar", "darija"),
        ("kifach n9ad lpasseport dyali 3afak", "fr", "arabizi"),
    ],
)
def test_language_detection(text, lang, dialect):
    d = detect(text)
    assert d.language == lang
    assert d.dialect == dialect


def test_references_found_in_fr_and_ar():
    refs = find_references("Que dit l'article 53 de la loi 09-08 ?")
    assert refs.laws == ["09-08"] and refs.articles == ["53"]
    refs = find_references("ما تنص عليه المادة 19 من القانون رقم 19.12")
    assert refs.laws == ["19-12"] and refs.articles == ["19"]
    refs = find_references("art. 6 bis du décret 2-08-310")
    assert refs.laws == ["2-08-310"] and refs.articles == ["6-bis"]
    assert find_references("65-99", known_laws={"65-99"}).laws == ["65-99"]
    # a date or an amount is not a law number
    assert find_references("le 5-3-2009 pour 17,92 dirhams").laws == []


_NAMES = [
    n
    for lang, name, law in [
        ("fr", "Code du travail", "65-99"),
        ("en", "associations dahir", "1-58-376"),
        ("en", "law on associations", "1-58-376"),
        ("ar", "مدونة الشغل", "65-99"),
        ("fr", "Code de la famille", "70-03"),
    ]
    if (n := text_name(name, lang, law)) is not None
]


def test_a_one_word_name_is_matched_only_with_its_capital():
    names = [n for n in [text_name("Constitution", "fr", "1-11-91")] if n is not None]
    found = find_references(
        "Quelles sont les formalités de constitution d'une association ?", names=names, language="fr"
    )
    assert found.laws == []
    assert find_references("Que garantit la Constitution ?", names=names, language="fr").laws == ["1-11-91"]


def test_a_text_called_by_its_name_is_a_reference():
    refs = find_references(
        "Selon le Code du travail, combien de jours de congé ?", names=_NAMES, language="fr"
    )
    assert refs.laws == ["65-99"] and refs.asked == ["65-99"]
    # a word or two between the name's words, and plurals, still name it
    refs = find_references(
        "Under the Moroccan associations dahir, who may not join?", names=_NAMES, language="en"
    )
    assert refs.asked == ["1-58-376"]
    refs = find_references("What does the law on political associations say?", names=_NAMES, language="en")
    assert refs.asked == ["1-58-376"]
    refs = find_references("كم مدة العطلة حسب مدونة الشغل؟", names=_NAMES, language="ar")
    assert refs.asked == ["65-99"]
    # named to describe the asker's situation: a soft boost, as a number would be
    refs = find_references(
        "Un salarié soumis au Code du travail peut-il adhérer ?", names=_NAMES, language="fr"
    )
    assert refs.laws == ["65-99"] and refs.asked == []
    # only names in the question's language; words far apart or a missing word do not name it
    assert find_references("Selon le Code du travail ?", names=_NAMES, language="en").laws == []
    assert (
        find_references(
            "Le code de la route impose-t-il un temps de travail ?", names=_NAMES, language="fr"
        ).laws
        == []
    )
    assert find_references("La famille et le travail", names=_NAMES, language="fr").laws == []
    # a number and the name of the same text count once
    refs = find_references("Le Code du travail (loi 65-99) prévoit-il ...", names=_NAMES, language="fr")
    assert refs.laws == ["65-99"]


_INDEXED = [
    *indexed_names(
        {
            "fr": [
                "Code du travail",
                "Code du travail (loi n° 65-99), version consolidée au 26 octobre 2011",
            ],
            "en": ["Labour Code"],
            "ar": ["مدونة الشغل"],
        }
    ),
    *indexed_names(
        {"fr": ["Constitution du Royaume du Maroc (2011)"], "en": ["Constitution"], "ar": ["الدستور"]}
    ),
    *indexed_names(
        {"fr": ["loi sur les associations"], "en": ["law on associations"], "ar": ["قانون الجمعيات"]}
    ),
    *indexed_names({"fr": ["Loi n° 78-753 du 17 juillet 1978"], "en": ["French law of 1978"]}),
]


@pytest.mark.parametrize(
    ("question", "language", "mention"),
    [
        ("Quelle peine prévoit le code pénal pour la corruption ?", "fr", "code pénal"),
        ("Selon le Code des obligations et contrats, quel délai ?", "fr", "Code des obligations et contrats"),
        ("What prison sentence does the Moroccan penal code set?", "en", "penal code"),
        (
            "Under the Code of Obligations and Contracts, what delay?",
            "en",
            "Code of Obligations and Contracts",
        ),
        ("Which article of the 1996 Constitution dealt with the opposition?", "en", "1996 Constitution"),
        ("What does the Tax Code say about rent?", "en", "Tax Code"),
        ("Quelles sont les règles du code de la route ?", "fr", "code de la route"),
        ("ما هو أجل التقادم حسب قانون المسطرة الجنائية؟", "ar", "قانون المسطرة الجنائية"),
    ],
)
def test_a_text_named_by_a_title_no_indexed_text_has(question: str, language: str, mention: str) -> None:
    assert unindexed_mentions(question, language, _INDEXED) == [mention]


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Selon le Code du travail marocain, combien de jours ?", "fr"),
        ("What does Moroccan labour law say about overtime?", "en"),
        ("Is the 2011 Constitution still in force?", "en"),
        ("Que dit la loi sur les associations professionnelles ?", "fr"),
        # the subject runs on into the question: the word next to the kind of text decides
        ("ما الفرق بين سن التشغيل حسب مدونة الشغل والسن الأدنى للعاملات؟", "ar"),
        # a numbered text is a reference, not a title; "act" as a deed is no text
        ("Our company is covered by Law 65-99. Can it pay less?", "en"),
        ("Can a domestic worker be hired by a private individual act?", "en"),
        ("Under Moroccan law, what is the minimum wage?", "en"),
        ("Quand le code d'accès est-il renouvelé ?", "fr"),
        # what the law says about a subject is no text's title
        ("Que dit la loi sur le licenciement abusif ?", "fr"),
        ("Que dit la loi concernant le divorce ?", "fr"),
        ("Is my employer breaking the law if he does not pay overtime?", "en"),
        ("Is it against the law to fire a pregnant woman?", "en"),
        ("What does the law on maternity leave say?", "en"),
        ("Can my employer impose a dress code at work?", "en"),
        ("Does my company's code of conduct override the Labour Code?", "en"),
        ("ما هو الظهير المنظم للجمعيات؟", "ar"),
        ("ما هو القانون المنظم للشغل في المغرب؟", "ar"),
        ("شنو هو القانون اللي كينظم الخدامات فالديور؟", "ar"),
        # a date in the name: its year is the text's, the day and month are no subject words
        ("Under the law of 17 July 1978, can I see my file?", "en"),
        ("Selon la loi du 17 juillet 1978, puis-je consulter mon dossier ?", "fr"),
    ],
)
def test_texts_indexed_or_not_named_are_not_taken_for_missing_ones(question: str, language: str) -> None:
    assert unindexed_mentions(question, language, _INDEXED) == []


def test_names_in_a_collection_definition_map_a_language_to_names(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from assistant.corpus import load_collections
    from assistant.errors import ConfigError

    (tmp_path / "lois.yaml").write_text(
        "name: lois\ndocuments:\n  a.md:\n    names: [Code du travail]\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="names must map a language to a list of names"):
        load_collections(tmp_path)
    (tmp_path / "lois.yaml").write_text(
        "name: lois\ndocuments:\n  a.md:\n    names: {fr: [Code du travail], en: [Labour Code]}\n",
        encoding="utf-8",
    )
    assert load_collections(tmp_path)["lois"].documents["a.md"].names == {
        "fr": ["Code du travail"],
        "en": ["Labour Code"],
    }


def test_every_document_of_the_repository_has_names_in_the_three_languages() -> None:
    from pathlib import Path

    from assistant.corpus import load_collections

    corpora = Path(__file__).resolve().parent.parent / "corpora"
    for c in load_collections(corpora).values():
        for name, meta in c.documents.items():
            assert set(meta.names) == {"fr", "ar", "en"}, f"{c.name}/{name}: names in {sorted(meta.names)}"


def test_darija_words_are_given_their_standard_arabic() -> None:
    from assistant.lexicon import darija_to_msa

    assert darija_to_msa("شحال كيتخلص الكونجي ديال الخدامة؟") == [
        "كم",
        "يؤدى",
        "يدفع",
        "العطلة",
        "الإجازة",
        "أجيرة",
        "عاملة",
    ]
    # with the article or a proclitic glued to the word
    assert darija_to_msa("وراجلي فالخدمة") == ["زوجي", "عمل", "شغل"]
    assert darija_to_msa("ما هي مدة العطلة السنوية؟") == []  # standard Arabic: nothing to add


_PASSPORT_FR = (
    "Par dérogation au calendrier prévu par le décret n° 2-06-478 pris pour l'application de la loi "
    "n° 35-06 créant la carte nationale d'identité électronique, promulguée par le dahir n° 1-07-149, "
    "la carte est établie pour les demandeurs du passeport biométrique."
)
_PASSPORT_AR = (
    "استثناء من الجدول الزمني المنصوص عليه في المرسوم رقم 2.06.478 بتطبيق القانون رقم 35.06 المحدثة "
    "بموجبه البطاقة الوطنية للتعريف الإلكترونية، فإن طالبي جواز السفر البيومتري تنجز لهم البطاقة."
)


def test_subject_governed_by_a_cited_but_unindexed_text():
    known = {"2-08-310"}
    titles = ["Décret n° 2-08-310 relatif au passeport biométrique"]
    q = "Quels documents faut-il pour renouveler la carte nationale d'identité électronique ?"
    assert unindexed_governing_texts(q, [_PASSPORT_FR], known, titles) == ["2-06-478", "35-06"]
    q = "ما هي الوثائق المطلوبة لتجديد البطاقة الوطنية للتعريف الإلكترونية؟"
    assert unindexed_governing_texts(q, [_PASSPORT_AR], known, titles) == ["2-06-478", "35-06"]


def test_cited_text_does_not_refuse_what_the_corpus_covers():
    q = "Quels documents faut-il pour renouveler la carte nationale d'identité électronique ?"
    # the cited law is indexed
    assert unindexed_governing_texts(q, [_PASSPORT_FR], {"35-06", "2-06-478"}, []) == []
    # another indexed text has that subject in its title
    titles = ["Loi n° 35-06 bis sur la carte nationale d'identité électronique"]
    assert unindexed_governing_texts(q, [_PASSPORT_FR], set(), titles) == []
    # the question only shares a word or two with the cited title
    q = "Quelle est la durée de validité du passeport biométrique ?"
    assert unindexed_governing_texts(q, [_PASSPORT_FR], set(), []) == []
    # words after the title's clause break are not its subject
    q = "Qui promulgue le dahir de la carte ?"
    assert unindexed_governing_texts(q, [_PASSPORT_FR], set(), []) == []


def test_sparse_encoder_stems_and_hashes():
    enc = SparseEncoder()
    a = enc.encode_query("congés payés", "fr")
    b = enc.encode_document("Le salarié a droit au congé payé annuel.", "fr")
    assert a.indices and b.values
    assert set(a.indices) <= set(b.indices)
    assert "65-99" in terms("loi n° 65.99", "fr")
    assert all(v > 0 for v in b.values)
