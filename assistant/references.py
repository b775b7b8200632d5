"""Exact references in a question: a text ("loi 09-08", "décret 2-08-310", "القانون رقم 19.12")
and/or an article ("article 19", "art. 6 bis", "المادة 19", "الفصل 5")."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.legal import article_key, normalise_law_number
from assistant.sparse import STOPWORDS, terms
from assistant.temporal import MONTH_NAMES
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
    # laws quoted in passing, to describe who or what the question is about ("les salariés soumis à
    # la loi 65-99 …", "sa CNIE (loi 35-06)"): a soft boost, never a filter or a reason to refuse
    in_passing: list[str] = field(default_factory=list)
    # texts named by kind and subject that no indexed text is called ("le code pénal"), as written
    unindexed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.laws or self.articles)

    @property
    def asked(self) -> list[str]:
        """The laws the question asks about."""
        return [n for n in self.laws if n not in self.in_passing]


# a law named to describe the asker's situation, not as the text asked about
_PASSING_BEFORE = re.compile(
    r"(?:soumis|soumise|soumises|assujetti\w*|relevant|releve|regi|regie|regis|regies|couvert\w*|prevu\w*\s+par|"
    r"covered|governed|subject|falls?|falling|"
    r"تحت|الخاضع\w*|خاضع\w*|مشمول\w*|المنصوص\s+عليه\w*\s+في)"
    r"(?:\s+(?:a|à|au|aux|de|du|des|la|le|les|l'|by|to|under|par|in|في|ل|ب))*\s*(?:\w+\s+){0,2}$",
    re.I,
)


_NAMES_TEXT = re.compile(
    r"\b(?:loi|lois|code|decret|dahir|arrete|law|decree|act|code)\b[^()]*$|(?:قانون|مرسوم|ظهير|مدونه)[^()]*$"
)


def _in_passing(text: str, start: int, end: int) -> bool:
    before = fold(text[max(0, start - 60) : start], canonical_lam_alef=False)
    opening = text.rfind("(", 0, start)
    inside_parentheses = opening > text.rfind(")", 0, start) and ")" in text[end : end + 5]
    # "la loi de finances 2026 (loi 50-25)" gives a text's number; "sa CNIE (loi 35-06)" a description
    if inside_parentheses and _NAMES_TEXT.search(
        fold(text[max(0, opening - 40) : opening], canonical_lam_alef=False)
    ):
        inside_parentheses = False
    return inside_parentheses or bool(_PASSING_BEFORE.search(before))


_NAME_TOKEN = re.compile(r"\d+|[^\W\d_]+", re.UNICODE)


@dataclass(frozen=True)
class TextName:
    """A name a text goes by ("Code du travail", "associations dahir", "مدونة الشغل"): its content
    words, each as the set of index terms it may appear as, and the text's law number."""

    language: str
    words: tuple[frozenset[str], ...]
    law: str
    # a one-word name in Latin script is matched only as written with its capital ("la Constitution",
    # not "la constitution d'une association")
    capital: str | None = None


def text_name(name: str, language: str, law: str) -> TextName | None:
    tokens = [w for w in _NAME_TOKEN.findall(to_ascii_digits(name)) if _word_terms(w, language)]
    words = tuple(frozenset(_word_terms(w, language)) for w in tokens)
    capital = tokens[0] if len(tokens) == 1 and tokens[0][:1].isupper() else None
    return TextName(language, words, normalise_law_number(law), capital) if words else None


def _word_terms(word: str, language: str) -> set[str]:
    folded = fold(word, canonical_lam_alef=False)
    if folded in STOPWORDS or len(folded) < 2:
        return set()
    return set(terms(word, language))


def _named_by_title(text: str, language: str, names: list[TextName]) -> list[tuple[str, int, int]]:
    """(law, start, end) of every text the question calls by one of its names: all the name's words
    within a window of the question a little longer than the name."""
    tokens = [
        (m.start(), m.end(), ts)
        for m in _NAME_TOKEN.finditer(text)
        if (ts := _word_terms(m.group(0), language))
    ]
    found = []
    for name in names:
        if name.language != language:
            continue
        width = len(name.words) + TUNING.name_window_slack
        for i in range(len(tokens)):
            window = tokens[i : i + width]
            if not any(window[0][2] & w for w in name.words):
                continue  # a window starts on one of the name's words
            if name.capital and not text[window[0][0] : window[0][1]][:1].isupper():
                continue
            if all(any(ts & w for _, _, ts in window) for w in name.words):
                found.append((name.law, window[0][0], window[-1][1]))
                break
    return found


