"""The local rollout engine: a canary or linear promote on the endpoint host, guarded like SageMaker's.

The new version is loaded beside the old one at weight 0, then takes ``policy.steps`` of the traffic in
turn, waiting ``wait_seconds`` after each step and ``bake_seconds`` after the last. Every tick (1 s on
the clock) it reads a stop or finish request from the registry (``stop_rollout``/``finish_rollout``,
maybe from another process), the timeout, the guardrail rules (``ml.guardrails``) on the new variant's
counts over their period, and the states of the rollback alarms in ``alarms.json``. A breach, the
timeout or a stop puts all traffic back on the old version and unloads the new one (``RolledBack``); a
healthy end, or a finish, moves all traffic to the new one and keeps the old one warm at weight 0 for
the warm rollback window (or unloads it when that is off). Each stage is persisted before it is
announced, as SageMaker's "Endpoint Deployment State Change" events.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta
from pathlib import Path

from ml.clock import Clock
from ml.guardrails import DEFAULT_RULES, evaluate
from ml.platform import EndpointStatus, Environment, InvalidRequest, ModelPackage, PlatformError
from ml.rollout_policy import RolloutPolicy
from ml.rollout_state import AlarmState, AlarmStateValue, RolloutPhase

from . import rollout
from .announcer import Announcer
from .deployment_events import Stage
from .host_link import HostLink, endpoint_entry, variant_entry
from .registry import EndpointRow, OwnerToken, Registry, RolloutRow, VariantRow, variant_name

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0


@dataclasses.dataclass
class _Run:
    environment: Environment
    name: str
    before: EndpointRow
    old: VariantRow
    new: VariantRow
    config_name: str
    deployed_by: str
    record: RolloutRow


class RolloutEngine:
    def __init__(
        self,
        *,
        registry: Registry,
        announce: Announcer,
        owner: OwnerToken,
        home: Path,
        group: str,
        link: HostLink,
        rollback_alarm_names: tuple[str, ...],
        warm_rollback: timedelta | None,
        clock: Clock,
    ) -> None:
        self._registry = registry
        self._announce = announce
        self._owner = owner
        self._home = home
        self._group = group
        self._link = link
        self._alarm_names = rollback_alarm_names
        self.warm_rollback = warm_rollback
        self._clock = clock

    def run(
        self,
        environment: Environment,
        name: str,
        package: ModelPackage,
        model_dir: Path,
        deployed_by: str,
        policy: RolloutPolicy,
        before: EndpointRow,
    ) -> EndpointRow:
        """Roll ``package`` out on ``name`` (which serves ``before.version``) by ``policy``."""
        assert before.version is not None and before.model_dir is not None
        now = self._clock.now()
        row = begin_change(
            self._registry, self._owner, self._group, environment, name, package.version, str(model_dir), now
        )
        config_name = row.config_name
        old = VariantRow(
            variant_name(before.version), before.version, before.model_dir, 100, "old", None, now
        )
        new = VariantRow(variant_name(package.version), package.version, str(model_dir), 0, "new", None, now)
        self._registry.set_variants(name, [old, new])
        ends = now + timedelta(seconds=policy.total_wait_seconds)
        record = RolloutRow(
            name, environment, package.version, before.version, policy, "provisioning", 0, (), now, None, ends
        )
        self._registry.save_rollout(record)
        run = _Run(environment, name, before, old, new, config_name, deployed_by, record)
        self._announce.endpoint(row)
        self._event(
            run, "Creating", f"Loading v{package.version} into the endpoint host beside v{before.version}."
        )
        problem = self._load(run)
        if problem is not None:
            failed = self._registry.fail_endpoint_change(name, problem)
            self._link.nudge()
            self._announce.endpoint(failed)
            raise PlatformError(f"deploy of v{package.version} to {environment} failed: {problem}")
        steps = policy.steps
        for index, percent in enumerate(steps):
            last = index == len(steps) - 1
            self._weights(run, percent)
            wait = policy.bake_seconds if last else policy.wait_seconds
            phase: RolloutPhase = "baking" if last else "shifting"
            stage_ends = self._clock.now() + timedelta(seconds=wait)
            self._save(run, phase=phase, traffic_percent=percent, stage_ends_at=stage_ends)
            self._event(run, "ActivatingTraffic", f"Shifting {percent}% of traffic to v{package.version}.")
            capacity = "full" if percent == 100 else f"{percent}% canary"
            setting = "TerminationWaitInSeconds" if last else "WaitIntervalInSeconds"
            self._event(
                run,
                "Baking",
                f"Baking for {wait} seconds ({setting}) with traffic enabled on {capacity} capacity.",
            )
            outcome = self._watch(run, stage_ends)
            if outcome is not None and outcome[0] == "finish":
                return self._promote(run, finished_by=outcome[1])
            if outcome is not None:
                self._roll_back(run, *outcome)
        return self._promote(run, finished_by="")

    # -- one stage -----------------------------------------------------------------------------------

    def _load(self, run: _Run) -> str | None:
        """Load the new variant at weight 0; None once the host serves it, else why it did not."""
        try:
            status = self._link.nudge() or self._link.status()
        except PlatformError as exc:
            return str(exc)
        if variant_entry(status, run.name, run.new.name).get("version") == run.new.version:
            return None
        error = endpoint_entry(status, run.name).get("error") or {}
        if error.get("version") == run.new.version:
            return f"the model did not load: {error.get('message')}"
        return f"the endpoint host did not load v{run.new.version}"

    def _weights(self, run: _Run, percent: int) -> None:
        run.old = dataclasses.replace(run.old, weight=100 - percent)
        run.new = dataclasses.replace(run.new, weight=percent)
        self._registry.set_variants(run.name, [run.old, run.new])
        self._link.nudge()

    def _watch(self, run: _Run, until: datetime) -> tuple[str, str] | None:
        """Tick until ``until``: (kind, who or why) of a stop, finish, breach or timeout first; else None."""
        while True:
            outcome = self._check(run)
            if outcome is not None:
                return outcome
            remaining = (until - self._clock.now()).total_seconds()
            if remaining <= 0:
                return None
            self._clock.sleep(min(TICK_SECONDS, remaining))

    def _check(self, run: _Run) -> tuple[str, str] | None:
        stored = self._registry.rollout(run.name)
        if stored is not None and stored.request is not None:
            return stored.request, stored.requested_by or "someone"
        alarms = self._alarms(run)
        self._save(run, alarms=alarms)
        breached = [a for a in alarms if a.state == "ALARM"]
        if breached:
            return "alarm", "; ".join(f"alarm {a.name}: {a.reason}" for a in breached)
        timeout = run.record.policy.timeout_seconds
        if self._clock.now() >= run.record.started_at + timedelta(seconds=timeout):
            return "timeout", f"the rollout took longer than its timeout ({timeout} s)"
        return None

    def _alarms(self, run: _Run) -> tuple[AlarmState, ...]:
        window = variant_entry(self._link.status(), run.name, run.new.name).get("window") or {}
        invocations, errors = int(window.get("invocations") or 0), int(window.get("errors") or 0)
        p99 = window.get("p99_ms")
        states = [
            evaluate(
                rule,
                run.name,
                invocations=invocations,
                errors=errors,
                p99_ms=None if p99 is None else float(p99),
            )
            for rule in DEFAULT_RULES
        ]
        recorded = rollout.alarm_states(self._home) if self._alarm_names else {}
        for alarm in self._alarm_names:
            found = recorded.get(alarm, {})
            state = found.get("state")
            value: AlarmStateValue = state if state in ("OK", "ALARM") else "INSUFFICIENT_DATA"
            states.append(AlarmState(alarm, value, str(found.get("reason") or "")))
        return tuple(states)

    # -- endings -------------------------------------------------------------------------------------

    def _roll_back(self, run: _Run, kind: str, detail: str) -> None:
        """All traffic back to the old version, the new one unloaded; raises ``RolledBack``."""
        version = run.new.version
        alarms: tuple[str, ...] = ()
        if kind == "stop":
            phase: RolloutPhase = "stopped"
            why, by = f"stopped by {detail}", detail
        else:
            phase = "rolled-back"
            breached = [a for a in run.record.alarms if a.state == "ALARM"] if kind == "alarm" else []
            why, by, alarms = detail, rollout.ROLLED_BACK_BY, tuple(a.name for a in breached)
        # The verdict names the alarm and its values; the endpoint's FailureReason reads as SageMaker's.
        cause = "; ".join(a.reason for a in breached) if kind == "alarm" and breached else why
        failure = why if kind == "stop" else f"Auto rollback triggered: {why}"
        self._save(
            run,
            phase=phase,
            traffic_percent=0,
            stage_ends_at=None,
            ends_at=None,
            verdict=why,
            ended_by=by if kind == "stop" else "",
        )
        self._announce.deployment(
            dataclasses.replace(
                self._registry.require_endpoint(run.name), config_name=run.before.config_name
            ),
            EndpointStatus.ROLLING_BACK,
            [(run.old.name, run.old.weight, 100), (run.new.name, run.new.weight, 0)],
            pending=(run.config_name, run.record.started_at, []),
            failure_reason=failure,
        )
        back, undone = rollout.revert(
            self._registry,
            run.before,
            version=version,
            config_name=run.config_name,
            alarms=alarms,
            why=failure,
            rolled_back_by=by,
            cause=cause,
        )
        self._link.nudge()
        self._announce.endpoint(back)
        self._announce.deployment(
            back, EndpointStatus.IN_SERVICE, [(run.old.name, 100, 100)], failure_reason=failure
        )
        log.warning("%s: %s; still serving v%s", run.name, why, back.version)
        raise undone

    def _promote(self, run: _Run, finished_by: str) -> EndpointRow:
        now = self._clock.now()
        new = dataclasses.replace(run.new, weight=100)
        if self.warm_rollback is not None:
            warm = dataclasses.replace(run.old, weight=0, role="warm", warm_until=now + self.warm_rollback)
            self._registry.set_variants(run.name, [new, warm])
        else:
            self._registry.set_variants(run.name, [])
        done = self._registry.finish_endpoint_change(run.name, deployed_by=run.deployed_by, kind="deploy")
        verdict = (
            f"finished early by {finished_by}: v{new.version} serves all traffic"
            if finished_by
            else f"promoted: v{new.version} serves all traffic"
        )
        self._save(
            run,
            phase="promoted",
            traffic_percent=100,
            stage_ends_at=None,
            ends_at=None,
            verdict=verdict,
            ended_by=finished_by,
        )
        self._link.nudge()
        self._announce.endpoint(done)
        kept = [(run.old.name, 0, 0)] if self.warm_rollback is not None else []
        self._announce.deployment(done, EndpointStatus.IN_SERVICE, [(new.name, 100, 100), *kept])
        log.info("%s now serves v%d (%s)", run.name, new.version, verdict)
        return done

    # -- records and events --------------------------------------------------------------------------

    def _save(self, run: _Run, **changes: object) -> None:
        run.record = dataclasses.replace(run.record, **changes)  # type: ignore[arg-type]
        self._registry.save_rollout(run.record)

    def _event(self, run: _Run, stage: Stage, message: str) -> None:
        # The endpoint's config is still the old one; the new one is pending, as DescribeEndpoint says.
        row = dataclasses.replace(
            self._registry.require_endpoint(run.name), config_name=run.before.config_name
        )
        self._announce.deployment(
            row,
            row.status,
            [(run.old.name, 100 - run.new.weight, 100 - run.new.weight)],
            pending=(
                run.config_name,
                run.record.started_at,
                [(run.new.name, run.new.weight, stage, message)],
            ),
        )


def begin_change(
    registry: Registry,
    owner: OwnerToken,
    group: str,
    environment: Environment,
    name: str,
    version: int,
    model_dir: str,
    now: datetime,
) -> EndpointRow:
    """Mark ``name`` as changing to ``version`` under a new config name (stamped to the microsecond)."""
    return registry.begin_endpoint_change(
        name=name,
        group=group,
        environment=environment,
        version=version,
        model_dir=model_dir,
        config_name=f"{name}-v{version}-{now.strftime('%Y%m%d%H%M%S%f')[:17]}",
        owner=owner.token,
        owner_alive=owner.alive,
    )


def request(registry: Registry, name: str, kind: str, by: str) -> str:
    """Ask the rollout running on endpoint ``name`` to stop or finish; says what will happen."""
    if not by or not by.strip():
        raise InvalidRequest(f"{kind} needs who asks for it")
    row = registry.request_rollout(name, "stop" if kind == "stop" else "finish", by)
    if row is None:
        raise InvalidRequest(f"no rollout is running on {name}")
    environment = row.environment
    if row.requested_by != by or row.request != kind:
        raise InvalidRequest(f"{row.requested_by} already asked to {row.request} this rollout")
    what = row.policy.kind if row.policy.gradual else "rollout"
    old = f"v{row.from_version}" if row.from_version is not None else "the old version"
    if kind == "stop":
        return f"Stopping the {what} of v{row.to_version} on {environment}: traffic goes back to {old}"
    return f"Finishing the {what} of v{row.to_version} on {environment} now: all traffic goes to it"
