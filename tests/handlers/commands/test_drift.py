"""``/mlops drift ENV [window]`` through the Bolt app: anyone may read it; it changes nothing."""

from __future__ import annotations

import pytest

from ml.local.capture import CaptureSettings, CaptureWriter, capture_root
from tests.handlers.conftest import Harness
from tests.runtimes.cli.test_drift import adult_test_rows


def _capture(h: Harness, environment: str, rows: list[list[str]]) -> None:
    endpoint = h.services.platform.endpoint_name(environment)
    writer = CaptureWriter(capture_root(h.services.settings.mlops_home), CaptureSettings(queue_size=5000))
    try:
        for row in rows:
            request = (", ".join(row) + "\n").encode()
            assert writer.offer(endpoint, "AllTraffic", request, "text/csv", b"0.3\n", "text/csv")
        assert writer.flush(60)
    finally:
        writer.close()


def _shifted(rows: list[list[str]]) -> list[list[str]]:
    # age + 20 and twice the hours: the shift the README describes
    return [[str(int(r[0]) + 20), *r[1:12], str(int(r[12]) * 2), *r[13:]] for r in rows]


def test_drifted_traffic_is_reported_by_psi_to_anyone_and_changes_nothing(harness: Harness) -> None:
    before = harness.state()
    response = harness.command("drift production 1h", "UERIN")  # erin holds no role: a read
    assert response.status == 200 and "You need" not in response.body
    refusal = harness.wait_responses(1)[-1]["text"]
    assert "no captured traffic for production" in refusal and "last 1h" in refusal
    _capture(harness, "production", _shifted(adult_test_rows(label=False)[:3000]))
    harness.command("drift production 1h", "UERIN")
    answer = harness.wait_responses(2)[-1]
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("Drift in production v1: drift (highest PSI")
    texts = [b["text"]["text"] for b in answer["blocks"] if b["type"] == "section"]
    lines = [line for line in texts[1].split("\n") if line.count("`") >= 4]
    names = [line.split("`")[3] for line in lines]
    # the two shifted features and the score (every captured answer is 0.3) lead; the rest is calm
    assert set(names[:3]) == {"age", "hours-per-week", "score"}, lines
    assert all(":rotating_light:" in line for line in lines[:3])
    assert all(":white_check_mark:" in line for line in lines[3:])
    assert "3,000 rows from traffic captured in the last 1h" in texts[0]
    assert harness.state() == before


def test_a_bad_window_or_environment_is_a_usage_error(harness: Harness) -> None:
    bad = harness.command("drift production yesterday", "UERIN")
    assert "a window is a duration such as 30m, 24h or 7d" in bad.body and "yesterday" in bad.body
    assert "Usage: `/mlops drift staging|production [30m|24h|7d]`" in bad.body
    typo = harness.command("drift prod", "UERIN")
    assert "Did you mean `/mlops drift production`?" in typo.body
    assert harness.respond_count() == 0  # usage errors are the ack itself


def test_drift_is_open_and_documented_in_help(harness: Harness) -> None:
    body = harness.command("help", "UERIN").body
    assert "/mlops drift staging|production [30m|24h|7d]" in body


def test_without_numpy_and_pandas_the_check_says_where_to_run_it(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "ml.drift.capture", None)  # as on the lean Lambda package
    harness.command("drift production", "UERIN")
    text = harness.wait_responses(1)[-1]["text"]
    assert "this deployment cannot run the drift check" in text and "`mlops-bot drift production`" in text


def test_acknowledge_takes_a_duration_up_to_a_week(harness: Harness) -> None:
    bad = harness.command("acknowledge production forever", "UCAROL")
    assert "a window is a duration such as 30m, 24h or 7d" in bad.body and "Usage:" in bad.body
    harness.command("acknowledge production 8d", "UCAROL")
    assert "muted for a time up to 7 days" in harness.wait_responses(1)[-1]["text"]
    assert harness.services.release.drift_muted("production") is None
    harness.command("acknowledge production 2h", "UCAROL")
    assert "Drift alerts for production muted until" in harness.wait_responses(2)[-1]["text"]
    mute = harness.services.release.drift_muted("production")
    assert mute is not None and mute.actor_name == "carol"


def test_a_version_without_baseline_on_sagemaker_is_told_to_re_upload_the_pipeline_code(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What SageMaker answers for a run whose preprocess step could not import ml.drift (the registry's
    own None is tested on moto in tests/ml/sagemaker/test_registry.py); the local platform stands in."""
    platform = harness.services.platform
    monkeypatch.setattr(platform, "name", "sagemaker")
    monkeypatch.setattr(type(platform), "baseline", lambda self, version: None)
    before = harness.state()
    harness.command("drift production", "UERIN")
    answer = harness.wait_responses(1)[-1]
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith(":information_source: v1 has no drift baseline: its pipeline run")
    assert "re-upload the pipeline code with `python -m ml pipeline upload-code`" in answer["text"]
    assert "`python -m ml pipeline upsert`, then retrain" in answer["text"]
    assert harness.state() == before
