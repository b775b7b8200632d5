"""Files to text lines with page numbers, through unstructured, fully offline.

PDF text layers are read with pypdf (pdfminer, unstructured's fast path, reverses the
Arabic of Word-generated PDFs; pypdf keeps reading order and real lam-alef), then handed
to unstructured's text partitioner. Pages without a text layer are OCR'd with Tesseract.
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import IngestError
from assistant.language import detect_language
from assistant.textnorm import arabic_ratio, clean_text
from assistant.tuning import TUNING, Tuning
from ingest import ocr
from ingest.cleaning import clean_lines
from ingest.unstructured_offline import patch_unstructured

_log = logging.getLogger(__name__)

SUPPORTED = {".pdf", ".docx", ".html", ".htm", ".md", ".markdown", ".txt"}


@dataclass
class Line:
    text: str
    page: int
    category: str = "Text"  # unstructured's element category (Title, ListItem, NarrativeText...)


@dataclass
class ParsedDocument:
    lines: list[Line]
    pages: int
    method: str
    ocr_pages: list[int] = field(default_factory=list)
    encoding: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


# ---------------------------------------------------------------- helpers
_PAGE_NUMBER = re.compile(r"^\s*(?:[-–—]\s*)?(?:page\s*)?\d{1,4}(?:\s*/\s*\d{1,4})?\s*(?:[-–—])?\s*$", re.I)
_INLINE_PAGE_MARK = re.compile(r"\s[-–—]\s?\d{1,4}\s?[-–—]\s")


def _furniture_key(line: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", " ", line.strip().casefold()))


def remove_furniture(pages: list[list[str]]) -> list[list[str]]:
    """Drop running headers/footers, page numbers and watermark lines repeated across pages."""
    if not pages:
        return pages
    counts: Counter[str] = Counter()
    for lines in pages:
        counts.update({_furniture_key(line) for line in _edges(lines)})
    threshold = max(TUNING.furniture_min_pages, int(TUNING.furniture_page_share * len(pages)))
    repeated = {
        k
        for k, n in counts.items()
        if n >= threshold and len(pages) >= TUNING.furniture_min_pages and len(k) < TUNING.furniture_max_chars
    }
    cleaned: list[list[str]] = []
    for lines in pages:
        kept = []
        edges = {id(x) for x in _edges(lines)}
        for line in lines:
            stripped = line.strip()
            if not stripped or _PAGE_NUMBER.match(stripped):
                continue
            at_edge = id(line) in edges
            if at_edge and _furniture_key(stripped) in repeated and not _looks_structural(stripped):
                continue
            if _is_watermark_noise(stripped):
                continue
            kept.append(line)
        cleaned.append(kept)
    return cleaned


def _edges(lines: list[str], n: int = TUNING.furniture_edge_lines) -> list[str]:
    """Running headers and footers sit in the first or last lines of a page."""
    non_empty = [line for line in lines if line.strip()]
    return non_empty[:n] + non_empty[-n:] if len(non_empty) > 2 * n else non_empty


_STRUCTURAL = re.compile(
    r"^(article|art\.|chapitre|titre|section|livre|المادة|الفصل|الباب|القسم|الكتاب)\b", re.I
)


def _looks_structural(line: str) -> bool:
    return bool(_STRUCTURAL.match(line))


def _is_watermark_noise(line: str) -> bool:
    """Diagonal watermarks extract as short runs of capitals: 'W', 'AF AL A', '.F R'."""
    letters = re.sub(r"[\s.]", "", line)
    if not letters or len(letters) > TUNING.watermark_max_letters:
        return False
    return letters.isupper() and letters.isalpha() and not re.match(r"^[IVXLC]+$", letters)


def split_long_line(line: str) -> list[str]:
    """Text files that hold one line per page: split at inline page marks ('- 3 -')."""
    if len(line) < TUNING.page_line_chars:
        return [line]
    parts = _INLINE_PAGE_MARK.split(line)
    return [p.strip() for p in parts if p.strip()]


# control characters that never occur in text (tab, line feed, vertical tab, form feed and
# carriage return do)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_UTF16_SAMPLE = 65536


def utf16_without_bom(raw: bytes, limits: Tuning = TUNING) -> str | None:
    """The encoding ("utf-16-le" or "utf-16-be") of bytes that look like UTF-16 without a byte-order mark.

    In UTF-16 the high byte of every code unit of Latin text is 0x00 and of Arabic text 0x06
    (0x00 for its spaces, digits and punctuation); those bytes almost never occur in UTF-8,
    Windows-1256 or Windows-1252 text.
    """
    sample = raw[:_UTF16_SAMPLE]
    if len(sample) < 4:
        return None
    share = limits.utf16_high_byte_share

    def high(b: bytes) -> float:
        return (b.count(0) + b.count(6)) / len(b)

    even, odd = high(sample[0::2]), high(sample[1::2])
    if odd >= share and even <= 0.5:
        return "utf-16-le"
    if even >= share and odd <= 0.5:
        return "utf-16-be"
    return None


def _decode_strict(raw: bytes, encoding: str, how: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"undecodable text: the file looks like {how} but byte {exc.start} is invalid "
            f"({exc.reason}); save it again as UTF-8",
        ) from exc


def decode_text(raw: bytes, limits: Tuning = TUNING) -> tuple[str, str]:
    """The text of a text file and the encoding found: UTF-8 (with or without BOM), UTF-16 (with
    or without BOM, little- or big-endian), else Windows-1256 when that gives Arabic, else
    Windows-1252. Raises IngestError for binary content. charset-normalizer is not used: it reads
    short Windows-1256 Arabic as cp949 (Korean)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        text, encoding = _decode_strict(raw[3:], "utf-8", "UTF-8 (byte-order mark)"), "utf-8-sig"
    elif raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text, encoding = _decode_strict(raw, "utf-16", "UTF-16 (byte-order mark)"), "utf-16"
    elif guess := utf16_without_bom(raw, limits):
        text, encoding = _decode_strict(raw, guess, f"{guess.upper()} without byte-order mark"), guess
    else:
        try:
            text, encoding = raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            if b"\x00" in raw:
                raise IngestError(
                    "binary content: the file holds NUL bytes and is neither UTF-8 nor UTF-16 text; "
                    "save it as UTF-8 text"
                ) from None
            as_arabic = raw.decode("cp1256", errors="replace")
            if arabic_ratio(as_arabic) > limits.cp1256_arabic_share:
                text, encoding = as_arabic, "cp1256"
            else:
                text, encoding = raw.decode("cp1252", errors="replace"), "cp1252"
    control = len(_CONTROL.findall(text)) if text else 0
    if text and control / len(text) > limits.max_control_share:
        raise IngestError(
            f"not text: {control / len(text):.0%} of the characters read as {encoding} are control "
            "characters (a binary file, or an encoding Dalil does not read); save it as UTF-8 text",
        )
    return text, encoding


