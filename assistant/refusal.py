"""Whether the indexed texts answer a question, decided from several signals rather than one cosine.

Signals (`Signals`), all computed from the question, the passages retrieved for it and the index:

- **similarity**: cosine of the question with the closest chunk the asker may see (the encoder's
  scale differs between languages, hence the language terms of the decision);
- **coverage**: share of the question's key words found in the top passages, in their language
  or through the trilingual glossary and the passages' own stemmer (a French question quoting an
  Arabic article is covered through its translations);
- **unknown**: the question's key words that no indexed chunk contains in any language ("Tunisie",
  "SARL", "FIFA"): a near miss asks about something the corpus never mentions; among them, a country
  no indexed text mentions (any script: "Algeria", "تونس"; lexicon/countries.yaml) asks about
  another country's rules;
- **in force**: when the question is about a date, the share of the top passages in force then;
- **amount missing**: the question asks for an amount of money or a rate ("combien coûte …", "what is
  the minimum share capital", "ما هو السعر العادي …") and none of the top passages states one (no
  sum in dirhams, no percentage): a near miss on a fee, a tax rate or a company-law figure;
- **not a question**: markup, a single unknown token, nothing to search for.

The decision is a logistic model over these signals (weights in `assistant.tuning`, fitted on the
calibration half of eval/sets/questions.jsonl); its margin is the log-odds distance to the
threshold, printed by the evaluation. A refusal says why and what would help."""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.lexicon import concepts, country_names
from assistant.sparse import terms
from assistant.textnorm import fold
from assistant.tuning import TUNING

_TOKEN = re.compile(r"[^\W\d_]+|\d{4}", re.UNICODE)
_MARKUP = re.compile(
    r"<[^<>]{0,200}>|\b(?:javascript|alert|onerror|onload)\s*[:(]|[{}]|\b(?:select|drop)\s+\w+\s+from\b", re.I
)
# words that ask rather than say: they are never in a legal text and carry no subject
_ASKING = {
    "fr": set(
        "quel quelle quels quelles combien comment pourquoi quand qui quoi est-ce peut peuvent doit doivent "
        "faut faire fait avoir etre suis sommes etes ai as avez avons mon ma mes notre nos votre vos je tu "
        "nous vous on me te moi toi svp merci bonjour selon maroc marocain marocaine exactement quelqu "
        "dois puis veux voudrais aimerais savoir dire dites est-il existe-t-il combien-de".split()
    ),
    "en": set(
        "what which who whom whose how why when where does do did can could must should would will my me i "
        "you your we our us please tell know morocco moroccan exactly any there much many is are was were "
        "has have had get got been being under according".split()
    ),
    "ar": set(
        "ما ماذا هل كم كيف متى لماذا اين من هي هو هم ماهي ماهو شنو شنوا شحال واش كيفاش علاش فين منين "
        "اشنو اش بغيت نعرف عافاك المغرب المغربي المغربيه حسب ديال ديالي ليا لي كاين كاينه خاص خصني يمكن "
        "يجب عندي كان كانت ممكن".split()
    ),
}


