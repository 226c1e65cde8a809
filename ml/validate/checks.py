"""The checks run against an endpoint (shape, range, accuracy, latency, refusals) and their report."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ml.clock import SYSTEM_CLOCK, Clock

from .interval import describe_accuracy, wilson_interval
from .sample import LabelledSample, load_sample
from .wire import CONTENT_TYPE_CSV, Invoke, describe, parse_scores, status_of, to_csv

BATCH_ROWS = 500
#: held-out rows sent when the caller names no number
DEFAULT_ROWS = 200
LATENCY_SAMPLES = 50
MALFORMED_BODY = b"this-is-not-a-valid-row\n"

CheckFn = Callable[[str, bool, str], bool]


def validate_endpoint(
    invoke: Invoke,
    data_path: Path | None = None,
    *,
    threshold: float = 0.8,
    latency_budget_ms: float = 300.0,
    sample_size: int = DEFAULT_ROWS,
    seed: int = 7,
    ping: Callable[[], bool] | None = None,
    endpoint: str | None = None,
    latency_samples: int = LATENCY_SAMPLES,
    clock: Clock = SYSTEM_CLOCK,
) -> dict[str, Any]:
    """Run every check against ``invoke`` and return the report (``passed`` only if all checks pass).

    ``sample_size`` held-out rows are sent, or all the data holds if that is fewer: ``rows`` is the
    number used, ``rows_requested`` the number asked for. ``accuracy_ci`` is the 95 % Wilson interval
    of ``correct / rows``; it informs, the gate stays ``accuracy >= threshold``.

    ``clock`` stamps the report and times the single-row calls. Raises ValueError for a bad
    ``data_path`` or argument: that is the caller's mistake, not the endpoint's.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], not {threshold}")
    if latency_budget_ms <= 0:
        raise ValueError(f"latency_budget_ms must be positive, not {latency_budget_ms}")
    if latency_samples < 1:
        raise ValueError("latency_samples must be at least 1")
    started_at = clock.now()
    sample = load_sample(data_path, sample_size, seed)
    checks: list[dict[str, Any]] = []
    report: dict[str, Any] = {
        "endpoint": endpoint,
        "passed": False,
        "checks": checks,
        "accuracy": None,
        "correct": None,
        "accuracy_ci": None,
        "p50_ms": None,
        "p95_ms": None,
        "rows": len(sample.rows),
        "rows_requested": sample_size,
        "threshold": threshold,
        "latency_budget_ms": latency_budget_ms,
        "data": sample.source,
        "started_at": started_at.isoformat(),
        "finished_at": None,
    }

    def check(name: str, passed: bool, detail: str) -> bool:
        checks.append({"name": name, "passed": passed, "detail": detail})
        return passed

    healthy = True
    if ping is not None:
        try:
            healthy = bool(ping())
            check(
                "ping", healthy, "endpoint is healthy" if healthy else "ping reported the endpoint unhealthy"
            )
        except Exception as exc:  # noqa: BLE001 - any failure to ping is a failed check
            healthy = check("ping", False, f"ping failed: {describe(exc)}")
    if healthy:
        _check_batch(invoke, sample, threshold, check, report)
        _check_latency(invoke, sample, latency_budget_ms, latency_samples, check, report, clock)
        _check_malformed(invoke, sample, check)
    else:
        for name in ("response_shape", "score_range", "accuracy", "latency", "malformed_request"):
            check(name, False, "not run: the endpoint failed its ping")

    report["passed"] = bool(checks) and all(c["passed"] for c in checks)
    report["finished_at"] = clock.now().isoformat()
    return report


