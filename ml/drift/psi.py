"""Population Stability Index of two binned distributions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FLOOR = 1e-4


def psi(
    expected: Sequence[float] | np.ndarray, actual: Sequence[float] | np.ndarray, floor: float = FLOOR
) -> float:
    """PSI = Σ (a − e) · ln(a / e) over the bins.

    Both inputs are proportions per bin, in the same bin order. Each proportion below ``floor`` is raised
    to ``floor`` (an empty bin would make the logarithm infinite) and then used as is: the floored
    proportions are *not* renormalised. With a 1e-4 floor and at most a few dozen bins the mass added is
    at most a few 1e-3, far below the 0.1 warning threshold, and leaving it keeps PSI equal to the
    symmetrised Kullback-Leibler divergence of exactly the numbers shown in the report.
    """
    e = np.maximum(np.asarray(expected, dtype=np.float64), floor)
    a = np.maximum(np.asarray(actual, dtype=np.float64), floor)
    if e.shape != a.shape or e.ndim != 1:
        raise ValueError(f"PSI needs two proportion vectors of the same length, not {e.shape} and {a.shape}")
    return float(np.sum((a - e) * np.log(a / e)))
