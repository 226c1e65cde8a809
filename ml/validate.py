"""Staging validation: does a deployed endpoint answer correctly, accurately and fast enough?

Checks, in order (each one a ``checks`` entry of the report):

``ping``              the endpoint reports healthy (only when a ``ping`` callable is given)
``response_shape``    a batch of held-out rows comes back with exactly one score per row
``score_range``       every score is a finite probability in [0, 1]
``accuracy``          accuracy on the held-out labelled sample (threshold 0.5) >= ``threshold``
``latency``           p95 of single-row calls <= ``latency_budget_ms``
``malformed_request`` a malformed request, and a row one value short, are each refused with a 4xx
                      error, and the endpoint still answers

What is sent is the serving contract (``ml.inference``): CSV rows, raw business values by default (the
bundled ``adult.test``, which no model trained on ``adult.data`` has seen), ``Accept: text/csv``. A
short row is probed on purpose: SageMaker's built-in XGBoost (algorithm mode) scores one without
complaint, so an endpoint serving the wrong contract fails here. Standard library and boto3 only: this
runs inside the bot's lean runtime.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

from ml import datasets

Invoke = Callable[[bytes, str], tuple[bytes, str]]

CONTENT_TYPE_CSV = "text/csv"
CONTENT_TYPE_JSON = "application/json"
BATCH_ROWS = 500
LATENCY_SAMPLES = 50
MALFORMED_BODY = b"this-is-not-a-valid-row\n"


class InvokeError(Exception):
    """An endpoint call failed; ``status`` is the HTTP status the model container answered, if known."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class LabelledSample:
    rows: list[list[str]]
    labels: list[int]
    source: str


# -- data ------------------------------------------------------------------------------------------
def load_sample(data_path: Path | None, sample_size: int, seed: int) -> LabelledSample:
    """Draw ``sample_size`` labelled rows (fixed seed) from an Adult-format file or a label-first CSV.

    A label-first CSV is what preprocessing writes (``test.csv``): the 0/1 label, then the request
    columns (encoded or raw); an optional header line is skipped.
    """
    path = Path(data_path) if data_path is not None else datasets.adult_test_path()
    if not path.is_file():
        raise ValueError(f"validation data {path} does not exist")
    rows: list[list[str]] = []
    labels: list[int] = []
    if datasets.looks_like_adult(path):
        for values, label in datasets.iter_adult_rows(path):
            rows.append(values)
            labels.append(1 if label == datasets.ADULT_POSITIVE_LABEL else 0)
    else:
        with datasets.open_text(path) as handle:
            for line_no, fields in enumerate(csv.reader(handle), start=1):
                if not fields or not "".join(fields).strip():
                    continue
                parsed = _parse_label(fields[0])
                if parsed is None:
                    if line_no == 1:
                        continue  # header
                    raise ValueError(f"{path}: line {line_no} starts with {fields[0]!r}, not a 0/1 label")
                if len(fields) < 2:
                    raise ValueError(f"{path}: line {line_no} has a label but no feature values")
                rows.append([f.strip() for f in fields[1:]])
                labels.append(parsed)
    if not rows:
        raise ValueError(f"validation data {path} has no labelled rows")
    width = len(rows[0])
    ragged = next((i for i, row in enumerate(rows) if len(row) != width), None)
    if ragged is not None:
        raise ValueError(
            f"validation data {path}: labelled row {ragged + 1} has {len(rows[ragged])} values "
            f"but the first has {width}; every row must have the columns the endpoint takes"
        )
    if sample_size < 1:
        raise ValueError("sample_size must be at least 1")
    chosen = random.Random(seed).sample(range(len(rows)), min(sample_size, len(rows)))
    return LabelledSample([rows[i] for i in chosen], [labels[i] for i in chosen], str(path))


def _parse_label(text: str) -> int | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return int(value) if value in (0.0, 1.0) else None


def to_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue().encode()