def check_chars(n: int, limits: Tuning = TUNING) -> None:
    """Refuse a document that yields more text than limits.max_extracted_chars."""
    if n > limits.max_extracted_chars:
        raise IngestError(
            f"too much text: more than {limits.max_extracted_chars:,} characters extracted (limit "
            f"DALIL_MAX_EXTRACTED_CHARS={limits.max_extracted_chars}); split the document or raise the limit",
        )


def check_zip(data: bytes, limits: Tuning = TUNING) -> None:
    """Refuse a ZIP-based file (DOCX) whose members would decompress too much, before decompressing
    anything (the sizes its directory declares), then while streaming every member through a
    bounded reader (a directory that lies stops at the limit too). Memory stays at one 1 MB piece."""
    limit = limits.max_unzipped_bytes
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise IngestError(
            f"corrupt DOCX: not a readable ZIP archive ({exc}); save it again from Word"
        ) from exc
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        declared = sum(i.file_size for i in infos)
        if declared > limit:
            raise IngestError(
                f"DOCX too large once decompressed: its members declare {declared:,} bytes (limit "
                f"DALIL_MAX_UNZIPPED_BYTES={limit}); a ZIP bomb or an oversized document, nothing was "
                "decompressed",
            )
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size >= limits.zip_ratio_min_bytes and ratio > limits.max_zip_ratio:
                raise IngestError(
                    f"DOCX member {info.filename} is compressed {ratio:,.0f} to 1 (limit "
                    f"DALIL_MAX_ZIP_RATIO={limits.max_zip_ratio:g}); a ZIP bomb, nothing was decompressed",
                )
        total = 0
        for info in infos:
            read = 0
            try:
                with archive.open(info) as member:
                    while piece := member.read(1 << 20):
                        read += len(piece)
                        total += len(piece)
                        if read > info.file_size:
                            raise IngestError(
                                f"DOCX member {info.filename} decompresses to more than the "
                                f"{info.file_size:,} bytes it declares: a forged ZIP; not read further",
                            )
                        if total > limit:
                            raise IngestError(
                                f"DOCX too large once decompressed: more than {limit:,} bytes (limit "
                                f"DALIL_MAX_UNZIPPED_BYTES={limit}); reading stopped at the limit",
                            )
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
                raise IngestError(
                    f"corrupt DOCX member {info.filename}: {exc}; save the document again from Word"
                ) from exc


