"""Drift check of 100k captured requests against reading the same rows with pandas.

The rows are adult.test's, cycled to ``rows``, written twice: as SageMaker data-capture JSON Lines
(one CSV row per invocation, in the ``<endpoint>/<variant>/yyyy/mm/dd/hh`` layout) and as one CSV file.
The check (``ml.drift.capture.read_folder`` then ``ml.drift.check.check`` against the baseline of
adult.data's training split) is timed against ``pandas.read_csv`` of the CSV with the options
preprocessing reads raw rows with (strings, ``?`` kept): the work of getting the same rows into memory.
Peak memory of the check is measured with tracemalloc in a separate run (it slows what it traces).
For scale, ``pandas.read_json(lines=True)`` of the capture files (reading them, no check) is timed too.

    python -m bench.drift_check [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

GOAL_RATIO = 2.0
NOW = datetime(2026, 12, 7, 17, 45, tzinfo=UTC)
FILES = 4


def _records(rows: list[str], start: datetime) -> list[str]:
    out = []
    for i, row in enumerate(rows):
        at = (start + timedelta(seconds=i % 3600)).strftime("%Y-%m-%dT%H:%M:%SZ")
        record = {
            "captureData": {
                "endpointInput": {
                    "observedContentType": "text/csv",
                    "mode": "INPUT",
                    "data": row,
                    "encoding": "CSV",
                },
                "endpointOutput": {
                    "observedContentType": "text/csv; charset=utf-8",
                    "mode": "OUTPUT",
                    "data": f"{(i % 97) / 97:.6f}",
                    "encoding": "CSV",
                },
            },
            "eventMetadata": {"eventId": f"00000000-0000-4000-8000-{i:012d}", "inferenceTime": at},
            "eventVersion": "0",
        }
        out.append(json.dumps(record, separators=(",", ":")))
    return out


def _fixture(folder: Path, count: int) -> tuple[dict[str, Any], Path, Path]:
    from ml.datasets import adult_test_path, adult_train_path, open_text
    from ml.steps import preprocess

    preprocess.run(adult_train_path(), folder / "preprocess")
    baseline = json.loads((folder / "preprocess" / "baseline" / "drift.json").read_text())
    with open_text(adult_test_path()) as handle:
        source = [
            line.strip().rsplit(",", 1)[0] for line in handle if line.strip() and not line.startswith("|")
        ]
    rows = [source[i % len(source)] for i in range(count)]
    csv_path = folder / "rows.csv"
    csv_path.write_text("\n".join(rows) + "\n")
    endpoint = folder / "capture" / "mlops-bench-production"
    per_file = -(-count // FILES)
    for n in range(FILES):
        start = NOW - timedelta(hours=FILES - n)
        hour = endpoint / "AllTraffic" / start.strftime("%Y/%m/%d/%H")
        hour.mkdir(parents=True, exist_ok=True)
        chunk = rows[n * per_file : (n + 1) * per_file]
        (hour / f"capture-{n}.jsonl").write_text("\n".join(_records(chunk, start)) + "\n")
    return baseline, csv_path, endpoint


def _check(baseline: dict[str, Any], endpoint: Path) -> tuple[int, str]:
    from ml.drift.capture import read_folder
    from ml.drift.check import check

    capture = read_folder(endpoint, list(baseline["features"]), timedelta(hours=FILES + 1), NOW)
    report = check(baseline, capture.rows, capture.scores, skipped=capture.skipped, window=capture.window)
    return report.rows, report.status


def _pandas_read(csv_path: Path) -> int:
    frame = pd.read_csv(csv_path, header=None, dtype=str, keep_default_na=False, skipinitialspace=True)
    return len(frame)


def _timed(fn: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def run(*, rows: int = 100_000, repeats: int = 5, quick: bool = False) -> dict[str, Any]:
    if quick:
        rows, repeats = min(rows, 20_000), min(repeats, 3)
    with tempfile.TemporaryDirectory(prefix="bench-drift-") as tmp:
        baseline, csv_path, endpoint = _fixture(Path(tmp), rows)
        checked, status = _check(baseline, endpoint)
        assert checked == rows, (checked, rows)
        check_s = _timed(lambda: _check(baseline, endpoint), repeats)
        pandas_s = _timed(lambda: _pandas_read(csv_path), repeats)
        pandas_default_s = _timed(lambda: pd.read_csv(csv_path, header=None), repeats)
        # For scale: pandas reading the capture files themselves, no check at all.
        captures = sorted(endpoint.rglob("*.jsonl"))
        pandas_json_s = _timed(lambda: [pd.read_json(p, lines=True) for p in captures], max(1, repeats // 2))
        tracemalloc.start()
        _check(baseline, endpoint)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        capture_mb = sum(p.stat().st_size for p in endpoint.rglob("*.jsonl")) / 1e6
    ratio = check_s / pandas_s
    return {
        "setup": {"rows": rows, "files": FILES, "repeats": repeats, "capture_mb": round(capture_mb, 1)},
        "status": status,
        "check_s": check_s,
        "rows_per_s": rows / check_s,
        "pandas_read_s": pandas_s,
        "pandas_default_read_s": pandas_default_s,
        "pandas_read_json_s": pandas_json_s,
        "ratio": ratio,
        "peak_mb": peak / 1e6,
        "goal_ratio": GOAL_RATIO,
        "met": ratio <= GOAL_RATIO,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    result = run(quick=args.quick)
    json.dump(result, sys.stdout, indent=2)
    print()
    mark = "✓" if result["met"] else "✗"
    print(
        f"{mark} {result['setup']['rows']:,} captured rows checked in {result['check_s']:.2f} s "
        f"({result['rows_per_s']:,.0f} rows/s); pandas.read_csv {result['pandas_read_s']:.2f} s; "
        f"ratio {result['ratio']:.2f} (goal ≤ {GOAL_RATIO:g}); peak {result['peak_mb']:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
