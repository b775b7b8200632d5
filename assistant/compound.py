"""Compound questions split into their parts (without a model): two questions in one message
("… ? … ?"), two asks joined by a coordination ("sous quel régime sont-elles créées et auprès de
qui déposent-elles leur déclaration ?", "how long …, and what if he does not?", "… ، وما العقوبة
…"), a comparison ("entre … et …", "between … and …", "بين … و…"). Each part is searched too, so
that the final top k keeps room for each part's best text."""

from __future__ import annotations

import re

from assistant.refusal import key_words
from assistant.textnorm import fold
from assistant.tuning import TUNING

_QUESTION_MARK = re.compile(r"(?<=[?؟])\s+")
# a coordination that starts a second ask: the conjunction followed by an asking word
_ASK_FR = (
    r"(?:quel(?:le)?s?|combien|comment|pourquoi|quand|qui|quoi|ou|est-ce|dans\s+quel(?:le)?s?|"
    r"aupres\s+de\s+qui|a\s+qui|de\s+qui|par\s+qui|lequel|laquelle|lesquels)"
)
_ASK_EN = r"(?:what|which|who|whom|how|when|where|why|is|are|does|do|can|must|should|if)"
_ASK_AR = r"(?:ما|ماذا|هل|كم|كيف|متى|من|اين|لماذا|اي|شنو|شحال|واش|كيفاش|فين)"
_COORDINATION = re.compile(
    rf"(?:,\s*|\s+)(?:et|puis)\s+(?={_ASK_FR}\b)|(?:,\s*|\s+)(?:and|or)\s+(?={_ASK_EN}\b)"
    rf"|(?:[,،]\s*|\s+)و\s*(?={_ASK_AR}(?!\w))",
)
_BETWEEN = re.compile(
    r"\b(?P<kw>entre|between)\s+(?P<a>[^,;:?]{3,80}?)\s+(?:et|and)\s+(?P<b>[^,;:?]{3,80}?)(?=\s*[,;:?]|\s*$)"
    r"|(?P<kw_ar>بين)\s+(?P<a_ar>[^،,؛:؟?]{3,80}?)\s+و(?P<b_ar>[^،,؛:؟?]{3,80}?)(?=\s*[،,؛:؟?]|\s*$)"
)
_MIN_WORDS = 3


def _words(text: str) -> int:
    return len(re.findall(r"\w+", text))


def question_parts(question: str, language: str) -> list[str]:
    """The parts of a compound question (two or more), or [] for a simple one. Parts keep the
    question's own words; a part with too few words of its own to be searched alone ("what if he
    does not?") is joined to the one before it."""
    text = question.strip()
    pieces = [p for p in _QUESTION_MARK.split(text) if p.strip()]
    if len(pieces) < 2:
        cut = _coordination_cut(_shadow(text))
        if cut is not None:
            pieces = [text[: cut[0]], text[cut[1] :]]
    if len(pieces) < 2:
        between = _between_parts(text)
        if between:
            return between
        return []
    merged: list[str] = []
    for piece in pieces:
        piece = piece.strip(" ,،;")
        if merged and len(key_words(piece, language)) < TUNING.compound_part_min_words:
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    if len(merged) < 2 or _words(merged[0]) < _MIN_WORDS:
        return []
    return merged


def _shadow(text: str) -> str:
    """The text folded character by character (lower case, no accents, Arabic letters unified),
    keeping every offset of the original."""
    out = []
    for c in text:
        f = fold(c, canonical_lam_alef=False)
        out.append(f if len(f) == 1 else c)
    return "".join(out)


def _coordination_cut(folded: str) -> tuple[int, int] | None:
    """Where a second ask starts (start and end of the conjunction) in the shadow of the question."""
    for m in _COORDINATION.finditer(folded):
        if _words(folded[: m.start()]) >= _MIN_WORDS and _words(folded[m.end() :]) >= 2:
            return m.start(), m.end()
    return None


def _between_parts(text: str) -> list[str]:
    m = _BETWEEN.search(text)
    if not m:
        return []
    if m.group("kw"):
        a, b = m.group("a"), m.group("b")
    else:
        a, b = m.group("a_ar"), m.group("b_ar")
    head, tail = text[: m.start()], text[m.end() :]
    return [f"{head}{a}{tail}".strip(), f"{head}{b}{tail}".strip()]
