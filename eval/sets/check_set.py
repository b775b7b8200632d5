"""Validate eval/sets/questions.jsonl.

Run from the repository root:
    .venv/bin/python eval/sets/check_set.py [--set eval/sets/questions.jsonl] [--text-dir /tmp/evalsets-text]

Standard library + assistant.textnorm.match_key only. The extracted texts are the output of the
project's own parser (ingest.parsing.parse_file), one file per document, named
<collection>__<file name>.txt (e.g. maroc_ar__MA_Qanun_114-13_al-Muqawil_al-Dhati_AR.txt.txt);
eval/sets/extract_texts.py writes them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from assistant.textnorm import match_key  # noqa: E402

KINDS = {
    "factual",
    "procedural",
    "multi-hop",
    "unanswerable",
    "cross-lingual",
    "temporal",
    "follow-up",
    "topic-switch",
}
LANGUAGES = {"fr", "ar", "en"}
DIRECTIONS = {"fr->ar", "ar->fr", "en->ar", "en->fr"}
SPLITS = {"calibration", "test"}
REQUIRED = [
    "id",
    "question",
    "language",
    "dialect",
    "kind",
    "reference_answer",
    "reference_contexts",
    "context_files",
    "source_files",
    "source_file",
    "article",
    "mentions_law_in_passing",
    "direction",
    "as_of",
    "history",
    "why",
    "split",
]
DOCS = [
    "maroc_fr/MA_Constitution_2011_BO5964bis_FR_scan.pdf",
    "maroc_fr/MA_Loi_09-08_protection_donnees_personnelles_FR.pdf",
    "maroc_fr/MA_Code_du_travail_Loi_65-99_FR.pdf",
    "maroc_fr/MA_Loi_19-12_travailleurs_domestiques_FR.pdf",
    "maroc_fr/MA_Loi_60-17_formation_continue_FR.pdf",
    "maroc_fr/MA_Code_de_la_famille_Loi_70-03_FR.pdf",
    "maroc_fr/MA_Decret_2-26-395_credits_supplementaires_2026_FR.pdf",
    "maroc_ar/MA_Mudawanat_al-Shughl_Qanun_65-99_2021_AR.pdf",
    "maroc_ar/MA_Qanun_19-12_al-Ummal_al-Manziliyin_AR.pdf",
    "maroc_ar/MA_Qanun_60-17_al-Takwin_al-Mustamirr_AR.pdf",
    "maroc_ar/MA_Marsoum_2-25-983_SMIG_2026_AR.pdf",
    "maroc_ar/MA_Marsoum_2-24-1122_SMIG_2025_AR.pdf",
    "maroc_ar/MA_Marsoum_2-04-513_al-Raha_al-Usbuiya_AR.pdf",
    "maroc_ar/MA_Marsoum_2-08-358_al-Taawid_al-Aili_CNSS_AR.pdf",
    "maroc_ar/MA_Marsoum_2-17-355_Namudhaj_Aqd_al-Amil_al-Manzili_AR.pdf",
    "maroc_ar/MA_Marsoum_2-23-72_al-Amal_al-Tatawui_al-Taaqudi_AR.pdf",
    "maroc_ar/MA_Marsoum_2-08-310_Jawaz_al-Safar_al-Biometri_AR.txt",
    "maroc_ar/MA_Dahir_1-58-376_Haqq_Tasis_al-Jamiyat_AR.txt",
    "maroc_ar/MA_Qanun_114-13_al-Muqawil_al-Dhati_AR.txt",
    "maroc_ar/MA_Dahir_1-58-250_Qanun_al-Jinsiya_AR.txt",
    "france_admin/FR_Loi_78-753_CADA_titre-ier_article-2.md",
    "france_admin/FR_Loi_78-753_CADA_titre-ier_article-4.md",
    "france_admin/FR_Loi_78-753_CADA_titre-ier_article-6.md",
    "france_admin/FR_Loi_2000-321_DCRA_titre-ii_chapitre-ii_article-19.md",
    "france_admin/FR_Loi_2000-321_DCRA_titre-ii_chapitre-ii_article-21.md",
]
MINIMA = {
    "total": 260,
    "unanswerable": 50,
    "multi-hop": 25,
    "follow-up": 15,
    "topic-switch": 10,
    "temporal_answerable": 15,
    "direction": 12,
    "darija": 15,
    "per_doc": 5,
}


def doc_lang(path: str) -> str:
    return "ar" if path.startswith("maroc_ar/") else "fr"


def text_file(text_dir: Path, path: str) -> Path:
    return text_dir / (path.replace("/", "__") + ".txt")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default=str(ROOT / "eval/sets/questions.jsonl"))
    ap.add_argument("--text-dir", default="/tmp/evalsets-text")
    ap.add_argument("--dev", default=str(ROOT.parent / "shared/corpora/eval/dev.jsonl"))
    args = ap.parse_args()
    text_dir = Path(args.text_dir)
    errors: list[str] = []

    keys: dict[str, str] = {}
    for d in DOCS:
        tf = text_file(text_dir, d)
        if not tf.exists():
            errors.append(f"extracted text missing for {d}: {tf}")
            continue
        keys[d] = match_key(tf.read_text(encoding="utf-8"))

    rows = []
    for n, raw in enumerate(Path(args.set).read_text(encoding="utf-8").splitlines(), start=1):
        if raw.strip():
            try:
                rows.append(json.loads(raw))
            except json.JSONDecodeError as exc:
                errors.append(f"line {n}: invalid JSON ({exc})")

    dev_questions = set()
    if Path(args.dev).exists():
        for raw in Path(args.dev).read_text(encoding="utf-8").splitlines():
            if raw.strip():
                dev_questions.add(match_key(json.loads(raw)["question"]))

    seen_ids: set[str] = set()
    seen_q: dict[str, str] = {}
    per_doc: Counter[str] = Counter()
    for r in rows:
        rid = r.get("id", "?")

        def err(msg: str, rid: str = rid) -> None:
            errors.append(f"{rid}: {msg}")

        missing = [f for f in REQUIRED if f not in r]
        if missing:
            err(f"missing fields {missing}")
            continue
        if rid in seen_ids:
            err("duplicate id")
        seen_ids.add(rid)
        q = r["question"]
        if not isinstance(q, str) or not q.strip():
            err("empty question")
        qk = match_key(q)
        if qk in seen_q:
            err(f"duplicate question text (also {seen_q[qk]})")
        seen_q[qk] = rid
        if qk in dev_questions:
            err("question copied from dev.jsonl")
        if r["kind"] not in KINDS:
            err(f"kind {r['kind']!r} not allowed")
        if r["language"] not in LANGUAGES:
            err(f"language {r['language']!r} not allowed")
        if r["dialect"] not in (None, "darija") or (r["dialect"] == "darija" and r["language"] != "ar"):
            err(f"bad dialect {r['dialect']!r}")
        if r["split"] not in SPLITS:
            err(f"bad split {r['split']!r}")
        if not isinstance(r["mentions_law_in_passing"], bool):
            err("mentions_law_in_passing must be a boolean")
        if not isinstance(r["history"], list):
            err("history must be a list")
        ctx, cfiles, sfiles = r["reference_contexts"], r["context_files"], r["source_files"]
        if r["kind"] == "unanswerable":
            if ctx or sfiles or cfiles or r["source_file"] is not None:
                err("unanswerable must have empty contexts/sources and source_file null")
            if not r["why"]:
                err("unanswerable needs 'why'")
            continue
        # answerable
        if not r["reference_answer"].strip():
            err("empty reference_answer")
        if r["why"] is not None:
            err("'why' only for unanswerable")
        if not (1 <= len(ctx) <= 3):
            err(f"{len(ctx)} reference contexts (want 1-3)")
        if len(cfiles) != len(ctx):
            err("context_files and reference_contexts differ in length")
        if not sfiles or r["source_file"] != sfiles[0]:
            err("source_file must be source_files[0]")
        if len(set(sfiles)) != len(sfiles):
            err("duplicate entries in source_files")
        for f in sfiles:
            if f not in DOCS:
                err(f"unknown source file {f}")
        for i, (e, f) in enumerate(zip(ctx, cfiles, strict=False)):
            if f not in sfiles:
                err(f"context file {f} not in source_files")
            if not (40 <= len(e) <= 300):
                err(f"excerpt {i} has {len(e)} characters (want 40-300)")
            k = match_key(e)
            if f in keys and (not k or k not in keys[f]):
                err(f"excerpt {i} not found in {f}: {e[:90]!r}")
        for f in sfiles:
            per_doc[f] += 1
        if r["kind"] == "cross-lingual":
            src_langs = {doc_lang(f) for f in sfiles}
            want = f"{r['language']}->{next(iter(src_langs))}" if len(src_langs) == 1 else None
            if r["direction"] not in DIRECTIONS or r["direction"] != want or r["language"] in src_langs:
                err(f"bad direction {r['direction']!r} (sources {sorted(src_langs)})")
        elif r["direction"] is not None:
            err("direction only for cross-lingual")
        if r["kind"] == "temporal":
            try:
                dt.date.fromisoformat(r["as_of"] or "")
            except ValueError:
                err(f"temporal needs as_of YYYY-MM-DD, got {r['as_of']!r}")
        if r["kind"] in ("follow-up", "topic-switch"):
            h = r["history"]
            if (
                len(h) < 2
                or h[0].get("role") != "user"
                or h[-1].get("role") != "assistant"
                or not all(m.get("content") for m in h)
            ):
                err("follow-up/topic-switch needs a user/assistant history")
        elif r["history"]:
            err("history only for follow-up/topic-switch")
    # unanswerable may carry as_of / history too (temporal or conversational unanswerables)
    for r in rows:
        if r.get("kind") == "unanswerable" and r.get("as_of"):
            try:
                dt.date.fromisoformat(r["as_of"])
            except ValueError:
                errors.append(f"{r['id']}: bad as_of")

    # ---- aggregate checks
    kinds = Counter(r["kind"] for r in rows)
    langs = Counter(r["language"] for r in rows)
    darija = sum(1 for r in rows if r["dialect"] == "darija")
    temporal_ok = sum(1 for r in rows if r["kind"] == "temporal")
    directions = Counter(r["direction"] for r in rows if r["kind"] == "cross-lingual")
    if len(rows) < MINIMA["total"]:
        errors.append(f"only {len(rows)} questions")
    for k in ("unanswerable", "multi-hop", "follow-up", "topic-switch"):
        if kinds[k] < MINIMA[k]:
            errors.append(f"only {kinds[k]} {k}")
    if temporal_ok < MINIMA["temporal_answerable"]:
        errors.append(f"only {temporal_ok} answerable temporal")
    for d in sorted(DIRECTIONS):
        if directions[d] < MINIMA["direction"]:
            errors.append(f"only {directions[d]} cross-lingual {d}")
    if darija < MINIMA["darija"]:
        errors.append(f"only {darija} darija")
    for d in DOCS:
        if per_doc[d] < MINIMA["per_doc"]:
            errors.append(f"only {per_doc[d]} answerable questions for {d}")
    splits = Counter(r["split"] for r in rows)
    strata: defaultdict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for r in rows:
        strata[(r["kind"], r["language"])][r["split"]] += 1
    for key, c in strata.items():
        if abs(c["calibration"] - c["test"]) > 1:
            errors.append(f"split unbalanced in stratum {key}: {dict(c)}")
    if abs(splits["calibration"] - splits["test"]) > max(2, len(rows) // 50):
        errors.append(f"split unbalanced: {dict(splits)}")

    # ---- report
    n = len(rows)
    print(f"questions: {n}   answerable: {n - kinds['unanswerable']}   darija: {darija}")
    print("languages:", {k: f"{v} ({100 * v / n:.0f}%)" for k, v in sorted(langs.items())})
    print("kinds:", dict(sorted(kinds.items())))
    print("splits:", dict(splits))
    print("cross-lingual directions:", dict(sorted(directions.items())))
    print("\nkind x language x split (calibration/test):")
    for kind in sorted(kinds):
        cells = []
        for lang in ("fr", "ar", "en"):
            c = strata.get((kind, lang), Counter())
            cells.append(f"{lang} {c['calibration']}/{c['test']}")
        print(f"  {kind:14s} " + "   ".join(cells))
    print("\nanswerable questions per document:")
    for d in DOCS:
        print(f"  {per_doc[d]:4d}  {d}")
    if errors:
        print(f"\n{len(errors)} PROBLEM(S):")
        for e in errors:
            print("  -", e)
        return 1
    print("\nOK: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