# ---------------------------------------------------------------- formats
def _partition_lines(text: str, page: int, language: str | None) -> list[Line]:
    from unstructured.partition.text import partition_text

    if not text.strip():
        return []
    langs = [ocr.TESSERACT_LANG.get(language or "", "fra")] if language else None
    elements = partition_text(text=text, languages=langs)
    out = []
    for el in elements:
        t = clean_text(el.text).strip()
        if not t:
            continue
        if el.category == "ListItem" and not re.match(r"^[-•*\d(a-z]", t):
            t = "- " + t
        out.append(Line(t, page, el.category))
    return out


def _pdf_pages(path: Path, limits: Tuning = TUNING) -> tuple[list[str], int]:
    import pypdf
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    raw = path.read_bytes()
    if not raw.lstrip()[:5].startswith(b"%PDF-"):
        raise IngestError("not a PDF: the file has a .pdf name but no %PDF- header (binary or renamed file)")
    if b"%%EOF" not in raw[-2048:]:
        raise IngestError(
            "truncated PDF: no %%EOF marker at the end of the file; re-export or re-download it"
        )
    try:
        reader = pypdf.PdfReader(path)
        if reader.is_encrypted:
            try:
                opened = bool(reader.decrypt(""))
            except Exception:
                opened = False
            if not opened:
                raise IngestError("password-protected PDF: remove the password and add the file again")
        n = len(reader.pages)
        if n > limits.max_pages:
            raise IngestError(
                f"PDF has {n} pages (limit DALIL_MAX_PAGES={limits.max_pages}): split it or raise the limit"
            )
        texts = []
        chars = 0
        for page in reader.pages:
            texts.append(page.extract_text() or "")
            chars += len(texts[-1])
            check_chars(chars, limits)
    except IngestError:
        raise
    except FileNotDecryptedError as exc:
        raise IngestError("password-protected PDF: remove the password and add the file again") from exc
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IngestError(f"corrupt PDF: {exc}") from exc
    return texts, n


def parse_pdf(
    path: Path,
    language: str | None,
    ocr_languages: str,
    dpi: int,
    cache_dir: Path | None,
    limits: Tuning = TUNING,
) -> ParsedDocument:
    texts, n = _pdf_pages(path, limits)
    empty = [i + 1 for i, t in enumerate(texts) if len(re.sub(r"\s", "", t)) < TUNING.min_page_chars]
    ocr_done: list[int] = []
    if len(empty) > limits.max_ocr_pages:
        raise IngestError(
            f"{len(empty)} pages have no text layer and need OCR (limit DALIL_MAX_OCR_PAGES="
            f"{limits.max_ocr_pages}); split the document, add a text layer or raise the limit",
        )
    if empty:
        langs = ocr.TESSERACT_LANG.get(language or "", ocr_languages) if language else ocr_languages
        ocr_texts = _cached_ocr(path, empty, langs, dpi, cache_dir)
        for page, t in ocr_texts.items():
            if len(re.sub(r"\s", "", t)) >= TUNING.min_page_chars:
                texts[page - 1] = t
                ocr_done.append(page)
    page_lines = remove_furniture([clean_text(t).split("\n") for t in texts])
    lines: list[Line] = []
    for i, pl in enumerate(page_lines):
        lines.extend(_partition_lines("\n".join(pl), i + 1, language))
    method = "pypdf" if not ocr_done else ("ocr" if len(ocr_done) == n else "pypdf+ocr")
    return ParsedDocument(lines, n, method, ocr_done)