def parse_scores(body: bytes, content_type: str) -> list[float]:
    """Scores from a CSV (newline- or comma-separated) or JSON (``predictions``) response."""
    text = body.decode("utf-8").strip()
    if content_type.split(";", 1)[0].strip().lower() == CONTENT_TYPE_JSON or text.startswith(("{", "[")):
        document = json.loads(text)
        items = document.get("predictions") if isinstance(document, dict) else document
        if not isinstance(items, list):
            raise ValueError('JSON response has no "predictions" list')
        scores = []
        for item in items:
            value = item.get("score") if isinstance(item, dict) else item
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"prediction {item!r} is not a number")
            scores.append(float(value))
        return scores
    if not text:
        return []
    return [float(token) for token in text.replace(",", "\n").split()]


def status_of(exc: BaseException) -> int | None:
    """The HTTP status behind a failed call, whatever raised it."""
    if isinstance(exc, InvokeError):
        return exc.status
    if isinstance(exc, ValueError):  # an in-process scorer refusing input (serving.BadInput)
        return 400
    for attribute in ("status_code", "status"):
        value = getattr(exc, attribute, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, "response", None)
    value = getattr(response, "status_code", None)
    return value if isinstance(value, int) else None


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _percentile(values: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# -- validation ------------------------------------------------------------------------------------
def validate_endpoint(
    invoke: Invoke,
    data_path: Path | None = None,
    *,
    threshold: float = 0.8,
    latency_budget_ms: float = 300.0,
    sample_size: int = 200,
    seed: int = 7,
    ping: Callable[[], bool] | None = None,
    endpoint: str | None = None,
    latency_samples: int = LATENCY_SAMPLES,
) -> dict[str, Any]:
    """Run every check against ``invoke`` and return the report (``passed`` only if all checks pass).

    Raises ValueError for a bad ``data_path`` or argument: that is the caller's mistake, not the endpoint's.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], not {threshold}")
    if latency_budget_ms <= 0:
        raise ValueError(f"latency_budget_ms must be positive, not {latency_budget_ms}")
    if latency_samples < 1:
        raise ValueError("latency_samples must be at least 1")
    started_at = datetime.now(UTC)
    sample = load_sample(data_path, sample_size, seed)
    checks: list[dict[str, Any]] = []
    report: dict[str, Any] = {
        "endpoint": endpoint,
        "passed": False,
        "checks": checks,
        "accuracy": None,
        "p50_ms": None,
        "p95_ms": None,
        "rows": len(sample.rows),
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
            healthy = check("ping", False, f"ping failed: {_describe(exc)}")
    if healthy:
        _check_batch(invoke, sample, threshold, check, report)
        _check_latency(invoke, sample, latency_budget_ms, latency_samples, check, report)
        _check_malformed(invoke, sample, check)
    else:
        for name in ("response_shape", "score_range", "accuracy", "latency", "malformed_request"):
            check(name, False, "not run: the endpoint failed its ping")

    report["passed"] = bool(checks) and all(c["passed"] for c in checks)
    report["finished_at"] = datetime.now(UTC).isoformat()
    return report


CheckFn = Callable[[str, bool, str], bool]


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
                check("response_shape", False, f"response is not a list of scores: {_describe(exc)}")
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
        check("response_shape", False, f"batch request failed: {_describe(exc)}")
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
    accuracy = correct / len(scores)
    report["accuracy"] = round(accuracy, 4)
    check(
        "accuracy",
        accuracy >= threshold,
        f"accuracy {accuracy:.4f} on {len(scores)} held-out rows "
        f"({'>=' if accuracy >= threshold else '<'} threshold {threshold})",
    )


def _check_latency(
    invoke: Invoke,
    sample: LabelledSample,
    budget_ms: float,
    samples: int,
    check: CheckFn,
    report: dict[str, Any],
) -> None:
    timings: list[float] = []
    failures: list[str] = []
    bodies = [to_csv([row]) for row in sample.rows[: min(len(sample.rows), samples)]]
    try:
        invoke(bodies[0], CONTENT_TYPE_CSV)  # warm-up: connection set-up is not serving latency
    except Exception as exc:  # noqa: BLE001 - counted below as a failed call
        failures.append(_describe(exc))
    for index in range(samples):
        body = bodies[index % len(bodies)]
        began = time.perf_counter()
        try:
            invoke(body, CONTENT_TYPE_CSV)
        except Exception as exc:  # noqa: BLE001 - counted as a failed call
            failures.append(_describe(exc))
            continue
        timings.append((time.perf_counter() - began) * 1000.0)
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
                wrong.append(f"{name} failed without a status ({_describe(exc)})")
            elif not 400 <= status < 500:
                wrong.append(f"{name} refused with status {status}, expected a 4xx refusal")
            else:
                outcomes.append(f"{name} refused with status {status}")
        else:
            wrong.append(f"{name} was answered as if valid")
    try:
        invoke(to_csv(sample.rows[:1]), CONTENT_TYPE_CSV)
    except Exception as exc:  # noqa: BLE001 - not answering afterwards is the failure being checked
        wrong.append(f"then a valid request failed: {_describe(exc)}")
    if wrong:
        check("malformed_request", False, "; ".join(outcomes + wrong))
    else:
        check("malformed_request", True, "; ".join(outcomes) + "; the endpoint still answers")


# -- SageMaker runtime -----------------------------------------------------------------------------
def runtime_invoker(endpoint_name: str, endpoint_url: str | None = None, region: str | None = None) -> Invoke:
    """An ``invoke`` backed by ``sagemaker-runtime:InvokeEndpoint`` (or any endpoint speaking its API)."""
    client = boto3.client(
        "sagemaker-runtime",
        endpoint_url=endpoint_url,
        region_name=region,
        config=Config(connect_timeout=5, read_timeout=60, retries={"mode": "standard", "max_attempts": 3}),
    )

    def invoke(body: bytes, content_type: str) -> tuple[bytes, str]:
        try:
            response = client.invoke_endpoint(
                EndpointName=endpoint_name, ContentType=content_type, Accept=content_type, Body=body
            )
        except ClientError as exc:
            raise InvokeError(_describe(exc), status=_client_error_status(exc)) from exc
        except BotoCoreError as exc:
            raise InvokeError(_describe(exc)) from exc
        return response["Body"].read(), response.get("ContentType", content_type)

    return invoke


def _client_error_status(exc: ClientError) -> int | None:
    # A ModelError (HTTP 424) carries the container's own status as OriginalStatusCode.
    response: dict[str, Any] = dict(exc.response)
    original = response.get("OriginalStatusCode")
    if isinstance(original, int):
        return original
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status if isinstance(status, int) else None


# -- command line ----------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """``python -m ml validate``: print the report; exit 0 passed, 1 failed, 2 usage error."""
    parser = argparse.ArgumentParser(prog="python -m ml validate", description="Validate a staging endpoint.")
    parser.add_argument("--endpoint", required=True, help="SageMaker endpoint name")
    parser.add_argument("--endpoint-url", default=None, help="sagemaker-runtime URL (local platform, moto)")
    parser.add_argument("--region", default=None, help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION)")
    parser.add_argument("--data", type=Path, default=None, help="labelled rows (default: bundled adult.test)")
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--latency-budget-ms", type=float, default=300.0)
    parser.add_argument("--sample-size", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", type=Path, default=None, help="also write the report here")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on usage errors and --help
        return exc.code if isinstance(exc.code, int) else 2
    try:
        region = args.region or os.environ.get("AWS_REGION") or None  # botocore reads AWS_DEFAULT_REGION only
        invoke = runtime_invoker(args.endpoint, args.endpoint_url, region)
    except NoRegionError:
        print(
            "validate: no AWS region: pass --region (e.g. --region eu-west-1), or set AWS_REGION or "
            "AWS_DEFAULT_REGION, or region in the profile of ~/.aws/config",
            file=sys.stderr,
        )
        return 2
    try:
        report = validate_endpoint(
            invoke,
            args.data,
            threshold=args.threshold,
            latency_budget_ms=args.latency_budget_ms,
            sample_size=args.sample_size,
            seed=args.seed,
            endpoint=args.endpoint,
        )
    except (ValueError, BotoCoreError) as exc:
        print(f"validate: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(report, indent=2)
    print(text)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n", encoding="utf-8")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
