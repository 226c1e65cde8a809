"""The local rollout guard undoes an update while a guarding alarm is in ALARM, as SageMaker does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ml.local import LocalPlatform, rollout
from ml.local.__main__ import main
from ml.platform import ApprovalStatus, EndpointStatus, InvalidRequest, PlatformError, RolledBack
from ml.sagemaker.clients import aws_session

ALARM = "mlops-xgboost-production-5xx"
ROW = (
    "52,Self-emp-inc,287927,HS-grad,9,Married-civ-spouse,Exec-managerial,Wife,White,Female,15024,0,40,"
    "United-States"
)


@pytest.fixture
def platform(release_home: Path) -> Iterator[LocalPlatform]:
    """v1 serves both environments; v2 is approved."""
    with LocalPlatform(
        release_home, host_endpoints_in_process=True, rollback_alarm_names=(ALARM, "other-alarm")
    ) as made:
        made.update_approval(2, ApprovalStatus.APPROVED, "fine")
        yield made


def answering_version(platform: LocalPlatform, environment: str) -> str:
    client = aws_session().client(
        "sagemaker-runtime",
        endpoint_url=platform.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    name = platform.endpoint_name(environment)  # type: ignore[arg-type]
    response = client.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=ROW.encode())
    return str(response["ResponseMetadata"]["HTTPHeaders"]["x-model-version"])


def config_of(platform: LocalPlatform, environment: str) -> str:
    with platform._registry.transaction() as conn:  # the config name is not part of EndpointInfo
        row = conn.execute(
            "SELECT config_name FROM endpoints WHERE name = ?",
            (platform.endpoint_name(environment),),  # type: ignore[arg-type]
        ).fetchone()
    return str(row["config_name"])


def test_alarm_in_alarm_rolls_the_update_back_to_the_old_config(platform: LocalPlatform) -> None:
    before = config_of(platform, "production")
    rollout.set_alarm(platform.home, ALARM, "ALARM", "5xx above 1%")

    with pytest.raises(RolledBack) as caught:
        platform.deploy("production", 2, "UCAROL")

    undone = caught.value
    assert (undone.requested_version, undone.serving_version, undone.alarms) == (2, 1, (ALARM,))
    assert undone.rolled_back_by == "the local rollout guard"
    assert undone.reason is not None and "5xx above 1%" in undone.reason
    assert undone.serving_config == before != undone.requested_config
    info = platform.describe_endpoint("production")
    assert (info.status, info.version) == (EndpointStatus.IN_SERVICE, 1)
    assert config_of(platform, "production") == before
    assert answering_version(platform, "production") == "1"
    assert [d.version for d in platform.endpoint_history("production")] == [1]
    again = platform.rolled_back_update("production", 2)
    assert again is not None and again.alarms == (ALARM,)
    assert platform.rolled_back_update("production", 1) is None

    rollout.set_alarm(platform.home, ALARM, "OK")
    assert platform.deploy("production", 2, "UCAROL").version == 2
    assert answering_version(platform, "production") == "2"
    assert platform.rolled_back_update("production", 2) is None


def test_alarms_that_guard_nothing_roll_nothing_back(platform: LocalPlatform) -> None:
    rollout.set_alarm(platform.home, "someone-elses-alarm", "ALARM")
    assert platform.deploy("production", 2, "UCAROL").version == 2


def test_unreadable_alarm_states_fail_the_update_and_keep_the_old_version(platform: LocalPlatform) -> None:
    (platform.home / rollout.ALARMS_FILE).write_text("{not json")
    with pytest.raises(PlatformError, match=r"rollout guard could not read its alarms: .*alarms.json"):
        platform.deploy("production", 2, "UCAROL")
    assert platform.describe_endpoint("production").version == 1
    assert answering_version(platform, "production") == "1"


def test_set_alarm_refuses_bad_input_and_changes_nothing(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match=r"'FIRING' is not one of: OK, ALARM, INSUFFICIENT_DATA"):
        rollout.set_alarm(tmp_path, ALARM, "FIRING")
    with pytest.raises(InvalidRequest, match=r"1 to 255 characters"):
        rollout.set_alarm(tmp_path, " ", "ALARM")
    with pytest.raises(InvalidRequest, match=r"not a platform home"):
        rollout.set_alarm(tmp_path / "missing", ALARM, "ALARM")
    assert not (tmp_path / rollout.ALARMS_FILE).exists()


def test_set_alarm_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["set-alarm", "--home", str(tmp_path), ALARM, "ALARM", "--reason", "p95 over 300 ms"]) == 0
    assert capsys.readouterr().out.strip() == f"{ALARM} is ALARM"
    states = json.loads((tmp_path / rollout.ALARMS_FILE).read_text())
    assert states[ALARM]["state"] == "ALARM" and states[ALARM]["reason"] == "p95 over 300 ms"
    assert rollout.fired(tmp_path, ["other", ALARM]) == (ALARM,)
    assert main(["set-alarm", "--home", str(tmp_path / "missing"), ALARM, "OK"]) == 2
    assert "not a platform home" in capsys.readouterr().err
