"""An update the platform undoes by itself (SageMaker's alarm auto-rollback) is never a promotion.

One test body per behaviour, run against the local platform (its rollout guard, alarms in
``home/alarms.json``) and against SageMaker (moto: ``UpdateEndpoint`` ends ``InService`` on the old
config while the CloudWatch alarm is in ALARM). Slack is the LocalSlack server, reached through the
real notifier and the real release-thread renderer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.core.models import Action, Actor, Outcome
from bot.core.records import NS_INFLIGHT
from bot.core.service import ReleaseService
from bot.notify import Notifier
from bot.services import Services
from bot.settings import Settings
from bot.store.sqlite import SQLiteStore
from handlers.events import dispatch_eventbridge
from handlers.notifications import SlackNotifications
from handlers.render.release_card import card_key
from ml.local import events as local_events
from ml.platform import EndpointStatus, MLPlatform, RolledBack
from ml.sagemaker.clients import aws_session
from runtimes.slack_local import LocalSlack, Message
from tests.conftest import BOB, CAROL

CI = Actor("ci:acme/models", "CI acme/models", system=True)
REPORT = {"passed": True, "accuracy": 0.87, "p95_ms": 41.0, "checks": []}


class ProcessDied(BaseException):
    """The bot's process stopped while SageMaker was still working on the update."""


@dataclass
class Bench:
    backend: str
    release: ReleaseService
    services: Services
    notifier: Notifier
    slack: LocalSlack
    alarm: str
    #: how the thread names who undid the update
    undone_by: str
    fire_alarm: Callable[[], None]
    #: the platform call in which the process dies once the update has ended
    crash_point: tuple[Any, str]
    closers: list[Callable[[], object]] = field(default_factory=list)

    @property
    def platform(self) -> MLPlatform:
        return self.release.platform

    def posted_since(self, seq: int) -> list[Message]:
        assert self.notifier.flush(timeout=10), "the Slack outbox did not drain"
        return [m for m in self.slack.messages("mlops") if m.seq >= seq]

    def thread(self, version: int) -> list[Message]:
        assert self.notifier.flush(timeout=10), "the Slack outbox did not drain"
        ref = self.notifier.ref(card_key(version))
        assert ref is not None, f"no release card for v{version}"
        return self.slack.replies(*ref)

    def next_seq(self) -> int:
        assert self.notifier.flush(timeout=10)
        return max((m.seq for m in self.slack.messages(include_deleted=True)), default=-1) + 1

    @contextlib.contextmanager
    def dying_during_update(self) -> Iterator[None]:
        """The process dies right after the platform's update ended, before anyone looked at the result."""
        owner, name = self.crash_point
        real = getattr(owner, name)

        def die(*args: Any, **kwargs: Any) -> Any:
            with contextlib.suppress(RolledBack):
                real(*args, **kwargs)
            raise ProcessDied

        setattr(owner, name, die)
        try:
            yield
        finally:
            setattr(owner, name, real)

    def endpoint_event(self, environment: str) -> dict[str, Any]:
        """The ``SageMaker Endpoint State Change`` event EventBridge delivers once the update ended."""
        info = self.platform.describe_endpoint(environment)  # type: ignore[arg-type]
        now = datetime.now(UTC)
        return local_events.endpoint_state_event(
            endpoint_name=info.name,
            config_name="as-described",
            status=EndpointStatus.IN_SERVICE,
            created_at=now,
            modified_at=now,
        )


def _wire(bench_args: dict[str, Any], platform: MLPlatform, store: SQLiteStore, settings: Settings) -> Bench:
    slack = LocalSlack(channels=("mlops",)).start()
    release = ReleaseService(platform, store, auto_validate_staging=False)
    services = Services(settings, platform, store, release)
    notifier = Notifier(
        slack.web_client(),
        store,
        slack.channel_id("mlops"),
        start_worker=False,
        post_rate=1000,
        post_burst=1000,
        update_rate=1000,
        update_burst=1000,
        backoff_base=0.01,
        backoff_max=0.02,
    )
    services.notifier = notifier
    release.subscribe(SlackNotifications(services, notifier).on_result)
    bench = Bench(release=release, services=services, notifier=notifier, slack=slack, **bench_args)
    bench.closers += [lambda: notifier.close(timeout=0), slack.close, platform.close, store.close]
    return bench