# a question that asks for a sum of money or a rate: the asking form and the noun together, so that
# "cela lui coûte-t-il quelque chose ?" (yes or no: free of charge) is not one
_AMOUNT_NOUNS_LATIN = (
    r"montant|co[uû]t|prix|tarif|frais|capital|cotisation|taux|pourcentage|"
    r"amount|fee|fees|cost|price|capital|contribution|rate|percentage"
)
_NOUN = "(?:" + _AMOUNT_NOUNS_LATIN + r")\b"
_ASKS_AMOUNT = re.compile(
    "|".join(
        (
            r"\bcombien\s+(?:co[uû]te|co[uû]tent|faut-il\s+payer|doit-on\s+payer|dois-je\s+payer|paie-t-on)\b",
            r"\bà\s+combien\s+s'élève",
            r"\bhow\s+much\s+(?:does|do|did|will|would|is|are|was)\b[^?]*\b(?:cost|pay|charge|fee)",
            r"\bquel(?:le)?s?\s+(?:est|sont|était|étaient)\s+(?:le|la|les|l')\s*(?:\w+\s+){0,2}" + _NOUN,
            r"\bquel(?:le)?s?\s+(?:\w+\s+){0,1}" + _NOUN,
            r"\bwhat\s+(?:is|are|was|were)\s+the\s+(?:\w+\s+){0,3}" + _NOUN,
            r"(?<!\w)(?:كم|بكم|شحال)\s+(?:\S+\s+){0,1}(?:يكلف|تكلف|(?:ال)?(?:ثمن|مبلغ|رسوم|رسم|واجب|نسبة|سعر)|"
            r"(?:ك|كي|كن|كت|ن|ت|ي)?(?:خلص|تخلص)(?:و|وني|ونا|وه|وها)?\b)",
            # Darija: "شحال ؟" closing a question about a grant, a fee or a wage ("... منحة ...؟ شحال؟")
            r"(?:منحه|منحة|تعويض|درهم|فلوس|ثمن)[^؟?]*[؟?]\s*شحال\s*[؟?]",
            r"(?<!\w)ما\s+(?:هو|هي)\s+(?:\S+\s+){0,1}(?:ال)?(?:مبلغ|ثمن|سعر|رسم|رسوم|واجب|نسبة|قيمة|رأسمال|رأس\s+المال)",
        )
    ),
    re.I,
)
_STATES_AMOUNT = re.compile(
    r"\d[\d\s.,]*\s*(?:dirhams?|dh|mad|euros?|%)|\bdirhams?\b|pour\s*cent|(?<!\w)درهما?(?!\w)|دراهم|"
    r"في\s*الم[ئا]ة|بالم[ئا]ة|%",
    re.I,
)


def asks_for_amount(question: str) -> bool:
    """Whether the question asks for a sum of money or a rate (not whether something is free)."""
    return bool(_ASKS_AMOUNT.search(question))


def states_amount(text: str) -> bool:
    """Whether a passage states a sum of money (dirhams) or a rate (a percentage)."""
    return bool(_STATES_AMOUNT.search(text))


@dataclass(frozen=True)
class Signals:
    """What the refusal decision is made from (see the module's description)."""

    language: str
    similarity: float
    coverage: float
    # the encoder's reference point (Tuning.min_similarity): the decision reads the similarity
    # relative to it, so that one set of weights serves encoders with different scales
    similarity_floor: float = 0.0
    unknown: tuple[str, ...] = ()
    key_words: int = 0
    in_force_share: float = 1.0
    top_in_force: bool = True
    # the texts with validity dates among the top passages: was one of them in force on the asked
    # date (None: no date asked, no dated text, or the question names the text it asks about)
    dated_in_force: bool | None = None
    names: tuple[str, ...] = ()
    asked_date: dt.date | None = None
    future: bool = False
    not_a_question: bool = False
    # the question asks for an amount or a rate and no top passage states one
    amount_missing: bool = False
    # the question's words naming a country that no indexed text names, in any language
    country_unknown: tuple[str, ...] = ()

    @property
    def named_unknown(self) -> tuple[str, ...]:
        """Unknown words written as names (a capital inside a sentence, an acronym): "Tunisie", "SARL"."""
        return tuple(w for w in self.unknown if w in self.names)

    @property
    def unknown_share(self) -> float:
        return len(self.unknown) / self.key_words if self.key_words else 0.0

    def features(self) -> dict[str, float]:
        """The decision's inputs, by name (the names of `Tuning.refusal_weights`)."""
        return {
            "similarity": self.similarity - self.similarity_floor,
            "coverage": self.coverage,
            "unknown_share": self.unknown_share,
            "any_unknown": 1.0 if self.unknown else 0.0,
            "named_unknown": 1.0 if self.named_unknown else 0.0,
            "not_in_force": 1.0 - self.in_force_share,
            "top_not_in_force": 0.0 if self.top_in_force else 1.0,
            "future": 1.0 if self.future else 0.0,
            "amount_missing": 1.0 if self.amount_missing else 0.0,
            "country_unknown": 1.0 if self.country_unknown else 0.0,
            "lang_ar": 1.0 if self.language == "ar" else 0.0,
            "lang_en": 1.0 if self.language == "en" else 0.0,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "similarity": round(self.similarity, 4),
            "similarity_floor": round(self.similarity_floor, 4),
            "coverage": round(self.coverage, 4),
            "unknown": list(self.unknown),
            "names": list(self.names),
            "dated_in_force": self.dated_in_force,
            "key_words": self.key_words,
            "in_force_share": round(self.in_force_share, 4),
            "top_in_force": self.top_in_force,
            "asked_date": self.asked_date.isoformat() if self.asked_date else None,
            "future": self.future,
            "not_a_question": self.not_a_question,
            "amount_missing": self.amount_missing,
            "country_unknown": list(self.country_unknown),
        }


