"""Extract the 25 corpus documents with the project's own parser, for eval/sets/check_set.py.

Run from the repository root (the scanned Constitution needs OCR: a few minutes the first time):
    HF_HUB_OFFLINE=1 DO_NOT_TRACK=1 .venv/bin/python eval/sets/extract_texts.py [--out /tmp/evalsets-text]
Writes <collection>__<file name>.txt per document (e.g. maroc_fr__MA_Code_du_travail_Loi_65-99_FR.pdf.txt).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ingest.parsing import parse_file  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/evalsets-text")
    ap.add_argument("--ocr-cache", default="/tmp/evalsets-ocr")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for collection in ("maroc_fr", "maroc_ar", "france_admin"):
        for path in sorted((CORPUS / collection).iterdir()):
            if path.suffix.lower() not in (".pdf", ".txt", ".md"):
                continue
            lang = "ar" if collection == "maroc_ar" else "fr"
            doc = parse_file(
                path, language=lang, ocr_languages="fra+ara", dpi=300, cache_dir=Path(args.ocr_cache)
            )
            target = out / f"{collection}__{path.name}.txt"
            target.write_text(doc.text, encoding="utf-8")
            print(f"{collection}/{path.name}: {len(doc.text)} characters -> {target}")


if __name__ == "__main__":
    main()
