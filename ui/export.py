"""A conversation as plain text (copy), Markdown and PDF (export for a case file).

Each export carries every question, the answer shown, its citations (article, title, official
reference, document, page), the date and the index version the answers were computed on. The PDF
is set in DejaVu Sans (Debian's fonts-dejavu-core, which has Arabic glyphs) with fpdf2's text
shaping through HarfBuzz: Arabic letters are joined and each paragraph takes its own direction
(an Arabic paragraph right-aligned and right-to-left, a French one left-to-right).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError
from ui.i18n import t

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
FONT_FILE = "DejaVuSans.ttf"
BOLD_FONT_FILE = "DejaVuSans-Bold.ttf"
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN = re.compile("[A-Za-zÀ-ÿ]")
# runs of the other direction inside a paragraph, isolated (LRI/RLI ... PDI) so that the PDF's bidi
# keeps "2026-11-23", "09-08" or "17,92 درهما" in order (invisible: they draw no glyph)
_LTR_RUN = re.compile(r"[0-9A-Za-zÀ-ÿ](?:[0-9A-Za-zÀ-ÿ:/.,\-_ ]*[0-9A-Za-zÀ-ÿ])?")
_RTL_RUN = re.compile("[\u0600-\u06ff](?:[\u0600-\u06ff0-9,. ]*[\u0600-\u06ff])?")
LRI, RLI, PDI = "\u2066", "\u2067", "\u2069"


@dataclass(frozen=True)
class ExportTurn:
    """One question and the answer shown for it, with the index version it was computed on."""

    question: str
    answer: dict[str, Any]
    ts: str = ""
    index_version: str | None = None


def is_rtl(text: str) -> bool:
    """The direction a paragraph takes from its first strong letter (as `dir="auto"` does)."""
    for ch in text:
        if _ARABIC.match(ch):
            return True
        if _LATIN.match(ch):
            return False
    return False


def citation_line(c: dict[str, Any], lang: str) -> str:
    parts = [f"[{c.get('n')}]", c.get("article") or "", "—", c.get("title") or ""]
    line = " ".join(p for p in parts if p)
    extra = []
    if c.get("reference"):
        extra.append(f"{t(lang, 'reference')} : {c['reference']}")
    if c.get("source"):
        extra.append(str(c["source"]))
    extra.append(f"{t(lang, 'page')} {c.get('page') or '?'}")
    return f"{line} ({' · '.join(extra)})"


def answer_text(answer: dict[str, Any], lang: str) -> str:
    """An answer with its citations, as plain text (what the copy button gives)."""
    lines = [str(answer.get("answer") or "").strip()]
    cites = answer.get("citations") or []
    if cites:
        lines += ["", t(lang, "sources") + " :"]
        lines += [citation_line(c, lang) for c in cites]
    return "\n".join(lines).strip() + "\n"


def _header(lang: str, exported_at: str, versions: Sequence[str]) -> list[str]:
    return [
        t(lang, "export_title"),
        f"{t(lang, 'export_date')} : {exported_at}",
        f"{t(lang, 'index_version')} : {', '.join(versions) or '—'}",
    ]


def _versions(turns: Sequence[ExportTurn]) -> list[str]:
    return list(dict.fromkeys(tu.index_version for tu in turns if tu.index_version))


def conversation_markdown(turns: Sequence[ExportTurn], lang: str, exported_at: str) -> str:
    title, date_line, version_line = _header(lang, exported_at, _versions(turns))
    out = [f"# {title}", "", f"- {date_line}", f"- {version_line}", ""]
    for i, tu in enumerate(turns, 1):
        out += [f"## {i}. {' '.join(tu.question.split())}", ""]
        if tu.ts:
            out += [f"*{tu.ts}*", ""]
        out += [str(tu.answer.get("answer") or "").strip(), ""]
        cites = tu.answer.get("citations") or []
        if cites:
            out += [f"**{t(lang, 'sources')}**", ""]
            out += [f"- {citation_line(c, lang)}" for c in cites]
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def isolate_runs(line: str) -> str:
    """`line` with each run of the other direction than the paragraph's isolated."""
    if is_rtl(line):
        return _LTR_RUN.sub(lambda m: LRI + m.group(0) + PDI, line)
    return _RTL_RUN.sub(lambda m: RLI + m.group(0) + PDI, line)


def font_path(name: str = FONT_FILE) -> Path:
    for folder in FONT_DIRS:
        if (folder / name).is_file():
            return folder / name
    raise ConfigError(
        f"the PDF export needs the font {name} (Debian package fonts-dejavu-core): run `make setup` "
        "or `apt-get install fonts-dejavu-core`"
    )


def conversation_pdf(turns: Sequence[ExportTurn], lang: str, exported_at: str) -> bytes:
    """The conversation as a PDF: Arabic shaped and right-to-left, each paragraph in its own
    direction."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("dejavu", "", str(font_path()))
    pdf.add_font("dejavu", "B", str(font_path(BOLD_FONT_FILE)))
    pdf.set_text_shaping(True)
    pdf.set_title(t(lang, "export_title"))
    pdf.add_page()

    def paragraph(text: str, size: float = 10.5, bold: bool = False, gap: float = 1.5) -> None:
        pdf.set_font("dejavu", "B" if bold else "", size)
        for line in text.splitlines() or [""]:
            if not line.strip():
                pdf.ln(2)
                continue
            pdf.multi_cell(
                0,
                size * 0.55,
                isolate_runs(line),
                align="R" if is_rtl(line) else "L",
                new_x="LMARGIN",
                new_y="NEXT",
            )
        pdf.ln(gap)

    title, date_line, version_line = _header(lang, exported_at, _versions(turns))
    paragraph(title, 15, bold=True, gap=2)
    paragraph(date_line, 9)
    paragraph(version_line, 9, gap=4)
    for i, tu in enumerate(turns, 1):
        paragraph(f"{i}. {' '.join(tu.question.split())}", 11.5, bold=True)
        paragraph(str(tu.answer.get("answer") or "").strip())
        cites = tu.answer.get("citations") or []
        if cites:
            paragraph(t(lang, "sources"), 10, bold=True, gap=0.5)
            for c in cites:
                paragraph(citation_line(c, lang), 9, gap=0.5)
        pdf.ln(4)
    return bytes(pdf.output())