def find_references(
    question: str,
    known_laws: set[str] | None = None,
    names: list[TextName] | None = None,
    language: str | None = None,
) -> References:
    """The texts and articles a question names: by number ("loi 09-08"), by a bare number that is a
    known text's, or by one of a text's names in the question's language ("le Code du travail")."""
    text = to_ascii_digits(question)
    laws = []
    passing = []
    for m in _LAW.finditer(text):
        number = normalise_law_number(m.group(1))
        laws.append(number)
        if _in_passing(text, m.start(), m.end()):
            passing.append(number)
    if names and language:
        for number, start, end in _named_by_title(text, language, names):
            if number in laws:
                continue
            laws.append(number)
            if _in_passing(text, start, end):
                passing.append(number)
    if known_laws:
        laws += [n for m in _BARE_LAW.finditer(text) if (n := normalise_law_number(m.group(1))) in known_laws]
    articles = []
    for m in _ARTICLE.finditer(text):
        if m.group(1):
            articles.append(article_key(m.group(1), m.group(2)))
        elif m.group(3):
            articles.append(article_key(m.group(3), m.group(4)))
    # a law named in passing and also asked about (elsewhere in the question) is asked about
    asked_elsewhere = {n for n in laws if laws.count(n) > passing.count(n)}
    passing = [n for n in dict.fromkeys(passing) if n not in asked_elsewhere]
    return References(list(dict.fromkeys(laws)), list(dict.fromkeys(articles)), passing)


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


# ---------------------------------------------------------------- texts named by a title no indexed text has
# A code or a constitution named by its title ("le code pénal", "the Penal Code", "the Code of
# Obligations and Contracts", "قانون المسطرة الجنائية", "مدونة التجارة", "the 1996 Constitution"):
# codes and constitutions are a closed family of titled texts. "La loi sur le licenciement", "required
# by law", "القانون المنظم للشغل" say what the law says about a subject, not which text: never taken.
_STOP = r"(?=\s*(?:[,.;:?!؟،()]|$|\s(?:qui|que|pour|est|sont|a|ont|doit|prévoit|prevoit|fixe|dit|selon|en|au|dans|lorsque|si|set|say|says|sets|provide|provides|require|requires|for|in|on|about)\b))"
# what may stand before "Code" in an English title ("the Penal Code", "the Tax Code"); "dress code" is none
_EN_CODES = (
    r"penal|civil|criminal|commercial|commerce|tax|family|labour|labor|nationality|customs|electoral|road|"
    r"highway|investment|trade|procedure|procedural|administrative|maritime|mining|forestry|land|urban|"
    r"insurance|banking|health|election|election|postal|personal\s+status"
)
_MENTIONS: dict[str, list[re.Pattern[str]]] = {
    "fr": [
        re.compile(
            r"\b[Cc]ode\s+((?:pénal|penal|civil|général|general|de\s+procédure|de\s+procedure|de\s+commerce|"
            r"de\s+la\s+route|des\s+\w+|du\s+\w+|de\s+la\s+\w+|de\s+l['’]\w+)(?:\s+(?:et\s+)?(?:des\s+|du\s+|de\s+la\s+)?\w+){0,3}?)"
            + _STOP
        ),
        re.compile(r"\b[Cc]onstitution\s+((?:de|du|of)\s+(?:\d{4}))"),
    ],
    "en": [
        re.compile(rf"\b((?:\d{{4}}\s+)?(?:{_EN_CODES}))\s+[Cc]ode\b", re.I),
        re.compile(r"\b(\d{4}(?:\s+[Mm]oroccan)?)\s+[Cc]onstitution\b"),
        re.compile(r"\b[Cc]onstitution\s+(of\s+\d{4})\b"),
        re.compile(
            r"\b[Cc]ode\s+(of\s+(?:the\s+)?(?:[A-Z][\w'-]*|and|of|the)(?:\s+(?:[A-Z][\w'-]*|and|of|the)){0,5})"
        ),
    ],
    "ar": [
        re.compile(r"(?:قانون|مدونة|مدونه)\s+((?:ال\w+)(?:\s+(?:ال\w+|و\w+)){0,3})"),
        re.compile(r"(?:دستور|الدستور)\s+((?:سنة|لسنة|عام)?\s*\d{4})"),
    ],
}
# what qualifies a text rather than names it: "القانون المنظم للشغل", "القانون اللي كينظم ..."
_QUALIFIERS_AR = set(
    "المنظم المنظمه المتعلق المتعلقه المحدد المحدده الخاص الخاصه الساري المطبق المؤطر المعدل المتمم الصادر "
    "الذي التي اللي المذكور الجاري المعمول الجديد الحالي الاساسي".split()
)
# words that describe any text of the country, not one text
_GENERIC = {
    "fr": "marocain marocaine marocains marocaines maroc actuel actuelle actuellement vigueur applicable nouveau "
    "nouvelle royaume loi code texte",
    "en": "moroccan morocco current currently applicable new kingdom the a an this that my our its law code act "
    "under does do did what which who how is are was were say says said in on at to for by from with about "
    "according per as and or if can could would should must may will",
    "ar": "المغربي المغربية المغرب الحالي الحالية الجديد الجديدة المملكة المعمول",
}


