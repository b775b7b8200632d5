"""Text cleaning after parsing, before chunking.

Two kinds of noise that the page-level furniture filter (`parsing.remove_furniture`) leaves in:

* **Bulletin officiel furniture**: running headers and footers naming the bulletin, its issue, its
  date and the page ("BULLETIN OFFICIEL N° 7328 – 15 rabii II 1446 (18-10-2024)",
  "الجريدة الرسمية عدد 7469 … ص 10038"), and footnotes that do nothing but cite an issue
  ("1 - الجريدة الرسمية عدد7469 بتاريخ8 رجب1447 (29 ديسمبر2025 )، ص10038."). A line is removed only
  when *every* word on it is the bulletin's name, an issue marker, a date word or a page marker, and
  it sits where furniture sits (the first or last lines of its page) or starts with a footnote
  number. A line holding any other word is never removed: article text stays whole.
* **Arabic words split by stray spaces** ("ف ي", "المؤد ى"), which some PDF text layers produce.
  Two neighbouring pieces are joined only when the joined form is a known word of the document's
  own vocabulary and the split form is not two known words.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from assistant.tuning import TUNING

# ---------------------------------------------------------------- bulletin officiel furniture
_BO_NAME = re.compile(
    r"bulletin\s+officiel|\bb\.\s?o\.|الجريدة\s*الرسمية|الجريدة|بالجريدة\s*الرسمية",
    re.IGNORECASE,
)
# words that may sit beside the bulletin's name in a header, footer or citation footnote
_MONTHS_FR = (
    "janvier février fevrier mars avril mai juin juillet août aout septembre octobre novembre "
    "décembre decembre"
)
_HIJRI_FR = (
    "moharrem moharram safar rabii rabia rebia rabie joumada jumada joumadah rejeb rajab chaabane "
    "chaabane chaoual chaabane ramadan kaada hija hijja hijjah hidja kaâda chaâbane rebii"
)
_MONTHS_AR = (
    "يناير فبراير مارس أبريل ابريل ماي مايو يونيو يوليو يوليوز غشت أغسطس اغسطس شتنبر سبتمبر "
    "أكتوبر اكتوبر نونبر نوفمبر دجنبر ديسمبر"
)
_HIJRI_AR = "محرم صفر ربيع الأول الاول الآخر الاخر الثاني جمادى الأولى الاولى الآخرة الاخرة الثانية رجب شعبان رمضان شوال ذو ذي القعدة الحجة"
_GLUE_FR = "n no nº numéro numero du de le la en date édition edition générale generale bis p page pages er premier i ii iii"
_GLUE_AR = "عدد العدد مكرر بتاريخ الصادرة الصادر الصادرين فاتح من منذي في ص صفحة الصفحة الطبعة العامة"
_CITATION_WORDS = frozenset(
    w.casefold() for w in " ".join((_MONTHS_FR, _HIJRI_FR, _MONTHS_AR, _HIJRI_AR, _GLUE_FR, _GLUE_AR)).split()
)
_TOKEN = re.compile(r"\d+|[^\W\d_]+")
_FOOTNOTE_MARK = re.compile(r"^\s*(?:\(\s*\d{1,3}\s*\)|\d{1,3}\s*[-–—.)]|\*+)\s*")
_PAGE_MARK = re.compile(r"(?:^|[\s,،(])(?:ص|p\.|page)\s*\d", re.IGNORECASE)
# a citation footnote glued to the end of a long line (text files that hold one line per page)
_TRAILING_FOOTNOTE = re.compile(
    r"\s\d{1,3}\s*[-–—]\s*(?:الجريدة\s*الرسمية|bulletin\s+officiel)[^\n]{0,200}$", re.IGNORECASE
)


def _citation_tokens_only(text: str) -> bool:
    """Every word of `text` is a date, issue or page word; at least one number."""
    tokens = _TOKEN.findall(text)
    return any(t.isdigit() for t in tokens) and all(
        t.isdigit() or t.casefold() in _CITATION_WORDS for t in tokens
    )


def is_bulletin_citation(line: str, max_chars: int = TUNING.bulletin_line_max_chars) -> bool:
    """A line that only names the bulletin, an issue, dates and a page: a running header or
    footer, or a footnote citing where a text was published. Any other word makes it text."""
    text = line.strip()
    if not text or len(text) > max_chars or not _BO_NAME.search(text):
        return False
    rest = _BO_NAME.sub(" ", _FOOTNOTE_MARK.sub("", text, count=1))
    return _citation_tokens_only(rest)


def is_bare_header(line: str) -> bool:
    """The bulletin's name and a page number alone ("BULLETIN OFFICIEL : 1907", "190 BULLETIN
    OFFICIEL"): a running header wherever OCR of a two-column page puts it."""
    text = line.strip()
    if not text or len(text) > TUNING.bulletin_line_max_chars or not _BO_NAME.search(text):
        return False
    tokens = _TOKEN.findall(_BO_NAME.sub(" ", text))
    return 1 <= len(tokens) <= 2 and all(t.isdigit() for t in tokens)


