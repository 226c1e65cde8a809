"""Smooth weighted round-robin: exact proportions, zero weights never picked."""

from __future__ import annotations

from collections import Counter

from ml.local.routing import WeightedRouter


def test_picks_follow_the_weights_exactly_in_every_run() -> None:
    router = WeightedRouter([90, 10])
    picks = [router.pick() for _ in range(100)]
    assert Counter(picks) == {0: 90, 1: 10}
    assert all(Counter(picks[i : i + 10])[1] == 1 for i in range(0, 100, 10))


def test_a_zero_weight_is_never_picked() -> None:
    router = WeightedRouter([0, 100])
    assert {router.pick() for _ in range(20)} == {1}
