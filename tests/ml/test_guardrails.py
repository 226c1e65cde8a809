"""The guardrail rules, evaluated as CloudWatch would on one period of the new variant's metrics."""

from __future__ import annotations

from ml.guardrails import DEFAULT_RULES, default_alarm_names, evaluate

ERRORS, LATENCY = DEFAULT_RULES


def test_error_alarm_fires_at_the_threshold_and_names_its_values() -> None:
    assert evaluate(ERRORS, "ep", invocations=40, errors=4, p99_ms=3.0).state == "OK"
    fired = evaluate(ERRORS, "ep", invocations=40, errors=5, p99_ms=3.0)
    assert (fired.name, fired.state) == ("ep-new-variant-5xx", "ALARM")
    assert "5 errors in 40 invocations" in fired.reason and "5XX errors >= 5 in 60 s" in fired.reason


def test_latency_alarm_compares_milliseconds_with_microsecond_thresholds() -> None:
    assert evaluate(LATENCY, "ep", invocations=10, errors=0, p99_ms=499.0).state == "OK"
    fired = evaluate(LATENCY, "ep", invocations=10, errors=0, p99_ms=750.0)
    assert fired.state == "ALARM" and "p99 750 ms" in fired.reason and ">= 500 ms" in fired.reason


def test_no_traffic_is_insufficient_data_not_ok() -> None:
    assert evaluate(ERRORS, "ep", invocations=0, errors=0, p99_ms=None).state == "INSUFFICIENT_DATA"
    assert default_alarm_names("mlops-xgboost-production") == (
        "mlops-xgboost-production-new-variant-5xx",
        "mlops-xgboost-production-new-variant-p99-latency",
    )
