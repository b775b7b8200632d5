"""Validate the hand-labelled PII evaluation set ``lines.jsonl``.

Standard library only.  Usage::

    python eval/privacy/check_lines.py [path/to/lines.jsonl]

Exits with status 1 if any error is found; format warnings (e.g. a CNSS
number that does not have 9 digits) are printed but do not fail the run.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

ALLOWED_TYPES = (
    "PERSON",
    "CIN",
    "PHONE",
    "EMAIL",
    "RIB",
    "CNSS",
    "PASSPORT",
    "DATE_OF_BIRTH",
    "ADDRESS",
)
LANGUAGES = ("fr", "ar", "en")
DIALECTS = (None, "darija")
REQUIRED_KEYS = {"id", "language", "dialect", "text", "entities"}
ID_RE = re.compile(r"^(neg-)?(fr|ar|en)-\d{3}$")
ARABIC_INDIC = str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789")


def occurrences(text: str, sub: str) -> list[int]:
    """Start offsets of every (possibly overlapping) occurrence of sub."""
    starts, i = [], text.find(sub)
    while i != -1:
        starts.append(i)
        i = text.find(sub, i + 1)
    return starts


def digits(value: str) -> str:
    return re.sub(r"\D", "", value.translate(ARABIC_INDIC))


def format_warning(etype: str, value: str) -> str | None:
    """Light sanity checks on the label values (warnings only)."""
    norm = value.translate(ARABIC_INDIC)
    if etype == "CNSS" and len(digits(value)) != 9:
        return "CNSS number should have 9 digits"
    if etype == "RIB":
        compact = re.sub(r"[\s-]", "", norm)
        if compact[:2].upper() == "MA":
            if not re.fullmatch(r"MA\d{26}", compact, re.I):
                return "Moroccan IBAN should be MA + 26 digits"
        elif len(digits(value)) != 24:
            return "RIB should have 24 digits"
    if etype == "CIN" and not re.fullmatch(r"[A-Za-z]{1,2} ?\d{4,6}", norm):
        return "CIN should be 1-2 letters + 4-6 digits"
    if etype == "EMAIL" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}", value):
        return "e-mail looks malformed"
    if etype == "PHONE" and not 9 <= len(digits(value)) <= 14:
        return "phone number has an unusual number of digits"
    return None


def check(path: Path) -> int:
    errors: list[str] = []
    warnings: list[str] = []
    ids: Counter[str] = Counter()
    texts: dict[str, str] = {}
    lines_per_lang: Counter[str] = Counter()
    pii_lines_per_lang: Counter[str] = Counter()
    neg_lines_per_lang: Counter[str] = Counter()
    darija_lines: Counter[str] = Counter()  # "pii" / "neg"
    type_counts: Counter[str] = Counter()
    type_lang_counts: Counter[tuple[str, str]] = Counter()
    n_records = 0

    with path.open(encoding="utf-8") as fh:
        raw_lines = fh.read().split("\n")
    if raw_lines and raw_lines[-1] == "":
        raw_lines.pop()

    for lineno, raw in enumerate(raw_lines, start=1):
        where = f"line {lineno}"
        if not raw.strip():
            errors.append(f"{where}: empty line")
            continue
        try:
            rec = json.loads(raw)
        except json.JSONDecodeError as exc:
            errors.append(f"{where}: invalid JSON ({exc})")
            continue
        if not isinstance(rec, dict):
            errors.append(f"{where}: not a JSON object")
            continue
        n_records += 1
        missing = REQUIRED_KEYS - rec.keys()
        extra = rec.keys() - REQUIRED_KEYS
        if missing:
            errors.append(f"{where}: missing keys {sorted(missing)}")
            continue
        if extra:
            errors.append(f"{where}: unexpected keys {sorted(extra)}")

        rid, lang, dialect, text, ents = (
            rec["id"],
            rec["language"],
            rec["dialect"],
            rec["text"],
            rec["entities"],
        )
        where = f"line {lineno} ({rid})"
        ids[rid] += 1

        id_match = ID_RE.match(rid) if isinstance(rid, str) else None
        if id_match is None:
            errors.append(f"{where}: bad id format")
        if lang not in LANGUAGES:
            errors.append(f"{where}: language {lang!r} not in {LANGUAGES}")
        elif id_match is not None and id_match.group(2) != lang:
            errors.append(f"{where}: id prefix does not match language {lang!r}")
        if dialect not in DIALECTS:
            errors.append(f"{where}: dialect {dialect!r} not in {DIALECTS}")
        if dialect == "darija" and lang != "ar":
            errors.append(f"{where}: dialect 'darija' only allowed for language 'ar'")
        if not isinstance(text, str) or not text.strip():
            errors.append(f"{where}: empty or non-string text")
            continue
        if "\n" in text or text != text.strip():
            errors.append(f"{where}: text has newline or surrounding whitespace")
        if text in texts:
            errors.append(f"{where}: duplicate text (same as {texts[text]})")
        texts.setdefault(text, rid)
        if not isinstance(ents, list):
            errors.append(f"{where}: entities is not a list")
            continue

        is_neg = isinstance(rid, str) and rid.startswith("neg-")
        if is_neg and ents:
            errors.append(f"{where}: no-PII line (neg-) must have entities: []")
        if not is_neg and not ents:
            errors.append(f"{where}: PII line has no entity (use a neg- id for no-PII lines)")

        lines_per_lang[lang] += 1
        (neg_lines_per_lang if not ents else pii_lines_per_lang)[lang] += 1
        if dialect == "darija":
            darija_lines["neg" if not ents else "pii"] += 1

        spans: list[tuple[int, int, str, str]] = []
        for k, ent in enumerate(ents, start=1):
            ewhere = f"{where} entity {k}"
            if not isinstance(ent, dict):
                errors.append(f"{ewhere}: not an object")
                continue
            bad_keys = ent.keys() - {"type", "text", "occurrence"}
            if bad_keys or not {"type", "text"} <= ent.keys():
                errors.append(f"{ewhere}: keys must be type, text[, occurrence]")
                continue
            etype, etext = ent["type"], ent["text"]
            if etype not in ALLOWED_TYPES:
                errors.append(f"{ewhere}: type {etype!r} not allowed")
            if not isinstance(etext, str) or not etext or etext != etext.strip():
                errors.append(f"{ewhere}: entity text empty or has surrounding whitespace")
                continue
            starts = occurrences(text, etext)
            if not starts:
                errors.append(f"{ewhere}: {etype} {etext!r} not found in text")
                continue
            occ = ent.get("occurrence")
            if occ is None:
                if len(starts) > 1:
                    errors.append(f"{ewhere}: {etext!r} occurs {len(starts)} times; add 'occurrence'")
                occ = 1
            elif not isinstance(occ, int) or isinstance(occ, bool) or occ < 1:
                errors.append(f"{ewhere}: occurrence must be an integer >= 1")
                continue
            elif occ > len(starts):
                errors.append(f"{ewhere}: occurrence {occ} but {etext!r} occurs {len(starts)} time(s)")
                continue
            start = starts[occ - 1]
            spans.append((start, start + len(etext), etype, etext))
            if etype in ALLOWED_TYPES:
                type_counts[etype] += 1
                type_lang_counts[(etype, lang)] += 1
                warn = format_warning(etype, etext)
                if warn:
                    warnings.append(f"{ewhere}: {etext!r}: {warn}")

        spans.sort()
        for a, b in zip(spans, spans[1:], strict=False):
            if b[0] < a[1]:
                errors.append(f"{where}: overlapping entities {a[3]!r} and {b[3]!r}")

    for rid, n in ids.items():
        if n > 1:
            errors.append(f"id {rid!r} used {n} times")

    # ---- report -------------------------------------------------------
    n_neg = sum(neg_lines_per_lang.values())
    print(f"file: {path}")
    print(f"records: {n_records}")
    print()
    print(f"{'language':<10}{'lines':>7}{'with PII':>10}{'no PII':>8}")
    for lang in LANGUAGES:
        print(
            f"{lang:<10}{lines_per_lang[lang]:>7}{pii_lines_per_lang[lang]:>10}{neg_lines_per_lang[lang]:>8}"
        )
    print(f"{'total':<10}{sum(lines_per_lang.values()):>7}{sum(pii_lines_per_lang.values()):>10}{n_neg:>8}")
    print(f"darija lines (ar): {darija_lines['pii']} with PII, {darija_lines['neg']} without")
    print()
    print(f"{'entity type':<15}" + "".join(f"{lang:>6}" for lang in LANGUAGES) + f"{'total':>7}")
    for etype in ALLOWED_TYPES:
        row = "".join(f"{type_lang_counts[(etype, lang)]:>6}" for lang in LANGUAGES)
        print(f"{etype:<15}{row}{type_counts[etype]:>7}")
    row = "".join(f"{sum(type_lang_counts[(t, lang)] for t in ALLOWED_TYPES):>6}" for lang in LANGUAGES)
    print(f"{'total':<15}{row}{sum(type_counts.values()):>7}")
    print()
    print(f"no-PII lines: {n_neg}")

    for w in warnings:
        print(f"WARNING: {w}")
    for e in errors:
        print(f"ERROR: {e}")
    print(f"\n{len(errors)} error(s), {len(warnings)} warning(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    default = Path(__file__).resolve().with_name("lines.jsonl")
    sys.exit(check(Path(sys.argv[1]) if len(sys.argv) > 1 else default))
