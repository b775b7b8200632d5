"""Personal-data detection, pseudonymisation and its measurement (assistant/privacy/).

Unit tests exercise Dalil's own rules (`find_entities`: no spaCy, no Presidio analyzer) and the
replacement logic; integration tests load spaCy's French model through Presidio and run
`dalil privacy eval` on the committed set. None of the example values below come from
eval/privacy/lines.jsonl: the set stays a measurement, not a fixture.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from assistant.modes import PrivacyMode
from assistant.privacy import (
    Entity,
    EntityType,
    Pseudonymiser,
    pseudonym,
    redact_known,
    restore,
)
from assistant.privacy.detector import find_entities
from assistant.privacy.entities import resolve_overlaps
from assistant.privacy.evaluation import Span, load_lines, match, select
from assistant.privacy.lexicon import lexicon
from assistant.privacy.pseudonymise import replace_entities
from assistant.tuning import TUNING

REPO = Path(__file__).resolve().parent.parent
KEY = bytes.fromhex("3c" * 32)

unit = pytest.mark.unit
integration = pytest.mark.integration


def found(text: str) -> list[tuple[str, str]]:
    return [(e.type, e.text) for e in find_entities(text)]


def placeholders(text: str) -> str:
    return replace_entities(text, find_entities(text), lambda e: f"[{e.type}]")


# ------------------------------------------------------------------ identifiers
@unit
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ma CIN est JT78901, merci.", ("CIN", "JT78901")),
        ("cin: ab 45678, svp", ("CIN", "ab 45678")),
        ("numéro de carte nationale x123456", ("CIN", "x123456")),
        ("رقم بطاقتي الوطنية ZT٤٥٦٧٨٩", ("CIN", "ZT٤٥٦٧٨٩")),
        ("لاكارط ديالي نمرتها ww۱۲۳۴۵۶", ("CIN", "ww۱۲۳۴۵۶")),
        ("Appelez-moi au +212 622 334 455.", ("PHONE", "+212 622 334 455")),
        ("Tél. 00212 5.22.11.22.33 le matin", ("PHONE", "00212 5.22.11.22.33")),
        ("mobile 07-11-22-33-44", ("PHONE", "07-11-22-33-44")),
        ("fixe : 0537.66.55.44", ("PHONE", "0537.66.55.44")),
        ("call (+212) 655 443 322 today", ("PHONE", "(+212) 655 443 322")),
        ("رقم الهاتف ۰۶۹۹۸۸۷۷۶۶ من فضلك", ("PHONE", "۰۶۹۹۸۸۷۷۶۶")),
        ("my Belgian number is +32 470 12 34 56", ("PHONE", "+32 470 12 34 56")),
        ("écrire à salma.idrissi-2@mail.co.ma.", ("EMAIL", "salma.idrissi-2@mail.co.ma")),
        ("RIB : 007 780 0001234567890123 45", ("RIB", "007 780 0001234567890123 45")),
        ("IBAN MA12 3456 7890 1234 5678 9012 3456 please", ("RIB", "MA12 3456 7890 1234 5678 9012 3456")),
        ("mon numéro d'immatriculation CNSS est le 556 677 889", ("CNSS", "556 677 889")),
        ("رقم الانخراط في الضمان الاجتماعي ٩٨٧٦٥٤٣٢١", ("CNSS", "٩٨٧٦٥٤٣٢١")),
        ("passeport n° KL7654321 perdu", ("PASSPORT", "KL7654321")),
        ("his British passport number is 123987456", ("PASSPORT", "123987456")),
        ("passport no. XPT098765 issued in Madrid", ("PASSPORT", "XPT098765")),
    ],
)
def test_identifiers_in_their_formats(text: str, expected: tuple[str, str]) -> None:
    assert expected in found(text)


@unit
def test_a_nine_digit_number_goes_to_the_nearest_cue() -> None:
    assert found("CNSS 123123123 et passeport 456456456") == [
        ("CNSS", "123123123"),
        ("PASSPORT", "456456456"),
    ]
    assert found("affilié sous le 321321321") == [("CNSS", "321321321")]


@unit
@pytest.mark.parametrize(
    ("text", "birth"),
    [
        ("Mon fils, né le 3/11/2016, entre au collège.", "3/11/2016"),
        ("née le 1er avril 1971 à Safi", "1er avril 1971"),
        ("born on June 7, 1990 in Agadir", "June 7, 1990"),
        ("date of birth: 1984-12-30", "1984-12-30"),
        ("المزداد بتاريخ ٠٥/٠٩/١٩٩٩", "٠٥/٠٩/١٩٩٩"),
        ("ولدت في 7 شتنبر 1966 بفاس", "7 شتنبر 1966"),
        ("بنتي تزادت ف ۲۰۱۹/۰۳/۰۱", "۲۰۱۹/۰۳/۰۱"),
    ],
)
def test_a_date_of_birth_needs_a_birth_context(text: str, birth: str) -> None:
    assert ("DATE_OF_BIRTH", birth) in found(text)


@unit
@pytest.mark.parametrize(
    "text",
    [
        "Mon passeport expire le 12/08/2027.",
        "Il est décédé le 4 février 2023, que faire de sa pension ?",
        "Le dahir du 15 novembre 1958 est publié au BO du 27 novembre 1958.",
        "né le 2 mars 1961 et décédé le 9 mai 2024",  # only the first date is a birth date
    ],
)
def test_other_dates_are_not_dates_of_birth(text: str) -> None:
    births = [t for ty, t in found(text) if ty == "DATE_OF_BIRTH"]
    assert births == (["2 mars 1961"] if "né le 2 mars" in text else [])


# ------------------------------------------------------------------ names and titles
@unit
@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("M. Karim Benhaddou demande une attestation.", "Karim Benhaddou"),
        ("Mme Naima Tahiri, secrétaire", "Naima Tahiri"),
        ("Please help Mrs. Samia Chergui with her file.", "Samia Chergui"),
        ("السيد عبد الصمد بن الطالب يطلب شهادة", "عبد الصمد بن الطالب"),
        ("السيدة زهور الكتاني موظفة", "زهور الكتاني"),
    ],
)
def test_the_title_is_not_part_of_the_name(text: str, name: str) -> None:
    assert ("PERSON", name) in found(text)


@unit
def test_redaction_keeps_the_title() -> None:
    assert placeholders("M. Youssef El Amrani a écrit.") == "M. [PERSON] a écrit."
    assert placeholders("السيد أحمد بن علي").startswith("السيد [PERSON]")


@unit
@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Je m'appelle Ghita Sefrioui et j'ai perdu ma carte.", "Ghita Sefrioui"),
        ("je m'appelle hamza ait ouali, merci", "hamza ait ouali"),
        ("Ma sœur Kenza a 17 ans.", "Kenza"),
        ("my name is Adil Berrada.", "Adil Berrada"),
        ("My wife, Hanane Lahlou, is a teacher.", "Hanane Lahlou"),
        ("اسمي سعيد الحمداوي وأسكن في فاس", "سعيد الحمداوي"),
        ("ابنتي غزلان عمرها 16 سنة", "غزلان"),
        ("زوجي عبد الكريم الوزاني عاطل عن العمل", "عبد الكريم الوزاني"),
        ("سميتي خديجة بنت الحسين، بغيت نعرف", "خديجة بنت الحسين"),
        ("ولدي زكرياء تزاد ف 2010", "زكرياء"),
        ("Hamid Laraki est mon employeur depuis 2020.", "Hamid Laraki"),
    ],
)
def test_names_with_and_without_a_title(text: str, name: str) -> None:
    assert ("PERSON", name) in found(text)


@unit
@pytest.mark.parametrize(
    "text",
    [
        "Sa Majesté le Roi Mohammed VI a présidé le Conseil des ministres.",
        "صاحب الجلالة الملك محمد السادس",
        "Le Chef du Gouvernement a signé le décret n° 2-25-983.",
        "رئيس الحكومة وقع المرسوم رقم 2.25.983",
        "M. le ministre de l'emploi répondra.",
        "السيد رئيس المصلحة يمنح الإجازة",
        "السيد (ة) رئيس المصلحة",
        "أمين المال يوقع الشيكات في الجمعية.",
        "L'association Al Amal a élu son bureau.",
        "La société Atlas Clean SARL recrute à Tanger.",
        "جمعية النور بالحي الحسني",
        "Le marché de Hay Mohammadi ferme à 18 h.",
        "Le bureau se trouve avenue Mohammed V à Rabat.",
        "شارع الحسن الثاني مغلق",
        "La loi 65-99, article 345, fixe le SMIG à 17,92 DH ; le BO n° 5964 bis l'a publié.",
        "الظهير الشريف رقم 1.58.250 والقانون رقم 19.12 والأجر 2.970,00 درهم",
        "Can the CNSS, the CNDP or ANAPEC in Casablanca help within 30 days?",
        "Le Wali de la région Casablanca-Settat et le gouverneur de Settat.",
        "والي الجهة والعامل",
        "Le programme Amal et le lycée Moulay Youssef à Rabat.",
    ],
)
def test_institutions_offices_places_and_legal_references_are_left_alone(text: str) -> None:
    assert found(text) == []


# ------------------------------------------------------------------ addresses
@unit
@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("J'habite 14, rue Ibn Batouta, Agdal, Rabat.", "14, rue Ibn Batouta, Agdal, Rabat"),
        (
            "domicilié au 7 Bd Zerktouni, appt 5, 20000 Casablanca ;",
            "7 Bd Zerktouni, appt 5, 20000 Casablanca",
        ),
        (
            "Send it to Flat 3, 21 Palm Street, Gueliz, Marrakech, please.",
            "Flat 3, 21 Palm Street, Gueliz, Marrakech",
        ),
        ("أسكن في زنقة الياسمين رقم 12 حي الرياض الرباط، وشكرا", "زنقة الياسمين رقم 12 حي الرياض الرباط"),
        ("يقطن بدوار تيزي، جماعة أسني، إقليم الحوز، منذ سنوات", "دوار تيزي، جماعة أسني، إقليم الحوز"),
    ],
)
def test_personal_addresses_are_whole_spans(text: str, address: str) -> None:
    assert ("ADDRESS", address) in found(text)


@unit
def test_an_address_wins_over_the_name_inside_it() -> None:
    assert found("Il habite 9 rue Moulay Youssef, Tanger.") == [("ADDRESS", "9 rue Moulay Youssef, Tanger")]
    a = Entity("ADDRESS", 10, 40, "x" * 30, 0.85)
    p = Entity("PERSON", 20, 35, "y" * 15, 0.95)
    assert resolve_overlaps([p, a]) == [a]


# ------------------------------------------------------------------ lists
@unit
def test_the_name_lists_have_a_few_hundred_entries_each_and_fold_spellings() -> None:
    lex = lexicon()
    for name in (
        "given_names.latin.txt",
        "given_names.arabic.txt",
        "family_names.latin.txt",
        "family_names.arabic.txt",
    ):
        entries = [
            x
            for x in (REPO / "assistant/privacy/data" / name).read_text(encoding="utf-8").splitlines()
            if x.strip() and not x.startswith("#")
        ]
        assert len(entries) >= 200, name
    assert lex.is_given("said") and lex.is_given("امينه")  # Saïd, أمينة: accents, hamza, ta marbuta folded
    assert "cnss" in lex.institutions and "rabat" in lex.places and "الوزير" in lex.offices


# ------------------------------------------------------------------ pseudonymisation
TEXT = "Je suis Karim Alaoui, CIN BE 123456 ; mon frère Karim Alaoui a la CIN be123456 et le 0611223344."
ENTITIES = [
    Entity("PERSON", 8, 20, "Karim Alaoui"),
    Entity("CIN", 26, 35, "BE 123456"),
    Entity("PERSON", 48, 60, "Karim Alaoui"),
    Entity("CIN", 70, 78, "be123456"),
    Entity("PHONE", 85, 95, "0611223344"),
]


@unit
def test_the_fixture_offsets_are_right() -> None:
    assert ENTITIES
    assert all(TEXT[e.start : e.end] == e.text for e in ENTITIES)


@unit
def test_placeholders_are_numbered_per_type_and_restored() -> None:
    out = Pseudonymiser(PrivacyMode.PLACEHOLDERS).pseudonymise(TEXT, entities=ENTITIES)
    assert out.text == (
        "Je suis [PERSON_1], CIN [CIN_1] ; mon frère [PERSON_1] a la CIN [CIN_1] et le [PHONE_1]."
    )
    assert out.mapping == {"[PERSON_1]": "Karim Alaoui", "[CIN_1]": "BE 123456", "[PHONE_1]": "0611223344"}
    assert restore("Bonjour [PERSON_1], votre CIN [CIN_1] [UNKNOWN_2].", out.mapping) == (
        "Bonjour Karim Alaoui, votre CIN BE 123456 [UNKNOWN_2]."
    )


@unit
def test_keyed_pseudonyms_are_stable_under_one_key_only() -> None:
    p = Pseudonymiser(PrivacyMode.PSEUDONYMS, key=KEY)
    out = p.pseudonymise(TEXT, entities=ENTITIES)
    tokens = sorted(out.mapping)
    assert len(tokens) == 3 and all(t.startswith(("[PERSON_", "[CIN_", "[PHONE_")) for t in tokens)
    person = next(t for t in tokens if t.startswith("[PERSON_"))
    assert len(person) == len("[PERSON_]") + TUNING.privacy_pseudonym_hex
    # the same value in another text, another spelling of the same CIN: the same pseudonym
    again = p.pseudonymise("CIN: be 123456", entities=[Entity("CIN", 5, 14, "be 123456")])
    assert set(again.mapping) <= set(out.mapping)
    other = Pseudonymiser(PrivacyMode.PSEUDONYMS, key=bytes(32)).pseudonymise(TEXT, entities=ENTITIES)
    assert set(other.mapping).isdisjoint(out.mapping)
    assert restore(out.text, out.mapping).replace("be123456", "BE 123456") == TEXT.replace(
        "be123456", "BE 123456"
    )
    with pytest.raises(ValueError, match="secret key"):
        Pseudonymiser(PrivacyMode.PSEUDONYMS)


@unit
def test_pseudonymiser_uses_the_detector_it_is_given() -> None:
    p = Pseudonymiser("placeholders", detector=lambda text, lang: find_entities(text))
    assert p.pseudonymise("Appelez Mme Souad Lahlou au 0661 00 11 22.").text == (
        "Appelez Mme [PERSON_1] au [PHONE_1]."
    )


@unit
def test_pseudonym_of_a_text_is_keyed() -> None:
    assert pseudonym("q", KEY) == pseudonym("q", KEY) != pseudonym("q", bytes(32))
    assert len(pseudonym("q", KEY)) == 20


# ------------------------------------------------------------------ answers
@unit
def test_redact_known_removes_the_askers_values_but_never_quoted_law() -> None:
    answer = (
        "Bonjour Amine Tazi. « السيد (ة) رئيس المصلحة يمنح الإجازة لأمين المال » [1]\n"
        "[2] Loi 65-99 — Article 3\n"
        "« Amine Tazi » ne figure pas dans le texte, mais nous vous rappellerons au 06 61 22 33 44."
    )
    out = redact_known(answer, ["Amine Tazi", "0661223344", "أمين", "السيد"])
    assert out.startswith("Bonjour [REDACTED].")
    assert "« السيد (ة) رئيس المصلحة يمنح الإجازة لأمين المال » [1]" in out
    assert "[2] Loi 65-99 — Article 3" in out
    assert "« [REDACTED] » ne figure pas" in out  # a quote without a citation is the asker's own words
    assert out.endswith("au [REDACTED].")
    typed = redact_known("Merci Amine Tazi.", [Entity("PERSON", 0, 10, "Amine Tazi")])
    assert typed == "Merci [PERSON]."
    assert redact_known("Nothing here.", []) == "Nothing here."


@unit
def test_redact_known_matches_whole_words_only() -> None:
    assert redact_known("Ali et Alia, ALI.", ["Ali"]) == "[REDACTED] et Alia, [REDACTED]."


# ------------------------------------------------------------------ measurement
@unit
def test_a_prediction_counts_when_it_covers_half_of_the_labelled_span() -> None:
    gold = (Span("PERSON", 10, 30, "x" * 20),)
    assert match(gold, [Entity("PERSON", 20, 40, "")])[0]  # 10 of 20 characters
    assert not match(gold, [Entity("PERSON", 21, 40, "")])[0]
    assert not match(gold, [Entity("CIN", 10, 30, "")])[0]
    pairs, missed, false = match(gold, [Entity("PERSON", 10, 30, ""), Entity("PERSON", 12, 28, "")])
    assert len(pairs) == 1 and not missed and len(false) == 1


@unit
def test_load_lines_names_the_bad_line(tmp_path: Path) -> None:
    from assistant.errors import DatasetError

    good = {
        "id": "fr-002",
        "language": "fr",
        "text": "Salut Ali",
        "entities": [{"type": "PERSON", "text": "Ali"}],
    }
    path = tmp_path / "l.jsonl"
    path.write_text(json.dumps(good) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"l\.jsonl:2"):
        load_lines(path)
    path.write_text(
        json.dumps(good | {"entities": [{"type": "NAME", "text": "Ali"}]}) + "\n", encoding="utf-8"
    )
    with pytest.raises(DatasetError, match="unknown entity type"):
        load_lines(path)
    path.write_text(json.dumps(good) + "\n" + json.dumps(good | {"id": "fr-003"}) + "\n", encoding="utf-8")
    lines = load_lines(path)
    assert [x.id for x in select(lines, "even")] == ["fr-002"] and [x.id for x in select(lines, "odd")] == [
        "fr-003"
    ]
    with pytest.raises(DatasetError, match="no such file"):
        load_lines(tmp_path / "missing.jsonl")


@unit
def test_privacy_mode_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.settings import Settings

    assert Settings().privacy_mode is PrivacyMode.PLACEHOLDERS
    monkeypatch.setenv("DALIL_PRIVACY_MODE", "pseudonyms")
    assert Settings().privacy_mode is PrivacyMode.PSEUDONYMS
    assert {t.value for t in EntityType} == {
        "PERSON",
        "CIN",
        "PHONE",
        "EMAIL",
        "RIB",
        "CNSS",
        "PASSPORT",
        "DATE_OF_BIRTH",
        "ADDRESS",
    }


@unit
def test_text_without_a_capitalised_latin_word_needs_no_model() -> None:
    from assistant.privacy import detect, redact

    assert [e.type for e in detect("ابني ياسين العلوي، رقم هاتفي ٠٦١٢٣٤٥٦٧٨")] == ["PERSON", "PHONE"]
    assert redact("je m'appelle omar el fassi, cin ab123456") == "je m'appelle [PERSON], cin [CIN]"


# ------------------------------------------------------------------ with spaCy, through Presidio
@integration
def test_detect_through_presidio_and_spacy() -> None:
    from assistant.privacy import detect, redact
    from assistant.privacy.detector import analyzer

    assert analyzer().model == "fr_core_news_md"
    assert sorted(analyzer().engine.get_supported_entities("ar")) == sorted(t.value for t in EntityType)
    assert redact("M. Youssef El Amrani, CIN BE123456.") == "M. [PERSON], CIN [CIN]."
    assert redact("Ingrid Svensson a déposé sa demande hier.", "fr") == "[PERSON] a déposé sa demande hier."
    assert [e.type for e in detect("أنا مريم الفاسي ورقم هاتفي 0612345678")] == ["PERSON", "PHONE"]
    assert detect("Quelles pièces pour la CNSS à Rabat selon la loi 65-99 ?") == []
    assert detect("") == [] and redact("   ") == "   "


@integration
def test_the_analyzer_never_downloads_a_model(monkeypatch: pytest.MonkeyPatch) -> None:
    import spacy.cli

    from assistant.privacy.detector import _Analyzer

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("spacy download attempted")

    monkeypatch.setattr(spacy.cli, "download", refuse)
    fresh = _Analyzer(TUNING)
    assert set(fresh.engine.nlp_engine.nlp) == {"fr", "ar", "en"}
    assert len({id(nlp) for nlp in fresh.engine.nlp_engine.nlp.values()}) == 1  # one model, loaded once


@integration
def test_detect_is_thread_safe() -> None:
    from assistant.privacy import detect

    texts = [f"Mon fils Omar, né le 0{d}/05/2010, CIN JB12345{d}, tél 06 11 22 33 4{d}." for d in range(1, 9)]
    expected = {t: detect(t) for t in texts}
    errors: list[str] = []

    def work(t: str) -> None:
        for _ in range(5):
            if detect(t) != expected[t]:
                errors.append(t)

    threads = [threading.Thread(target=work, args=(t,)) for t in texts * 2]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert len(expected) == len(texts)
    assert all(len(v) == 4 for v in expected.values())


@integration
def test_dalil_privacy_eval_meets_the_targets_on_the_committed_set() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "privacy", "eval", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["lines"] == 194 and report["model"] == "fr_core_news_md"
    for ty, goal in {"CIN": 0.95, "PHONE": 0.95, "EMAIL": 0.95, "RIB": 0.95, "PERSON": 0.85}.items():
        assert report["by_type"][ty]["recall"] >= goal, (ty, report["by_type"][ty])
    assert report["no_pii_untouched"] >= 0.95
    assert report["targets_met"] is True
    assert all(report["by_type"][ty]["precision"] is not None for ty in ("PERSON", "CIN", "PHONE"))
    assert set(report["by_language"]) == {"fr", "ar", "en"}


@integration
def test_dalil_privacy_eval_refuses_a_malformed_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id": "fr-001", "language": "fr", "text": "x", "entities": []}\nnot json\n', encoding="utf-8"
    )
    for path in (bad, tmp_path / "missing.jsonl"):
        run = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "privacy", "eval", "--lines", str(path)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 1
        assert str(path.name) in run.stderr
    assert (
        "bad.jsonl:2"
        in subprocess.run(
            [sys.executable, "-m", "assistant.cli", "privacy", "eval", "--lines", str(bad)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        ).stderr
    )
