"""Answer quality on the question set (`eval/sets/questions.jsonl`, calibration and test halves) and
on dev.jsonl: extractive answers over the real-corpus index, every figure per kind and per direction,
the margins of the calibrated refusal decision, and the targets of the quality issue."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assistant.settings import Settings
from assistant.tuning import TUNING

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "eval" / "sets" / "questions.jsonl"
SETS = ("calibration", "test", "dev")
FIGURES = (
    "excerpt_recall@5",
    "source_hit@5",
    "mrr",
    "answerable_refused",
    "unanswerable_refused",
    "citation_validity",
    "language_match",
)
KEPT = (*FIGURES, "n", "refusal_accuracy")


def split_files(work: Path) -> dict[str, Path]:
    """The calibration and test halves of the question set as dataset files of their own."""
    work.mkdir(parents=True, exist_ok=True)
    lines: dict[str, list[str]] = {"calibration": [], "test": []}
    for line in QUESTIONS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            split = json.loads(line).get("split")
            if split in lines:
                lines[split].append(line)
    out = {}
    for name, rows in lines.items():
        out[name] = work / f"questions-{name}.jsonl"
        out[name].write_text("\n".join(rows) + "\n", encoding="utf-8")
    return out


def _keep(m: dict[str, Any]) -> dict[str, Any]:
    return {k: m.get(k) for k in KEPT if k in m}


def bench_quality(settings: Settings, work: Path) -> dict[str, Any]:
    """`settings`: an index of the whole corpus (the one `bench_ingest` builds)."""
    from eval.runner import run

    files = {**split_files(work), "dev": settings.corpus_dir / "eval" / "dev.jsonl"}
    out: dict[str, Any] = {"mode": "extractive", "sets": {}}
    for name in SETS:
        record = run(settings, files[name], mode="extractive", tag=f"bench-{name}")
        m = record["metrics"]
        out["sets"][name] = {
            **_keep(m),
            "by_kind": {k: _keep(v) for k, v in m.get("by_kind", {}).items()},
            "by_direction": {k: _keep(v) for k, v in m.get("by_direction", {}).items()},
            "by_language": {k: _keep(v) for k, v in m.get("by_language", {}).items()},
            "refusal_margins": m.get("refusal_margins"),
        }
    out["decision"] = {
        "refusal_weights": TUNING.refusal_weights,
        "refusal_log_odds": TUNING.refusal_log_odds,
        "confident_margin": TUNING.confident_margin,
    }
    return out


def _f(v: Any) -> str:
    return "—" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))


def _table(rows: list[tuple[str, dict[str, Any]]]) -> list[str]:
    out = ["| group | n | " + " | ".join(FIGURES) + " |", "|---" * (len(FIGURES) + 2) + "|"]
    for name, m in rows:
        out.append(f"| {name} | {_f(m.get('n'))} | " + " | ".join(_f(m.get(k)) for k in FIGURES) + " |")
    return out


def _cross_directions(m: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d: v for d, v in m.get("by_direction", {}).items() if len(set(d.split("->"))) == 2}


def render_section(q: dict[str, Any]) -> list[str]:
    sets = q["sets"]
    out = [
        "## Answer quality on the question set (`benchmarks/results/quality.json`)",
        "",
        "Extractive answers over the whole corpus. `eval/sets/questions.jsonl` is split once into a",
        "calibration half (every calibrated number of `assistant/tuning.py` is fitted on it) and a test half",
        "(reported, never tuned on); `dev.jsonl` is a third check. Refusal figures count every refusal",
        "(rules and the calibrated decision).",
        "",
        *_table([(name, sets[name]) for name in SETS if name in sets]),
        "",
    ]
    for name in SETS:
        m = sets.get(name)
        if not m:
            continue
        out += [f"### {name}: per kind and per direction", ""]
        rows = [(f"kind {k}", v) for k, v in m.get("by_kind", {}).items()]
        rows += [(f"direction {k}", v) for k, v in m.get("by_direction", {}).items()]
        rows += [(f"language {k}", v) for k, v in m.get("by_language", {}).items()]
        out += [*_table(rows), ""]
    d = q.get("decision", {})
    out += [
        "### Margins of the calibrated refusal decision",
        "",
        f"Decision: logistic model `refusal_weights` {d.get('refusal_weights')}, refusing below log-odds "
        f"`refusal_log_odds` {d.get('refusal_log_odds')}; extractive answers say their quotes answer the "
        f"question only at a margin of `confident_margin` {d.get('confident_margin')} or more. Margin = "
        "log-odds minus the threshold: the lowest answerable one must stay positive, the highest "
        "unanswerable one negative; 'below' / 'above' count questions on the wrong side of the decision "
        "(rules such as a named text not indexed refuse some of them anyway).",
        "",
        "| set | group | lowest answerable | highest unanswerable | answerable margin | unanswerable margin | "
        "answerable below | unanswerable above |",
        "|---|---|---|---|---|---|---|---|",
    ]
    cols = (
        "lowest_answerable",
        "highest_unanswerable",
        "answerable_margin",
        "unanswerable_margin",
        "answerable_below",
        "unanswerable_above",
    )
    for name in SETS:
        margins = (sets.get(name) or {}).get("refusal_margins")
        if not margins:
            continue
        groups = [("all", margins["all"])]
        for key in ("by_language", "by_kind", "by_direction"):
            groups += [(f"{key[3:]} {g}", v) for g, v in margins.get(key, {}).items()]
        for group, v in groups:
            out.append(f"| {name} | {group} | " + " | ".join(_f(v.get(c)) for c in cols) + " |")
    out.append("")
    return out


def target_rows(q: dict[str, Any]) -> list[list[Any]]:
    """The quality issue's targets, on the test half (extractive), and no regression on dev."""
    test = q["sets"].get("test")
    dev = q["sets"].get("dev")
    rows: list[list[Any]] = []
    if test:
        rec, hit = test["excerpt_recall@5"], test["source_hit@5"]
        rows.append(["test half: excerpt recall@5 ≥ 0.92", rec, rec is not None and rec >= 0.92])
        rows.append(["test half: source hit@5 ≥ 0.97", hit, hit is not None and hit >= 0.97])
        cross = _cross_directions(test)
        worst = min(
            (v["excerpt_recall@5"] for v in cross.values() if v.get("excerpt_recall@5") is not None),
            default=None,
        )
        rows.append(
            [
                "test half: cross-lingual recall@5 ≥ 0.85 in every direction",
                ", ".join(f"{d} {_f(v.get('excerpt_recall@5'))}" for d, v in cross.items()),
                worst is not None and worst >= 0.85,
            ]
        )
        mh = test.get("by_kind", {}).get("multi-hop", {}).get("excerpt_recall@5")
        rows.append(["test half: multi-hop recall@5 ≥ 0.75", mh, mh is not None and mh >= 0.75])
        ar, ur = test["answerable_refused"], test["unanswerable_refused"]
        rows.append(["test half: ≤ 3 % of answerable questions refused", ar, ar is not None and ar <= 0.03])
        rows.append(["test half: ≥ 90 % of unanswerable questions refused", ur, ur is not None and ur >= 0.9])
        lm, cv = test["language_match"], test["citation_validity"]
        rows.append(["test half: language match 100 %", lm, lm == 1.0])
        rows.append(["test half: every citation valid", cv, cv == 1.0])
    if dev:
        rec, hit = dev["excerpt_recall@5"], dev["source_hit@5"]
        ar, ur = dev["answerable_refused"], dev["unanswerable_refused"]
        rows.append(
            [
                "dev: no regression (recall@5 ≥ 0.921, hit@5 1.0, no answerable refused, every unanswerable refused)",
                f"{_f(rec)}, {_f(hit)}, {_f(ar)}, {_f(ur)}",
                rec is not None and rec >= 0.921 and hit == 1.0 and ar == 0 and ur == 1.0,
            ]
        )
    return rows