@dataclass(frozen=True)
class Decision:
    """The refusal decision: `answers` is the model's verdict, `margin` its log-odds distance to the
    threshold (positive: answered; negative: refused), `reason` a key of the prompts' refusal texts."""

    answers: bool
    margin: float
    reason: str | None = None
    signals: Signals | None = None
    details: dict[str, str] = field(default_factory=dict)


def _variants(
    word: str, language: str, other_languages: Iterable[str], glossary: dict[str, set[str]]
) -> set[str]:
    """The index terms one question word may appear as: its own stem, its stem in the passages'
    languages (cognates: "indemnity"/"indemnité"), and the terms of the glossary concepts it is
    part of ("période d'essai" -> فترة الاختبار, probation)."""
    out = set(terms(word, language))
    for lang in other_languages:
        out |= set(terms(word, lang))
    return out | glossary.get(word, set())


def _glossary_terms(question: str, language: str) -> dict[str, set[str]]:
    """For each folded question word that names a glossary concept, the index terms of that concept
    in every language."""
    out: dict[str, set[str]] = {}
    for matched, entry in concepts(question, language):
        equivalents: set[str] = set()
        for lang, words in entry.items():
            for w in words:
                equivalents |= set(terms(w, lang))
        for w in _TOKEN.findall(matched):
            out.setdefault(w, set()).update(equivalents)
    return out


def key_words(question: str, language: str) -> list[str]:
    """The question's words that carry its subject (asking words and stopwords removed), folded."""
    asking = _ASKING.get(language, set())
    out = []
    for w in _TOKEN.findall(fold(question, canonical_lam_alef=False)):
        if w in asking or len(w) < 3 or w.isdigit() and not 1900 <= int(w) <= 2100:
            continue
        if not terms(w, language):
            continue
        out.append(w)
    return list(dict.fromkeys(out))


class Vocabulary:
    """Every index term of the visible chunks, per language; built once per index state."""

    def __init__(self) -> None:
        self._terms: set[str] = set()
        self._count = -1
        self._lock = threading.Lock()

    def refresh(self, count: int, payloads: Iterable[dict[str, Any]]) -> None:
        with self._lock:
            if count == self._count:
                return
            vocab: set[str] = set()
            for p in payloads:
                text = "\n".join(x for x in (p.get("title"), p.get("article_title"), p.get("text")) if x)
                vocab.update(terms(text, str(p.get("language") or "fr")))
            self._terms, self._count = vocab, count

    def is_stale(self, count: int) -> bool:
        return count != self._count

    def __contains__(self, term: object) -> bool:
        return term in self._terms


_NAME = re.compile(r"(?<![\w'’-])([A-ZÀ-Ý][\w'’-]*)", re.UNICODE)
_SENTENCE_START = re.compile(r"(?:^|[.?!:;«\"(]\s*)$")


def names_in(question: str, language: str) -> list[str]:
    """The folded words of a Latin-script question written as names: a capital letter inside a
    sentence, or an acronym anywhere ("SARL", "AMO", "Tunisie", "Algeria")."""
    if language == "ar":
        return []
    out = []
    for m in _NAME.finditer(question):
        word = m.group(1)
        acronym = len(word) >= 2 and word.isupper()
        if acronym or not _SENTENCE_START.search(question[: m.start()]):
            out.extend(_TOKEN.findall(fold(word, canonical_lam_alef=False)))
    return list(dict.fromkeys(out))


# greetings and thanks: a message made only of them asks nothing ("Bonjour, merci beaucoup pour votre aide !")
_COURTESY = set(
    "bonjour bonsoir salut merci beaucoup aide remercie remerciements cordialement allez vas coucou "
    "hello thanks thank help much lot regards today doing fine good morning evening afternoon "
    "السلام عليكم عليك مرحبا اهلا شكرا جزيلا بزاف الله يعطيك الصحه علي مساعدتك المساعده لاباس بخير "
    "كيداير كيدايره كيدايرين كيف داير دايره صباح مساء الخير النور".split()
)
# a message that is only a web address: nothing is asked
_ONLY_URL = re.compile(r"^\s*(?:https?://|www\.)\S+\s*$", re.I)


