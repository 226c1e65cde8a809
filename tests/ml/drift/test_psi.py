from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.special import rel_entr
from scipy.stats import entropy

from ml.drift.check import check
from ml.drift.psi import psi
from tests.ml.drift.conftest import shifted


def symmetrised_kl(expected: list[float], actual: list[float], floor: float = 1e-4) -> float:
    """KL(a‖e) + KL(e‖a) on the floored proportions, which is algebraically PSI.

    ``scipy.special.rel_entr`` term by term: ``scipy.stats.entropy`` would renormalise the floored
    vectors first, which PSI (as documented) does not.
    """
    e = np.maximum(np.asarray(expected, dtype=np.float64), floor)
    a = np.maximum(np.asarray(actual, dtype=np.float64), floor)
    return float(np.sum(rel_entr(a, e)) + np.sum(rel_entr(e, a)))


def test_identical_distributions_have_zero_psi() -> None:
    assert psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0


def test_empty_bins_are_floored_not_infinite() -> None:
    value = psi([0.5, 0.5, 0.0], [0.5, 0.0, 0.5])
    assert np.isfinite(value)
    assert value == pytest.approx(2 * (0.5 - 1e-4) * np.log(0.5 / 1e-4))


def test_mismatched_bins_are_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        psi([0.5, 0.5], [1.0])


def test_psi_equals_scipy_entropy_where_no_bin_needs_the_floor() -> None:
    e = np.array([0.1, 0.2, 0.3, 0.4])
    a = np.array([0.25, 0.25, 0.25, 0.25])
    assert psi(e, a) == pytest.approx(float(entropy(a, e) + entropy(e, a)), abs=1e-12)


@pytest.mark.parametrize("shift", [False, True], ids=["adult.test", "shifted"])
def test_psi_equals_symmetrised_kl_on_every_report_bin(
    adult_baseline: dict[str, Any], adult_test: pd.DataFrame, shift: bool
) -> None:
    report = check(adult_baseline, shifted(adult_test) if shift else adult_test)
    assert len(report.features) == 14
    for feature in report.features:
        expected = [e for _, e, _ in feature.bins]
        actual = [a for _, _, a in feature.bins]
        assert psi(expected, actual) == pytest.approx(symmetrised_kl(expected, actual), abs=1e-6)
        assert feature.psi == pytest.approx(symmetrised_kl(expected, actual), abs=1e-6), feature.name
