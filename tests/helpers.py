"""Helpers for tests that compare two engines' rankings or wait on a running process.

Rankings: two engines that compute the same scores in floating point agree only up to a
tolerance, so two items whose scores are closer than that may come in either order, and an item
at the cut of a top-k may be on one side only. `assert_same_ranking` accepts exactly those
differences and reports anything else at the first rank where the two sides differ, with both
sides' item, score and payload fields (as qdrant-client's tests/congruence_tests do).

Waiting: `wait_until` polls a condition until a deadline and fails saying what it waited for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

# Machine epsilon of float32 (2**-23); the unit roundoff u is half of it.
FLOAT32_EPS = float(np.finfo(np.float32).eps)


def float32_tolerance(roundings: int, magnitude: float = 1.0) -> float:
    """The most two float32 computations of the same score can differ.

    A float32 computation whose error analysis counts `roundings` successive roundings (a sum of
    n terms counts n, whatever the summation order: Higham, "Accuracy and Stability of Numerical
    Algorithms", section 3.1) is within roundings * u * magnitude of the exact value, where
    `magnitude` bounds the sum of the absolute values of the terms. Two such computations (two
    engines, SIMD lanes against a plain loop) are within roundings * eps * magnitude of each other.
    """
    return roundings * FLOAT32_EPS * magnitude


@dataclass(frozen=True)
class Ranked:
    """One ranked item: its id, its score and whatever payload identifies it to a reader."""

    id: str
    score: float
    payload: Mapping[str, Any] = field(default_factory=dict)


def ranked(items: Sequence[Any]) -> list[Ranked]:
    """Ranked items from store hits (`chunk_id`, `score`, `payload`) or from `Ranked` items."""
    out = []
    for x in items:
        if isinstance(x, Ranked):
            out.append(x)
        else:
            out.append(Ranked(str(x.chunk_id), float(x.score), dict(getattr(x, "payload", None) or {})))
    return out


def ranked_scores(scores: Sequence[float] | np.ndarray, ids: Sequence[str] | None = None) -> list[Ranked]:
    """Items ranked by descending score, for scores computed in the test (one per candidate)."""
    values = [float(s) for s in scores]
    names = list(ids) if ids is not None else [str(i) for i in range(len(values))]
    order = sorted(range(len(values)), key=lambda i: -values[i])
    return [Ranked(names[i], values[i]) for i in order]


def _describe(item: Ranked, fields: Sequence[str]) -> str:
    shown = {k: item.payload[k] for k in fields if k in item.payload}
    return f"{item.id} score={item.score:.9g}" + (f" {shown}" if shown else "")


def _table(a: list[Ranked], b: list[Ranked], names: tuple[str, str], fields: Sequence[str], mark: int) -> str:
    width = max([len(names[0])] + [len(_describe(x, fields)) for x in a]) + 2
    lines = [f"  {'rank':>5}  {names[0]:<{width}}{names[1]}"]
    for r in range(max(len(a), len(b))):
        left = _describe(a[r], fields) if r < len(a) else "-"
        right = _describe(b[r], fields) if r < len(b) else "-"
        lines.append(f"{'>' if r == mark else ' '} {r + 1:>5}  {left:<{width}}{right}")
    return "\n".join(lines)


def ranking_difference(
    a: Sequence[Any],
    b: Sequence[Any],
    tolerance: float,
    *,
    names: tuple[str, str] = ("a", "b"),
    fields: Sequence[str] = (),
) -> str | None:
    """Why the two rankings differ beyond `tolerance` (a per-item score tolerance), or None.

    Allowed: per item, scores up to `tolerance` apart; two items whose scores are within
    2 * tolerance in either order (each score may have moved by `tolerance` in opposite
    directions); an item on one side only when its score is within `tolerance` of the other
    side's last score (cut off at a tie on the other side).
    """
    ra, rb = ranked(a), ranked(b)
    na, nb = names
    pos_a = {x.id: i for i, x in enumerate(ra)}
    pos_b = {x.id: i for i, x in enumerate(rb)}

    def report(rank: int, reason: str) -> str:
        here = []
        for side, items, other_name, other_pos, other in ((na, ra, nb, pos_b, rb), (nb, rb, na, pos_a, ra)):
            if rank < len(items):
                x = items[rank]
                j = other_pos.get(x.id)
                where = (
                    f"rank {j + 1} in {other_name}, score {other[j].score:.9g}"
                    if j is not None
                    else f"not in {other_name}'s {len(other)} results"
                )
                here.append(f"  {side}: {_describe(x, fields)} ({where})")
            else:
                here.append(f"  {side}: nothing (it returned {len(items)} results)")
        return (
            f"{na} and {nb} differ at rank {rank + 1}: {reason}\n"
            + "\n".join(here)
            + f"\n(score tolerance {tolerance:.3g} per item, so ties within {2 * tolerance:.3g})\n"
            + _table(ra, rb, names, fields, rank)
        )

    for side, items in ((na, ra), (nb, rb)):
        for r in range(1, len(items)):
            if items[r].score > items[r - 1].score:
                return report(r, f"{side} ranks a higher score below a lower one")
    for r in range(max(len(ra), len(rb))):
        if r >= len(ra) or r >= len(rb):
            return report(r, f"{na} returned {len(ra)} results, {nb} {len(rb)}")
        x, y = ra[r], rb[r]
        if abs(x.score - y.score) > tolerance:
            return report(r, f"the scores at this rank differ by {abs(x.score - y.score):.3g}")
        if x.id in pos_b and abs(x.score - rb[pos_b[x.id]].score) > tolerance:
            return report(r, f"{x.id} scores {x.score:.9g} in {na} and {rb[pos_b[x.id]].score:.9g} in {nb}")
        if x.id == y.id:
            continue
        # different items at this rank: only a tie (or a cut at a tie) may explain it
        for item, other, other_pos, other_name in ((x, rb, pos_b, nb), (y, ra, pos_a, na)):
            counterpart = other[r]
            j = other_pos.get(item.id)
            if j is None:
                if item.score > other[-1].score + tolerance:
                    return report(
                        r,
                        f"{item.id} is missing from {other_name}'s results although it scores "
                        f"above {other_name}'s last score {other[-1].score:.9g}",
                    )
            elif abs(other[j].score - counterpart.score) > 2 * tolerance:
                return report(
                    r,
                    f"{other_name} scores {item.id} {other[j].score:.9g} and {counterpart.id} "
                    f"{counterpart.score:.9g}: not a tie, so their order must agree",
                )
    return None


def assert_same_ranking(
    a: Sequence[Any],
    b: Sequence[Any],
    tolerance: float,
    *,
    names: tuple[str, str] = ("a", "b"),
    fields: Sequence[str] = (),
    context: str = "",
) -> None:
    """Fail, naming the first differing rank with both sides, unless the rankings agree up to ties."""
    difference = ranking_difference(a, b, tolerance, names=names, fields=fields)
    assert difference is None, (f"{context}: " if context else "") + str(difference)


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float,
    what: str,
    interval: float = 0.25,
    ignoring: tuple[type[Exception], ...] = (),
) -> T:
    """Poll `condition` until it returns something truthy (returned) or `timeout` seconds pass.

    Exceptions in `ignoring` count as "not yet" (a server not listening yet); any other
    exception propagates at once. On timeout the failure says what was awaited and the last
    ignored error.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = condition()
        except ignoring as exc:
            last_error, value = exc, None  # type: ignore[assignment]
        if value:
            return value
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error is not None else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{detail}")
        time.sleep(interval)
