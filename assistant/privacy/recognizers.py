"""Moroccan identifiers by format and context: CIN, phone, e-mail, RIB / IBAN, CNSS, passport.

Every pattern runs on the text with Arabic-Indic digits (٠-٩, ۰-۹) folded to ASCII, one character
for one, so offsets are those of the original text and "BK٣٤٥٦٧٨" is a CIN like "BK345678".
Formats that are unambiguous on their own (an e-mail, a Moroccan phone number, 24 digits, an IBAN,
two letters and seven digits) need no context; the others need their cue word shortly before
(`Tuning.privacy_context_chars`): "cin ee98765", "immatriculée sous le n° 123456789",
"passport number 533987214". A 9-digit number goes to the type whose cue is nearest (passport,
phone or CNSS); with no cue at all it is a CNSS number at the "bare" score.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from assistant.privacy.context import cue_distance
from assistant.privacy.entities import Entity, EntityType
from assistant.privacy.lexicon import lexicon
from assistant.textnorm import to_ascii_digits
from assistant.tuning import TUNING, Tuning

_NO_ALNUM_BEFORE = r"(?<![A-Za-z0-9])"
_NO_ALNUM_AFTER = r"(?![A-Za-z0-9])"
_SEP = r"(?:\s?[.\-]\s?|\s)?"  # one separator between digit groups: space, dot or dash

EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)

# Moroccan numbers: +212 / 00212 / (+212) then 9 digits starting 5-8 (a trunk 0 tolerated), or
# the national form 0[5-8] + 8 digits, grouped any way.
PHONE_MA_INTL = re.compile(
    r"(?:\(\s?(?:\+|00)\s?212\s?\)|(?<![\d+])(?:\+|00)\s?212)"
    rf"{_SEP}(?:\(0\){_SEP}|0{_SEP})?[5-8](?:{_SEP}\d){{8}}(?!{_SEP}\d)"
)
PHONE_MA = re.compile(rf"(?<![\d+.\-/])(?:0|212{_SEP})[5-8](?:{_SEP}\d){{8}}(?!{_SEP}\d)(?![/])")
# Other countries: + or 00, a country code, 7 to 12 more digits.
PHONE_INTL = re.compile(
    rf"(?:\(\s?\+\s?[1-9]\d{{0,2}}\s?\)|(?<![\d+])(?:\+|00)[1-9]\d{{0,2}})(?:{_SEP}\(?0\)?)?(?:{_SEP}\d){{7,12}}(?!{_SEP}\d)"
)

RIB = re.compile(r"(?<![\dA-Za-z])\d(?:[ .\-]?\d){23}(?![ .\-]?\d)")
IBAN_MA = re.compile(rf"{_NO_ALNUM_BEFORE}MA\s?\d{{2}}(?:[ \-]?\d){{24}}(?![ \-]?\d)", re.IGNORECASE)
IBAN = re.compile(rf"{_NO_ALNUM_BEFORE}[A-Z]{{2}}\d{{2}}(?:[ ]?[A-Z0-9]){{11,30}}{_NO_ALNUM_AFTER}")

CIN = re.compile(rf"{_NO_ALNUM_BEFORE}([A-Za-z]{{1,2}})([ \-]?)(\d{{4,6}}){_NO_ALNUM_AFTER}(?![ .\-]?\d)")
PASSPORT_MA = re.compile(rf"{_NO_ALNUM_BEFORE}[A-Za-z]{{2}}\d{{7}}{_NO_ALNUM_AFTER}")
# Any other passport number: 6-9 letters and digits with at least 3 digits (cue required)
PASSPORT_OTHER = re.compile(
    rf"{_NO_ALNUM_BEFORE}(?=[A-Za-z0-9]*\d(?:[A-Za-z]*\d){{2}})[A-Za-z0-9]{{6,9}}{_NO_ALNUM_AFTER}"
)
# nine digits, contiguous or grouped any way ("123456789", "301 245 678", "1234567-89")
NINE_DIGITS = re.compile(r"(?<![\d.,\-/+])\d(?:[ .\-]?\d){8}(?![ .\-]?\d)(?![.,]\d)")

# Letter pairs that start ordinary references, never a CIN without its cue ("BO 5964", "DH 3000").
_NOT_CIN_LETTERS = frozenset({"bo", "dh", "no", "nr", "km", "ma", "tv", "cp", "bp", "hs", "pv"})
# Short words that a number may follow ("au 0522...", "ou 2024"): a CIN written with a space after
# its letters is never one of these.
_SHORT_WORDS = frozenset(
    "a au ou le la de du en et un l d n no on in at to of is it or an as by be we he me my ce se sa ma ta il y"
    " el al".split()
)
_CUE_ADJACENT = 3  # "cin bk 12345", "CIN : F 654321": a lower-case CIN needs its cue right before
_CURRENCY_AFTER = re.compile(r"\s*(?:dh|mad|dirhams?|درهم|دراهم|€|eur|euros?|\$)", re.IGNORECASE)


def _entity(kind: EntityType, text: str, start: int, end: int, score: float) -> Entity:
    return Entity(kind.value, start, end, text[start:end], score)


def _iban_ok(candidate: str) -> bool:
    """ISO 13616 check digits (mod 97)."""
    s = candidate.replace(" ", "").upper()
    rearranged = s[4:] + s[:4]
    digits = "".join(str(int(c, 36)) for c in rearranged)
    return len(s) >= 15 and int(digits) % 97 == 1


def find_identifiers(text: str, tuning: Tuning = TUNING) -> list[Entity]:
    """Every CIN, phone, e-mail, RIB/IBAN, CNSS and passport number in `text` (overlaps included:
    `entities.resolve_overlaps` settles them)."""
    return list(_find(text, to_ascii_digits(text), tuning))


def _find(raw: str, text: str, tuning: Tuning) -> Iterator[Entity]:
    score = tuning.privacy_scores
    window = tuning.privacy_context_chars
    cues = lexicon().identifier_cues

    def near(kind: str, start: int) -> int | None:
        return cue_distance(raw, start, cues[kind], window)

    for m in EMAIL.finditer(text):
        yield _entity(EntityType.EMAIL, raw, m.start(), m.end(), score["exact"])
    for rx in (PHONE_MA_INTL, PHONE_MA, PHONE_INTL):
        for m in rx.finditer(text):
            n_digits = sum(c.isdigit() for c in m.group())
            if rx is PHONE_INTL and not 8 <= n_digits <= 15:
                continue
            yield _entity(EntityType.PHONE, raw, m.start(), m.end(), score["exact"])
    for m in IBAN_MA.finditer(text):
        yield _entity(EntityType.RIB, raw, m.start(), m.end(), score["exact"])
    for m in IBAN.finditer(text):
        if _iban_ok(m.group()):
            yield _entity(EntityType.RIB, raw, m.start(), m.end(), score["exact"])
    for m in RIB.finditer(text):
        yield _entity(EntityType.RIB, raw, m.start(), m.end(), score["exact"])

    for m in CIN.finditer(text):
        letters, spaced, digits = m.group(1), m.group(2), m.group(3)
        if spaced and not letters.isupper() and letters.lower() in _SHORT_WORDS:
            continue
        cue = near("CIN", m.start())
        if cue is not None and (letters.isupper() or not spaced or cue <= _CUE_ADJACENT):
            s = score["context"]
        elif letters.isupper() and len(digits) >= 5 and letters.lower() not in _NOT_CIN_LETTERS:
            s = score["bare"]
        else:
            s = score["weak"]
        yield _entity(EntityType.CIN, raw, m.start(), m.end(), s)

    for m in PASSPORT_MA.finditer(text):
        if near("PASSPORT", m.start()) is not None:
            s = score["context"]
        else:
            s = score["bare"] if m.group()[:2].isupper() else score["weak"]
        yield _entity(EntityType.PASSPORT, raw, m.start(), m.end(), s)
    for m in PASSPORT_OTHER.finditer(text):
        if m.group().isdigit() and len(m.group()) == 9:
            continue  # nine digits: decided below with the CNSS and phone cues
        if near("PASSPORT", m.start()) is not None:
            yield _entity(EntityType.PASSPORT, raw, m.start(), m.end(), score["context"])

    for m in NINE_DIGITS.finditer(text):
        if _CURRENCY_AFTER.match(text, m.end()):
            continue  # an amount
        distances = {
            kind: d
            for kind, d in (
                (EntityType.CNSS, near("CNSS", m.start())),
                (EntityType.PASSPORT, near("PASSPORT", m.start())),
                (EntityType.PHONE, near("PHONE", m.start())),
            )
            if d is not None
        }
        if distances:
            kind = min(distances, key=lambda k: distances[k])
            yield _entity(kind, raw, m.start(), m.end(), score["context"])
        elif m.group().isdigit():  # grouped digits without a cue may be anything (an amount)
            yield _entity(EntityType.CNSS, raw, m.start(), m.end(), score["bare"])
