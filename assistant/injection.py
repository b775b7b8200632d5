"""Documents are data, never instructions.

`detect(text)` names the instructions aimed at a language model that a text contains ("ignore the
previous instructions", "tu es maintenant…", "تجاهل التعليمات السابقة", fake role markers such as
`<|im_start|>`), from the patterns in `injection_patterns.yaml` (data, FR / AR / EN). Ingestion
stores the names in each chunk's payload (`injection`) and counts flagged chunks per document in
the registry; the answer path leaves flagged chunks out of a model's sources unless their
collection allows instructions (`allow_instructions: true`), and every source shown to a model
is fenced (`<source id="n"> … </source>`, the prompts' `source` template) with the delimiter
neutralised inside the text (`neutralise()`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import yaml

from assistant.textnorm import fold, fold_arabic_letters

_SPACES = re.compile(r"\s+")
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")


@dataclass(frozen=True)
class Pattern:
    name: str
    regex: re.Pattern[str]


def _fold_pattern(source: str) -> str:
    """A pattern written with accents and hamzas, folded like the text it is matched against
    (no case folding: it would turn \\S into \\s; the patterns are matched case-insensitively)."""
    decomposed = unicodedata.normalize("NFKD", _ARABIC_MARKS.sub("", source))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return fold_arabic_letters(unicodedata.normalize("NFC", stripped))


def normalise(text: str) -> str:
    """The form patterns are matched against: folded (assistant.textnorm.fold, lam-alef kept as
    written), whitespace collapsed to single spaces."""
    return _SPACES.sub(" ", fold(text, canonical_lam_alef=False)).strip()


@lru_cache(maxsize=1)
def patterns() -> tuple[Pattern, ...]:
    raw = yaml.safe_load(files("assistant").joinpath("injection_patterns.yaml").read_text(encoding="utf-8"))
    return tuple(
        Pattern(name, re.compile(_fold_pattern(str(source)), re.IGNORECASE | re.MULTILINE))
        for name, source in (raw.get("patterns") or {}).items()
    )


def detect(text: str) -> list[str]:
    """The names of the patterns `text` matches, in the data file's order; [] when clean."""
    if not text:
        return []
    folded = normalise(text)
    return [p.name for p in patterns() if p.regex.search(folded)]


def matches(text: str) -> dict[str, str]:
    """Pattern name -> the folded span it matched (for reports and tests)."""
    folded = normalise(text)
    out = {}
    for p in patterns():
        m = p.regex.search(folded)
        if m:
            out[p.name] = m.group(0)
    return out


# ------------------------------------------------------------------ fencing sources in a prompt
SOURCE_TAG = "source"
_DELIMITER = re.compile(rf"<(\s*/?\s*){SOURCE_TAG}", re.IGNORECASE)


def neutralise(text: str) -> str:
    """`text` with every `<source` / `</source` written as `‹source` / `‹/source`, so a document
    cannot close its own fence and write outside it."""
    return _DELIMITER.sub(lambda m: "\u2039" + m.group(0)[1:], text)
