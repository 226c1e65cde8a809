"""Roles from Slack user groups, checked at request time, failing closed; the full permission matrix."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.core.models import Action, Outcome, Role
from bot.core.policy import OPEN_ACTIONS, REQUIRED_ROLES, SYSTEM_ACTIONS
from handlers.middleware.roles import GroupDirectory, PermissionLookupError
from runtimes.slack_local import LocalSlack
from tests.conftest import Closer, train_version
from tests.handlers.conftest import TOKEN, Harness, drain, make_harness, make_services

ROLES = {
    Role.TRAINER: ["ml-team"],
    Role.APPROVER: ["ml-approvers"],
    Role.RELEASER: ["ml-leads"],
    Role.ONCALL: ["ml-oncall"],
}


def directory(
    slack: LocalSlack, ttl: float = 300, clock: object = time.monotonic, **kwargs: Any
) -> GroupDirectory:
    client = WebClient(token=TOKEN, base_url=slack.api_url)
    # The first lookup waits for Slack's first answer (an event, not a delay): on a busy machine the
    # product's one second may pass first, and these tests are about the answer, not its timing.
    kwargs.setdefault("first_load_wait", 60)
    return GroupDirectory(client, ROLES, ttl, clock=clock, **kwargs)  # type: ignore[arg-type]


def test_roles_come_from_user_group_membership(local_slack: LocalSlack) -> None:
    groups = directory(local_slack)
    assert groups.roles_of("UCAROL") == {Role.RELEASER, Role.ONCALL}
    assert groups.roles_of("UBOB") == {Role.APPROVER}
    assert groups.roles_of("UERIN") == frozenset()
    assert groups.roles_of("UNOBODY") == frozenset()


def test_membership_is_cached_for_the_ttl_then_refreshed(local_slack: LocalSlack) -> None:
    now = [0.0]
    groups = directory(local_slack, ttl=60, clock=lambda: now[0])
    assert groups.roles_of("UERIN") == frozenset()
    calls = len(local_slack.calls("usergroups.users.list"))
    local_slack.set_group("ml-approvers", ["UBOB", "UERIN"])
    now[0] = 59
    assert groups.roles_of("UERIN") == frozenset()  # cached
    assert len(local_slack.calls("usergroups.users.list")) == calls
    now[0] = 61
    # stale: the cached roles answer at once, and one refresh runs in the background
    assert groups.roles_of("UERIN") == frozenset()
    assert groups.wait_refreshed(10)
    assert groups.roles_of("UERIN") == {Role.APPROVER}


def test_reload_reads_edited_groups_at_once_without_waiting_for_the_ttl(local_slack: LocalSlack) -> None:
    groups = directory(local_slack, ttl=3600, clock=lambda: 0.0)  # the TTL never runs out here
    assert groups.roles_of("UBOB") == {Role.APPROVER}
    users = list(local_slack.users.values())
    local_slack.set_users([replace(u, groups=("ml-team",)) if u.id == "UBOB" else u for u in users])
    assert groups.roles_of("UBOB") == {Role.APPROVER}  # the cache still answers
    assert groups.reload(10)
    assert groups.roles_of("UBOB") == {Role.TRAINER}


def test_concurrent_callers_share_one_refresh(local_slack: LocalSlack) -> None:
    groups = directory(local_slack)
    threads = [threading.Thread(target=groups.roles_of, args=("UBOB",)) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(local_slack.calls("usergroups.list")) == 1


@pytest.mark.parametrize(
    ("method", "code", "expected"),
    [
        ("usergroups.users.list", "plan_upgrade_required", "paid Slack plan"),
        ("usergroups.list", "missing_scope", "usergroups:read"),
        ("usergroups.list", "invalid_auth", "token is invalid"),
    ],
)
def test_lookup_errors_raise_a_clear_message(
    local_slack: LocalSlack, method: str, code: str, expected: str
) -> None:
    local_slack.fail_next(method, status=200, error=code, times=None)
    with pytest.raises(PermissionLookupError) as info:
        directory(local_slack).roles_of("UBOB")
    assert expected in str(info.value) and code in str(info.value)


def test_unknown_handle_grants_nothing_and_warns(
    local_slack: LocalSlack, caplog: pytest.LogCaptureFixture
) -> None:
    client = WebClient(token=TOKEN, base_url=local_slack.api_url)
    role_groups = {Role.APPROVER: ["ml-approvers", "no-such-group"]}
    groups = GroupDirectory(client, role_groups, 300, first_load_wait=60)  # see directory()
    with caplog.at_level(logging.WARNING, logger="handlers.middleware.roles"):
        assert groups.roles_of("UBOB") == {Role.APPROVER}
    assert "no-such-group" in caplog.text and "grants nothing" in caplog.text
    assert groups.roles_of("UCAROL") == frozenset()  # releaser maps to no group here: nobody has it


def test_role_without_groups_is_warned_at_start_up(
    release_home: Path, local_slack: LocalSlack, caplog: pytest.LogCaptureFixture, close_later: Closer
) -> None:
    services = make_services(release_home, mlops_roles={"trainer": ["ml-team"], "oncall": []})
    with caplog.at_level(logging.WARNING, logger="runtimes.assembly"):
        h = make_harness(local_slack, services)
    try:
        for role in ("approver", "releaser", "oncall"):
            assert f"role '{role}' to no Slack user group" in caplog.text
        assert "role 'trainer'" not in caplog.text
        before = h.state()
        response = h.command("approve v2", "UBOB")  # bob's group maps to no role now
        assert "You need the *approver* role" in response.body
        assert h.state() == before
    finally:
        drain(h.app, services)
        close_later(services.close)


# -- the permission matrix -----------------------------------------------------------------

ROLE_USERS: dict[Role | None, str] = {
    Role.TRAINER: "UALICE",
    Role.APPROVER: "UBOB",
    Role.RELEASER: "UROSE",
    Role.ONCALL: "UDAVE",
    None: "UERIN",
}

COMMANDS: dict[Action, str] = {
    Action.HELP: "help",
    Action.STATUS: "status",
    Action.HISTORY: "history production",
    Action.DRIFT: "drift production 1h",
    Action.ACKNOWLEDGE: "acknowledge production 2h",
    Action.AUDIT: "audit 5",
    Action.CARD: "card v2",
    Action.TRAIN: "train max_depth=3",
    Action.STOP: "stop x1",
    Action.APPROVE: "approve v2 fine",
    Action.REJECT: "reject v2 label leak",
    Action.DEPLOY: "deploy v1 staging",
    Action.VALIDATE: "validate",
    Action.PROMOTE: "promote v2",
    Action.ROLLBACK: "rollback production",
    Action.REQUEST_APPROVAL: "request-approval v2",
    Action.FREEZE: 'freeze staging 1h "matrix check"',
    Action.UNFREEZE: "unfreeze staging",
    Action.BREAK_GLASS: 'promote v2 break-glass "matrix check"',
    Action.STOP_ROLLOUT: "rollout stop production",
    Action.FINISH_ROLLOUT: "rollout finish production",
}

BUTTONS: dict[str, tuple[Action, str]] = {
    "release_approve": (Action.APPROVE, '{"v":2}'),
    "release_approve_form": (Action.APPROVE, '{"v":2}'),
    "release_reject": (Action.REJECT, '{"v":2}'),
    "release_promote": (Action.PROMOTE, '{"v":2}'),
    "release_rollback": (Action.ROLLBACK, '{"v":1}'),
    "rollback_confirm": (Action.ROLLBACK, '{"env":"production","from":1,"to":1}'),
    "promote_confirm": (Action.PROMOTE, '{"v":2,"from":1}'),
    "drift_acknowledge": (Action.ACKNOWLEDGE, '{"env":"production"}'),
    "drift_retrain": (Action.TRAIN, '{"env":"production"}'),
    "release_request_approval": (Action.REQUEST_APPROVAL, '{"v":2}'),
    "rollout_stop": (Action.STOP_ROLLOUT, '{"env":"production","at":"2026-01-01T00:00:00+00:00"}'),
    "rollout_finish": (Action.FINISH_ROLLOUT, '{"env":"production","at":"2026-01-01T00:00:00+00:00"}'),
}


def expected_allowed(role: Role | None, action: Action) -> bool:
    return action in OPEN_ACTIONS or (role is not None and role in REQUIRED_ROLES[action])


def test_matrix_covers_every_action() -> None:
    assert set(COMMANDS) == set(Action) - SYSTEM_ACTIONS  # only the bot takes those: nobody may


def assert_denied(h: Harness, user: str, action: Action, before: tuple[object, ...], body: str) -> None:
    roles = " or ".join(f"*{r.value}*" for r in REQUIRED_ROLES[action])
    assert f"You need the {roles} role to {action.value}" in body
    entry = h.services.release.audit(1)[0]
    assert (entry.actor_id, entry.action, entry.outcome) == (user, action, Outcome.REFUSED)
    h.idle()
    assert h.state() == before
    assert h.respond_count() == 0 or "You need" in str(h.slack.responses()[-1])


@pytest.mark.parametrize("role", list(ROLE_USERS), ids=lambda r: r.value if r else "none")
@pytest.mark.parametrize("action", list(COMMANDS), ids=lambda a: a.value)
def test_command_permission_matrix(harness: Harness, role: Role | None, action: Action) -> None:
    user = ROLE_USERS[role]
    before = harness.state()
    response = harness.command(COMMANDS[action], user)
    assert response.status == 200
    if expected_allowed(role, action):
        assert "You need the" not in response.body
        if action is not Action.HELP:
            harness.wait_responses(1)
        assert not any(
            e.actor_id == user and e.detail.startswith("You need the")
            for e in harness.services.release.audit(50)
        )
    else:
        assert_denied(harness, user, action, before, response.body)
        assert harness.respond_count() == 0  # the listener never ran


@pytest.mark.parametrize("role", list(ROLE_USERS), ids=lambda r: r.value if r else "none")
@pytest.mark.parametrize("action_id", list(BUTTONS))
def test_button_permission_matrix(harness: Harness, role: Role | None, action_id: str) -> None:
    user = ROLE_USERS[role]
    action, value = BUTTONS[action_id]
    before = harness.state()
    response = harness.click(action_id, value, user)
    assert response.status == 200
    if expected_allowed(role, action):
        if action_id in ("release_reject", "release_approve_form"):
            harness.slack.wait_for(lambda: harness.slack.calls("views.open"), what="views.open")
        else:
            responses = harness.wait_responses(1)
            assert "You need the" not in str(responses)
    else:
        responses = harness.wait_responses(1)
        assert responses[-1]["response_type"] == "ephemeral"
        assert "You need the" in responses[-1]["text"]
        assert_denied(harness, user, action, before, responses[-1]["text"])
        assert not harness.slack.calls("views.open")


def test_reject_modal_submission_is_checked_again(harness: Harness) -> None:
    before = harness.state()
    response = harness.dispatch(harness.view_body(2, "label leak", user="UERIN"))
    assert response.status == 200
    assert "You need the *approver* role" in response.body and '"errors"' in response.body
    assert harness.state() == before
    entry = harness.services.release.audit(1)[0]
    assert (entry.actor_id, entry.action, entry.outcome) == ("UERIN", Action.REJECT, Outcome.REFUSED)


def test_approve_modal_submission_is_checked_again(harness: Harness) -> None:
    before = harness.state()
    body = harness.view_body(2, "looks good", user="UERIN", callback_id="approve_comment")
    response = harness.dispatch(body)
    assert response.status == 200
    assert "You need the *approver* role" in response.body and '"errors"' in response.body
    assert harness.state() == before
    entry = harness.services.release.audit(1)[0]
    assert (entry.actor_id, entry.action, entry.outcome) == ("UERIN", Action.APPROVE, Outcome.REFUSED)


def test_role_removed_after_the_card_was_rendered_is_denied_at_click_time(
    release_home: Path, local_slack: LocalSlack, close_later: Closer
) -> None:
    now = [0.0]
    roles = directory(local_slack, ttl=60, clock=lambda: now[0])
    services = make_services(release_home)
    h = make_harness(local_slack, services, roles=roles)
    try:
        assert roles.roles_of("UBOB") == {Role.APPROVER}  # the card showed him Approve
        local_slack.set_group("ml-approvers", [])  # then bob leaves the approvers
        now[0] = 61  # the cache is due: the next request refreshes it in the background
        h.command("status", "UBOB")
        assert roles.wait_refreshed(10)
        before = h.state()
        h.click("release_approve", '{"v":2}', "UBOB")
        # the answers to status and to the click may arrive in either order
        denied = "You need the *approver* role"
        h.slack.wait_for(lambda: any(denied in str(r.get("text")) for r in h.slack.responses()), what=denied)
        assert h.state() == before
    finally:
        drain(h.app, services)
        close_later(services.close)


@pytest.mark.parametrize("code", ["plan_upgrade_required", "missing_scope"])
def test_fails_closed_when_user_groups_cannot_be_read(harness: Harness, code: str) -> None:
    harness.slack.fail_next("usergroups.users.list", status=200, error=code, times=None)
    assert isinstance(harness.roles, GroupDirectory)
    harness.roles.invalidate()  # as at start-up: nothing known yet
    # The failed lookup is known before the command: a command during the first lookup waits only the
    # product's one second for it, which a busy machine can outlast (the answer is then "not answered
    # yet", the same refusal with another reason).
    assert harness.roles.refresh().wait(60)
    before = harness.state()
    response = harness.command("approve v2", "UBOB")
    assert response.status == 200
    assert "Cannot check your permissions" in response.body and code in response.body
    assert "nobody can approve" in response.body
    assert harness.state() == before
    entry = harness.services.release.audit(1)[0]
    assert (entry.action, entry.outcome) == (Action.APPROVE, Outcome.REFUSED)
    # read-only commands still work, and help says why nothing else is listed
    help_body = harness.command("help", "UBOB").body
    assert "Cannot check your permissions" in help_body and "/mlops approve" not in help_body


# -- Slack's user-group API hangs: acks do not wait ------------------------------------------------


def _in_thread(fn: Callable[[], Any]) -> tuple[threading.Event, list[Any]]:
    done, out = threading.Event(), []

    def run() -> None:
        out.append(fn())
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done, out


def test_acks_never_wait_while_user_groups_hang(
    release_home: Path, local_slack: LocalSlack, close_later: Closer
) -> None:
    hold = local_slack.hold("usergroups.list")
    # A lookup that waited for Slack would wait far longer than the events below allow.
    roles = directory(local_slack, first_load_wait=0)
    services = make_services(release_home)
    h = make_harness(local_slack, services, roles=roles)
    try:
        before = h.state()
        done, out = _in_thread(lambda: h.command("approve v2 fine", "UBOB"))
        assert done.wait(10), "the approve ack waited for Slack"
        assert hold.arrived.wait(10)  # the lookup did ask Slack, off the ack path
        refused = out[0].body
        assert "Can't check your permissions right now" in refused and "user-group API" in refused
        assert "Nothing was changed" in refused and "try again in a minute" in refused
        assert h.state() == before
        entry = h.services.release.audit(1)[0]
        assert (entry.actor_id, entry.action, entry.outcome) == ("UBOB", Action.APPROVE, Outcome.REFUSED)
        for text in ("help", "status"):
            done, out = _in_thread(lambda text=text: h.command(text, "UBOB"))  # type: ignore[misc]
            assert done.wait(10), f"the {text} ack waited for Slack"
            assert out[0].status == 200 and "You need" not in out[0].body
        assert "/mlops status" in h.command("help", "UBOB").body
        assert not hold.release.is_set()  # all of the above while Slack still had not answered
        hold.release.set()
        assert roles.wait_refreshed(10)
        h.command("approve v2 fine", "UBOB")
        replies = h.wait_responses(2)  # status answered earlier; now the approval
        assert any("Approved v2" in str(r) for r in replies), replies
    finally:
        hold.release.set()
        drain(h.app, services)
        close_later(services.close)


def test_cached_roles_serve_for_a_bounded_time_while_user_groups_hang(
    release_home: Path, local_slack: LocalSlack, close_later: Closer
) -> None:
    now = [0.0]
    roles = directory(local_slack, ttl=60, clock=lambda: now[0], max_stale_seconds=600)
    services = make_services(release_home)
    h = make_harness(local_slack, services, roles=roles)
    hold = local_slack.hold("usergroups.list")
    try:
        hold.release.set()
        assert roles.roles_of("UBOB") == {Role.APPROVER}  # loaded while Slack answered
        hold = local_slack.hold("usergroups.list")
        now[0] = 61  # due for a refresh, which hangs: the cached roles still serve
        response = h.command("reject v2 label leak", "UBOB")
        assert "You need" not in response.body and "Can't check" not in response.body
        assert hold.arrived.wait(10)
        h.wait_responses(1)
        now[0] = 61 + 600  # past the bound: roles are unknown now
        assert services.notifier is not None and services.notifier.flush(10)  # the reject's card is posted
        before = h.state()
        refused = h.command("promote v1", "UROSE").body
        assert "Can't check your permissions right now" in refused and "has not answered yet" in refused
        assert h.state() == before
    finally:
        hold.release.set()
        drain(h.app, services)
        close_later(services.close)


# -- four-eyes compares people ---------------------------------------------------------------------


def test_a_run_from_ci_cannot_be_approved_by_the_same_person_in_slack(
    release_home: Path, local_slack: LocalSlack, close_later: Closer
) -> None:
    local_slack.set_group("ml-approvers", ["UBOB", "UDANA"])
    people = {"dana": {"slack": ["UDANA"], "github": ["Dana-GH"]}}
    services = make_services(release_home, mlops_people=people, mlops_auto_deploy_staging=False)
    # CI starts the run as `ml pipeline start --requested-by "github:$GITHUB_ACTOR"` does
    version = train_version(services.platform, "github:dana-gh")
    h = make_harness(local_slack, services)
    try:
        before = h.state()
        h.command(f"approve v{version} fine", "UDANA")
        reply = h.wait_responses(1)[-1]["text"]
        assert f"Four-eyes rule: *dana* requested the training run of v{version}" in reply
        assert "github:dana-gh" in reply
        assert h.state() == before
        h.command(f"approve v{version} fine", "UBOB")  # somebody else may
        assert f"Approved v{version}" in str(h.wait_responses(2)[-1])
    finally:
        drain(h.app, services)
        close_later(services.close)


def test_a_first_load_ending_between_two_reads_is_seen(local_slack: LocalSlack) -> None:
    """The first lookup ends after roles_of read the empty cache and before it asked whether Slack had
    ever answered: the answer is used, not "has not answered yet" (seen once on a quiet machine)."""
    groups = directory(local_slack)
    never_answered = groups._never_answered

    def late() -> bool:
        assert groups.wait_refreshed(10)  # the refresh ends here, between the two reads
        return never_answered()

    groups._never_answered = late  # type: ignore[method-assign]
    assert groups.roles_of("UBOB") == {Role.APPROVER}