def is_citation_tail(line: str) -> bool:
    """The wrapped end of a citation footnote: only date words and a page marker ("ص 5228.")."""
    text = line.strip()
    return (
        bool(text) and len(text) < 60 and bool(_PAGE_MARK.search(" " + text)) and _citation_tokens_only(text)
    )


def strip_trailing_citation(text: str) -> str:
    """A long line (a whole page of a text file) that ends with a citation footnote loses it."""
    m = _TRAILING_FOOTNOTE.search(text)
    if m and is_bulletin_citation(m.group(0), max_chars=len(m.group(0)) + 1):
        return text[: m.start()].rstrip()
    return text


# ---------------------------------------------------------------- Arabic words split by stray spaces
_AR_WORD = re.compile(r"[\u0621-\u064a\u066e-\u06d3\u064b-\u065f\u0670]+")
_AR_PIECE = re.compile(r"^[\u0621-\u064a\u066e-\u06d3\u064b-\u065f\u0670]+$")


@dataclass
class Vocabulary:
    """Arabic word counts of a text (the corpus document being cleaned)."""

    counts: Counter[str]
    pairs: Counter[tuple[str, str]] = field(default_factory=Counter)  # neighbouring words

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Vocabulary:
        counts: Counter[str] = Counter()
        pairs: Counter[tuple[str, str]] = Counter()
        for text in texts:
            words = text.split()
            counts.update(_AR_WORD.findall(text))
            pairs.update(zip(words, words[1:], strict=False))
        return cls(counts, pairs)

    def __getitem__(self, word: str) -> int:
        return self.counts.get(word, 0)


def _known(piece: str, joined: str, vocab: Vocabulary) -> bool:
    """A piece is a word of its own: not one letter, seen often enough, and not far rarer than the
    joined form (a fragment that stray spaces produce again and again, like ف of ف ي, is not)."""
    n = vocab[piece]
    return (
        len(piece) > 1 and n >= TUNING.rejoin_min_count and n * TUNING.rejoin_fragment_ratio >= vocab[joined]
    )


def _join_score(a: str, b: str, vocab: Vocabulary) -> int:
    """How often the joined form occurs, when joining is right; 0 otherwise."""
    if not (_AR_PIECE.match(a) and _AR_PIECE.match(b)):
        return 0
    joined = a + b
    n = vocab[joined]
    if n < TUNING.rejoin_min_count or (_known(a, joined, vocab) and _known(b, joined, vocab)):
        return 0
    if vocab.pairs.get((a, b), 0) >= n:  # written apart as often as together: two words
        return 0
    return n


def rejoin_arabic(text: str, vocab: Vocabulary) -> str:
    """Join Arabic pieces split by stray spaces where the joined form is a known word of `vocab`
    and the split form is not two known words. A piece between two candidates goes to the side
    whose joined form is the more frequent ("ما ي لي" gives "ما يلي")."""
    if not _AR_WORD.search(text):
        return text
    parts = re.split(r"(\s+)", text)
    words, seps = parts[0::2], parts[1::2]
    out_words = [words[0]]
    out_seps: list[str] = []
    i = 1
    while i < len(words):
        left, right = out_words[-1], words[i]
        score = _join_score(left, right, vocab) if "\n" not in seps[i - 1] else 0
        ahead = _join_score(right, words[i + 1], vocab) if i + 1 < len(words) and "\n" not in seps[i] else 0
        if score and score >= ahead:
            out_words[-1] = left + right
        else:
            out_seps.append(seps[i - 1])
            out_words.append(right)
        i += 1
    rebuilt = [out_words[0]]
    for sep, word in zip(out_seps, out_words[1:], strict=True):
        rebuilt += [sep, word]
    return "".join(rebuilt)


# ---------------------------------------------------------------- lines of a parsed document
class _LineLike(Protocol):
    text: str
    page: int


L = TypeVar("L", bound=_LineLike)


def _with_text(line: L, text: str) -> L:
    new = copy.copy(line)
    new.text = text
    return new


def clean_lines(lines: list[L], vocab: Vocabulary | None = None) -> list[L]:
    """The lines of a parsed document without bulletin furniture, Arabic split words rejoined.

    `vocab`: the known words (default: those of the document itself)."""
    edge = TUNING.furniture_edge_lines
    by_page: dict[int, list[int]] = {}
    for i, line in enumerate(lines):
        by_page.setdefault(line.page, []).append(i)
    at_edge = {i for idx in by_page.values() for i in (idx[:edge] + idx[-edge:])}
    dropped: set[int] = set()
    for idx in by_page.values():
        after_citation = False
        for i in idx:
            text = lines[i].text
            if is_bare_header(text) or (
                is_bulletin_citation(text) and (i in at_edge or _FOOTNOTE_MARK.match(text))
            ):
                dropped.add(i)
                after_citation = True
            elif after_citation and is_citation_tail(text):
                dropped.add(i)
            else:
                after_citation = False
    kept = [line for i, line in enumerate(lines) if i not in dropped]
    kept = [
        _with_text(line, t) if (t := strip_trailing_citation(line.text)) != line.text else line
        for line in kept
    ]
    words = vocab if vocab is not None else Vocabulary.from_texts(line.text for line in kept)
    return [
        _with_text(line, t) if (t := rejoin_arabic(line.text, words)) != line.text else line for line in kept
    ]