@dataclass(frozen=True)
class IndexedName:
    """The words (index terms) and years of what one indexed text is called in one language: its
    names, and its title and reference in its own language."""

    language: str
    words: frozenset[str]
    years: frozenset[str]


_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")


def indexed_names(by_language: dict[str, list[str]]) -> list[IndexedName]:
    """One text's entries: per language, the words of what it is called there; the years found in
    any of them belong to every entry (a text's year does not depend on the language)."""
    years = frozenset(y for ts in by_language.values() for t in ts for y in _YEAR.findall(to_ascii_digits(t)))
    return [
        IndexedName(
            lang,
            frozenset(x for t in ts for x in terms(to_ascii_digits(t), lang) if not x[0].isdigit()),
            years,
        )
        for lang, ts in by_language.items()
        if ts
    ]


def _generic(language: str) -> set[str]:
    return set(terms(_GENERIC.get(language, ""), language))


def unindexed_mentions(question: str, language: str, indexed: list[IndexedName]) -> list[str]:
    """The texts the question names by kind and subject ("le code pénal", "قانون المسطرة الجنائية",
    "the 1996 Constitution") that no indexed text is called: every subject word among the words of
    one indexed text's names or title, and its year, if the mention gives one, among that text's
    years. As written in the question."""
    text = to_ascii_digits(question)
    generic = _generic(language)
    found: list[str] = []
    for i, pattern in enumerate(_MENTIONS.get(language, [])):
        for m in pattern.finditer(text):
            subject = m.group(1)
            years = set(_YEAR.findall(subject))
            words = [
                t
                for w in _NAME_TOKEN.findall(subject)
                if not w.isdigit()
                and fold(w, canonical_lam_alef=False) not in MONTH_NAMES
                and (t := [x for x in terms(w, language) if not x.startswith("~")])
                and not set(t) & generic
            ]
            if language == "en" and i == 0:
                words.reverse()  # "the tax code": the word next to "code" says which code
            if not words and not years:
                continue
            if language == "ar" and fold(subject.split()[0], canonical_lam_alef=False) in _QUALIFIERS_AR:
                continue
            # the subject may run on into the question ("مدونة الشغل والسن الأدنى"): the word next to
            # the kind of text says which text it is, and a year, if given, must be the text's
            head = set(words[0]) if words else set()
            if any(n.language == language and head <= n.words and years <= n.years for n in indexed):
                continue
            mention = _trim(m.group(0).strip(), language, generic)
            if mention not in found:
                found.append(mention)
    return found


def _trim(mention: str, language: str, generic: set[str]) -> str:
    """The mention without the asking and describing words it starts with ("does the Moroccan penal
    code" -> "penal code")."""
    words = mention.split()
    while len(words) > 1 and fold(words[0], canonical_lam_alef=False) not in _KINDS:
        stems = set(terms(words[0], language))
        if stems and not stems & generic:
            break
        words.pop(0)
    return " ".join(words)


_KINDS = {
    "code",
    "loi",
    "law",
    "act",
    "dahir",
    "decret",
    "decree",
    "constitution",
    "قانون",
    "مدونه",
    "ظهير",
    "مرسوم",
}
