"""Exact references in a question: a text ("loi 09-08", "décret 2-08-310", "القانون رقم 19.12")
and/or an article ("article 19", "art. 6 bis", "المادة 19", "الفصل 5")."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.structure import article_key

_AR_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789")
_LAW_KEYWORD = (
    r"(?:loi|lois|décret|decret|dahir|arrêté|arrete|code|law|decree|act|القانون|قانون|المرسوم|مرسوم|الظهير|ظهير|"
    r"القرار|قرار)"
)
_LAW = re.compile(
    rf"{_LAW_KEYWORD}(?:\s+(?:organique|n°|no\.?|nº|number|رقم|الشريف|التنظيمي|بقانون))*\s*[:°]?\s*"
    r"(\d{1,3}\s?[-./]\s?\d{2,4}(?:\s?[-./]\s?\d{1,4})?)",
    re.I,
)
_BARE_LAW = re.compile(r"(?<![\d,.])(\d{1,3}[-.]\d{2,4}(?:[-.]\d{1,4})?)(?![\d,])")
_ARTICLE = re.compile(
    r"(?:\barticles?|\bart\.?)\s*(premier|1er|\d+(?:-\d+)?)(?:\s*(bis|ter|quater))?\b"
    r"|(?:المادة|الفصل|المادتين|الفصلين)\s*(\d+|الأولى|الاولى|الأول|الثانية|الثالثة|الرابعة|الخامسة)(?:\s*(مكرر(?:ة)?))?",
    re.I,
)


@dataclass
class References:
    laws: list[str] = field(default_factory=list)
    articles: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.laws or self.articles)


def _norm(number: str) -> str:
    return re.sub(r"\s*[./-]\s*", "-", number.strip())


def find_references(question: str, known_laws: set[str] | None = None) -> References:
    text = question.translate(_AR_DIGITS)
    laws = [_norm(m.group(1)) for m in _LAW.finditer(text)]
    if known_laws:
        laws += [n for m in _BARE_LAW.finditer(text) if (n := _norm(m.group(1))) in known_laws]
    articles = []
    for m in _ARTICLE.finditer(text):
        if m.group(1):
            articles.append(article_key(m.group(1), m.group(2)))
        elif m.group(3):
            articles.append(article_key(m.group(3), m.group(4)))
    return References(list(dict.fromkeys(laws)), list(dict.fromkeys(articles)))
