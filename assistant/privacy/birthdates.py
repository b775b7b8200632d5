"""Dates of birth: a date is one only when a birth cue ("né le", "née le", "date de naissance",
"born on", "المزدادة بتاريخ", "تاريخ الازدياد", "تزاد") comes shortly before it
(`Tuning.privacy_birth_context_chars`) with no other date in between. The date of a text, a
deadline, a passport expiry or a date of death is left alone. Only the date string is returned.

Dates: day/month/year and year/month/day with / . or - (Arabic-Indic digits folded), "22 août 1987",
"4 May 2010", "May 4, 2010", "3 يناير 2001" (Moroccan and Levantine month names), "1er mars 1990",
"فاتح يناير 1990"; after the cue also a month and year, or a year alone ("né en 1985").
"""

from __future__ import annotations

import re

from assistant.privacy.context import cue_regex
from assistant.privacy.entities import Entity, EntityType
from assistant.privacy.lexicon import lexicon, soft_key
from assistant.textnorm import to_ascii_digits
from assistant.tuning import TUNING, Tuning

_MONTHS_FR = (
    "janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|"
    "décembre|decembre|janv\\.?|févr\\.?|fevr\\.?|avr\\.?|juil\\.?|sept\\.?|oct\\.?|nov\\.?|déc\\.?|dec\\.?"
)
_MONTHS_EN = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan\\.?|feb\\.?|mar\\.?|apr\\.?|jun\\.?|jul\\.?|aug\\.?|sep\\.?|sept\\.?|oct\\.?|nov\\.?|dec\\.?"
)
_MONTHS_AR = (
    "يناير|فبراير|مارس|أبريل|ابريل|إبريل|ماي|مايو|يونيو|يونيه|يوليوز|يوليو|غشت|أغسطس|اغسطس|شتنبر|"
    "سبتمبر|أكتوبر|اكتوبر|نونبر|نوفمبر|دجنبر|ديسمبر|كانون الثاني|شباط|آذار|اذار|نيسان|أيار|ايار|"
    "حزيران|تموز|آب|أيلول|ايلول|تشرين الأول|تشرين الاول|تشرين الثاني|كانون الأول|كانون الاول"
)
_MONTH = f"(?:{_MONTHS_FR}|{_MONTHS_EN}|{_MONTHS_AR})"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:er|st|nd|rd|th)?"
_YEAR = r"(?:1[89]\d\d|20\d\d)"
_B = r"(?<![\w/.\-])"
_E = r"(?![\w/]|[.\-]\d)"

DATE = re.compile(
    "|".join(
        [
            rf"{_B}{_DAY}[/.\-](?:1[0-2]|0?[1-9])[/.\-](?:{_YEAR}|\d\d){_E}",  # 12/03/1985, 01-01-48
            rf"{_B}{_YEAR}[/.\-](?:1[0-2]|0?[1-9])[/.\-](?:[12]\d|3[01]|0?[1-9]){_E}",  # 2008/05/04
            rf"{_B}(?:{_DAY}|فاتح)(?:\s+(?:of|de))?\s+{_MONTH}\s*,?\s+(?:سنة\s+)?{_YEAR}{_E}",  # 4 May 2010
            rf"{_B}{_MONTH}\s+{_DAY},?\s+{_YEAR}{_E}",  # May 4, 2010
        ]
    ),
    re.IGNORECASE,
)
# Only right after a birth cue: a month and year, or a year ("né en mars 1985", "born in 1985").
LOOSE_DATE = re.compile(
    rf"\s*(?:le|en|in|on|the|في|سنة|عام|بتاريخ|:)?\s*((?:{_MONTH}\s+)?{_YEAR}){_E}", re.IGNORECASE
)
# Cues that make the date that follows something else than a birth date.
_OTHER_EVENT = re.compile(
    r"(?<![^\W\d_])(?:décédée?|décès|deceased|died|death|expire|expiry|expiration|valable|valid|"
    r"jusqu|until|délivrée?|issued|توفي|توفيت|وفاة|الوفاة|تنتهي|انتهت|صلاحية)",
    re.IGNORECASE,
)


def find_birth_dates(text: str, tuning: Tuning = TUNING) -> list[Entity]:
    folded = to_ascii_digits(text)
    window = tuning.privacy_birth_context_chars
    score = tuning.privacy_scores["context"]
    cues = cue_regex(lexicon().birth_cues)
    found: list[Entity] = []
    dates = list(DATE.finditer(folded))
    previous_end = 0
    for m in dates:
        lo = max(previous_end, m.start() - window)
        before = soft_key(folded[lo : m.start()])
        last_cue = None
        for last_cue in cues.finditer(before):  # noqa: B007 - the last cue before the date
            pass
        previous_end = m.end()
        if last_cue is None or _OTHER_EVENT.search(before, last_cue.end()):
            continue
        found.append(
            Entity(EntityType.DATE_OF_BIRTH.value, m.start(), m.end(), text[m.start() : m.end()], score)
        )
    covered = [(e.start, e.end) for e in found]
    for c in cues.finditer(soft_key(folded)):
        loose = LOOSE_DATE.match(folded, c.end())
        if loose is None:
            continue
        start, end = loose.span(1)
        if not any(s < end and start < e for s, e in covered) and not any(
            d.start() < end and start < d.end() for d in dates
        ):
            found.append(Entity(EntityType.DATE_OF_BIRTH.value, start, end, text[start:end], score))
    return found
