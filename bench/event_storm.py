"""A storm of SageMaker pipeline events into Slack: durable coalescing notifier against a naive one.

    python -m bench.event_storm [--quick]

1,000 EventBridge events (execution and step status changes, 5% of them redelivered with the same
id) for 20 pipeline executions running at once are delivered by 8 concurrent senders through
``dispatch_eventbridge``, the function behind ``POST /events/eventbridge`` and the Lambda entry.
The platform answers ``describe_execution`` from a replay of the same events (its state moves on
just before each event is delivered, as SageMaker's does), so each run message must end showing
its execution's final state. Slack is ``LocalSlack``.

Side by side, in the same run and with the same events: the bot's ``Notifier`` (durable outbox,
Slack's published pacing: about 1 post per second per channel, 50 updates per minute, pending
states of a message coalesced) against a naive notifier that calls Slack inline on every event,
unpaced. The naive one shows what the storm costs in Slack calls without coalescing; its ingest
rate shows what calling Slack inline does to intake.

The durable notifier replays the storm twice: once against a Slack that answers every call, and once
with a share of ``chat.update`` answers lost after Slack applied the update (the connection drops on
the way back), so the notifier retries updates Slack already has. The second replay lifts the update
budget (``LOSSY_UPDATE_RATE``): at 50 a minute the budget alone spaces a message's writes once its
burst is spent, and this replay shows that the per-message interval holds without it. Each message's
writes are timed as Slack received them; the goal is at most one update per message in any second,
in both.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from bench.common import machine
from ml.platform import (
    DT_EXECUTION,
    DT_STEP,
    PIPELINE_STEPS,
    Deployment,
    EndpointInfo,
    Environment,
    EventListener,
    Execution,
    ExecutionStatus,
    InvalidRequest,
    ModelPackage,
    NotFound,
    ParameterSpec,
    PlatformEvent,
    RolledBack,
    StepInfo,
    StepStatus,
)

PIPELINE = "mlops-xgboost-pipeline"
GROUP = "mlops-xgboost"
CHANNEL = "#mlops"
#: Slack's published pacing: chat.postMessage about 1 per second per channel, chat.update Tier 3.
SLACK_POST_RATE = 1.0
SLACK_UPDATE_RATE = 50 / 60
#: chat.update per second in the replay that loses answers: far above what the message interval allows
LOSSY_UPDATE_RATE = 10.0
#: The notifier's default bursts on top of those rates.
POST_BURST = 3
UPDATE_BURST = 5


# -- the storm ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Storm:
    events: list[PlatformEvent]  # delivery order, redeliveries included
    unique: int
    duplicates: int
    executions: list[str]  # execution ARNs


def _run_plan(
    rng: random.Random, target: int, fail_at: str | None
) -> list[tuple[str, StepStatus | ExecutionStatus, str | None]]:
    """(step or "", status, failure reason) transitions of one execution, exactly ``target`` long.

    Steps retry (Starting, Executing, Failed, then again) until the budget is spent; SageMaker also
    repeats a status change now and then (same state, new event id), which pads the rest.
    """
    steps = list(PIPELINE_STEPS[: PIPELINE_STEPS.index(fail_at) + 1] if fail_at else PIPELINE_STEPS)
    attempts = dict.fromkeys(steps, 1)
    budget = target - 2 - 3 * len(steps)
    if budget < 0:
        raise ValueError(f"{target} events per execution are too few for {len(steps)} steps")
    while budget >= 3:
        attempts[rng.choice(steps)] += 1
        budget -= 3
    plan: list[tuple[str, StepStatus | ExecutionStatus, str | None]] = [("", ExecutionStatus.EXECUTING, None)]
    for name in steps:
        for attempt in range(attempts[name]):
            last = attempt == attempts[name] - 1
            plan += [(name, StepStatus.STARTING, None), (name, StepStatus.EXECUTING, None)]
            if budget and last:  # a repeated notification of the running state
                plan += [(name, StepStatus.EXECUTING, None)] * budget
                budget = 0
            if not last:
                plan.append(
                    (name, StepStatus.FAILED, f"attempt {attempt + 1}: InternalServerError; retrying")
                )
            elif name == fail_at:
                plan.append((name, StepStatus.FAILED, "Accuracy 0.71 is below the threshold 0.8"))
            else:
                plan.append((name, StepStatus.SUCCEEDED, None))
    final = ExecutionStatus.FAILED if fail_at else ExecutionStatus.SUCCEEDED
    plan.append(("", final, "Step CheckAccuracy failed" if fail_at else None))
    return plan


def make_storm(
    events: int = 1000, executions: int = 20, duplicate_share: float = 0.05, seed: int = 7
) -> Storm:
    """Interleaved events of ``executions`` concurrent runs; ``events`` includes the redeliveries."""
    from ml.local import events as ev

    if executions < 1:
        raise ValueError(f"executions must be >= 1, got {executions}")
    if not 0 <= duplicate_share < 0.5:
        raise ValueError(f"duplicate_share must be in [0, 0.5), got {duplicate_share}")
    rng = random.Random(seed)
    duplicates = round(events * duplicate_share)
    unique = events - duplicates
    base = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    per_run: list[list[PlatformEvent]] = []
    arns: list[str] = []
    for i in range(executions):
        arn = ev.execution_arn(PIPELINE, f"storm{i:03d}{rng.randrange(16**6):06x}")
        arns.append(arn)
        fail_at = "CheckAccuracy" if i % 6 == 5 else None
        plan = _run_plan(rng, unique // executions + (i < unique % executions), fail_at)
        started = base + timedelta(minutes=i)
        out: list[PlatformEvent] = []
        previous: dict[str, StepStatus] = {}
        step_start: dict[str, datetime] = {}
        run_status: ExecutionStatus | None = None
        for n, (step, status, reason) in enumerate(plan):
            at = started + timedelta(seconds=10 * n)
            if isinstance(status, ExecutionStatus):
                out.append(
                    ev.execution_status_event(
                        pipeline_name=PIPELINE,
                        execution_id=arn,
                        display_name=f"storm-{i}",
                        current=status,
                        previous=run_status,
                        started_at=started,
                        ended_at=at if status.terminal else None,
                        failure_reason=reason,
                    )
                )
                run_status = status
                continue
            if status is StepStatus.STARTING:
                step_start[step] = at
            done = status in (StepStatus.SUCCEEDED, StepStatus.FAILED)
            metadata = (
                {"RegisterModel": {"Arn": ev.model_package_arn(GROUP, i + 1)}}
                if step == "RegisterModel" and status is StepStatus.SUCCEEDED
                else {}
            )
            out.append(
                ev.step_status_event(
                    pipeline_name=PIPELINE,
                    execution_id=arn,
                    step_name=step,
                    current=status,
                    previous=previous.get(step),
                    started_at=step_start[step],
                    ended_at=at if done else None,
                    failure_reason=reason,
                    metadata=metadata,
                )
            )
            previous[step] = status
        per_run.append(out)
    # Interleave the runs at random, keeping each run's own order.
    cursors = [0] * executions
    merged: list[PlatformEvent] = []
    while len(merged) < unique:
        live = [i for i in range(executions) if cursors[i] < len(per_run[i])]
        i = rng.choice(live)
        merged.append(per_run[i][cursors[i]])
        cursors[i] += 1
    # Redeliveries: the same event (same id) again, a little later.
    for original in sorted(rng.sample(range(unique), duplicates), reverse=True):
        slot = min(len(merged), original + 1 + rng.randrange(30))
        merged.insert(slot, merged[original])
    return Storm(merged, unique, duplicates, arns)


# -- a platform that replays the storm -------------------------------------------------------------------


@dataclass
class _RunState:
    status: ExecutionStatus
    started_at: datetime
    ended_at: datetime | None = None
    failure_reason: str | None = None
    steps: dict[str, StepInfo] = field(default_factory=dict)
    model_version: int | None = None


class ReplayPlatform:
    """Answers ``describe_execution`` from the events applied so far; nothing else is used here."""

    name = "replay"
    model_package_group = GROUP
    pipeline_name = PIPELINE

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, _RunState] = {}
        self._applied: set[str] = set()

    def apply(self, event: Mapping[str, Any]) -> None:
        """Move the execution's state on (a redelivered event changes nothing)."""
        from bot.ingest.models import parse_time

        detail = event["detail"]
        arn = str(detail["pipelineExecutionArn"])
        with self._lock:
            if event["id"] in self._applied:
                return
            self._applied.add(str(event["id"]))
            if event["detail-type"] == DT_EXECUTION:
                status = ExecutionStatus(detail["currentPipelineExecutionStatus"])
                started = parse_time(detail["executionStartTime"]) or datetime.now(UTC)
                run = self._runs.setdefault(arn, _RunState(status, started))
                run.status = status
                run.ended_at = parse_time(detail.get("executionEndTime"))
                run.failure_reason = detail.get("failureReason")
            elif event["detail-type"] == DT_STEP:
                run = self._runs.setdefault(arn, _RunState(ExecutionStatus.EXECUTING, datetime.now(UTC)))
                name = str(detail["stepName"])
                run.steps[name] = StepInfo(
                    name,
                    StepStatus(detail["currentStepStatus"]),
                    parse_time(detail.get("stepStartTime")),
                    parse_time(detail.get("stepEndTime")),
                    detail.get("failureReason"),
                )
                registered = (detail.get("metadata") or {}).get("RegisterModel", {}).get("Arn")
                if registered and detail["currentStepStatus"] == StepStatus.SUCCEEDED:
                    run.model_version = int(str(registered).rsplit("/", 1)[-1])

    def describe_execution(self, execution_id: str) -> Execution:
        with self._lock:
            run = self._runs.get(execution_id)
            if run is None:
                raise NotFound(f"no pipeline execution {execution_id}")
            steps = tuple(run.steps[n] for n in PIPELINE_STEPS if n in run.steps)
            if not run.status.terminal:
                steps = tuple(run.steps.get(n, StepInfo(n, StepStatus.PENDING)) for n in PIPELINE_STEPS)
            return Execution(
                execution_id=execution_id,
                status=run.status,
                parameters={"AccuracyThreshold": "0.8"},
                requested_by="UALICE",
                git_sha="3f2c1a9d0b7e",
                started_at=run.started_at,
                ended_at=run.ended_at,
                failure_reason=run.failure_reason,
                steps=steps,
                model_version=run.model_version,
            )

    # The rest of ml.platform.MLPlatform: unused by event ingestion.
    def _unused(self, what: str) -> InvalidRequest:
        return InvalidRequest(f"the replay platform does not support {what}")

    def pipeline_parameters(self) -> Mapping[str, ParameterSpec]:
        return {}

    def start_pipeline(
        self, parameters: Mapping[str, str], requested_by: str, git_sha: str | None = None
    ) -> Execution:
        raise self._unused("starting runs")

    def list_executions(self, limit: int = 20, *, parameters: bool = True) -> list[Execution]:
        return [self.describe_execution(arn) for arn in list(self._runs)[:limit]]

    def stop_execution(self, execution_id: str) -> Execution:
        raise self._unused("stopping runs")

    def list_model_packages(self, limit: int | None = None) -> list[ModelPackage]:
        return []

    def describe_model_package(self, version: int) -> ModelPackage:
        raise NotFound(f"no model version {version}")

    def baseline(self, version: int) -> dict[str, Any] | None:
        raise self._unused("baseline")

    def evaluation(self, version: int) -> dict[str, Any] | None:
        return None

    def captured_traffic(self, environment: Environment, since: datetime | None) -> Iterator[bytes]:
        raise self._unused("captured traffic")

    def update_approval(self, version: int, status: Any, description: str) -> ModelPackage:
        raise self._unused("approvals")

    def update_life_cycle(self, version: int, life_cycle: Any) -> ModelPackage:
        raise self._unused("registry stages")

    def deploy(
        self, environment: Environment, version: int, deployed_by: str, rollout: Any = None
    ) -> EndpointInfo:
        raise self._unused("deployments")

    def rollback_path(self, environment: Environment, version: int) -> Any:
        raise self._unused("rollbacks")

    def rollout_progress(self, environment: Environment) -> None:
        return None

    def stop_rollout(self, environment: Environment, stopped_by: str) -> str:
        raise self._unused("rollouts")

    def finish_rollout(self, environment: Environment, finished_by: str) -> str:
        raise self._unused("rollouts")

    def warm_standby(self, environment: Environment) -> None:
        return None

    def retire_warm(self, environment: Environment) -> bool:
        return False

    def rollback(self, environment: Environment, version: int, deployed_by: str) -> EndpointInfo:
        raise self._unused("rollbacks")

    def endpoint_name(self, environment: Environment) -> str:
        return f"{GROUP}-{environment}"

    def describe_endpoint(self, environment: Environment) -> EndpointInfo:
        raise NotFound(f"endpoint {self.endpoint_name(environment)} does not exist")

    def endpoint_history(self, environment: Environment) -> list[Deployment]:
        return []

    def rolled_back_update(self, environment: Environment, version: int) -> RolledBack | None:
        return None

    def validate(self, environment: Environment) -> dict[str, Any]:
        raise self._unused("validation")

    def subscribe(self, listener: EventListener) -> None:
        return None

    def close(self) -> None:
        return None


