"""Run every benchmark, each in its own process, and write ``bench/results/latest.{json,md}``.

    python -m bench [--quick] [--only NAME ...] [--results DIR]

Benchmarks run one after another (never two at once: they would measure each other), each with a
timeout. A benchmark that fails or times out is reported as failed with its error, the others
still run, and the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import machine

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    benchmark: str
    metric: str
    value: str
    baseline: str = "—"
    ratio: float | None = None
    goal: str = "—"
    met: bool | None = None


Summarizer = Callable[[Mapping[str, Any]], list[Row]]


def _ms(value: float) -> str:
    return f"{value:,.1f} ms"


def _s(value: float) -> str:
    return f"{value:,.2f} s"


# -- per-benchmark summaries (what goes in the table; the JSON keeps everything) ----------------------


def _release_local(r: Mapping[str, Any]) -> list[Row]:
    rel, srv = r["release"], r["serving"]
    http, inproc = srv["endpoint_http"], srv["in_process"]
    name = "release_local"
    return [
        Row(
            name,
            "local release: 2 trainings, approvals, promotions, rollback",
            _s(rel["total_s"]),
            f"SageMaker seed release: {rel['seed_sagemaker_release_s'] / 60:.0f} min",
            rel["ratio_vs_sagemaker"],
            f"≤ {rel['goal_s']:.0f} s",
            rel["total_s"] <= rel["goal_s"],
        ),
        Row(
            name,
            "endpoint p50 over HTTP, concurrency 8",
            _ms(http["p50_ms"]),
            f"in-process Scorer.predict: {_ms(inproc['p50_ms'])}",
            srv["overhead_p50_ratio"],
            f"≤ {srv['goal_p50_ratio']:g}× in-process",
            srv["overhead_p50_ratio"] <= srv["goal_p50_ratio"],
        ),
        Row(
            name,
            "endpoint throughput, concurrency 8",
            f"{http['throughput_rps']:,.0f} req/s",
            f"in-process: {inproc['throughput_rps']:,.0f} req/s",
            srv["throughput_ratio"],
            f"≥ {srv['goal_throughput_ratio']:g}× in-process",
            srv["throughput_ratio"] >= srv["goal_throughput_ratio"],
        ),
    ]


def _status_fanout(r: Mapping[str, Any]) -> list[Row]:
    setup, single = r["setup"], r["single_call_ms"]
    labels = {
        "cold": "cold, versions known to the store",
        "cold_unseen": "cold, versions new to the store",
        "warm": "warm",
    }
    rows = []
    for phase, words in labels.items():
        p = r[phase]
        versions, delay = setup["model_versions"], setup["aws_delay_ms"]
        label = f"/mlops status {words} ({versions} versions, {delay:.0f} ms/AWS call)"
        goal = p["goal_ratio_to_single_call"]
        rows += [
            Row(
                "status_fanout",
                f"{label} vs one call",
                _ms(p["latency_ms"]),
                f"one AWS call: {_ms(single)}",
                p["ratio_to_single_call"],
                f"≤ {goal:g}× one call" if goal is not None else "—",
                p["met"],
            ),
            Row(
                "status_fanout",
                f"{label} vs the same {p['aws_calls']} calls in series",
                _ms(p["latency_ms"]),
                f"in series: {_ms(p['sequential_ms'])}",
                p["latency_ms"] / p["sequential_ms"],
            ),
        ]
    return rows


def _ack_latency(r: Mapping[str, Any]) -> list[Row]:
    setup = r["setup"]
    load = f"{setup['requests_per_kind_per_app']} req, {setup['concurrency']} concurrent"
    rows = []
    for kind in setup.get("kinds", ("status", "approve")):
        k = r[kind]
        label = k.get("label", kind)
        bot, bare = k["bot"], k["bare"]
        failed = sum(n for code, n in bot["statuses"].items() if str(code) != "200")
        goal = f"≤ {r['goal_p99_ratio']}× bare"
        rows += [
            Row(
                "ack_latency",
                f"{label} ack p99 ({load})",
                _ms(bot["p99_ms"]),
                f"bare Bolt app: {_ms(bare['p99_ms'])}",
                k["p99_ratio"],
                goal,
                k["met"] and failed == 0,
            ),
            Row(
                "ack_latency",
                f"{label} ack p50 / p95",
                f"{_ms(bot['p50_ms'])} / {_ms(bot['p95_ms'])}",
                f"bare: {_ms(bare['p50_ms'])} / {_ms(bare['p95_ms'])}",
                k["p50_ratio"],
            ),
        ]
    g = r.get("groups_hang")
    if g is not None:
        failed = sum(n for code, n in g["hung"]["statuses"].items() if str(code) != "200")
        rows.append(
            Row(
                "ack_latency",
                "Approve click ack p99 while Slack's user-group API hangs",
                _ms(g["hung"]["p99_ms"]),
                f"user-group API answering: {_ms(g['normal']['p99_ms'])}",
                g["p99_ratio"],
                f"≤ {g['goal_ratio']}× answering",
                g["met"] and failed == 0,
            )
        )
    return rows


def _gap(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f} s"


def _event_storm(r: Mapping[str, Any]) -> list[Row]:
    storm, d, n = r["storm"], r["durable"], r["naive"]
    lossy = r["durable_lost_answers"]
    name = "event_storm"
    runs = storm["executions"]
    what = f"{storm['events']} events, {runs} runs, {storm['redelivered']} redelivered"
    lost = f"{storm['lost_update_answers_share']:.0%} of update answers lost"
    gaps = [x["min_gap_between_writes_of_a_message_s"] for x in (d, lossy)]
    closest = min((g for g in gaps if g is not None), default=None)
    return [
        Row(
            name,
            f"ingest rate ({what})",
            f"{d['events_per_s']:,.0f} events/s",
            f"naive notifier: {n['events_per_s']:,.0f} events/s",
            r["ingest_rate_ratio"],
        ),
        Row(
            name,
            "Slack calls (postMessage + update)",
            f"{d['chat_post_message']} + {d['chat_update']}",
            f"naive: {n['chat_post_message']} + {n['chat_update']}",
            r["slack_calls_ratio"],
        ),
        Row(
            name,
            "chat.postMessage per execution (max)",
            str(d["max_posts_per_execution"]),
            f"naive: {n['max_posts_per_execution']}",
            None,
            "≤ 1",
            r["goals"]["one_post_per_execution"],
        ),
        Row(
            name,
            f"chat.update per message in any 1 s (max; with {lost})",
            f"{d['max_updates_per_message_in_1s']}; {lossy['max_updates_per_message_in_1s']}",
            f"naive: {n['max_updates_per_message_in_1s']}",
            None,
            "≤ 1",
            r["goals"]["updates_at_most_1_per_message_per_s"],
        ),
        Row(
            name,
            f"closest two writes of one message as Slack got them (with {lost})",
            f"{_gap(gaps[0])}; {_gap(gaps[1])}",
            f"naive: {_gap(n['min_gap_between_writes_of_a_message_s'])}",
            None,
            "≥ 1 s",
            None if closest is None else closest >= 1.0,
        ),
        Row(
            name,
            "notifier drain after the storm (Slack pacing)",
            _s(d["drain_s"]),
            f"naive calls at Slack pacing: ≥ {_s(n['at_slack_pacing_s'])}",
            d["drain_s"] / max(n["at_slack_pacing_s"], 1e-9),
        ),
        Row(
            name,
            "run messages in their final state",
            f"{d['messages_in_final_state']}/{runs}",
            f"naive: {n['messages_in_final_state']}/{runs}",
            None,
            "all",
            r["goals"]["every_message_in_final_state"] and r["goals"]["no_delivery_errors"],
        ),
    ]


def _lambda_cold(r: Mapping[str, Any]) -> list[Row]:
    c = r["cold_start"]
    name = "lambda_cold"
    rows = [
        Row(
            name,
            f"Lambda init: import runtimes.lambda_handler (median of {c['samples']})",
            _s(c["init_s"]),
            f"import boto3: {_s(c['boto3_import_s'])}",
            c["ratio_to_boto3"],
            f"≤ {c['goal_init_s']} s",
            c["met"],
        ),
        Row(
            name,
            "Lambda init vs a bare Bolt Lambda app",
            _s(c["init_s"]),
            f"App + SlackRequestHandler + 1 boto3 client: {_s(c['bare_bolt_init_s'])}",
            c["ratio_to_bare_bolt"],
            f"≤ {c['goal_ratio_to_bare_bolt']}×",
            c["met_ratio_to_bare_bolt"],
        ),
        Row(
            name,
            "module import only (no runtime built)",
            _s(c["import_only_s"]),
            f"import boto3: {_s(c['boto3_import_s'])}",
            c["import_only_s"] / c["boto3_import_s"],
        ),
    ]
    p = r.get("package")
    if p is not None:
        rows += [
            Row(
                name,
                "package unzipped, without runtime-provided boto3 & co",
                f"{p['unzipped_without_runtime_provided_mb']:.1f} MB",
                f"with them: {p['unzipped_mb']:.1f} MB",
                p["unzipped_without_runtime_provided_mb"] / p["unzipped_mb"],
                f"≤ {p['goal_unzipped_mb']:.0f} MB",
                p["unzipped_without_runtime_provided_mb"] <= p["goal_unzipped_mb"],
            ),
            Row(
                name,
                "package zipped, without / with runtime-provided",
                f"{p['zipped_without_runtime_provided_mb']:.1f} MB",
                f"with them: {p['zipped_mb']:.1f} MB",
                p["zipped_without_runtime_provided_mb"] / p["zipped_mb"],
            ),
            Row(
                name,
                "sagemaker SDK in the package / imported at init",
                ("present" if p["has_sagemaker_sdk"] else "absent")
                + (" / yes" if c["sagemaker_sdk_imported"] else " / no"),
                goal="absent / no",
                met=not p["has_sagemaker_sdk"] and not c["sagemaker_sdk_imported"],
            ),
        ]
    return rows


def _body_cap(r: Mapping[str, Any]) -> list[Row]:
    setup = r["setup"]
    at_once = setup["parallel_connections"]
    what = f"{setup['attack_mb']:.0f} MB chunked, unauthenticated, to each route, then {at_once} at once"
    return [
        Row(
            "body_cap",
            f"server memory growth ({what})",
            f"{r['peak_growth_mb']:.1f} MB",
            f"server RSS at rest: {r['rss_at_rest_mb']:.0f} MB",
            r["peak_growth_mb"] / r["rss_at_rest_mb"],
            f"≤ {r['goal_growth_mb']:.0f} MB",
            r["met"],
        ),
        Row(
            "body_cap",
            "body bytes an attacker got in before the server closed (max)",
            f"{r['max_sent_mb']:.1f} MB",
            f"attack: {setup['attack_mb']:.0f} MB",
            r["max_sent_mb"] / setup["attack_mb"],
        ),
    ]


def _drift_check(r: Mapping[str, Any]) -> list[Row]:
    rows = r["setup"]["rows"]
    return [
        Row(
            "drift_check",
            f"drift check of {rows:,} captured rows (read + PSI), peak {r['peak_mb']:.0f} MB",
            _s(r["check_s"]),
            f"pandas.read_csv of the same rows: {_s(r['pandas_read_s'])}",
            r["ratio"],
            f"≤ {r['goal_ratio']:g}× pandas read",
            r["met"],
        ),
        Row(
            "drift_check",
            "the same check against pandas reading the capture files (read_json, lines=True)",
            _s(r["check_s"]),
            f"pandas.read_json: {_s(r['pandas_read_json_s'])}",
            r["check_s"] / r["pandas_read_json_s"],
        ),
        Row("drift_check", "captured rows checked per second", f"{r['rows_per_s']:,.0f} rows/s"),
    ]


def _rollouts(r: Mapping[str, Any]) -> list[Row]:
    warm, redeploy, aws, failed = r["warm"], r["redeploy"], r["aws"], r["failed"]
    name = "rollouts"
    return [
        Row(
            name,
            f"rollback click to 100% of traffic on v1, warm weight shift (median of {r['rounds']})",
            _ms(warm["median_ms"]),
            f"redeploy (warm rollback off): {_ms(redeploy['median_ms'])}",
            r["ratio"],
            f"≤ {r['goal_ratio']:g}× redeploy",
            r["met"],
        ),
        Row(
            name,
            "AWS calls per instant rollback (SageMaker under moto: " + ", ".join(aws["calls"]) + ")",
            str(aws["count"]),
            goal=f"≤ {aws['goal']}",
            met=aws["met"],
        ),
        Row(
            name,
            f"requests failed during a canary shift ({warm['requests']['canary']} sent)",
            str(failed["canary"]),
            goal="0",
            met=failed["canary"] == 0,
        ),
        Row(
            name,
            "requests failed during rollbacks "
            f"({warm['requests']['rollback'] + redeploy['requests']['rollback']} sent, both ways)",
            str(failed["rollback"]),
            goal="0",
            met=failed["rollback"] == 0,
        ),
    ]


@dataclass(frozen=True)
class Benchmark:
    name: str
    timeout_s: float
    summarize: Summarizer


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("release_local", 150, _release_local),
        Benchmark("ack_latency", 180, _ack_latency),
        Benchmark("event_storm", 150, _event_storm),
        Benchmark("status_fanout", 150, _status_fanout),
        Benchmark("lambda_cold", 240, _lambda_cold),
        Benchmark("body_cap", 120, _body_cap),
        Benchmark("drift_check", 180, _drift_check),
        Benchmark("rollouts", 180, _rollouts),
    )
}


# -- running ---------------------------------------------------------------------------------------------


def _child(name: str, out: Path, quick: bool) -> None:
    """Inside the benchmark's own process: run it and write its result as JSON."""
    module = importlib.import_module(f"bench.{name}")
    run: Callable[..., dict[str, Any]] = module.run
    kwargs = {"quick": True} if quick and "quick" in inspect.signature(run).parameters else {}
    result = run(**kwargs)
    out.write_text(json.dumps(result, indent=2, default=str))