def is_not_a_question(question: str, language: str) -> bool:
    """Markup or code, a web address alone, greetings and thanks alone, or no word that could name a
    subject."""
    if _ONLY_URL.match(question):
        return True
    if _MARKUP.search(question):
        stripped = _MARKUP.sub(" ", question)
        return len(key_words(stripped, language)) < 2
    words = key_words(question, language)
    return not words or all(w in _COURTESY for w in words)


def signals(
    question: str,
    language: str,
    similarity: float,
    passages: Sequence[tuple[str, str, bool]],
    vocabulary: Vocabulary | None,
    asked: dt.date | None = None,
    today: dt.date | None = None,
    similarity_floor: float = 0.0,
    dated_in_force: bool | None = None,
) -> Signals:
    """`passages`: (text, language, in force on the asked date) of the top passages, best first."""
    words = key_words(question, language)
    langs = sorted({lang for _, lang, _ in passages} | {language})
    passage_terms: set[str] = set()
    for text, lang, _ in passages:
        passage_terms.update(terms(text, lang))
    covered = 0
    unknown: list[str] = []
    glossary = _glossary_terms(question, language)
    for w in words:
        variants = _variants(w, language, [x for x in langs if x != language], glossary)
        if variants & passage_terms:
            covered += 1
        elif vocabulary is not None and not any(v in vocabulary for v in variants):
            unknown.append(w)
    in_force = [ok for _, _, ok in passages]
    today = today or dt.date.today()
    return Signals(
        language=language,
        similarity=similarity,
        similarity_floor=similarity_floor,
        coverage=covered / len(words) if words else 0.0,
        unknown=tuple(unknown),
        key_words=len(words),
        in_force_share=(sum(in_force) / len(in_force)) if (asked and in_force) else 1.0,
        top_in_force=in_force[0] if (asked and in_force) else True,
        dated_in_force=dated_in_force if asked else None,
        names=tuple(names_in(question, language)),
        asked_date=asked,
        future=bool(asked and asked.year > today.year),
        # markup, or one lone word that no indexed text contains ("asdfgh")
        not_a_question=is_not_a_question(question, language) or (len(words) == 1 and len(unknown) == 1),
        amount_missing=asks_for_amount(question) and not any(states_amount(text) for text, _, _ in passages),
        country_unknown=tuple(w for w in words if vocabulary is not None and _unknown_country(w, vocabulary)),
    )


def _unknown_country(word: str, vocabulary: Vocabulary) -> bool:
    """A word naming a country none of whose names, in any language, an indexed text contains."""
    names = country_names(word)
    return bool(names) and not any(t in vocabulary for lang, name in names for t in terms(name, lang))


def log_odds(sig: Signals, weights: dict[str, float]) -> float:
    """The logistic model's log-odds that the texts answer (bias under "bias")."""
    feats = sig.features()
    return weights.get("bias", 0.0) + sum(weights.get(k, 0.0) * v for k, v in feats.items())


def probability(sig: Signals, weights: dict[str, float]) -> float:
    z = log_odds(sig, weights)
    return 1.0 / (1.0 + math.exp(-z)) if z > -60 else 0.0


def decide(sig: Signals, weights: dict[str, float] | None = None, threshold: float | None = None) -> Decision:
    """Answer or refuse, and why. Rules first (not a question, a question about a date no
    indexed text on the subject covered), then the calibrated model."""
    weights = TUNING.refusal_weights if weights is None else weights
    threshold = TUNING.refusal_log_odds if threshold is None else threshold
    margin = log_odds(sig, weights) - threshold
    if sig.not_a_question:
        return Decision(False, min(margin, -1.0), "not_a_question", sig)
    if sig.asked_date and sig.dated_in_force is False:
        return Decision(False, min(margin, -1.0), "period", sig, {"date": sig.asked_date.isoformat()})
    if margin >= 0:
        return Decision(True, margin, None, sig)
    if sig.amount_missing:
        return Decision(False, margin, "amount_missing", sig)
    if sig.named_unknown or sig.country_unknown:
        named = list(dict.fromkeys([*sig.country_unknown, *sig.named_unknown]))
        return Decision(False, margin, "unknown_terms", sig, {"terms": ", ".join(named[:3])})
    return Decision(False, margin, "low_relevance", sig)
