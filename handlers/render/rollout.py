"""Progressive delivery in Slack: a rollout policy in words, the live message of a rollout, the warm
standby and the rollback path.

Alarm names and reasons, variant names and people come from the platform or from users: outside
text, escaped here where it enters a message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, PlainTextObject

from bot.core.service import PromotePlan
from bot.slack_text import escape
from handlers.ids import ACTION_ROLLOUT_FINISH, ACTION_ROLLOUT_STOP
from ml.durations import describe_duration
from ml.rollout_policy import RolloutPolicy
from ml.rollout_state import AlarmState, RollbackPath, RolloutProgress, VariantTraffic, WarmStandby

from .common import Message, clip, context, date, encode_value, fallback, section, to_dicts, truncate

__all__ = [
    "clock_time",
    "policy_words",
    "promote_value",
    "render_rollout",
    "rollback_path_words",
    "rollout_line",
    "rollout_value",
    "warm_standby_line",
]

_ALARM_MARK = {"OK": ":large_green_circle:", "ALARM": ":red_circle:", "INSUFFICIENT_DATA": ":white_circle:"}
_ENDING_MARK = {"promoted": ":white_check_mark:", "rolled-back": ":rewind:", "stopped": ":octagonal_sign:"}
_MAX_ALARMS = 10
_MAX_VARIANTS = 6


def _span(seconds: int) -> str:
    return describe_duration(timedelta(seconds=seconds)) if seconds else "0s"


def policy_words(policy: RolloutPolicy | None, alarms: Sequence[str] = ()) -> str:
    """``canary 5% for 10m, then bake 5m; guarded by alarms A, B`` (alarm names escaped)."""
    if policy is None:
        return "as the platform is configured"
    if policy.kind == "canary":
        head = f"canary {policy.percent}% for {_span(policy.wait_seconds)}"
        head += "" if policy.bake_seconds else ", then 100%"
    elif policy.kind == "linear":
        steps = " → ".join(f"{s}%" for s in policy.steps)
        head = f"linear {policy.percent}% every {_span(policy.wait_seconds)} ({steps})"
    else:
        head = "all at once"
    if policy.bake_seconds:
        head += f", then bake {_span(policy.bake_seconds)}"
    if alarms:
        noun = "alarm" if len(alarms) == 1 else "alarms"
        head += f"; guarded by {noun} " + ", ".join(escape(a) for a in alarms[:_MAX_ALARMS])
    return head


def clock_time(seconds: float) -> str:
    """``3:20``, ``1:02:05``: a countdown as people read one."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _left(until: datetime | None, now: datetime) -> str | None:
    return None if until is None else clock_time((until - now).total_seconds())


def stage_words(progress: RolloutProgress, now: datetime) -> str:
    """``canary 10 %, baking 3:20 left``, ``linear 40 %, next step in 1:10``, ``100 %, baking 4:00 left``."""
    kind = progress.policy.kind
    left = _left(progress.stage_ends_at, now)
    share = f"{progress.traffic_percent} %"
    if progress.phase == "provisioning":
        return "provisioning the new fleet" + (f", {left} left" if left else "")
    if progress.phase == "shifting":
        if kind == "canary":
            return f"canary {share}, baking" + (f" {left} left" if left else "")
        return f"{kind} {share}" + (f", next step in {left}" if left else "")
    if progress.phase == "baking":
        return f"{share}, baking" + (f" {left} left" if left else "")
    return share


def _variant_line(variant: VariantTraffic) -> str:
    version = f"v{variant.version}" if variant.version is not None else escape(truncate(variant.name, 60))
    p99 = f"{variant.p99_ms:.0f} ms" if variant.p99_ms is not None else "—"
    weight = f"{variant.weight_percent:g} %"
    return (
        f"*{version}* ({variant.role}) {weight} · {variant.invocations} invocations · "
        f"{variant.errors} errors · p99 {p99}"
    )


def _alarm_line(alarm: AlarmState) -> str:
    mark = _ALARM_MARK.get(alarm.state, ":white_circle:")
    line = f"{mark} {escape(truncate(alarm.name, 120))}: {alarm.state}"
    if alarm.state == "ALARM" and alarm.reason:
        line += f" — {escape(truncate(alarm.reason, 300))}"
    return line


def _person(name: str) -> str:
    name = name.strip()
    return escape(name if name.startswith("@") else f"@{name}") if name else "someone"


