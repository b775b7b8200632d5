"""The date a question is about, read from its own words ("en 2024", "avant 2021", "in May 2025",
"au 1er juin 2026", "سنة 2024", "فشهر دجنبر 2025"): it becomes the validity date of the search when
no date is given, so that what was in force then is preferred.

Only a year introduced as a time ("en", "in", "during", "avant", "سنة", "في" ...) or attached to a
month counts: "la loi du 17 juillet 1978" names a text, "la réforme de 2007" an event, and law
numbers ("65-99", "2.25.983") are never years."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from assistant.textnorm import fold, to_ascii_digits

# month names after folding (accents removed, Arabic letters unified: ة->ه, ى->ي, أ->ا)
_MONTHS = {
    # French
    "janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7,
    "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12,
    # English
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    # Arabic, Moroccan usage and Levantine/Gulf usage
    "يناير": 1, "فبراير": 2, "مارس": 3, "ابريل": 4, "ماي": 5, "مايو": 5, "يونيو": 6,
    "يوليوز": 7, "يوليو": 7, "غشت": 8, "اغسطس": 8, "شتنبر": 9, "سبتمبر": 9, "اكتوبر": 10,
    "نونبر": 11, "نوفمبر": 11, "دجنبر": 12, "ديسمبر": 12,
    "كانون الثاني": 1, "شباط": 2, "اذار": 3, "نيسان": 4, "ايار": 5, "حزيران": 6, "تموز": 7,
    "اب": 8, "ايلول": 9, "تشرين الاول": 10, "تشرين الثاني": 11, "كانون الاول": 12,
}  # fmt: skip
# every month name, folded: a date inside a text's name is not a subject word ("law of 17 July 1978")
MONTH_NAMES = frozenset(w for name in _MONTHS for w in name.split())
_BEFORE = r"(?:avant|before|prior\s+to|قبل)"
_AFTER = r"(?:apres|after|depuis|since|بعد|منذ)"
_IN = (
    r"(?:en|in|during|pendant|durant|au\s+cours\s+de|courant|au|on|as\s+of|at|"
    r"سنه|عام|في|فى|خلال|ف|فـ|فال|لسنه|لعام|بتاريخ)"
)
_YEAR = r"(19[5-9]\d|20[0-4]\d)"
_MONTH = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))
_DAY = r"(?:(\d{1,2})(?:er|st|nd|rd|th)?\s+)?"
# "1er juin 2026", "mai 2025", "March 2026", "شهر مارس 2026", "فشهر دجنبر 2025"
_MONTH_DATE = re.compile(
    rf"(?<!\w){_DAY}(?:(?:ف|في|فـ)?\s*شهر\s+)?(?:ف|في)?({_MONTH})\s+(?:de\s+l'an\s+)?{_YEAR}(?!\d)"
)
# "March 15, 2026"
_US_DATE = re.compile(rf"(?<!\w)({_MONTH})\s+(\d{{1,2}}),?\s+{_YEAR}(?!\d)")
# "15/02/2026", "2026-02-15"
_NUMERIC = re.compile(r"(?<![\d./-])(?:(\d{1,2})[/.](\d{1,2})[/.](\d{4})|(\d{4})-(\d{2})-(\d{2}))(?![\d./-])")
_YEAR_AFTER_WORD = re.compile(
    rf"(?<!\w)(?:({_BEFORE})|({_AFTER})|{_IN})\s*(?:l'annee\s+|the\s+year\s+|year\s+|annee\s+)?{_YEAR}(?![\d./-])"
)
# Arabic prepositions glued to the year ("فـ2023", "ف2023")
_GLUED = re.compile(rf"(?<!\w)(?:ف|فـ|في|ب){_YEAR}(?![\d./-])")


# a date right after a text's name or its promulgation names the text, not the time asked about
# ("la loi du 17 juillet 1978", "decree 2-26-395 of May 2026", "المرسوم الصادر في دجنبر 2025")
_KIND = (
    r"(?:\b(?:loi|lois|law|decret|decree|dahir|code|arrete|order|reforme|reform)|قانون|القانون|مرسوم|المرسوم|"
    r"ظهير|الظهير|قرار|القرار)"
)
_ISSUED = r"(?:\b(?:promulgue\w*|publie\w*|adopte\w*|enacted|issued|published)|صادر|الصادر|الصادره)"
# a time word between a text's kind and the date makes the date the time asked about ("... par décret
# en 2024", "بمرسوم خلال سنة 2024"), not the text's; after "issued"/"الصادر" it still dates the text
_TIME_WORD = r"(?:en|in|during|pendant|durant|courant|خلال|في|فى|سنه|عام)\b"
_NAMES_A_TEXT = re.compile(
    rf"(?:{_KIND}\W*(?:(?!{_TIME_WORD})\w+\W+)?|{_ISSUED}\W*(?:\w+\W+)?"
    # "la loi du 17 juillet 1978", "decree 2-26-395 of May 2026": du / de / of after a kind or a number
    # or after a pronoun standing for a text ("quel décret a remplacé celui d'octobre 2023 ?")
    rf"|(?:{_KIND}|\d+[-./]\d+(?:[-./]\d+)?)\W+(?:[\w.-]+\W+)?(?:du|de|d|of)\W*"
    r"|\b(?:celui|celle|ceux|celles|one|ones)\W+(?:du|de|d|of)\W*)$"
)
_WINDOW_WORDS = 3


_ISSUED_BEFORE = re.compile(rf"{_ISSUED}\W*(?:\w+\W+)?$")


def _names_a_text(text: str, start: int, after_time_word: bool = False) -> bool:
    """Whether the date at `start` dates a text rather than the time asked about. A date introduced
    by a time word ("par décret en 2024", "بمرسوم خلال سنة 2024") dates a text only after its
    promulgation ("promulguée en août 2016", "الصادر في دجنبر 2025")."""
    before = " ".join(text[:start].split()[-_WINDOW_WORDS:]) + " "
    if after_time_word:
        return bool(_ISSUED_BEFORE.search(before))
    return bool(_NAMES_A_TEXT.search(before))


@dataclass(frozen=True)
class AskedDate:
    """The date a question is about, and the words it was read from."""

    date: dt.date
    text: str
    kind: str  # "day", "month", "year", "before", "after"


def _safe(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def asked_date(question: str) -> AskedDate | None:
    """The first date the question is about, or None. A day gives that day; a month its 15th; a
    year its 1 July; "avant 2021" 31 December 2020; "après 2021" 1 January 2022."""
    text = fold(to_ascii_digits(question), canonical_lam_alef=False)
    found: list[tuple[int, AskedDate]] = []
    for m in _NUMERIC.finditer(text):
        if m.group(3):
            d = _safe(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        else:
            d = _safe(int(m.group(4)), int(m.group(5)), int(m.group(6)))
        if d:
            found.append((m.start(), AskedDate(d, m.group(0), "day")))
    for m in _US_DATE.finditer(text):
        d = _safe(int(m.group(3)), _MONTHS[m.group(1)], int(m.group(2)))
        if d:
            found.append((m.start(), AskedDate(d, m.group(0), "day")))
    for m in _MONTH_DATE.finditer(text):
        day = int(m.group(1)) if m.group(1) else None
        d = _safe(int(m.group(3)), _MONTHS[m.group(2)], day or 15)
        if d:
            found.append((m.start(), AskedDate(d, m.group(0).strip(), "day" if day else "month")))
    taken = [(start, start + len(a.text)) for start, a in found]
    timed: set[int] = set()  # years introduced by a time word ("en 2024", "خلال سنة 2024")
    for pattern in (_YEAR_AFTER_WORD, _GLUED):
        for m in pattern.finditer(text):
            if any(s <= m.start() < e or s < m.end() <= e for s, e in taken):
                continue
            year = int(m.group(m.lastindex or 0))
            if pattern is _YEAR_AFTER_WORD and m.group(1):
                found.append((m.start(), AskedDate(dt.date(year - 1, 12, 31), m.group(0), "before")))
            elif pattern is _YEAR_AFTER_WORD and m.group(2):
                found.append((m.start(), AskedDate(dt.date(year + 1, 1, 1), m.group(0), "after")))
            else:
                found.append((m.start(), AskedDate(dt.date(year, 7, 1), m.group(0), "year")))
                timed.add(m.start())
            taken.append((m.start(), m.end()))
    found = [(start, a) for start, a in found if not _names_a_text(text, start, start in timed)]
    if not found:
        return None
    return min(found, key=lambda f: f[0])[1]