def _cached_ocr(path: Path, pages: list[int], langs: str, dpi: int, cache_dir: Path | None) -> dict[int, str]:
    import hashlib

    if cache_dir is None:
        return ocr.ocr_pages(path, pages, langs, dpi)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:24]
    cache = cache_dir / f"{digest}-{langs}-{dpi}.json"
    if cache.exists():
        try:
            data = {int(k): str(v) for k, v in json.loads(cache.read_text(encoding="utf-8")).items()}
        except (ValueError, AttributeError, UnicodeDecodeError) as exc:  # damaged: it is a cache
            aside = cache.with_name(f"{cache.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
            cache.rename(aside)
            _log.warning(
                "%s (OCR cache) is damaged: %s. It is a cache: moved aside to %s, the pages are read again.",
                cache,
                exc,
                aside,
            )
            data = {}
        if all(p in data for p in pages):
            return {p: data[p] for p in pages}
    result = ocr.ocr_pages(path, pages, langs, dpi)
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return result


def parse_txt(path: Path, language: str | None, limits: Tuning = TUNING) -> ParsedDocument:
    text, encoding = decode_text(path.read_bytes(), limits)
    check_chars(len(text), limits)
    # files that keep one line per page separate pages with blank lines or form feeds
    raw_pages = re.split(r"\f|\n\s*\n", text) if "\f" in text or _one_line_pages(text) else [text]
    pages = [[seg for line in p.split("\n") for seg in split_long_line(clean_text(line))] for p in raw_pages]
    pages = remove_furniture(pages) if len(pages) >= TUNING.furniture_min_pages else pages
    lines: list[Line] = []
    for i, pl in enumerate(pages):
        lines.extend(_partition_lines("\n".join(pl), i + 1, language))
    return ParsedDocument(lines, len(pages), "text", encoding=encoding)


def _one_line_pages(text: str) -> bool:
    blocks = [b for b in re.split(r"\n\s*\n", text) if b.strip()]
    return (
        len(blocks) >= 2
        and sum(len(b) > TUNING.page_line_chars and "\n" not in b.strip() for b in blocks) >= len(blocks) / 2
    )


def _elements_to_lines(elements: list, language: str | None) -> list[Line]:  # type: ignore[type-arg]
    lines = []
    for el in elements:
        text = clean_text(el.text or "").strip()
        if not text:
            continue
        page = getattr(el.metadata, "page_number", None) or 1
        for part in text.split("\n"):
            if part.strip():
                lines.append(Line(part.strip(), page, el.category))
    return lines


def parse_structured(path: Path, language: str | None, limits: Tuning = TUNING) -> ParsedDocument:
    suffix = path.suffix.lower()
    try:
        if suffix == ".docx":
            from unstructured.partition.docx import partition_docx

            data = path.read_bytes()
            check_zip(data, limits)  # the bytes checked are the bytes parsed
            elements = partition_docx(file=io.BytesIO(data))
            method = "unstructured-docx"
        elif suffix in (".html", ".htm"):
            from unstructured.partition.html import partition_html

            text, _ = decode_text(path.read_bytes(), limits)
            check_chars(len(text), limits)
            elements = partition_html(text=text)
            method = "unstructured-html"
        else:
            from unstructured.partition.md import partition_md

            text, _ = decode_text(path.read_bytes(), limits)
            check_chars(len(text), limits)
            elements = partition_md(text=text)
            method = "unstructured-md"
    except IngestError:
        raise
    except Exception as exc:  # unstructured raises many types for broken files
        raise IngestError(f"could not parse {suffix} file: {type(exc).__name__}: {exc}") from exc
    lines = _elements_to_lines(elements, language)
    pages = max((line.page for line in lines), default=1)
    return ParsedDocument(lines, pages, method)


def parse_file(
    path: Path,
    language: str | None = None,
    ocr_languages: str = "fra+ara",
    dpi: int = TUNING.ocr_dpi,
    cache_dir: Path | None = None,
    limits: Tuning = TUNING,
) -> ParsedDocument:
    """Parse one file; every limit of `limits` (file size, pages, OCR pages, characters, ZIP
    members) is checked before the work it bounds, as an IngestError naming the limit."""
    patch_unstructured()
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise IngestError(
            f"unsupported file type {suffix or '(none)'}: Dalil reads {', '.join(sorted(SUPPORTED))}",
        )
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise IngestError("file disappeared before it could be read") from exc
    if size == 0:
        raise IngestError(EMPTY_FILE)
    check_size(size, limits)
    try:
        if suffix == ".pdf":
            doc = parse_pdf(path, language, ocr_languages, dpi, cache_dir, limits)
        elif suffix == ".txt":
            doc = parse_txt(path, language, limits)
        else:
            doc = parse_structured(path, language, limits)
    except FileNotFoundError as exc:
        raise IngestError("file disappeared while it was being read") from exc
    check_chars(sum(len(line.text) for line in doc.lines), limits)  # OCR'd and DOCX text included
    doc.lines = clean_lines(doc.lines)  # bulletin furniture out, split Arabic words joined
    if not any(len(line.text) > 1 for line in doc.lines):
        why = "no text layer and OCR found no text" if suffix == ".pdf" else "no text in the file"
        raise IngestError(f"empty document: {why}; nothing was indexed")
    return doc


EMPTY_FILE = "empty file (0 bytes): nothing to index; add its text or remove the file"


def check_size(size: int, limits: Tuning = TUNING) -> None:
    """Refuse a file larger than limits.max_file_bytes (before it is read)."""
    if size > limits.max_file_bytes:
        raise IngestError(
            f"file too large: {size:,} bytes (limit DALIL_MAX_FILE_BYTES={limits.max_file_bytes}); "
            "split the document or raise the limit",
        )


def guess_language(doc: ParsedDocument) -> str:
    return detect_language(doc.text[: TUNING.language_sample_chars])
