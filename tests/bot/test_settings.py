"""Settings from the environment: MLOPS_VALIDATION_ROWS, its bounds, and the platforms it reaches."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.sagemaker_config import sagemaker_config
from bot.services import build_platform
from bot.settings import ConfigError, load_settings
from ml.local import LocalPlatform
from ml.validate import DEFAULT_ROWS

ROLE_ARN = "arn:aws:iam::123456789012:role/mlops"


def test_validation_rows_default_to_what_ml_validate_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_VALIDATION_ROWS", raising=False)
    assert load_settings().mlops_validation_rows == DEFAULT_ROWS == 200


@pytest.mark.parametrize("rows", ["50", "1000", "20000"])
def test_validation_rows_within_bounds_are_taken(monkeypatch: pytest.MonkeyPatch, rows: str) -> None:
    monkeypatch.setenv("MLOPS_VALIDATION_ROWS", rows)
    assert load_settings().mlops_validation_rows == int(rows)


@pytest.mark.parametrize("rows", ["49", "20001", "0", "-200"])
def test_validation_rows_outside_bounds_are_refused(monkeypatch: pytest.MonkeyPatch, rows: str) -> None:
    monkeypatch.setenv("MLOPS_VALIDATION_ROWS", rows)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert str(refused.value) == (
        f"invalid configuration: MLOPS_VALIDATION_ROWS: must be a number of rows from 50 to 20000, not {rows}"
    )


def test_validation_rows_that_are_no_number_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_VALIDATION_ROWS", "lots")
    with pytest.raises(ConfigError, match="MLOPS_VALIDATION_ROWS: Input should be a valid integer"):
        load_settings()


def test_validation_rows_reach_both_platforms(tmp_path: Path) -> None:
    settings = load_settings(mlops_home=tmp_path, mlops_validation_rows=750)
    platform = build_platform(settings)
    try:
        assert isinstance(platform, LocalPlatform) and platform.validation_rows == 750
    finally:
        platform.close()
    aws = load_settings(mlops_backend="sagemaker", sagemaker_role_arn=ROLE_ARN, mlops_validation_rows=750)
    assert sagemaker_config(aws).validation_rows == 750


def test_capture_settings_default_to_every_invocation_and_200_mb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_CAPTURE_PERCENT", raising=False)
    monkeypatch.delenv("MLOPS_CAPTURE_MAX_MB", raising=False)
    settings = load_settings()
    assert (settings.mlops_capture_percent, settings.mlops_capture_max_mb) == (100, 200)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "MLOPS_CAPTURE_PERCENT",
            "101",
            "must be a whole percentage from 0 to 100 (0 turns capture off), not 101",
        ),
        (
            "MLOPS_CAPTURE_PERCENT",
            "-1",
            "must be a whole percentage from 0 to 100 (0 turns capture off), not -1",
        ),
        ("MLOPS_CAPTURE_MAX_MB", "0", "must be a size in MB from 1 to 100000, not 0"),
        ("MLOPS_CAPTURE_MAX_MB", "100001", "must be a size in MB from 1 to 100000, not 100001"),
    ],
)
def test_capture_settings_outside_bounds_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert str(refused.value) == f"invalid configuration: {name}: {message}"


def test_capture_settings_reach_the_local_platform(tmp_path: Path) -> None:
    settings = load_settings(mlops_home=tmp_path, mlops_capture_percent=30, mlops_capture_max_mb=5)
    platform = build_platform(settings)
    try:
        assert isinstance(platform, LocalPlatform)
        assert (platform.capture.percent, platform.capture.max_bytes) == (30, 5 * 1024 * 1024)
    finally:
        platform.close()


@pytest.mark.parametrize(
    ("given", "minutes"), [("30m", 30), ("1H", 60), ("1d", 1440), ("off", None), ("0", None)]
)
def test_the_drift_schedule_is_a_duration_or_off(
    monkeypatch: pytest.MonkeyPatch, given: str, minutes: int | None
) -> None:
    monkeypatch.setenv("MLOPS_DRIFT_SCHEDULE", given)
    interval = load_settings().drift_interval
    assert (None if interval is None else interval.total_seconds() / 60) == minutes


def test_a_drift_schedule_that_is_no_duration_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_DRIFT_SCHEDULE", "hourly")
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert "MLOPS_DRIFT_SCHEDULE: a window is a duration such as 30m, 24h or 7d, not 'hourly', or off" in str(
        refused.value
    )


def test_promotion_rules_default_and_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_PROMOTION_RULES", raising=False)
    assert [r.text for r in load_settings().promotion_rules] == ["accuracy >= 0.8", "auc >= champion - 0.01"]
    monkeypatch.setenv("MLOPS_PROMOTION_RULES", "f1 > champion; recall >= 0.6")
    assert [r.text for r in load_settings().promotion_rules] == ["f1 > champion", "recall >= 0.6"]


def test_a_bad_promotion_rule_stops_start_up_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_PROMOTION_RULES", "accuracy >= 0.8; logloss <= 0.3")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "MLOPS_PROMOTION_RULES: rule 'logloss <= 0.3': unknown metric 'logloss'" in str(err.value)


def test_approvals_do_not_expire_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_APPROVAL_TTL", raising=False)
    monkeypatch.delenv("MLOPS_APPROVAL_REMINDERS", raising=False)
    settings = load_settings()
    assert (settings.approval_ttl, settings.approval_reminders) == (None, ())


def test_approval_ttl_and_reminders_are_read_as_durations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_APPROVAL_TTL", "72h")
    monkeypatch.setenv("MLOPS_APPROVAL_REMINDERS", "4h, 24h")
    settings = load_settings()
    assert settings.approval_ttl == timedelta(hours=72)
    assert settings.approval_reminders == (timedelta(hours=24), timedelta(hours=4))
    assert load_settings(mlops_approval_ttl="10s", mlops_approval_reminders="").approval_ttl == timedelta(
        seconds=10
    )


@pytest.mark.parametrize(
    ("ttl", "reminders", "says"),
    [
        ("3 days", "", "MLOPS_APPROVAL_TTL: a duration is a positive number with s, m, h or d"),
        ("4h", "24h", "MLOPS_APPROVAL_REMINDERS: 24h is not shorter than MLOPS_APPROVAL_TTL (4h)"),
        ("4h", "4h", "4h is not shorter than MLOPS_APPROVAL_TTL"),
        ("3h", "1h,60m", "MLOPS_APPROVAL_REMINDERS lists a reminder twice: 1h, 60m"),
        ("3h", "0m", "MLOPS_APPROVAL_REMINDERS: a duration is a positive number"),
        ("off", "1h", "MLOPS_APPROVAL_REMINDERS needs MLOPS_APPROVAL_TTL"),
    ],
)
def test_bad_approval_expiry_settings_are_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, ttl: str, reminders: str, says: str
) -> None:
    monkeypatch.setenv("MLOPS_APPROVAL_TTL", ttl)
    monkeypatch.setenv("MLOPS_APPROVAL_REMINDERS", reminders)
    with pytest.raises(ConfigError, match=re.escape(says)):
        load_settings()
