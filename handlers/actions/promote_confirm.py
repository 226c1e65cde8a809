"""The Confirm button of a promote confirmation: promotes, if production is as when asked."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, Respond

from bot.core.models import Actor
from bot.core.service import PromotePlan
from bot.services import Services
from handlers.commands.ops import Reply, reply_for, unchanged
from handlers.ids import ACTION_PROMOTE_CONFIRM
from handlers.render.common import positive_int

from .button import STALE, moved_on, run_confirmed, tell, text_reply, value_of


def promote_confirm_ack(ack: Ack) -> None:
    ack()


def promote_confirm_run(
    body: dict[str, Any], context: BoltContext, respond: Respond, request: BoltRequest
) -> None:
    data = value_of(body)
    version, source = positive_int(data.get("v")), data.get("from")
    # a break-glass confirmation carries the oncall's reason; the core checks it and the role again
    glass = data.get("bg", "")
    # "from" is the version production served when asked, 0 when it served none
    if version is None or not isinstance(source, int) or isinstance(source, bool) or source < 0:
        tell(respond, text_reply(STALE), replace=True)
        return
    # a rollout chosen for this promote, in the words it was typed with: read again, as typed
    typed = data.get("ro", "")
    if not isinstance(glass, str) or not isinstance(typed, str):
        tell(respond, text_reply(STALE), replace=True)
        return

    def act(services: Services, actor: Actor) -> Reply:
        release = services.release
        try:
            rollout = services.settings.parse_rollout(typed) if typed else None
        except ValueError:
            return text_reply(STALE)
        shown = source or None
        changed = moved_on("production", release.serving("production"), shown, f"/mlops promote v{version}")
        if changed is not None:
            return changed
        plan = release.promote_plan(version, actor, glass, rollout)
        if not isinstance(plan, PromotePlan):
            return unchanged(plan)
        return reply_for(release.promote(actor, version, glass, rollout))

    run_confirmed(f"promote v{version}", act, context, respond, request)


def register(app: App) -> None:
    app.action(ACTION_PROMOTE_CONFIRM)(ack=promote_confirm_ack, lazy=[promote_confirm_run])
