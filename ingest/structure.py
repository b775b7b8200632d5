"""Recognise the headings of legal texts: Livre/Titre/Chapitre/Section/Article (FR, EN)
and الكتاب/القسم/الباب/الفصل/الفرع/المادة (AR)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.legal import AR_ORDINALS, ARTICLE_SUFFIXES, article_key
from assistant.textnorm import to_ascii_digits
from assistant.tuning import TUNING

_FR_ARTICLE = re.compile(
    rf"^(?:article|art\.)\s+(premier|1er|unique|\d+(?:\s?[-.]\s?\d+)*)(?:\s*[-]?\s*({ARTICLE_SUFFIXES}))?\b"
    rf"\s*(?:[:.\-–—]\s*(.*)|$|\s+(?=[A-ZÉÈÀÇÂÎ«\"(])(.*))",
    re.I,
)
_FR_LEVELS = [
    ("livre", 1),
    ("partie", 1),
    ("titre", 2),
    ("chapitre", 3),
    ("section", 4),
    ("sous-section", 5),
]
_FR_LEVEL = re.compile(
    r"^(livre|partie|titre|chapitre|section|sous-section)\s+"
    r"(premier|première|préliminaire|unique|[IVXLC]+|\d+|[a-z]+ième)\b[\s:.\-–—]*(.{0,160})$",
    re.I,
)


def _tolerant(word: str) -> str:
    out = re.escape(word).replace("ه", "[هة]").replace("ي", "[يى]")
    return out.replace("ا", "[اأإآ]")


_AR_ORD_RE = "|".join(_tolerant(k) for k in sorted(AR_ORDINALS, key=len, reverse=True))
_AR_MARKERS = "المادة|الفصل|الكتاب|القسم|الباب|الفرع|الجزء"
_AR_HEAD = re.compile(
    rf"^({_AR_MARKERS})\s*(\d+(?:[-.]\d+)?|{_AR_ORD_RE})(?:\s*(مكرر(?:ة)?(?:\s*مرتين)?))?(?=\s|$|[:.\-–—])\s*[:.\-–—]?\s*(.*)$"
)
_AR_MIDLINE = re.compile(r"(?<![\w])(المادة|الفصل)\s*(\d+)(?=\s|[:.\-–—]|$)")
_AR_REFERENCE_AFTER = re.compile(
    r"^\s*(من|منه|منها|أعلاه|اعلاه|أدناه|ادناه|بعده|السابق|المذكور|و\s*\d|إلى|الى|،\s*\d|أو)"
)
_AR_REFERENCE_BEFORE = re.compile(
    r"(في|ب|ل|حسب|طبق|طبقا|بمقتضى|وفق|وفقا|تطبيق|أحكام|احكام|مقتضيات|إلى|الى|عليها|عليه)\s*$"
)
_FR_REFERENCE_AFTER = re.compile(
    r"^\s*(de la|du|des|ci-dessus|ci-dessous|précité|susvisé|et\s+\d|à\s+\d|,\s*\d)", re.I
)


@dataclass
class Heading:
    kind: str  # "article" or "level"
    label: str  # as printed: "Article 19", "المادة الأولى", "Titre II"
    key: str  # canonical: "19", "6-bis", "1"
    level: int = 0  # hierarchy depth for kind="level"
    rest: str = ""  # text on the same line after the heading


def parse_heading(line: str, article_marker_ar: str = "المادة") -> Heading | None:
    text = line.strip()
    if not text or len(text) > TUNING.heading_max_chars:
        return None
    m = _FR_ARTICLE.match(text)
    if m:
        rest = (m.group(3) or m.group(4) or "").strip()
        if _FR_REFERENCE_AFTER.match(text[m.end(2) if m.group(2) else m.end(1) :]):
            return None
        number, suffix = m.group(1), m.group(2)
        label = text[: (m.end(2) if suffix else m.end(1))].strip()
        return Heading("article", _title_case(label), article_key(number, suffix), rest=rest)
    m = _FR_LEVEL.match(text)
    if m and len(text) < TUNING.level_heading_max_chars:
        depth = dict(_FR_LEVELS)[m.group(1).lower()]
        return Heading("level", text[:160], m.group(2).lower(), level=depth)
    m = _AR_HEAD.match(to_ascii_digits(text))
    if m:
        marker, number, suffix, rest = m.group(1), m.group(2), m.group(3), (m.group(4) or "").strip()
        if _AR_REFERENCE_AFTER.match(rest):
            return None
        label = f"{marker} {number}" + (f" {suffix}" if suffix else "")
        if marker == article_marker_ar:
            return Heading("article", label, article_key(number, suffix), rest=rest)
        depth = {"الكتاب": 1, "الجزء": 2, "القسم": 2, "الباب": 3, "الفصل": 4, "الفرع": 5, "المادة": 5}[marker]
        return Heading("level", (label + " " + rest)[:160].strip(), article_key(number), level=depth, rest="")
    return None


def _title_case(label: str) -> str:
    return label[0].upper() + label[1:].lower() if label.isupper() else label


def choose_arabic_article_marker(lines: list[str]) -> str:
    """Decrees and laws number articles as المادة; older dahirs use الفصل for articles."""
    madda = sum(1 for t in lines if re.match(r"^\s*المادة\s*(\d|[اأ]ل)", t))
    fasl = sum(1 for t in lines if re.match(r"^\s*الفصل\s*(\d|[اأ]ل)", t))
    madda += sum(len(re.findall(r"المادة\s*\d", t)) for t in lines if len(t) > TUNING.page_line_chars)
    fasl += sum(len(re.findall(r"الفصل\s*\d", t)) for t in lines if len(t) > TUNING.page_line_chars)
    return "المادة" if madda >= max(2, fasl // 3) else "الفصل"


def split_midline_articles(line: str, marker: str, last_number: int) -> tuple[list[str], int]:
    """Split a long line (one page of a text extraction) before article headings it contains.

    A heading is accepted when it is not a cross-reference (no "من", "أعلاه" after it, no
    "في", "طبقا ل" before it) and its number continues the running sequence. Footnote
    numbers glued to article numbers (الفصل 54 = الفصل 5 + note 4) are cut off.
    """
    if len(line) < TUNING.midline_split_chars:
        return [line], last_number
    cuts: list[tuple[int, int, int]] = []  # (start, end of digits, fixed number)
    for m in _AR_MIDLINE.finditer(line):
        if m.group(1) != marker:
            continue
        before, after = line[: m.start()], line[m.end() :]
        if _AR_REFERENCE_AFTER.match(after) or _AR_REFERENCE_BEFORE.search(before[-25:]):
            continue
        fixed = fix_glued_number(m.group(2), last_number)
        if fixed is None:
            continue
        cuts.append((m.start(), m.end(), fixed))
        last_number = fixed
    if not cuts:
        return [line], last_number
    parts, prev = [], 0
    for start, end, fixed in cuts:
        if line[prev:start].strip():
            parts.append(line[prev:start].strip())
        parts.append(f"{marker} {fixed}")
        prev = end
    tail = line[prev:].strip()
    if tail:
        parts.append(tail)
    return parts, last_number


def fix_glued_number(digits: str, last_number: int, window: int = TUNING.glued_number_window) -> int | None:
    value = int(digits)
    if last_number < value <= last_number + window:
        return value
    for k in range(len(digits) - 1, 0, -1):
        prefix = int(digits[:k])
        if last_number < prefix <= last_number + window:
            return prefix
    return None
