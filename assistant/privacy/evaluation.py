"""Measuring the detector on a hand-labelled set (eval/privacy/lines.jsonl and its README).

Matching rule: a predicted entity is a true positive when its type is the labelled type and it
overlaps the labelled span by at least half of the labelled span's length; each labelled span and
each prediction is matched at most once (the largest overlap first). Unmatched predictions are
false positives, unmatched labels false negatives. Precision, recall and F1 are reported per
entity type, per language, per type and language, and overall; plus the share of lines without
personal data that the detector leaves untouched (no prediction at all).

`split` keeps every line ("all"), or those whose id ends with an even or an odd number: the
detector was tuned on the even ones, the odd ones are the held-out check.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import DatasetError
from assistant.privacy.entities import Entity, EntityType

LANGS = ("fr", "ar", "en")
SPLITS = ("all", "even", "odd")
# The targets of the privacy issue: recall per type, and the share of untouched clean lines.
RECALL_TARGETS = {"CIN": 0.95, "PHONE": 0.95, "EMAIL": 0.95, "RIB": 0.95, "PERSON": 0.85}
UNTOUCHED_TARGET = 0.95
MIN_OVERLAP = 0.5  # of the labelled span


@dataclass(frozen=True)
class Span:
    type: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Line:
    id: str
    language: str
    dialect: str | None
    text: str
    spans: tuple[Span, ...]

    @property
    def number(self) -> int:
        return int(self.id.rsplit("-", 1)[1])


def load_lines(path: Path) -> list[Line]:
    """The labelled lines of `path`; DatasetError naming the file and line on anything malformed."""
    if not path.is_file():
        raise DatasetError(f"{path}: no such file (give --lines FILE, a JSONL of labelled lines)")
    lines: list[Line] = []
    seen: set[str] = set()
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{path}:{n}"
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}: not JSON ({exc.msg})") from exc
        if not isinstance(obj, dict):
            raise DatasetError(f"{where}: expected a JSON object")
        try:
            lid, lang, text, ents = str(obj["id"]), obj["language"], obj["text"], obj["entities"]
        except KeyError as exc:
            raise DatasetError(f"{where}: missing key {exc}") from exc
        if lid in seen:
            raise DatasetError(f"{where}: duplicate id {lid}")
        seen.add(lid)
        if lang not in LANGS:
            raise DatasetError(f"{where}: language {lang!r} is not one of {', '.join(LANGS)}")
        if not isinstance(text, str) or not isinstance(ents, list):
            raise DatasetError(f"{where}: 'text' must be a string and 'entities' a list")
        if not lid.rsplit("-", 1)[-1].isdigit():
            raise DatasetError(f"{where}: id {lid!r} does not end with a number")
        spans = []
        for e in ents:
            if not isinstance(e, dict) or "type" not in e or "text" not in e:
                raise DatasetError(f"{where}: each entity needs 'type' and 'text'")
            if e["type"] not in EntityType.__members__:
                raise DatasetError(f"{where}: unknown entity type {e['type']!r}")
            occurrence = int(e.get("occurrence", 1))
            start = -1
            for _ in range(occurrence):
                start = text.find(e["text"], start + 1)
                if start < 0:
                    raise DatasetError(
                        f"{where}: entity text {e['text']!r} (occurrence {occurrence}) not in the line"
                    )
            spans.append(Span(e["type"], start, start + len(e["text"]), e["text"]))
        lines.append(Line(lid, lang, obj.get("dialect"), text, tuple(spans)))
    if not lines:
        raise DatasetError(f"{path}: no labelled lines")
    return lines


def select(lines: list[Line], split: str) -> list[Line]:
    if split not in SPLITS:
        raise DatasetError(f"split must be one of {', '.join(SPLITS)}")
    if split == "all":
        return lines
    parity = 0 if split == "even" else 1
    return [x for x in lines if x.number % 2 == parity]


def match(
    gold: tuple[Span, ...], predicted: list[Entity]
) -> tuple[list[tuple[Span, Entity]], list[Span], list[Entity]]:
    """(matched pairs, missed labels, false predictions) under the matching rule above."""
    candidates = []
    for gi, g in enumerate(gold):
        for pi, p in enumerate(predicted):
            overlap = min(g.end, p.end) - max(g.start, p.start)
            if p.type == g.type and overlap >= MIN_OVERLAP * (g.end - g.start):
                candidates.append((overlap, gi, pi))
    used_g: set[int] = set()
    used_p: set[int] = set()
    pairs = []
    for _, gi, pi in sorted(candidates, reverse=True):
        if gi not in used_g and pi not in used_p:
            used_g.add(gi)
            used_p.add(pi)
            pairs.append((gold[gi], predicted[pi]))
    missed = [g for i, g in enumerate(gold) if i not in used_g]
    false = [p for i, p in enumerate(predicted) if i not in used_p]
    return pairs, missed, false


def _prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    f = 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)
    rnd = lambda x: None if x is None else round(x, 3)  # noqa: E731
    return {"tp": tp, "fp": fp, "fn": fn, "precision": rnd(p), "recall": rnd(r), "f1": rnd(f)}


def evaluate(
    lines: list[Line], detect: Callable[[str, str | None], list[Entity]], *, with_language: bool = True
) -> dict[str, Any]:
    """Scores of `detect` on `lines` (see the module docstring), with per-line latency and the
    misses and false positives listed."""
    counts: dict[tuple[str, str], list[int]] = {}  # (type, lang) -> [tp, fp, fn]
    latencies: list[float] = []
    clean = untouched = 0
    misses, false_positives = [], []
    for line in lines:
        t = time.perf_counter()
        predicted = detect(line.text, line.language if with_language else None)
        latencies.append((time.perf_counter() - t) * 1000)
        pairs, missed, false = match(line.spans, predicted)
        for g, _ in pairs:
            counts.setdefault((g.type, line.language), [0, 0, 0])[0] += 1
        for p in false:
            counts.setdefault((p.type, line.language), [0, 0, 0])[1] += 1
        for g in missed:
            counts.setdefault((g.type, line.language), [0, 0, 0])[2] += 1
        if not line.spans:
            clean += 1
            untouched += not predicted
        misses += [{"id": line.id, "type": g.type, "text": g.text} for g in missed]
        false_positives += [{"id": line.id, "type": p.type, "text": p.text} for p in false]

    def total(entity_type: str | None = None, language: str | None = None) -> dict[str, Any]:
        rows = [v for (ty, la), v in counts.items() if entity_type in (None, ty) and language in (None, la)]
        return _prf(sum(v[0] for v in rows), sum(v[1] for v in rows), sum(v[2] for v in rows))

    types = [t.value for t in EntityType]
    by_type = {ty: total(ty) for ty in types}
    untouched_share = round(untouched / clean, 3) if clean else None
    targets = [
        {
            "target": f"{ty} recall >= {goal}",
            "value": by_type[ty]["recall"],
            "ok": by_type[ty]["recall"] is not None and by_type[ty]["recall"] >= goal,
        }
        for ty, goal in RECALL_TARGETS.items()
    ]
    targets.append(
        {
            "target": f"lines without personal data left untouched >= {UNTOUCHED_TARGET}",
            "value": untouched_share,
            "ok": untouched_share is not None and untouched_share >= UNTOUCHED_TARGET,
        }
    )
    return {
        "lines": len(lines),
        "rule": "true positive: same type and overlap >= half of the labelled span (one-to-one)",
        "overall": total(),
        "by_type": by_type,
        "by_language": {la: total(language=la) for la in LANGS},
        "by_type_language": {ty: {la: total(ty, la) for la in LANGS} for ty in types},
        "no_pii_lines": clean,
        "no_pii_untouched": untouched_share,
        "latency_ms": {
            "p50": round(statistics.median(latencies), 2) if latencies else None,
            "p95": round(sorted(latencies)[min(len(latencies) - 1, int(0.95 * len(latencies)))], 2)
            if latencies
            else None,
        },
        "targets": targets,
        "targets_met": all(t["ok"] for t in targets),
        "misses": misses,
        "false_positives": false_positives,
    }


def _cell(m: dict[str, Any]) -> str:
    if m["tp"] + m["fn"] == 0 and m["fp"] == 0:
        return "—"
    p = "—" if m["precision"] is None else f"{m['precision']:.2f}"
    r = "—" if m["recall"] is None else f"{m['recall']:.2f}"
    return f"P {p} R {r} ({m['tp']}/{m['tp'] + m['fn']})"


def markdown_table(report: dict[str, Any]) -> list[str]:
    """Per type x language table (precision, recall, found/labelled), then the per-language row."""
    out = ["| type | fr | ar | en | all (P / R / F1) |", "|---|---|---|---|---|"]
    for ty, row in report["by_type_language"].items():
        m = report["by_type"][ty]
        f1 = "—" if m["f1"] is None else f"{m['f1']:.2f}"
        out.append(
            f"| {ty} | {_cell(row['fr'])} | {_cell(row['ar'])} | {_cell(row['en'])} | {_cell(m)}, F1 {f1} |"
        )
    o = report["overall"]
    by = report["by_language"]
    out.append(
        f"| **all types** | {_cell(by['fr'])} | {_cell(by['ar'])} | {_cell(by['en'])} | {_cell(o)}, F1 {o['f1']} |"
    )
    return out