def _run_one(bench: Benchmark, quick: bool, workdir: Path) -> dict[str, Any]:
    out = workdir / f"{bench.name}.json"
    log = workdir / f"{bench.name}.log"
    cmd = [sys.executable, "-m", "bench", "--child", bench.name, "--out", str(out)] + (
        ["--quick"] if quick else []
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t = time.perf_counter()
    with log.open("w") as errors:
        # Its own session, so that a timeout ends the benchmark and every process it started.
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=errors, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            code: int | None = proc.wait(bench.timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = None
    seconds = time.perf_counter() - t
    tail = log.read_text(errors="replace")[-3000:]
    entry: dict[str, Any] = {"status": "ok", "seconds": seconds, "error": None, "result": None, "rows": []}
    if code is None:
        entry.update(
            status="failed", error=f"timed out after {bench.timeout_s:.0f} s; last output: {_last(tail)}"
        )
    elif code != 0 or not out.exists():
        entry.update(status="failed", error=f"exit {code}: {_last(tail)}")
    else:
        entry["result"] = json.loads(out.read_text())
        try:
            entry["rows"] = [asdict(row) for row in bench.summarize(entry["result"])]
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            entry.update(
                status="failed", error=f"result has an unexpected shape: {type(exc).__name__}: {exc}"
            )
    return entry


def _last(text: str, lines: int = 6) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return " | ".join(kept) or "no output"


def _commit() -> str:
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return "unknown"
    return proc.stdout.strip() or "unknown"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Mapping[str, Any]) -> str:
    m = report["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"Run {report['started_at']} on commit `{report['commit']}`, {report['duration_s']:.0f} s"
        + (" (`--quick`)" if report["quick"] else "")
        + (f", only {', '.join(report['only'])}" if report["only"] else "")
        + ".",
        f"Machine: {m['cpus']} CPUs, {m['machine']}, {m['system']}, Python {m['python']}"
        + (f", load average {report['load_average']}" if report.get("load_average") else "")
        + ".",
        "",
        "Each ratio is value ÷ baseline, both measured side by side in the same run.",
        "",
        "| benchmark | metric | value | baseline | ratio | goal | met? |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, entry in report["benchmarks"].items():
        if entry["status"] != "ok":
            error = _cell(str(entry["error"]))[:600]
            lines.append(f"| {name} | **FAILED** after {entry['seconds']:.0f} s | {error} | | | | ✗ |")
            continue
        for row in entry["rows"]:
            ratio = "—" if row["ratio"] is None else f"{row['ratio']:.3g}×"
            met = {True: "✓", False: "✗", None: "—"}[row["met"]]
            cells = [row["benchmark"], row["metric"], row["value"], row["baseline"], ratio, row["goal"], met]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += [
        "",
        "Seconds per benchmark: "
        + ", ".join(f"{name} {entry['seconds']:.0f} s" for name, entry in report["benchmarks"].items())
        + ".",
        "",
    ]
    return "\n".join(lines)


def run_all(
    names: Sequence[str], quick: bool, results_dir: Path, log: Callable[[str], None]
) -> dict[str, Any]:
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    report: dict[str, Any] = {
        "started_at": started.isoformat(timespec="seconds"),
        "commit": _commit(),
        "quick": quick,
        "only": list(names) if set(names) != set(BENCHMARKS) else [],
        "machine": machine(),
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "benchmarks": {},
    }
    with tempfile.TemporaryDirectory(prefix="mlops-bench-run-") as tmp:
        for i, name in enumerate(names, 1):
            log(f"[{i}/{len(names)}] {name} …")
            entry = _run_one(BENCHMARKS[name], quick, Path(tmp))
            report["benchmarks"][name] = entry
            log(
                f"[{i}/{len(names)}] {name}: {entry['status']} in {entry['seconds']:.1f} s"
                + (f" — {entry['error']}" if entry["error"] else "")
            )
    report["duration_s"] = time.perf_counter() - t0
    report["failed"] = [n for n, e in report["benchmarks"].items() if e["status"] != "ok"]
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "latest.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (results_dir / "latest.md").write_text(render_markdown(report))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions where a benchmark allows")
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", choices=sorted(BENCHMARKS), help="run only these"
    )
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="where latest.json/.md go")
    parser.add_argument("--child", choices=sorted(BENCHMARKS), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        if args.out is None:
            parser.error("--child needs --out")
        _child(args.child, args.out, args.quick)
        return 0
    names = [n for n in BENCHMARKS if args.only is None or n in args.only]
    report = run_all(names, args.quick, args.results, lambda msg: print(msg, file=sys.stderr, flush=True))
    print(render_markdown(report))
    print(f"wrote {args.results / 'latest.md'} and latest.json", file=sys.stderr)
    return 1 if report["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