# -- the naive baseline ---------------------------------------------------------------------------------


class NaiveNotifier:
    """Calls Slack inline on every state: no outbox, no pacing, no coalescing (one lock per message
    only, so that it never posts one message twice)."""

    def __init__(self, client: Any, channel: str) -> None:
        self.client = client
        self.channel = channel
        self._refs: dict[str, tuple[str, str]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def ref(self, key: str) -> tuple[str, str] | None:
        return self._refs.get(key)

    def upsert(
        self, key: str, text: str, blocks: list[dict[str, Any]], thread_key: str | None = None
    ) -> None:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            ref = self._refs.get(key)
            if ref is None:
                resp = self.client.chat_postMessage(channel=self.channel, text=text, blocks=blocks)
                self._refs[key] = (str(resp["channel"]), str(resp["ts"]))
            else:
                self.client.chat_update(channel=ref[0], ts=ref[1], text=text, blocks=blocks)

    def reply(self, thread_key: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        parent = self._refs.get(thread_key)
        kwargs: dict[str, Any] = {"thread_ts": parent[1]} if parent else {}
        self.client.chat_postMessage(channel=self.channel, text=text, blocks=blocks, **kwargs)

    def pending(self) -> int:
        return 0

    def flush(self, timeout: float = 30.0) -> bool:
        return True

    def close(self, timeout: float = 10.0) -> None:
        return None


class LosingAnswers:
    """A Web API client whose ``chat.update`` calls lose a share of their answers after Slack applied them."""

    def __init__(self, client: Any, share: float, seed: int = 11) -> None:
        self.client = client
        self.share = share
        self.lost = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def chat_update(self, **kwargs: Any) -> Any:
        answer = self.client.chat_update(**kwargs)
        with self._lock:
            lose = self._rng.random() < self.share
            self.lost += lose
        if lose:
            raise ConnectionResetError("the connection dropped before Slack's answer arrived")
        return answer


# -- one replay --------------------------------------------------------------------------------------------


def _replay(
    storm: Storm,
    home: Path,
    *,
    naive: bool,
    senders: int,
    rates: tuple[float, float],
    drain_timeout: float,
    lost_answers: float = 0.0,
) -> dict[str, Any]:
    from bot.notify import Notifier
    from bot.services import build_services
    from bot.settings import load_settings
    from bot.store.sqlite import SQLiteStore
    from handlers.events import dispatch_eventbridge
    from handlers.render.run_message import render_run, run_key
    from runtimes.assembly import notifier_client
    from runtimes.slack_local import LocalSlack, with_generated_ids

    platform = ReplayPlatform()
    slack = LocalSlack(channels=(CHANNEL,)).start()
    settings = load_settings(
        mlops_home=home,
        mlops_channel=CHANNEL,
        slack_bot_token=slack.token,
        slack_signing_secret="bench",
        slack_api_url=slack.api_url,
        mlops_pipeline_name=PIPELINE,
        mlops_model_package_group=GROUP,
    )
    store = SQLiteStore(home / "bot.db")
    services = build_services(settings, platform=cast(Any, platform), store=store)
    client = slack.web_client()
    losing = LosingAnswers(notifier_client(client), lost_answers)
    notifier: Any
    if naive:
        notifier = NaiveNotifier(client, CHANNEL)
    else:
        # The client the app gives its notifier (no retries inside a call), losing answers if asked.
        notifier = Notifier(
            cast(Any, losing),
            store,
            CHANNEL,
            post_rate=rates[0],
            update_rate=rates[1],
            idle_poll=0.05,
            backoff_base=0.2,
        )
    outcomes: dict[str, int] = {}
    errors: list[str] = []
    lock = threading.Lock()
    position = 0

    def sender() -> None:
        nonlocal position
        while True:
            with lock:  # the platform's state moves on in delivery order, just before delivery
                if position >= len(storm.events):
                    return
                event = storm.events[position]
                position += 1
                platform.apply(event)
            try:
                outcome = dispatch_eventbridge(services, notifier, event)
            except Exception as exc:  # a failed delivery is counted, as EventBridge would retry it
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                continue
            with lock:
                outcomes[outcome] = outcomes.get(outcome, 0) + 1

    try:
        t0 = time.perf_counter()
        threads = [threading.Thread(target=sender, name=f"sender-{i}") for i in range(senders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ingest_s = time.perf_counter() - t0
        drained = notifier.flush(timeout=drain_timeout)
        drain_s = time.perf_counter() - t0 - ingest_s
        slack.wait_quiet(0.1, timeout=5)

        posts = [c for c in slack.calls("chat.postMessage") if c.ok]
        updates = [c for c in slack.calls("chat.update") if c.ok]
        mismatched: list[str] = []
        posts_per_run: dict[str, int] = {}
        ts_of_run: dict[str, str] = {}
        for arn in storm.executions:
            ref = notifier.ref(run_key(arn))
            if ref is None:
                mismatched.append(f"{arn}: never posted")
                continue
            ts_of_run[ref[1]] = arn
            message = slack.message(*ref)
            text, blocks = render_run(platform.describe_execution(arn))
            if message is None or message.text != text or message.blocks != with_generated_ids(blocks):
                shown = message.text if message else "nothing"
                mismatched.append(f"{arn}: shows {shown!r}, final state is {text!r}")
        for call in posts:
            arn = ts_of_run.get(str(call.response.get("ts")), "(not a run message)")
            posts_per_run[arn] = posts_per_run.get(arn, 0) + 1
        per_message: dict[str, list[float]] = {}
        for call in updates:
            per_message.setdefault(str(call.args.get("ts")), []).append(call.at)
        # Every write of a run message as Slack received it: its post, then each update (refused ones too).
        writes: dict[str, list[float]] = {}
        for call in posts:
            writes.setdefault(str(call.response.get("ts")), []).append(call.at)
        for call in slack.calls("chat.update"):
            writes.setdefault(str(call.args.get("ts")), []).append(call.at)
        gaps = [b - a for v in writes.values() for a, b in itertools.pairwise(sorted(v))]
        return {
            "notifier": "naive" if naive else "durable",
            "lost_update_answers": losing.lost,
            "events": len(storm.events),
            "outcomes": dict(sorted(outcomes.items())),
            "delivery_errors": len(errors),
            "first_errors": errors[:3],
            "ingest_s": ingest_s,
            "events_per_s": len(storm.events) / ingest_s,
            "drained": drained,
            "drain_s": drain_s,
            "to_final_state_s": ingest_s + drain_s,
            "chat_post_message": len(posts),
            "chat_update": len(updates),
            "slack_calls": len(posts) + len(updates),
            "max_posts_per_execution": max(posts_per_run.values(), default=0),
            "posts_outside_run_messages": posts_per_run.get("(not a run message)", 0),
            "max_updates_per_message_in_1s": max(
                (_max_in_window(v, 1.0) for v in per_message.values()), default=0
            ),
            "max_updates_per_message": max((len(v) for v in per_message.values()), default=0),
            "min_gap_between_writes_of_a_message_s": min(gaps, default=None),
            "messages_in_final_state": len(storm.executions) - len(mismatched),
            "mismatched": mismatched[:5],
        }
    finally:
        notifier.close(timeout=0)
        services.close()
        slack.close()


def _max_in_window(times: list[float], window: float) -> int:
    ordered = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def at_slack_pacing_s(posts: int, updates: int) -> float:
    """Least time Slack's pacing (with the notifier's bursts) needs for these calls in one channel."""
    return max(0.0, (posts - POST_BURST) / SLACK_POST_RATE, (updates - UPDATE_BURST) / SLACK_UPDATE_RATE)


def run(
    *,
    quick: bool = False,
    events: int = 1000,
    executions: int = 20,
    duplicate_share: float = 0.05,
    senders: int = 8,
    rates: tuple[float, float] = (SLACK_POST_RATE, SLACK_UPDATE_RATE),
    drain_timeout: float = 120.0,
    lost_answers: float = 0.25,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """``quick`` keeps the storm and Slack's pacing; it exists for the runner's uniform interface.

    ``lost_answers``: the share of ``chat.update`` answers lost in the second durable replay.
    """
    if not 0 <= lost_answers < 1:
        raise ValueError(f"lost_answers must be in [0, 1), got {lost_answers}")
    storm = make_storm(events, executions, duplicate_share)
    results: dict[str, Any] = {}
    lossy_rates = (rates[0], max(rates[1], LOSSY_UPDATE_RATE))
    replays = {
        "durable": (False, 0.0, rates),
        "durable_lost_answers": (False, lost_answers, lossy_rates),
        "naive": (True, 0.0, rates),
    }
    with tempfile.TemporaryDirectory(prefix="mlops-bench-storm-") as tmp:
        for name, (naive, lost, paced) in replays.items():
            home = Path(tmp) / name
            home.mkdir()
            if progress:
                progress(
                    f"replaying {len(storm.events)} events through the {name.replace('_', ' ')} notifier"
                )
            results[name] = _replay(
                storm,
                home,
                naive=naive,
                senders=senders,
                rates=paced,
                drain_timeout=drain_timeout,
                lost_answers=lost,
            )
    durable, lossy, naive_r = results["durable"], results["durable_lost_answers"], results["naive"]
    for r in results.values():
        r["at_slack_pacing_s"] = at_slack_pacing_s(r["chat_post_message"], r["chat_update"])
    goals = {
        "one_post_per_execution": all(
            r["max_posts_per_execution"] <= 1 and r["posts_outside_run_messages"] == 0
            for r in (durable, lossy)
        ),
        "updates_at_most_1_per_message_per_s": all(
            r["max_updates_per_message_in_1s"] <= 1 for r in (durable, lossy)
        ),
        "every_message_in_final_state": all(
            r["messages_in_final_state"] == executions for r in (durable, lossy)
        ),
        "no_delivery_errors": durable["delivery_errors"] == 0 and lossy["delivery_errors"] == 0,
    }
    return {
        "machine": machine(),
        "storm": {
            "events": len(storm.events),
            "unique": storm.unique,
            "redelivered": storm.duplicates,
            "executions": executions,
            "senders": senders,
            "pacing": {"post_per_s": rates[0], "update_per_s": rates[1]},
            "lost_update_answers_share": lost_answers,
            "lost_answers_update_per_s": lossy_rates[1],
        },
        "durable": durable,
        "durable_lost_answers": lossy,
        "naive": naive_r,
        "slack_calls_ratio": durable["slack_calls"] / max(1, naive_r["slack_calls"]),
        "ingest_rate_ratio": durable["events_per_s"] / naive_r["events_per_s"],
        "goals": goals,
        "met": all(goals.values()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="accepted for the runner; same storm")
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--executions", type=int, default=20)
    parser.add_argument("--lost-answers", type=float, default=0.25, help="share of chat.update answers lost")
    args = parser.parse_args(argv)
    result = run(
        quick=args.quick,
        events=args.events,
        executions=args.executions,
        lost_answers=args.lost_answers,
        progress=lambda m: print(m, file=sys.stderr),
    )
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