def _check_batch(
    invoke: Invoke, sample: LabelledSample, threshold: float, check: CheckFn, report: dict[str, Any]
) -> None:
    scores: list[float] = []
    try:
        for start in range(0, len(sample.rows), BATCH_ROWS):
            batch = sample.rows[start : start + BATCH_ROWS]
            body, content_type = invoke(to_csv(batch), CONTENT_TYPE_CSV)
            try:
                got = parse_scores(body, content_type)
            except (ValueError, UnicodeDecodeError) as exc:
                check("response_shape", False, f"response is not a list of scores: {describe(exc)}")
                break
            if len(got) != len(batch):
                check(
                    "response_shape",
                    False,
                    f"sent {len(batch)} rows (from row {start + 1}), got {len(got)} scores back",
                )
                break
            scores.extend(got)
        else:
            check("response_shape", True, f"one score for each of {len(sample.rows)} rows")
    except Exception as exc:  # noqa: BLE001 - an endpoint failure is a failed check, reported in full
        check("response_shape", False, f"batch request failed: {describe(exc)}")
    if len(scores) != len(sample.rows):
        check("score_range", False, "not run: no complete set of scores")
        check("accuracy", False, "not run: no complete set of scores")
        return

    bad = [s for s in scores if not (math.isfinite(s) and 0.0 <= s <= 1.0)]
    check(
        "score_range",
        not bad,
        "every score is within [0, 1]" if not bad else f"{len(bad)} scores outside [0, 1], e.g. {bad[0]!r}",
    )
    correct = sum(
        int((score >= 0.5) == bool(label)) for score, label in zip(scores, sample.labels, strict=True)
    )
    rows = len(scores)
    accuracy = correct / rows
    low, high = wilson_interval(correct, rows)
    report["accuracy"] = round(accuracy, 4)
    report["correct"] = correct
    report["accuracy_ci"] = [round(low, 6), round(high, 6)]
    # Three decimals, unless they would show the accuracy equal to a threshold it misses or beats.
    digits = 4 if f"{accuracy:.3f}" == f"{threshold:.3f}" and accuracy != threshold else 3
    detail = (
        f"{describe_accuracy(correct, rows, digits)} "
        f"{'>=' if accuracy >= threshold else '<'} threshold {threshold:g}"
    )
    if sample.available < report["rows_requested"]:
        detail += f"; {report['rows_requested']} rows asked, the data holds only {sample.available}"
    check("accuracy", accuracy >= threshold, detail)


def _check_latency(
    invoke: Invoke,
    sample: LabelledSample,
    budget_ms: float,
    samples: int,
    check: CheckFn,
    report: dict[str, Any],
    clock: Clock,
) -> None:
    timings: list[float] = []
    failures: list[str] = []
    bodies = [to_csv([row]) for row in sample.rows[: min(len(sample.rows), samples)]]
    try:
        invoke(bodies[0], CONTENT_TYPE_CSV)  # warm-up: connection set-up is not serving latency
    except Exception as exc:  # noqa: BLE001 - counted below as a failed call
        failures.append(describe(exc))
    for index in range(samples):
        body = bodies[index % len(bodies)]
        began = clock.monotonic()
        try:
            invoke(body, CONTENT_TYPE_CSV)
        except Exception as exc:  # noqa: BLE001 - counted as a failed call
            failures.append(describe(exc))
            continue
        timings.append((clock.monotonic() - began) * 1000.0)
    if not timings:
        check("latency", False, f"every single-row call failed: {failures[0] if failures else 'no calls'}")
        return
    p50 = _percentile(timings, 0.50)
    p95 = _percentile(timings, 0.95)
    report["p50_ms"] = round(p50, 2)
    report["p95_ms"] = round(p95, 2)
    detail = (
        f"p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(timings)} single-row calls (budget {budget_ms:g} ms)"
    )
    if failures:
        check("latency", False, f"{len(failures)} single-row calls failed (first: {failures[0]}); {detail}")
    else:
        check("latency", p95 <= budget_ms, detail)


def _check_malformed(invoke: Invoke, sample: LabelledSample, check: CheckFn) -> None:
    probes = [("malformed request", MALFORMED_BODY)]
    if len(sample.rows[0]) > 1:
        probes.append(("row one value short", to_csv([sample.rows[0][:-1]])))
    outcomes: list[str] = []
    wrong: list[str] = []
    for name, body in probes:
        try:
            invoke(body, CONTENT_TYPE_CSV)
        except Exception as exc:  # noqa: BLE001 - the refusal is what this check expects
            status = status_of(exc)
            if status is None:
                wrong.append(f"{name} failed without a status ({describe(exc)})")
            elif not 400 <= status < 500:
                wrong.append(f"{name} refused with status {status}, expected a 4xx refusal")
            else:
                outcomes.append(f"{name} refused with status {status}")
        else:
            wrong.append(f"{name} was answered as if valid")
    try:
        invoke(to_csv(sample.rows[:1]), CONTENT_TYPE_CSV)
    except Exception as exc:  # noqa: BLE001 - not answering afterwards is the failure being checked
        wrong.append(f"then a valid request failed: {describe(exc)}")
    if wrong:
        check("malformed_request", False, "; ".join(outcomes + wrong))
    else:
        check("malformed_request", True, "; ".join(outcomes) + "; the endpoint still answers")


def _percentile(values: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
