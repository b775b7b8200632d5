"""OCR of image-only PDF pages with Tesseract (Debian packages tesseract-ocr-fra/-ara)."""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from assistant.errors import IngestError
from assistant.tuning import TUNING

TESSERACT_LANG = {"fr": "fra", "ar": "ara", "en": "eng"}


def ocr_available() -> bool:
    return shutil.which("tesseract") is not None and shutil.which("pdftoppm") is not None


def ocr_page(pdf: Path, page_number: int, languages: str, dpi: int = TUNING.ocr_dpi) -> str:
    """Render one page (1-based) with poppler and read it with Tesseract.

    Tesseract's automatic page segmentation (psm 3) detects the two-column layout of the
    Bulletin officiel and reads each column top to bottom.
    """
    render = subprocess.run(
        [
            "pdftoppm",
            "-r",
            str(dpi),
            "-f",
            str(page_number),
            "-l",
            str(page_number),
            "-gray",
            "-png",
            str(pdf),
        ],
        capture_output=True,
        check=False,
        timeout=TUNING.ocr_render_timeout_s,
    )
    if render.returncode != 0 or not render.stdout:
        raise IngestError(f"could not render page {page_number} for OCR: {render.stderr.decode()[:200]}")
    read = subprocess.run(
        ["tesseract", "stdin", "stdout", "-l", languages, "--psm", "3"],
        input=render.stdout,
        capture_output=True,
        check=False,
        timeout=TUNING.ocr_page_timeout_s,
        env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"},
    )
    if read.returncode != 0:
        raise IngestError(f"tesseract failed on page {page_number}: {read.stderr.decode()[:200]}")
    return read.stdout.decode("utf-8", errors="replace")


def ocr_pages(
    pdf: Path, pages: list[int], languages: str, dpi: int = TUNING.ocr_dpi, workers: int = TUNING.ocr_workers
) -> dict[int, str]:
    if not ocr_available():
        raise IngestError(
            "this PDF has pages without a text layer and Tesseract is not installed: "
            "run `make setup` (installs tesseract-ocr, tesseract-ocr-fra, tesseract-ocr-ara, poppler-utils).",
        )
    with ThreadPoolExecutor(max_workers=workers) as pool:
        texts = list(pool.map(lambda n: ocr_page(pdf, n, languages, dpi), pages))
    return dict(zip(pages, texts, strict=True))
