"""Structure-aware chunking: one chunk per article, the preamble on its own, long articles
split into overlapping parts that keep the article's id; heading-based sections for
non-legal documents."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from assistant.language import detect_language
from assistant.tuning import TUNING
from ingest.parsing import Line
from ingest.structure import (
    Heading,
    choose_arabic_article_marker,
    fix_glued_number,
    parse_heading,
    split_midline_articles,
)


@dataclass
class Chunk:
    chunk_id: str
    text: str
    article: str | None
    article_key: str | None
    hierarchy: list[str]
    pages: list[int]
    char_start: int
    char_end: int
    part: int
    parts: int
    kind: str  # article | preamble | section
    language: str = "fr"
    article_title: str | None = None

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]

    @property
    def path(self) -> str:
        return " > ".join(self.hierarchy)


@dataclass
class _Block:
    heading: Heading | None
    kind: str
    hierarchy: list[str]
    lines: list[tuple[str, int, int]] = field(default_factory=list)  # text, page, offset


def _segments(lines: list[Line], marker: str) -> list[tuple[str, int, int]]:
    """Lines with their page and character offset; one-line pages split at article headings."""
    out: list[tuple[str, int, int]] = []
    offset = 0
    last_number = 0
    for line in lines:
        pieces, last_number = split_midline_articles(line.text, marker, last_number)
        local = 0
        for piece in pieces:
            for sub in piece.split("\n"):
                if not sub.strip():
                    continue
                pos = line.text.find(sub[:20], local)
                start = offset + (pos if pos >= 0 else local)
                out.append((sub.strip(), line.page, start))
                local = max(local, pos if pos >= 0 else local)
        offset += len(line.text) + 1
    return out


def _fix_sequence(heading: Heading, last: int) -> int:
    if heading.key.isdigit():
        value = int(heading.key)
        if last == 0 or last < value <= last + TUNING.article_number_jump:
            return value
        fixed = fix_glued_number(heading.key, last, window=TUNING.glued_heading_window)
        if fixed is not None and fixed != int(heading.key):
            heading.label = re.sub(r"\d+", str(fixed), heading.label, count=1)
            heading.key = str(fixed)
        return int(heading.key)
    m = re.match(r"(\d+)", heading.key)
    return int(m.group(1)) if m else last


def chunk_document(
    lines: list[Line],
    doc_id: str,
    default_language: str = "fr",
    max_chars: int = TUNING.chunk_max_chars,
    overlap: int = TUNING.chunk_overlap_chars,
) -> list[Chunk]:
    marker = choose_arabic_article_marker([line.text for line in lines])
    segments = _segments(lines, marker)
    blocks: list[_Block] = []
    levels: dict[int, str] = {}
    current = _Block(None, "preamble", [])
    last_article = 0
    articles_seen = 0
    for text, page, offset in segments:
        heading = parse_heading(text, marker)
        if heading and heading.kind == "level":
            levels = {d: lbl for d, lbl in levels.items() if d < heading.level}
            levels[heading.level] = heading.label
            continue
        if heading and heading.kind == "article":
            last_article = _fix_sequence(heading, last_article)
            articles_seen += 1
            blocks.append(current)
            current = _Block(heading, "article", [levels[d] for d in sorted(levels)])
            current.lines.append((heading.label, page, offset))
            if heading.rest:
                current.lines.append((heading.rest, page, offset))
            continue
        current.lines.append((text, page, offset))
    blocks.append(current)
    if articles_seen == 0:
        blocks = _sections(segments, lines)
    chunks: list[Chunk] = []
    used: set[str] = set()
    for block in blocks:
        if not block.lines or not "".join(t for t, _, _ in block.lines).strip():
            continue
        for part_no, (text, pages, start, end) in enumerate(
            parts := _split(block.lines, max_chars, overlap), start=1
        ):
            key = block.heading.key if block.heading else None
            base = f"{doc_id}:{key or block.kind}:{part_no}:{hashlib.sha1(text.encode()).hexdigest()[:10]}"
            cid, n = base, 1
            while cid in used:
                n += 1
                cid = f"{base}~{n}"
            used.add(cid)
            title = _article_title(block)
            chunks.append(
                Chunk(
                    chunk_id=cid,
                    text=text,
                    article=block.heading.label if block.heading else None,
                    article_key=key,
                    hierarchy=block.hierarchy,
                    pages=pages,
                    char_start=start,
                    char_end=end,
                    part=part_no,
                    parts=len(parts),
                    kind=block.kind,
                    language=detect_language(text)
                    if len(text) > TUNING.chunk_language_min_chars
                    else default_language,
                    article_title=title,
                )
            )
    return chunks


def _article_title(block: _Block) -> str | None:
    """French laws often put a short title on the line after 'Article N'."""
    if block.kind != "article" or len(block.lines) < 2:
        return None
    second = block.lines[1][0]
    if (
        len(second) < TUNING.article_title_max_chars
        and not second.endswith((".", ";", ":", ","))
        and second[:1].isupper()
    ):
        return second
    return None


def _sections(segments: list[tuple[str, int, int]], lines: list[Line]) -> list[_Block]:
    """Non-legal documents: split at headings (unstructured Title elements, Markdown #)."""
    titles = {
        line.text
        for line in lines
        if line.category == "Title" and len(line.text) < TUNING.section_title_max_chars
    }
    blocks: list[_Block] = []
    current = _Block(None, "section", [])
    size = 0
    for text, page, offset in segments:
        if text in titles and size > TUNING.section_min_chars:
            blocks.append(current)
            current = _Block(None, "section", [text])
            size = 0
        current.lines.append((text, page, offset))
        size += len(text)
    blocks.append(current)
    return blocks


def _split(
    lines: list[tuple[str, int, int]], max_chars: int, overlap: int
) -> list[tuple[str, list[int], int, int]]:
    """Join lines into text; cut texts longer than max_chars at line or sentence ends with overlap."""
    pieces: list[tuple[str, int, int]] = []
    for text, page, offset in lines:
        if len(text) <= max_chars:
            pieces.append((text, page, offset))
            continue
        for m in re.finditer(r".{1,%d}(?:[.;؛:!?](?=\s)|\s|$)" % (max_chars // 2), text, re.S):
            if m.group(0).strip():
                pieces.append((m.group(0).strip(), page, offset + m.start()))
    total = sum(len(t) + 1 for t, _, _ in pieces)
    if total <= max_chars:
        return [_join(pieces)]
    out = []
    start = 0
    while start < len(pieces):
        size, end = 0, start
        while end < len(pieces) and (size + len(pieces[end][0]) + 1 <= max_chars or end == start):
            size += len(pieces[end][0]) + 1
            end += 1
        out.append(_join(pieces[start:end]))
        if end >= len(pieces):
            break
        back, kept = end, 0
        while back - 1 > start and kept + len(pieces[back - 1][0]) <= overlap:
            back -= 1
            kept += len(pieces[back][0])
        start = back if back > start else end
    return out


def _join(pieces: list[tuple[str, int, int]]) -> tuple[str, list[int], int, int]:
    text = "\n".join(t for t, _, _ in pieces)
    pages = sorted({p for _, p, _ in pieces})
    start = min(o for _, _, o in pieces)
    end = max(o + len(t) for t, _, o in pieces)
    return text, pages, start, end
