"""Exact references in a question: a text ("loi 09-08", "décret 2-08-310", "القانون رقم 19.12")
and/or an article ("article 19", "art. 6 bis", "المادة 19", "الفصل 5")."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.legal import article_key, normalise_law_number
from assistant.sparse import STOPWORDS
from assistant.textnorm import fold, to_ascii_digits
from assistant.tuning import TUNING

_LAW_KEYWORD = (
    r"(?:loi|lois|décret|decret|dahir|arrêté|arrete|code|law|decree|act|القانون|قانون|المرسوم|مرسوم|الظهير|ظهير|"
    r"القرار|قرار)"
)
_LAW = re.compile(
    rf"{_LAW_KEYWORD}(?:\s+(?:organique|n°|no\.?|nº|number|رقم|الشريف|التنظيمي|بقانون))*\s*[:°]?\s*"
    r"(\d{1,3}\s?[-./]\s?\d{2,4}(?:\s?[-./]\s?\d{1,4})?)",
    re.I,
)
_BARE_LAW = re.compile(r"(?<![\d,.])(\d{1,3}[-.]\d{2,4}(?:[-.]\d{1,4})?)(?![\d,])")
_ARTICLE = re.compile(
    r"(?:\barticles?|\bart\.?)\s*(premier|1er|\d+(?:-\d+)?)(?:\s*(bis|ter|quater))?\b"
    r"|(?:المادة|الفصل|المادتين|الفصلين)\s*(\d+|الأولى|الاولى|الأول|الثانية|الثالثة|الرابعة|الخامسة)(?:\s*(مكرر(?:ة)?))?",
    re.I,
)


@dataclass
class References:
    laws: list[str] = field(default_factory=list)
    articles: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.laws or self.articles)


def find_references(question: str, known_laws: set[str] | None = None) -> References:
    text = to_ascii_digits(question)
    laws = [normalise_law_number(m.group(1)) for m in _LAW.finditer(text)]
    if known_laws:
        laws += [n for m in _BARE_LAW.finditer(text) if (n := normalise_law_number(m.group(1))) in known_laws]
    articles = []
    for m in _ARTICLE.finditer(text):
        if m.group(1):
            articles.append(article_key(m.group(1), m.group(2)))
        elif m.group(3):
            articles.append(article_key(m.group(3), m.group(4)))
    return References(list(dict.fromkeys(laws)), list(dict.fromkeys(articles)))


# ---------------------------------------------------------------- texts cited but not indexed
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_AR_PROCLITIC = re.compile(r"^(?:وال|فال|بال|كال|لل|ال|و|ف|ب|ل|ك)(?=\w{3,})")
# a cited text's title ends at the first clause break ("loi n° 35-06 créant la carte ..., promulguée")
_TITLE_END = re.compile(r"[,،;؛:\n]|\.(?!\d)")


def _content_words(text: str) -> list[str]:
    words = []
    for w in _WORD.findall(fold(text, canonical_lam_alef=False)):
        if w in STOPWORDS or len(w) < 2:
            continue
        words.append(_AR_PROCLITIC.sub("", w))
    return words


def _longest_run(question: list[str], title: list[str]) -> list[str]:
    """Longest sequence of consecutive question words that also appear consecutively in the title."""
    best: list[str] = []
    for i in range(len(question)):
        for j in range(len(title)):
            k = 0
            while i + k < len(question) and j + k < len(title) and question[i + k] == title[j + k]:
                k += 1
            if k > len(best):
                best = question[i : i + k]
    return best


def unindexed_governing_texts(
    question: str, passages: list[str], known_laws: set[str], indexed_titles: list[str]
) -> list[str]:
    """The numbers of the texts that the passages cite for the question's very subject but that is not
    indexed ("... la loi n° 35-06 créant la carte nationale d'identité électronique, ..."), when no
    indexed text has that subject in its title: the indexed texts only point to where the answer is.
    The subject is a run of at least three consecutive content words of the question."""
    asked = _content_words(question)
    if len(asked) < TUNING.cited_subject_min_words:
        return []
    found: list[str] = []
    titles = [_content_words(t) for t in indexed_titles]
    for passage in passages:
        text = to_ascii_digits(passage)
        for m in _LAW.finditer(text):
            number = normalise_law_number(m.group(1))
            if number in known_laws:
                continue
            window = text[m.end() : m.end() + TUNING.cited_title_chars]
            cut = _TITLE_END.search(window)
            subject = _longest_run(asked, _content_words(window[: cut.start()] if cut else window))
            if len(subject) < TUNING.cited_subject_min_words:
                continue
            if number not in found and not any(
                len(_longest_run(subject, t)) >= TUNING.cited_subject_min_words for t in titles
            ):
                found.append(number)
    return found
