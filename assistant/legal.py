"""Identifiers of legal texts, shared by the chunker (ingest) and the question parser (retrieval):
law and decree numbers ("65-99", "2-25-983") and article keys ("19", "6-bis", "1" for
"premier" or "الأولى")."""

from __future__ import annotations

import re

from assistant.textnorm import fold_arabic_letters, to_ascii_digits

ARTICLE_SUFFIXES = "bis|ter|quater|quinquies|sexies|septies|octies|nonies|decies"

# Arabic ordinal article numbers, in their folded spelling (أ/إ/آ→ا, ى→ي, ة→ه)
AR_ORDINALS = {
    "الاولي": 1,
    "الاول": 1,
    "الثانيه": 2,
    "الثاني": 2,
    "الثالثه": 3,
    "الثالث": 3,
    "الرابعه": 4,
    "الرابع": 4,
    "الخامسه": 5,
    "الخامس": 5,
    "السادسه": 6,
    "السادس": 6,
    "السابعه": 7,
    "السابع": 7,
    "الثامنه": 8,
    "الثامن": 8,
    "التاسعه": 9,
    "التاسع": 9,
    "العاشره": 10,
    "العاشر": 10,
    "الحاديه عشره": 11,
    "الحادي عشر": 11,
    "الثانيه عشره": 12,
    "الثاني عشر": 12,
    "الثالثه عشره": 13,
    "الثالث عشر": 13,
    "الرابعه عشره": 14,
    "الخامسه عشره": 15,
    "الوحيده": 1,
    "الفريده": 1,
    "التمهيدي": 0,
}

_SEPARATORS = re.compile(r"\s*[./_-]\s*")
_LAW_NUMBER = re.compile(r"(?<![\d])(\d{1,3})[-._](\d{2,4})(?:[-._](\d{1,4}))?(?![\d])")


def normalise_law_number(text: str) -> str:
    """`65.99`, `65-99`, `65/99`, `65 _ 99` and `٢.٢٥.٩٨٣` all become dash-separated keys."""
    return _SEPARATORS.sub("-", to_ascii_digits(text).strip())


def infer_law_numbers(text: str) -> list[str]:
    """Every law-number-shaped token of a text (file name, first lines), normalised, in order."""
    found = ["-".join(g for g in m.groups() if g) for m in _LAW_NUMBER.finditer(text)]
    return list(dict.fromkeys(found))


def article_key(number: str, suffix: str | None = None) -> str:
    """The canonical key of an article number: "premier"/"1er"/"الأولى" -> "1", "6 bis"/"6 مكرر" -> "6-bis"."""
    n = to_ascii_digits(number.strip().lower())
    if n in ("premier", "1er", "unique"):
        n = "1"
    folded = fold_arabic_letters(n)
    if folded in AR_ORDINALS:
        n = str(AR_ORDINALS[folded])
    n = re.sub(r"\s*[-.]\s*", "-", n)
    if suffix:
        s = suffix.strip().lower()
        s = "bis" if s.startswith("مكرر") and "مرتين" not in s else ("ter" if "مرتين" in s else s)
        n = f"{n}-{s}"
    return n