def _local(release_home: Path, tmp_path: Path) -> Bench:
    from ml.local import LocalPlatform, rollout

    alarm = "mlops-xgboost-production-5xx"
    platform = LocalPlatform(
        release_home, host_endpoints_in_process=True, rollback_alarm_names=(alarm, "mlops-xgboost-latency")
    )
    settings = Settings(_env_file=None, mlops_channel="#mlops")  # type: ignore[call-arg]
    return _wire(
        {
            "backend": "local",
            "alarm": alarm,
            "undone_by": "rolled back by the local rollout guard",
            "fire_alarm": lambda: rollout.set_alarm(
                release_home, alarm, "ALARM", "5xx above 1% for 3 minutes"
            ),
            "crash_point": (platform._endpoints, "_guard_update"),  # where the local rollout guard runs
        },
        platform,
        SQLiteStore(tmp_path / "bot.db"),
        settings,
    )


def _sagemaker(tmp_path: Path) -> Bench:
    from ml.sagemaker import SageMakerPlatform
    from tests.ml.sagemaker import moto_sagemaker
    from tests.ml.sagemaker.conftest import ALARMS, ENDPOINTS, GROUP, PIPELINE, ROLE_ARN, make_config

    sm = aws_session().client("sagemaker", region_name="us-east-1")
    s3 = aws_session().client("s3", region_name="us-east-1")
    cloudwatch = aws_session().client("cloudwatch", region_name="us-east-1")
    moto_sagemaker.create_pipeline(sm, PIPELINE, ROLE_ARN)
    for name in ALARMS:
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/SageMaker",
            MetricName="Invocation5XXErrors",
            Dimensions=[{"Name": "EndpointName", "Value": ENDPOINTS["production"]}],
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=3,
            Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
    v1 = moto_sagemaker.register_model_package(sm, s3, GROUP, approval_status="Approved")
    v2 = moto_sagemaker.register_model_package(sm, s3, GROUP)
    assert (v1.version, v2.version) == (1, 2)
    platform = SageMakerPlatform(make_config())
    for env in ("staging", "production"):
        platform.deploy(env, 1, "UCAROL")  # type: ignore[arg-type]
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        mlops_channel="#mlops",
        mlops_backend="sagemaker",
        mlops_pipeline_name=PIPELINE,
        mlops_model_package_group=GROUP,
        mlops_staging_endpoint=ENDPOINTS["staging"],
        mlops_production_endpoint=ENDPOINTS["production"],
        mlops_alarm_names=list(ALARMS),
    )
    alarm = ALARMS[0]
    return _wire(
        {
            "backend": "sagemaker",
            "alarm": alarm,
            "undone_by": "rolled back by SageMaker",
            # The reason names no alarm: which one fired must come from CloudWatch.
            "fire_alarm": lambda: moto_sagemaker.arm_update_rollback(
                ENDPOINTS["production"], "Deployment was rolled back during baking", alarm=alarm
            ),
            "crash_point": (platform, "_wait_in_service"),
        },
        platform,
        SQLiteStore(tmp_path / "bot.db"),
        settings,
    )


