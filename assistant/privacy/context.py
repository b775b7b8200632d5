"""Context cues: is there a word like "CIN", "passeport", "né le" or "الضمان الاجتماعي" just before a
match? Looked up in a window of characters before it (`Tuning.privacy_context_chars`)."""

from __future__ import annotations

import re
from functools import cache

from assistant.privacy.lexicon import is_arabic, soft_key

# Arabic cues may carry a conjunction, a preposition and the article ("فالضمان", "بالبطاقة") and
# any suffix ("بطاقتها"): they match from a word start, to any word end.
_AR_PREFIX = "(?:[وف])?(?:[بلك])?(?:ال)?"
_NOT_LETTER_BEFORE = r"(?<![^\W\d_])"
_NOT_LETTER_AFTER = r"(?![^\W\d_])"


@cache
def cue_regex(cues: tuple[str, ...]) -> re.Pattern[str]:
    parts = []
    for cue in sorted(set(cues), key=len, reverse=True):
        body = r"\s+".join(re.escape(w) for w in cue.split())
        if is_arabic(cue):
            parts.append(f"{_NOT_LETTER_BEFORE}{_AR_PREFIX}{body}")
        else:
            parts.append(f"{_NOT_LETTER_BEFORE}{body}{_NOT_LETTER_AFTER}")
    return re.compile("|".join(parts) or r"(?!x)x")


def cue_distance(text: str, start: int, cues: tuple[str, ...], window: int) -> int | None:
    """Characters between the end of the last cue in the `window` characters before `start` and
    `start`; None when there is none."""
    lo = max(0, start - window)
    before = soft_key(text[lo:start])
    last = None
    for last in cue_regex(cues).finditer(before):  # noqa: B007 - the last match is the one wanted
        pass
    return None if last is None else len(before) - last.end()


def cues_in(text: str, cues: tuple[str, ...]) -> list[tuple[int, int]]:
    """(start, end) of every cue in `text` (soft_key keeps offsets)."""
    return [m.span() for m in cue_regex(cues).finditer(soft_key(text))]