def ending_words(progress: RolloutProgress) -> str:
    """The verdict: promoted, rolled back automatically (alarm and values), stopped by a person, failed."""
    env, to = progress.environment, progress.to_version
    why = escape(truncate(progress.verdict, 500))
    if progress.phase == "promoted":
        by = f" (finished early by {_person(progress.ended_by)})" if progress.ended_by else ""
        return f"{_ENDING_MARK['promoted']} Promoted v{to} to {env}{by}."
    if progress.phase == "stopped" or (progress.phase == "rolled-back" and progress.ended_by):
        back = f"; {env} serves v{progress.from_version} again" if progress.from_version is not None else ""
        return f"{_ENDING_MARK['stopped']} Stopped by {_person(progress.ended_by)}{back}."
    if progress.phase == "rolled-back":
        back = f" {env} serves v{progress.from_version} again." if progress.from_version is not None else ""
        return f"{_ENDING_MARK['rolled-back']} Rolled back automatically: {why or 'no reason given'}.{back}"
    return f":x: The rollout of v{to} to {env} failed: {why or 'no reason given'}."


def rollout_value(progress: RolloutProgress) -> str:
    """What the live message's buttons carry: which rollout they act on."""
    return encode_value({"env": progress.environment, "at": progress.started_at.isoformat()})


def render_rollout(progress: RolloutProgress, now: datetime) -> Message:
    """The live message: traffic and stage, variants, alarms, time left and buttons; or its ending."""
    was = f" (from v{progress.from_version})" if progress.from_version is not None else ""
    how = policy_words(progress.policy)
    title = f"*Rollout of v{progress.to_version} to {progress.environment}*{was} — {how}"
    blocks: list[Block] = []
    if progress.ended:
        verdict = ending_words(progress)
        blocks.append(section(f"{verdict}\n{title}"))
        plain = verdict
    else:
        stage = stage_words(progress, now)
        left = _left(progress.ends_at, now)
        total = f" · {left} left in all" if left else ""
        blocks.append(section(f":arrows_counterclockwise: {title}\n*{stage}*{total}"))
        plain = f"Rollout of v{progress.to_version} to {progress.environment}: {stage}"
    variants = [_variant_line(v) for v in progress.variants[:_MAX_VARIANTS]]
    if variants:
        blocks.append(section("\n".join(variants)))
    alarms = [_alarm_line(a) for a in progress.alarms[:_MAX_ALARMS]]
    if alarms:
        blocks.append(section(clip("*Alarms*\n" + "\n".join(alarms), 3000)))
    if not progress.ended:
        blocks.append(_buttons(progress))
    blocks.append(context(f"Started {date(progress.started_at)}"))
    return fallback(plain), to_dicts(blocks)


def _buttons(progress: RolloutProgress) -> ActionsBlock:
    value = rollout_value(progress)
    elements = [
        ButtonElement(
            text=PlainTextObject(text="Stop and roll back"),
            action_id=ACTION_ROLLOUT_STOP,
            value=value,
            style="danger",
        )
    ]
    if progress.can_finish:
        elements.append(
            ButtonElement(
                text=PlainTextObject(text="Finish now"), action_id=ACTION_ROLLOUT_FINISH, value=value
            )
        )
    return ActionsBlock(block_id=f"rollout-{progress.environment}", elements=elements)


def warm_standby_line(standby: WarmStandby) -> str:
    """The card's line while the replaced version stays warm (cost from the platform, escaped)."""
    return (
        f":fire: v{standby.version} stays warm at 0 % until {date(standby.until)}, so a rollback is "
        f"instant (cost: {escape(truncate(standby.cost, 200))})"
    )


def rollback_path_words(path: RollbackPath | None, version: int) -> str:
    """How the rollback goes: a weight shift to the warm version, or a redeploy."""
    if path is None:
        return f"Redeploys v{version} (the platform could not say whether it is still warm)."
    detail = f" ({escape(truncate(path.detail, 300))})" if path.detail else ""
    if path.warm:
        return f":zap: Shifts traffic back to the warm v{path.version} at once{detail}."
    return f"Redeploys v{path.version}{detail}."


def promote_value(plan: PromotePlan) -> dict[str, object]:
    """What a promote's Confirm carries: the version, what production served when asked (0 for
    nothing yet), the break-glass reason and the rollout chosen for this promote, when there are."""
    value: dict[str, object] = {"v": plan.version, "from": plan.from_version or 0}
    if plan.break_glass:
        value["bg"] = plan.break_glass
    if plan.rollout_override and plan.rollout is not None:
        value["ro"] = plan.rollout.describe()
    return value


def rollout_line(plan: PromotePlan) -> str:
    """``Rollout: canary 5% for 10m, then bake 5m; guarded by alarms A, B`` (chosen for this promote)."""
    chosen = " (chosen for this promote)" if plan.rollout_override else ""
    return f"Rollout{chosen}: {policy_words(plan.rollout, plan.alarms)}."
