"""The detector's word lists (data/*.txt, data/contexts.yaml), loaded once, keyed by one folding.

Every lookup goes through `key()`: `assistant.textnorm.fold` without the lam-alef rewrite, so case,
accents, Arabic diacritics, hamza forms of alef, final ya / alef maqsura and ta marbuta / ha
compare equal ("Saïd" = "said", "أمينة" = "امينه"). The lists are data, written by hand; their
headers say what each holds and what it is for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from assistant.textnorm import ARABIC_INDIC_DIGITS, fold, fold_arabic_letters

DATA = Path(__file__).resolve().parent / "data"

_ARABIC_LETTER = re.compile("[\u0621-\u064a\u0671-\u06d3]")


def key(text: str) -> str:
    """The folded form every list is keyed by (multi-word entries keep single spaces)."""
    return " ".join(fold(text, canonical_lam_alef=False).split())


_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'"})


def soft_key(text: str) -> str:
    """Case- and Arabic-letter folding that keeps accents and length: "né" stays apart from "ne".
    Used for context cues, which are looked up in a window of the raw text."""
    return fold_arabic_letters(text.translate(_APOSTROPHES).translate(ARABIC_INDIC_DIGITS).lower())


def is_arabic(text: str) -> bool:
    return bool(_ARABIC_LETTER.search(text))


def strip_conjunction(k: str) -> str:
    """An Arabic word without an attached و / ف ("and", "so") or ل / ب ("to", "with"), or
    both: وزميلي -> زميلي, لابني -> ابني, ولزوجته -> زوجته."""
    if len(k) > 3 and k[0] in "وف" and is_arabic(k):
        k = k[1:]
    if len(k) > 3 and k[0] in "لب" and is_arabic(k):
        k = k[1:]
    return k


def _read(name: str) -> frozenset[str]:
    out = set()
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.add(key(line))
    return frozenset(out)


@dataclass(frozen=True)
class Lexicon:
    given_names: frozenset[str]
    family_names: frozenset[str]
    places: frozenset[str]
    institutions: frozenset[str]  # named bodies (CNSS, CNDP...) and organisation nouns
    organisations: frozenset[str]  # organisation, facility and company nouns (société, lycée, جمعية)
    offices: frozenset[str]
    not_names: frozenset[str]
    stopwords: frozenset[str]
    # name cues by kind (introduce, relation, self, titles, fillers), each a tuple of word tuples
    name_cues: dict[str, tuple[tuple[str, ...], ...]]
    # case-sensitive titles (at most two letters: "M.", "Me", "Mr"), as written
    exact_titles: frozenset[str]
    identifier_cues: dict[str, tuple[str, ...]]
    birth_cues: tuple[str, ...]

    def is_given(self, k: str) -> bool:
        return k in self.given_names

    def is_family(self, k: str) -> bool:
        return k in self.family_names

    def is_place(self, k: str) -> bool:
        return k in self.places


_CUE_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*|\.", re.UNICODE)


def cue_words(phrase: str) -> tuple[str, ...]:
    """A cue phrase as the word keys the name finder compares token by token ("M." -> m, .)."""
    return tuple(key(w) for w in _CUE_WORD.findall(phrase))


@cache
def lexicon() -> Lexicon:
    contexts = yaml.safe_load((DATA / "contexts.yaml").read_text(encoding="utf-8"))
    names = contexts["names"]
    exact = frozenset(t for t in names["titles"] if len(t.rstrip(".")) <= 2)
    return Lexicon(
        given_names=_read("given_names.latin.txt") | _read("given_names.arabic.txt"),
        family_names=_read("family_names.latin.txt") | _read("family_names.arabic.txt"),
        places=_read("places.txt"),
        institutions=_read("institutions.txt") | _read("organisations.txt"),
        organisations=_read("organisations.txt"),
        offices=_read("offices.txt"),
        not_names=_read("not_names.txt"),
        stopwords=_read("stopwords.txt"),
        name_cues={kind: tuple(cue_words(p) for p in phrases) for kind, phrases in names.items()},
        exact_titles=exact,
        identifier_cues={t: tuple(soft_key(c) for c in cues) for t, cues in contexts["identifiers"].items()},
        birth_cues=tuple(soft_key(c) for c in contexts["birth"]),
    )
