"""``/mlops help``: only what the caller may do, so help never advertises a denial."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import Block

from bot.core.models import Action, Role
from bot.core.policy import REQUIRED_ROLES
from bot.slack_text import escape
from handlers.commands.parse import SUBCOMMANDS, USAGE, UsageError
from ml.platform import ParameterSpec

from .common import code, context, fallback, header, section, to_dicts, truncate
from .parameters import data_file_name

__all__ = ["render_help", "render_usage_error"]

DESCRIPTIONS: Mapping[Action, str] = {
    Action.HELP: "this help",
    Action.STATUS: "endpoints, latest versions and runs (or one version / environment)",
    Action.HISTORY: "deployments of an environment",
    Action.DRIFT: "how far its traffic moved from the served model's training data (PSI per feature)",
    Action.AUDIT: (
        "who did what, newest first, ids in full; narrow it by version, person and action, "
        "e.g. `/mlops audit 50 v3`, `/mlops audit @bob approve`"
    ),
    Action.TRAIN: "start a training run",
    Action.STOP: "stop a training run",
    Action.APPROVE: "approve a version (deploys it to staging and validates it)",
    Action.REJECT: "reject a version",
    Action.DEPLOY: "deploy an approved version to staging",
    Action.VALIDATE: "validate what staging serves",
    Action.PROMOTE: (
        "serve a validated version in production; a rollout (`canary 10% 5m`, `linear 20% 2m`, "
        "`all-at-once`, optionally `bake 10m`) overrides production's for this promote (asks to confirm)"
    ),
    Action.ROLLBACK: "return an environment to a version it served before (asks to confirm)",
    Action.ACKNOWLEDGE: "mute an environment's drift alert for a while (default 4h, at most 7d)",
    Action.CARD: "a version's model card: evidence, decisions and deployments, as Markdown",
    Action.REQUEST_APPROVAL: "restart the approval window of a version whose approval expired",
    Action.FREEZE: "refuse deploy and promote to an environment for a while (rollback still works)",
    Action.UNFREEZE: "lift a typed freeze before it ends",
    Action.STOP_ROLLOUT: "stop the rollout running there and send all traffic back to the old version",
    Action.FINISH_ROLLOUT: "move all traffic to the version being rolled out now, ending its rollout",
    Action.BREAK_GLASS: 'oncall: promote through a production freeze (`promote vN break-glass "<reason>"`)',
}


def _parameter_line(spec: ParameterSpec) -> str:
    """``name``=default [lo–hi]: short enough that a dozen fit in a few lines."""
    # The specs come from the pipeline definition, outside the bot: every part is escaped.
    bounds = ""
    if spec.minimum is not None or spec.maximum is not None:
        lo = "" if spec.minimum is None else f"{spec.minimum:g}"
        hi = "" if spec.maximum is None else f"{spec.maximum:g}"
        bounds = f" [{lo}–{hi}]"
    choices = f" ({escape(' | '.join(spec.choices))})" if spec.choices else ""
    default = str(spec.default)
    if spec.name == "InputData":  # a file name, never the bot host's path or bucket
        default = data_file_name({"InputData": default})
    return f"{code(spec.name, 80)}={escape(default)}{bounds}{choices}"


def render_help(
    actions: Sequence[Action],
    roles: frozenset[Role],
    parameters: Mapping[str, ParameterSpec] | None = None,
    note: str = "",
) -> tuple[str, list[dict[str, Any]]]:
    """The help a person with ``roles`` gets. Help is the ack itself, so it is rendered once per set
    of inputs and the answer is shared: callers pass the blocks on and never change them."""
    return _render_help(tuple(actions), roles, tuple((parameters or {}).items()), note)


@functools.lru_cache(maxsize=64)
def _render_help(
    actions: tuple[Action, ...],
    roles: frozenset[Role],
    parameter_items: tuple[tuple[str, ParameterSpec], ...],
    note: str,
) -> tuple[str, list[dict[str, Any]]]:
    parameters = dict(parameter_items)
    allowed = set(actions)
    lines = [
        f"{code(USAGE[name], 80)} — {DESCRIPTIONS[action]}"
        for name, action in SUBCOMMANDS.items()
        if action in allowed
    ]
    hidden = sorted({a.value for a in REQUIRED_ROLES if a not in allowed})
    role_text = ", ".join(sorted(r.value for r in roles)) or "none"
    listed = "\n".join(lines) or "No command is open to you."
    blocks: list[Block] = [header("/mlops commands"), section(listed)]
    if Action.TRAIN in allowed and parameters:
        params = " · ".join(_parameter_line(p) for p in parameters.values())
        blocks.append(
            section(truncate("*Training parameters* (`key=value`, default [range]): " + params, 3000))
        )
    footer = f"Your roles: {role_text}."
    if hidden:
        footer += f" Not shown (needs a role you lack): {', '.join(hidden)}."
    if note:
        footer += f" {escape(note)}"
    blocks.append(context(footer))
    return fallback("/mlops commands you can use: " + ", ".join(a.value for a in actions)), to_dicts(blocks)


def render_usage_error(error: UsageError) -> tuple[str, list[dict[str, Any]]]:
    """A command that cannot run as typed. The message quotes what was typed and shows usage with
    ``<placeholders>``: both are escaped here, where the message enters Slack."""
    text = f":warning: {escape(error)}"
    return fallback(text), to_dicts([section(text)])