@pytest.fixture(params=["local", "sagemaker"])
def bench(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Bench]:
    """v1 serves staging and production; v2 is approved, serves staging and passed its validation."""
    with contextlib.ExitStack() as stack:
        if request.param == "local":
            made = _local(request.getfixturevalue("release_home"), tmp_path)
        else:
            from moto import mock_aws

            from tests.ml.sagemaker import moto_sagemaker

            mp = request.getfixturevalue("monkeypatch")
            for name in (
                "AWS_PROFILE",
                "AWS_ENDPOINT_URL",
                "AWS_ENDPOINT_URL_SAGEMAKER",
                "AWS_SESSION_TOKEN",
            ):
                mp.delenv(name, raising=False)
            for name, value in (
                ("AWS_ACCESS_KEY_ID", "testing"),
                ("AWS_SECRET_ACCESS_KEY", "testing"),
                ("AWS_DEFAULT_REGION", "us-east-1"),
            ):
                mp.setenv(name, value)
            moto_sagemaker.install()
            stack.enter_context(mock_aws())
            made = _sagemaker(tmp_path)
        try:
            release = made.release
            assert release.approve(BOB, 2, "looks right").outcome is Outcome.DONE
            assert release.serving("staging") == 2
            assert release.record_validation(CI, 2, "staging", True, REPORT, "ci:acme/models").ok
            yield made
        finally:
            for close in reversed(made.closers):
                close()


def _assert_rolled_back(bench: Bench, since: int) -> None:
    release = bench.release
    # The environment keeps serving the old version, on the platform and in the bot's records.
    assert release.serving("production") == 1
    status = release.status()
    production = next(e for e in status.environments if e.environment == "production")
    assert (production.version, production.status) == (1, EndpointStatus.IN_SERVICE)
    v2 = next(v for v in status.versions if v.version == 2)
    assert "production" not in v2.environments and v2.promotable
    assert [r.version for r in release.history("production")] == []
    assert release.records.store.get(NS_INFLIGHT, "production") is None
    # The audit says rolled back, naming who undid it and the alarm.
    entries = [e for e in release.audit(50) if e.action is Action.PROMOTE]
    assert [e.outcome for e in entries] == [Outcome.ROLLED_BACK]
    assert entries[0].target == "v2->production"
    assert bench.undone_by in entries[0].detail and bench.alarm in entries[0].detail
    # The release thread says so; nothing posted since claims a promotion.
    thread = " ".join(m.text for m in bench.thread(2))
    assert bench.undone_by in thread and bench.alarm in thread
    assert "production still serves v1" in thread
    for message in bench.posted_since(since):
        assert ":white_check_mark:" not in message.text, message.text
        assert "promoted" not in message.text.lower(), message.text
        assert "✅" not in message.text


def test_promote_rolled_back_by_an_alarm_is_announced_as_rolled_back(bench: Bench) -> None:
    bench.fire_alarm()
    since = bench.next_seq()

    result = bench.release.promote(CAROL, 2)

    assert result.outcome is Outcome.ROLLED_BACK, result.message
    assert not result.ok
    assert result.data["alarms"] == [bench.alarm]
    assert result.data["serving_version"] == 1
    assert bench.undone_by in result.message
    _assert_rolled_back(bench, since)


def test_rollback_found_by_the_endpoint_event_after_the_process_died(bench: Bench) -> None:
    bench.fire_alarm()
    since = bench.next_seq()
    with bench.dying_during_update(), pytest.raises(ProcessDied):
        bench.release.promote(CAROL, 2)
    assert bench.release.records.store.get(NS_INFLIGHT, "production") is not None
    assert bench.posted_since(since) == []  # nobody announced anything yet

    event = bench.endpoint_event("production")
    assert dispatch_eventbridge(bench.services, bench.notifier, event) == "delegated"
    _assert_rolled_back(bench, since)
    # EventBridge delivers at least once: a second event announces nothing more.
    again = bench.endpoint_event("production")
    assert dispatch_eventbridge(bench.services, bench.notifier, again) == "delegated"
    rolled = [e for e in bench.release.audit(50) if e.outcome is Outcome.ROLLED_BACK]
    assert len(rolled) == 1
    assert len([m for m in bench.thread(2) if bench.undone_by in m.text]) == 1
