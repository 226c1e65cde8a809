"""Smoke runs of every benchmark with tiny parameters: the report's shape and sanity, never timings."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bench import __main__ as runner
from bench import (
    ack_latency,
    body_cap,
    drift_check,
    event_storm,
    lambda_cold,
    release_local,
    rollouts,
    status_fanout,
)
from ml.platform import DT_EXECUTION, ExecutionStatus
from tests.conftest import QUICK_RUN

pytestmark = pytest.mark.long


def _positive(*values: float) -> None:
    for value in values:
        assert value > 0, values


def _rows(name: str, result: dict[str, Any]) -> list[runner.Row]:
    rows = runner.BENCHMARKS[name].summarize(result)
    assert rows, f"{name} produced no table rows"
    for row in rows:
        assert row.benchmark == name
        assert row.metric and row.value
        assert row.ratio is None or row.ratio > 0
    return rows


def test_status_fanout_counts_every_aws_call() -> None:
    result = status_fanout.run(versions=12, delay_ms=5, executions=2, cold_repeats=1, warm_repeats=2)
    cold, unseen, warm = result["cold"], result["cold_unseen"], result["warm"]
    # Versions the store knows: only the listings and the endpoints, cold or warm; no run's parameters.
    listings = {
        "sagemaker:DescribeEndpoint": 2,
        "sagemaker:ListModelPackages": 1,
        "sagemaker:ListPipelineExecutions": 1,
    }
    assert cold["calls_by_operation"] == listings and warm["calls_by_operation"] == listings
    # Versions new to the store: each shown one described and its metrics read, once.
    assert unseen["calls_by_operation"] == {
        **listings,
        "s3:GetObject": 5,
        "sagemaker:DescribeModelPackage": 5,
    }
    assert cold["aws_calls"] == warm["aws_calls"] == 4 and unseen["aws_calls"] == 14
    assert result["setup"]["versions_shown"] == 5
    # The injected delay really applies: the same calls in series take at least that long.
    assert (
        unseen["sequential_ms"] >= 14 * 5
        and cold["sequential_ms"] >= 4 * 5
        and warm["sequential_ms"] >= 4 * 5
    )
    assert result["single_call_ms"] >= 5
    _positive(
        cold["latency_ms"],
        unseen["latency_ms"],
        warm["latency_ms"],
        cold["ratio_to_single_call"],
        warm["speedup_vs_sequential"],
    )
    assert cold["goal_ratio_to_single_call"] == 2.0 and warm["goal_ratio_to_single_call"] == 1.5
    assert unseen["goal_ratio_to_single_call"] is None and unseen["met"] is None
    assert len(_rows("status_fanout", result)) == 6


def test_storm_has_the_requested_events_and_redeliveries() -> None:
    storm = event_storm.make_storm(events=100, executions=4, duplicate_share=0.05)
    assert len(storm.events) == 100 and storm.duplicates == 5 and storm.unique == 95
    ids = Counter(e["id"] for e in storm.events)
    assert len(ids) == 95 and sum(1 for n in ids.values() if n == 2) == 5
    per_run = Counter(e["detail"]["pipelineExecutionArn"] for e in storm.events)
    assert set(per_run) == set(storm.executions)
    for arn in storm.executions:
        mine = [e for e in storm.events if e["detail"]["pipelineExecutionArn"] == arn]
        assert mine[0]["detail-type"] == DT_EXECUTION
        finals = [e for e in mine if e["detail-type"] == DT_EXECUTION]
        assert ExecutionStatus(finals[-1]["detail"]["currentPipelineExecutionStatus"]).terminal


def test_storm_too_small_for_the_pipeline_is_refused() -> None:
    with pytest.raises(ValueError, match="too few"):
        event_storm.make_storm(events=20, executions=4)


def test_event_storm_ends_every_message_in_its_final_state() -> None:
    result = event_storm.run(
        events=60, executions=3, senders=4, rates=(1000.0, 1000.0), drain_timeout=30, lost_answers=0.5
    )
    durable, lossy, naive = result["durable"], result["durable_lost_answers"], result["naive"]
    for r in (durable, lossy, naive):
        assert r["outcomes"] == {"delegated": 57, "duplicate": 3}
        assert r["delivery_errors"] == 0 and r["drained"]
        assert r["messages_in_final_state"] == 3, r["mismatched"]
        assert r["chat_post_message"] == 3 and r["max_posts_per_execution"] == 1
        _positive(r["events_per_s"])
    # The naive notifier calls Slack once per delivered event; the durable one coalesces.
    assert naive["chat_update"] == 57 - 3
    assert durable["slack_calls"] < naive["slack_calls"]
    # Lost answers are retried: the messages still end final, each updated in place.
    assert lossy["lost_update_answers"] > 0 and durable["lost_update_answers"] == 0
    assert lossy["chat_update"] >= lossy["lost_update_answers"]
    for r in (durable, lossy):
        assert r["max_updates_per_message_in_1s"] >= 1
        _positive(r["min_gap_between_writes_of_a_message_s"])
    assert result["goals"]["every_message_in_final_state"] and result["goals"]["one_post_per_execution"]
    _positive(result["slack_calls_ratio"], result["ingest_rate_ratio"])
    assert len(_rows("event_storm", result)) == 7
    with pytest.raises(ValueError, match="lost_answers"):
        event_storm.run(events=60, executions=3, lost_answers=1.0)


def test_ack_latency_answers_every_request() -> None:
    result = ack_latency.run(requests=25, concurrency=5, rounds=1, train_parameters=QUICK_RUN)
    assert result["setup"]["requests_per_kind_per_app"] == 25
    assert result["setup"]["version_clicked"] >= 1
    kinds = [kind.name for kind in ack_latency.KINDS]
    assert result["setup"]["kinds"] == kinds
    assert {"status", "help", "train", "approve", "promote", "rollback_confirm"} <= set(kinds)
    for kind in kinds:
        for app in ("bot", "bare"):
            summary = result[kind][app]
            assert summary["n"] == 25
            assert {int(k): v for k, v in summary["statuses"].items()} == {200: 25}
            assert 0 < summary["p50_ms"] <= summary["p95_ms"] <= summary["p99_ms"]
        _positive(result[kind]["p99_ratio"], result[kind]["p50_ratio"])
    # every train is refused after its ack (nothing trains), every rollback Confirm changes nothing
    assert all("training refused" in text for text in result["train"]["answers"])
    assert sum(result["train"]["answers"].values()) >= 25
    assert all("nothing changed" in text for text in result["rollback_confirm"]["answers"])
    assert result["help"]["answers"] == {}  # help is the ack itself
    hang = result["groups_hang"]
    for phase in ("normal", "hung"):
        assert hang[phase]["n"] == 25 and {int(k): v for k, v in hang[phase]["statuses"].items()} == {200: 25}
    _positive(hang["p99_ratio"])
    assert result["child_errors"] == []
    assert len(_rows("ack_latency", result)) == 2 * len(kinds) + 1


def test_lambda_cold_start_imports_no_sagemaker_sdk() -> None:
    result = lambda_cold.run(samples=1, build_package=False)
    cold = result["cold_start"]
    _positive(cold["init_s"], cold["import_only_s"], cold["boto3_import_s"], cold["ratio_to_boto3"])
    _positive(cold["bare_bolt_init_s"], cold["bare_bolt_process_s"], cold["ratio_to_bare_bolt"])
    assert cold["sagemaker_sdk_imported"] is False
    assert cold["deferred_imported_at_init"] == []
    assert cold["modules_loaded"] > cold["bare_bolt_modules_loaded"] > 100
    assert "package" not in result
    rows = _rows("lambda_cold", result)
    assert len(rows) == 3
    bare = next(row for row in rows if row.metric == "Lambda init vs a bare Bolt Lambda app")
    assert "SlackRequestHandler" in bare.baseline and bare.goal == "≤ 1.5×"
    assert bare.met is (cold["ratio_to_bare_bolt"] <= 1.5)


def _fake_distribution(target: Path, name: str, files: dict[str, int]) -> None:
    info = target / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    lines = []
    for rel, size in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * size)
        lines.append(f"{rel},sha256=x,{size}")
    (info / "RECORD").write_text("\n".join([*lines, f"{info.name}/RECORD,,"]) + "\n")


def test_package_sizes_are_attributed_per_distribution(tmp_path: Path) -> None:
    _fake_distribution(tmp_path, "botocore", {"botocore/a.py": 3000, "botocore/data/b.json": 5000})
    _fake_distribution(tmp_path, "slack_bolt", {"slack_bolt/app.py": 700})
    (tmp_path / "stray.txt").write_bytes(b"y" * 11)
    sizes = lambda_cold._distributions(tmp_path)
    assert sizes["botocore"] >= 8000 and sizes["slack-bolt"] >= 700
    assert sizes["(unattributed)"] == 11
    top = lambda_cold._top_level_of(tmp_path, lambda_cold.RUNTIME_PROVIDED)
    assert top == {"botocore", "botocore-1.0.dist-info"}
    assert lambda_cold._zip_size(tmp_path, top) < lambda_cold._zip_size(tmp_path, set())


def test_release_local_summary_matches_its_report() -> None:
    result = release_local.run(requests=200, runs=(QUICK_RUN, {**QUICK_RUN, "max_depth": "3"}))
    rows = _rows("release_local", result)
    serving = result["serving"]
    # Same count each way; the endpoint host ran in its own process, this one only as its client.
    assert serving["endpoint_http"]["n"] == serving["in_process"]["n"] == 200
    assert serving["host"] == "own process"
    _positive(serving["overhead_p50_ratio"], serving["throughput_ratio"])
    _positive(
        serving["endpoint_http"]["host_cpu_ms_per_request"], serving["in_process"]["cpu_ms_per_request"]
    )
    assert [row.goal for row in rows[1:]] == ["≤ 1.5× in-process", "≥ 0.7× in-process"]
    assert all(row.met is not None and row.goal != "—" for row in rows)


def test_runner_reports_a_timed_out_benchmark_as_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = replace(runner.BENCHMARKS["status_fanout"], timeout_s=0.5)
    monkeypatch.setitem(runner.BENCHMARKS, "status_fanout", slow)
    code = runner.main(["--only", "status_fanout", "--results", str(tmp_path)])
    assert code == 1
    report = json.loads((tmp_path / "latest.json").read_text())
    entry = report["benchmarks"]["status_fanout"]
    assert entry["status"] == "failed" and "timed out" in entry["error"]
    assert report["failed"] == ["status_fanout"] and report["only"] == ["status_fanout"]
    assert report["machine"]["cpus"] >= 1
    table = (tmp_path / "latest.md").read_text()
    assert "| benchmark | metric | value | baseline | ratio | goal | met? |" in table
    assert "| status_fanout | **FAILED**" in table


def test_markdown_table_has_one_line_per_row() -> None:
    report: dict[str, Any] = {
        "started_at": "2026-01-01T00:00:00+00:00",
        "commit": "abc1234",
        "quick": True,
        "only": [],
        "duration_s": 1.0,
        "machine": {"cpus": 2, "machine": "x86_64", "system": "Linux", "python": "3.11"},
        "benchmarks": {
            "lambda_cold": {
                "status": "ok",
                "seconds": 1.0,
                "error": None,
                "rows": [
                    {"benchmark": "lambda_cold", "metric": "m|1", "value": "1 s", "baseline": "b",
                     "ratio": 2.0, "goal": "g", "met": True},
                    {"benchmark": "lambda_cold", "metric": "m2", "value": "2 s", "baseline": "—",
                     "ratio": None, "goal": "—", "met": None},
                ],
            }
        },
    }  # fmt: skip
    lines = runner.render_markdown(report).splitlines()
    body = [line for line in lines if line.startswith("| lambda_cold")]
    assert body == [
        "| lambda_cold | m\\|1 | 1 s | b | 2× | g | ✓ |",
        "| lambda_cold | m2 | 2 s | — | — | — | — |",
    ]


def test_body_cap_cuts_every_attacker_off_and_reports_memory() -> None:
    result = body_cap.run(parallel=2, total=32 * body_cap.MIB)
    routes = result["per_route"]
    assert set(routes) == set(body_cap.ROUTES)
    # Slack and GitHub read (capped) before they can check a signature; the others refuse the token.
    assert {r: routes[r]["status"] for r in routes} == {
        "/slack/events": 413,
        "/github/webhook": 413,
        "/events/eventbridge": 401,
        "/ci/report": 401,
    }
    assert all(f["closed"] for f in [*routes.values(), *result["parallel"]])
    assert [f["status"] for f in result["parallel"]] == [413, 413]
    assert 0 < result["max_sent_mb"] < 32
    assert result["rss_at_rest_mb"] > 0 and result["peak_growth_mb"] >= 0
    assert len(_rows("body_cap", result)) == 2


def test_drift_check_reads_every_captured_row() -> None:
    result = drift_check.run(rows=2000, repeats=1)
    assert result["setup"]["rows"] == 2000 and result["status"] in ("ok", "warn", "drift")
    assert result["met"] == (result["ratio"] <= result["goal_ratio"])
    _positive(result["check_s"], result["pandas_read_s"], result["pandas_read_json_s"], result["peak_mb"])
    assert len(_rows("drift_check", result)) == 3


def test_rollouts_times_both_paths_and_counts_calls_and_failures() -> None:
    result = rollouts.run(rounds=1, runs=(QUICK_RUN, {**QUICK_RUN, "max_depth": "3"}))
    warm, redeploy = result["warm"], result["redeploy"]
    assert (warm["warm_paths"], redeploy["warm_paths"]) == (1, 0)  # each arm took the path it measures
    assert result["aws"]["calls"] == [
        "DescribeEndpoint",
        "UpdateEndpointWeightsAndCapacities",
        "DescribeEndpoint",
    ]
    assert result["aws"]["serving_after"] == 1
    assert warm["requests"]["canary"] > 0  # a warm rollback may well end between two requests
    assert result["failed"] == {"canary": 0, "rollback": 0}
    _positive(warm["median_ms"], redeploy["median_ms"], result["ratio"])
    assert len(_rows("rollouts", result)) == 4
