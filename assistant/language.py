"""Question and chunk language detection: French, Arabic (incl. Darija) and English.

Darija written in Arabic script is answered in Modern Standard Arabic ("ar"): the official
texts are in MSA and agents read it. Darija written in Latin script ("Arabizi", e.g.
"kifach n9ad lpasseport") is answered in French, the Latin-script language of the
administration; it is flagged with dialect="arabizi" so the interface can say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.textnorm import arabic_ratio
from assistant.tuning import TUNING

_WORD = re.compile(r"[a-zA-Zàâäçéèêëîïôöùûüÿœæ'0-9]+")
_FR = set(
    "le la les des du de un une et est sont dans pour par sur avec que qui quel quelle quels quelles "
    "combien comment pourquoi où ou au aux ce cette ces il elle ils on peut doit mon ma mes son sa ses "
    "leur leurs selon loi décret délai jours être avoir pas ne plus article salarié employeur".split()
)
_EN = set(
    "the a an of and is are in for by on with what which who how why when where does do can must my "
    "his her their under law days have has be not to it this that employer employee".split()
)
_ARABIZI = set(
    "wach wash kifach kifash chno chnou achno ach bghit khass khas dyal dial dyali fin mnin 3lach "
    "3la 7it bach wla ila chi walo ghadi kayn kayna mzyan bzaf daba hna".split()
)
_ARABIZI_DIGIT_WORD = re.compile(r"\b[a-z]*[23579][a-z]+\b|\b[a-z]+[23579][a-z]*\b")
_FR_ACCENTS = re.compile("[àâçéèêëîïôùûœ]")


# The languages Dalil answers in, and searches. The one list: prompts, glossary, stemmers, the
# interface and evaluation sets all have exactly these.
LANGUAGES = ("fr", "ar", "en")
DEFAULT_LANGUAGE = "fr"  # the administration's Latin-script language: Arabizi and unknown text


@dataclass(frozen=True)
class Detected:
    language: str  # fr | ar | en
    dialect: str | None = None  # "darija" | "arabizi" | None


def detect(text: str) -> Detected:
    if not text.strip():
        return Detected(DEFAULT_LANGUAGE)
    if arabic_ratio(text) >= TUNING.arabic_script_share:
        return Detected("ar", "darija" if _is_darija_arabic(text) else None)
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return Detected(DEFAULT_LANGUAGE)
    arabizi = sum(1 for w in words if w in _ARABIZI) + len(_ARABIZI_DIGIT_WORD.findall(text.lower()))
    fr = sum(1 for w in words if w in _FR) + 2 * len(_FR_ACCENTS.findall(text.lower()))
    en = sum(1 for w in words if w in _EN)
    if arabizi >= TUNING.arabizi_min_words and arabizi > max(fr, en) / 2:
        return Detected(DEFAULT_LANGUAGE, "arabizi")
    if en > fr:
        return Detected("en")
    return Detected(DEFAULT_LANGUAGE)


_DARIJA_MARKERS = ("واش", "كيفاش", "شنو", "علاش", "بغيت", "ديال", "دابا", "فين", "خاص", "كاين", "ماشي")


def _is_darija_arabic(text: str) -> bool:
    return sum(1 for m in _DARIJA_MARKERS if m in text) >= 1


def detect_language(text: str) -> str:
    return detect(text).language
