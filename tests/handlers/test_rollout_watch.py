"""One live message per rollout: a scripted sequence of readings on an injected clock, the ticker that
follows a switch, and the endpoint events that re-render it where no ticker runs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.notify import Notifier
from bot.services import Services
from handlers.events import dispatch_eventbridge
from handlers.rollout_watch import RolloutMessages, RolloutTicker, rollout_key
from ml.platform import Environment
from ml.rollout_state import AlarmState
from runtimes.slack_local import LocalSlack, Message
from tests.bot.conftest import FakeClock
from tests.bot.notify.conftest import Schedule
from tests.conftest import Closer
from tests.handlers.conftest import CHANNEL, TOKEN, make_services
from tests.paths import load_event
from tests.scripted_rollout import ALARM_5XX, START, ScriptedPlatform, progress

REASON = "6 errors in 12 invocations <b>&</b> (threshold: 5XX errors >= 5 in 60 s)"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(wall=START.timestamp())


@pytest.fixture
def services(release_home: Path, close_later: Closer) -> Iterator[Services]:
    built = make_services(release_home, platform=ScriptedPlatform(release_home))
    yield built
    close_later(built.close)


@pytest.fixture
def notifier(services: Services, local_slack: LocalSlack, clock: FakeClock) -> Iterator[Notifier]:
    client = WebClient(token=TOKEN, base_url=local_slack.api_url)
    built = Notifier(client, services.store, CHANNEL, start_worker=False, clock=clock)
    services.notifier = built
    yield built
    built.close(timeout=0)


def scripted(services: Services) -> ScriptedPlatform:
    platform = services.platform
    assert isinstance(platform, ScriptedPlatform)
    return platform


def rollout_messages(slack: LocalSlack) -> list[Message]:
    return [
        m
        for m in slack.top_level()
        if "Rollout of v2" in json.dumps(m.blocks) or "v2 to production" in m.text
    ]


def test_one_message_updated_in_place_at_most_once_a_second_ending_once(
    services: Services, notifier: Notifier, local_slack: LocalSlack, clock: FakeClock
) -> None:
    platform = scripted(services)
    messages = RolloutMessages(services, notifier, clock)
    schedule = Schedule(notifier, clock, local_slack)
    sent: list[tuple[float, str | None]] = []

    def reading(at: float, **changes: object) -> None:
        clock.advance(at - (clock.monotonic() - start))
        platform.current = progress(seconds_in=int(at), **changes)  # type: ignore[arg-type]
        sent.append((at, messages.refresh("production")))
        schedule.catch_up()

    start = clock.monotonic()
    reading(0, invocations=0)
    reading(0.4, invocations=40)  # too soon after the first state
    reading(1.0, invocations=40)
    reading(1.5, invocations=60)  # too soon again
    alarm = AlarmState(ALARM_5XX, "ALARM", REASON)
    reading(2.5, invocations=80, errors=6, alarm=alarm)
    reading(
        2.7, phase="rolled-back", traffic=0, errors=6, alarm=alarm, verdict=f"alarm {ALARM_5XX}: {REASON}"
    )
    reading(4.0, phase="rolled-back", traffic=0, alarm=alarm)  # the ending again: shown once
    reading(5.0, invocations=90)  # an older reading after the ending never overwrites it
    schedule.drain()

    assert [what for _, what in sent] == ["posted", None, "updated", None, "updated", "ended", None, None]
    posts = [c for _, c in schedule.timed if c.method == "chat.postMessage"]
    updates = [t for t, c in schedule.timed if c.method == "chat.update"]
    assert len(posts) == 1 and len(updates) == 3
    assert all(b - a >= 1.0 for a, b in pairwise(updates)), updates
    shown = rollout_messages(local_slack)
    assert len(shown) == 1
    final = json.dumps(shown[0].blocks)
    assert (
        f"Rolled back automatically: alarm {ALARM_5XX}: 6 errors in 12 invocations &lt;b&gt;&amp;&lt;/b&gt;"
        in final
    )
    assert "<b>" not in final and "Stop and roll back" not in final
    assert notifier.ref(rollout_key(progress())) == (shown[0].channel, shown[0].ts)


def test_the_live_message_shows_split_stage_variants_alarms_and_buttons(
    services: Services, notifier: Notifier, local_slack: LocalSlack, clock: FakeClock
) -> None:
    scripted(services).current = progress(
        invocations=120, errors=2, p99_ms=35.0, alarm=AlarmState(ALARM_5XX, "ALARM", REASON), can_finish=False
    )
    RolloutMessages(services, notifier, clock).refresh("production")
    Schedule(notifier, clock, local_slack).drain()
    [shown] = rollout_messages(local_slack)
    body = json.dumps(shown.blocks, ensure_ascii=False)
    assert "canary 10 %, baking 3:20 left" in body and "8:20 left in all" in body
    assert "*v2* (new) 10 % · 120 invocations · 2 errors · p99 35 ms" in body
    assert f":red_circle: {ALARM_5XX}: ALARM — 6 errors in 12 invocations &lt;b&gt;" in body
    assert "INSUFFICIENT_DATA" in body and "no latency recorded" not in body  # reasons only in ALARM
    labels = [e["text"]["text"] for b in shown.blocks if b["type"] == "actions" for e in b["elements"]]
    assert labels == ["Stop and roll back"]  # no Finish now where the platform cannot finish early


def test_a_person_s_stop_reads_as_such(
    services: Services, notifier: Notifier, local_slack: LocalSlack, clock: FakeClock
) -> None:
    messages = RolloutMessages(services, notifier, clock)
    platform = scripted(services)
    platform.current = progress()
    assert messages.refresh("production") == "posted"
    platform.current = progress("stopped", 0, ended_by="<@U1>carol", verdict="stopped by carol")
    assert messages.refresh("production") == "ended"
    Schedule(notifier, clock, local_slack).drain()
    [shown] = rollout_messages(local_slack)
    assert "Stopped by @&lt;@U1&gt;carol; production serves v1 again." in json.dumps(shown.blocks)


def test_an_instant_switch_that_already_ended_gets_no_message(
    services: Services, notifier: Notifier, clock: FakeClock
) -> None:
    instant = replace(progress("promoted", 100), policy=services.settings.rollout_policy("production"))
    assert instant.policy.total_wait_seconds == 0
    scripted(services).current = instant
    assert RolloutMessages(services, notifier, clock).refresh("production") is None
    assert notifier.pending() == 0


def test_the_ticker_follows_a_switch_and_stops_when_nothing_is_left(
    services: Services, notifier: Notifier, clock: FakeClock
) -> None:
    platform = scripted(services)
    messages = RolloutMessages(services, notifier, clock)
    ticker = RolloutTicker(messages, interval=0.01)
    posted = threading.Event()
    refresh = messages.refresh

    def noting(environment: Environment) -> str | None:
        done = refresh(environment)
        if done == "posted":
            posted.set()
        return done

    messages.refresh = noting  # type: ignore[method-assign]
    try:
        assert ticker.round() == [] and ticker._stop.is_set()  # nothing to follow: it ends
        platform.current = progress()
        started = threading.Event()
        services.release.on_switch_started(lambda env: started.set())
        services.release.on_switch_started(ticker.follow)
        # a switch of production under way in this process: the ticker follows it
        with services.release._lock:
            services.release._active.add("production")
        services.release._switch_started("production")
        assert started.is_set() and ticker._thread is not None
        assert posted.wait(30), "the ticker did not post the rollout's message"
        with services.release._lock:
            services.release._active.discard("production")
        platform.current = progress("promoted", 100, verdict="promoted")
        thread = ticker._thread
        thread.join(30)  # it renders the ending, finds nothing left to follow and ends
        assert not thread.is_alive()
        assert notifier.store.get("rollout-ended", rollout_key(platform.current)) is not None
    finally:
        ticker.close(timeout=5)


def test_deployment_events_re_render_the_rollout_message(
    services: Services, notifier: Notifier, local_slack: LocalSlack, clock: FakeClock
) -> None:
    """Where no ticker runs (Lambda), each "Deployment State Change" moves the message on."""
    platform = scripted(services)
    platform.current = progress(invocations=10)
    failed = load_event("eb_endpoint_deployment_failed.json")
    failed["detail"]["EndpointName"] = platform.endpoint_name("production")
    baking = json.loads(json.dumps(failed))
    baking["id"] = "baking-delivery"
    baking["detail"]["EndpointStatus"] = "UPDATING"
    del baking["detail"]["FailureReason"]
    assert dispatch_eventbridge(services, notifier, baking) == "delegated"
    Schedule(notifier, clock, local_slack).drain()
    assert len(rollout_messages(local_slack)) == 1
    platform.current = progress("rolled-back", 0, verdict="alarm x fired")
    assert dispatch_eventbridge(services, notifier, failed) == "deployment_failure"
    Schedule(notifier, clock, local_slack).drain()
    [shown] = rollout_messages(local_slack)
    assert "Rolled back automatically: alarm x fired." in json.dumps(shown.blocks)
