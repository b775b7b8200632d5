"""Text normalisation for display, sparse terms and excerpt matching (FR / AR / EN)."""

from __future__ import annotations

import re
import unicodedata

BIDI_CONTROLS = dict.fromkeys(
    [0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0xFEFF, 0x200B],
    None,
)
# Arabic-Indic (٠-٩) and Extended Arabic-Indic (۰-۹, Persian/Urdu) digits -> ASCII: the one table
ARABIC_INDIC_DIGITS = {ord(c): str(i) for i, c in enumerate("٠١٢٣٤٥٦٧٨٩")}
ARABIC_INDIC_DIGITS.update({ord(c): str(i) for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")})
_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ALEF = re.compile("[أإآٱ]")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "´": "'", "«": '"', "»": '"', "“": '"', "”": '"'})
# pdftotext-style extractions write the lam-alef ligature as alef + lam: repair the
# unambiguous hamza forms (الإدارية extracted as اإلدارية) in display text.
_REVERSED_LAM_ALEF = re.compile("ا([أإآ])ل")
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def clean_text(text: str) -> str:
    """Display-safe text: NFKC (undoes Arabic presentation forms), no bidi controls, repaired lam-alef."""
    text = unicodedata.normalize("NFKC", text).translate(BIDI_CONTROLS)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _REVERSED_LAM_ALEF.sub(lambda m: "ال" + m.group(1), text)
    return _SPACES.sub(" ", text)


def arabic_ratio(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for c in letters if _ARABIC.match(c)) / len(letters)


def to_ascii_digits(text: str) -> str:
    return text.translate(ARABIC_INDIC_DIGITS)


def fold_arabic_letters(text: str) -> str:
    """Unify the Arabic letters that spelling and extraction vary: hamza-carrying alefs -> ا,
    ى -> ي, ة -> ه, ؤ -> و, ئ -> ي. The one letter-folding table."""
    return _ALEF.sub("ا", text).replace("ى", "ي").replace("ة", "ه").replace("ؤ", "و").replace("ئ", "ي")


def fold(text: str, canonical_lam_alef: bool = True) -> str:
    """Case-, accent-insensitive form with Arabic letters unified; keeps word boundaries.

    canonical_lam_alef rewrites every لا as ال so that extraction artefacts compare equal; it
    is right for substring matching and wrong for stemming (it would turn الولادة into الوالده).
    """
    text = unicodedata.normalize("NFKC", text).translate(BIDI_CONTROLS).translate(ARABIC_INDIC_DIGITS)
    text = text.translate(_APOSTROPHES).casefold()
    text = _DIACRITICS.sub("", text)
    text = fold_arabic_letters(text)
    # canonical lam/alef order: extraction artefacts swap them
    if canonical_lam_alef:
        text = text.replace("لا", "ال")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def match_key(text: str) -> str:
    """Whitespace- and punctuation-free folded form used to check that an excerpt is in a chunk.

    Arabic PDFs gain stray spaces inside words and lose them between words, so the
    comparison ignores every separator.
    """
    return _NON_WORD.sub("", fold(text))


def contains_excerpt(haystack: str, excerpt: str) -> bool:
    key = match_key(excerpt)
    return bool(key) and key in match_key(haystack)
