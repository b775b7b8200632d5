"""Regression gate: compare a run with a baseline run or with fixed thresholds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from assistant.errors import DatasetError
from assistant.tuning import TUNING

LOWER_IS_BETTER = {"answerable_refused"}


def _flat(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def gate_against(
    current: dict[str, Any], baseline: dict[str, Any], tolerance: float = TUNING.gate_tolerance
) -> dict[str, Any]:
    cur, base = _flat(current), _flat(baseline)
    regressions = []
    for name, before in base.items():
        if name in ("n", "seconds") or name not in cur:
            continue
        after = cur[name]
        delta = after - before
        worse = delta > tolerance if name in LOWER_IS_BETTER else delta < -tolerance
        if worse:
            regressions.append(
                {"metric": name, "baseline": before, "current": after, "delta": round(delta, 4)}
            )
    return {"passed": not regressions, "regressions": regressions, "tolerance": tolerance}


def gate_thresholds(current: dict[str, Any], path: Path) -> dict[str, Any]:
    """Thresholds file (YAML): `metric: minimum` or `metric: {min: x}` / `{max: y}`."""
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DatasetError(f"cannot read thresholds {path}: {exc}") from exc
    cur = _flat(current)
    regressions = []
    for name, rule in spec.items():
        bounds = rule if isinstance(rule, dict) else {"min": rule}
        value = cur.get(name)
        if value is None:
            regressions.append({"metric": name, "current": None, "reason": "metric missing from the run"})
            continue
        if "min" in bounds and value < float(bounds["min"]):
            regressions.append({"metric": name, "current": value, "min": bounds["min"]})
        if "max" in bounds and value > float(bounds["max"]):
            regressions.append({"metric": name, "current": value, "max": bounds["max"]})
    return {"passed": not regressions, "regressions": regressions}
