"""How uncertain an accuracy measured on a sample is: the Wilson score interval, standard library only.

The Wilson interval keeps its coverage on a few hundred rows and near 0 or 1, where the normal
approximation (accuracy ± 1.96·sd) is too narrow and can leave [0, 1].
"""

from __future__ import annotations

import math
from statistics import NormalDist

#: The confidence of every interval validation reports.
CONFIDENCE = 0.95


def wilson_interval(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The two-sided Wilson score interval of ``successes / trials`` (Newcombe 1998, method 3)."""
    if trials < 1:
        raise ValueError(f"trials must be at least 1, not {trials}")
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be within 0-{trials}, not {successes}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), not {confidence}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / trials
    denominator = 2 * (trials + z * z)
    centre = (2 * trials * p + z * z) / denominator
    delta = z / denominator * math.sqrt(4 * trials * p * (1 - p) + z * z)
    # At k = 0 (or k = n) the bound is exactly 0 (or 1); the formula gets there only up to rounding.
    low = 0.0 if successes == 0 else centre - delta
    high = 1.0 if successes == trials else centre + delta
    return low, high


def describe_accuracy(correct: int, rows: int, digits: int = 3) -> str:
    """``accuracy 0.830 on 200 rows (95 % CI 0.772–0.876)``: the figure, its sample size and interval."""
    low, high = wilson_interval(correct, rows)
    return (
        f"accuracy {correct / rows:.{digits}f} on {rows} rows "
        f"({CONFIDENCE * 100:.0f} % CI {low:.{digits}f}–{high:.{digits}f})"
    )
