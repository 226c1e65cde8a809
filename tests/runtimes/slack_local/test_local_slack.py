"""LocalSlack: Slack's Web API shapes and errors over real HTTP, transcript, response_url, faults."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.users import LocalUser
from ml.clock import Clock
from runtimes import slack_local
from runtimes.slack_local import (
    BOT_USER_ID,
    SUPPORTED_METHODS,
    LocalSlack,
    SlackEvent,
    channel_id,
    group_id,
)
from runtimes.slack_local.model import RESPONSE_URL_TTL_SECONDS, TRIGGER_TTL_SECONDS

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*Model v1* is ready"}}
BUTTONS = {
    "type": "actions",
    "block_id": "card-v1",
    "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": "Approve v1"}, "action_id": "approve"},
        {"type": "button", "text": {"type": "plain_text", "text": "Reject…"}, "action_id": "reject"},
    ],
}
MODAL = {
    "type": "modal",
    "callback_id": "reject_reason",
    "title": {"type": "plain_text", "text": "Reject v1"},
    "submit": {"type": "plain_text", "text": "Reject"},
    "private_metadata": '{"v":1}',
    "blocks": [
        {
            "type": "input",
            "block_id": "reason",
            "label": {"type": "plain_text", "text": "Reason"},
            "element": {"type": "plain_text_input", "action_id": "reason"},
        }
    ],
}


def raw_call(slack: LocalSlack, method: str, body: bytes, content_type: str, token: str | None) -> Any:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(f"{slack.api_url}{method}", data=body, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


# -- identity and directory ---------------------------------------------------------------------


def test_auth_test_identifies_the_bot(client: WebClient) -> None:
    resp = client.auth_test()
    assert resp["ok"] is True
    assert resp["user_id"] == BOT_USER_ID
    assert resp["team_id"] == slack_local.TEAM_ID
    assert resp["bot_id"].startswith("B")


def test_wrong_or_missing_token_is_rejected_like_slack(slack: LocalSlack) -> None:
    with pytest.raises(SlackApiError) as bad:
        WebClient(token="xoxb-wrong", base_url=slack.api_url).chat_postMessage(channel="#mlops", text="x")
    assert bad.value.response["error"] == "invalid_auth"
    body = raw_call(slack, "auth.test", b"", "application/x-www-form-urlencoded", token=None)
    assert body == {"ok": False, "error": "not_authed"}
    # the token may also travel in the form body, as Slack allows
    form = b"token=xoxb-test-token"
    assert raw_call(slack, "auth.test", form, "application/x-www-form-urlencoded", token=None)["ok"] is True
    assert slack.messages() == []


def test_unknown_method_is_reported(slack: LocalSlack) -> None:
    with pytest.raises(urllib.error.HTTPError) as err:
        raw_call(slack, "files.upload", b"", "application/json", token="xoxb-test-token")
    assert err.value.code == 404
    assert json.loads(err.value.read())["error"] == "unknown_method"


def test_usergroups_come_from_the_users_mapping(slack: LocalSlack, client: WebClient) -> None:
    groups = client.usergroups_list(include_users=True)["usergroups"]
    by_handle = {g["handle"]: g for g in groups}
    assert set(by_handle) == {"ml-team", "ml-approvers", "ml-leads", "ml-oncall"}
    assert by_handle["ml-leads"]["id"] == group_id("ml-leads")
    assert by_handle["ml-leads"]["users"] == ["UCAROL"]
    assert all(g["name"] and g["date_delete"] == 0 for g in groups)
    members = client.usergroups_users_list(usergroup=group_id("ml-approvers"))
    assert members["users"] == ["UBOB"]
    with pytest.raises(SlackApiError) as err:
        client.usergroups_users_list(usergroup="SNOPE")
    assert err.value.response["error"] == "no_such_subteam"


def test_custom_users_and_user_info(tmp_path: Any) -> None:
    users = [LocalUser("UZED", "zed", ("ml-team", "ml-leads")), LocalUser("UAMY", "amy", ())]
    with LocalSlack(users) as server:
        client = server.web_client()
        assert client.users_info(user="UZED")["user"]["name"] == "zed"
        assert client.users_info(user="UZED")["user"]["is_bot"] is False
        handles = {g["handle"] for g in client.usergroups_list()["usergroups"]}
        assert handles == {"ml-team", "ml-leads"}
        with pytest.raises(SlackApiError) as err:
            client.users_info(user="UALICE")
        assert err.value.response["error"] == "user_not_found"


def test_users_file_is_the_default_directory(tmp_path: Any) -> None:
    (tmp_path / "users.json").write_text(json.dumps({"users": {"pat": {"groups": ["ml-oncall"]}}}))
    server = LocalSlack(home=tmp_path)
    assert [u.name for u in server.users.values()] == ["pat"]
    assert server.groups() == {"ml-oncall": ["UPAT"]}


def test_conversations_info_and_channel_resolution(slack: LocalSlack, client: WebClient) -> None:
    cid = channel_id("mlops")
    info = client.conversations_info(channel=cid)["channel"]
    assert info["id"] == cid
    assert info["name"] == "mlops"
    assert info["is_channel"] is True
    with pytest.raises(SlackApiError) as err:
        client.conversations_info(channel="#elsewhere")
    assert err.value.response["error"] == "channel_not_found"
    dm = client.chat_postMessage(channel="UBOB", text="psst")
    assert dm["channel"] == "DBOB"
    assert client.conversations_info(channel="DBOB")["channel"]["is_im"] is True


# -- messages -----------------------------------------------------------------------------------


def test_post_message_returns_channel_id_and_increasing_ts(slack: LocalSlack, client: WebClient) -> None:
    first = client.chat_postMessage(channel="#mlops", text="one", blocks=[SECTION])
    second = client.chat_postMessage(channel="mlops", text="two")
    assert first["channel"] == second["channel"] == channel_id("mlops")
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["blocks"][0]["text"] == SECTION["text"]
    assert first["message"]["bot_id"] == slack_local.BOT_ID
    seconds, micros = first["ts"].split(".")
    assert len(micros) == 6 and seconds.isdigit()
    assert [m.text for m in slack.messages()] == ["one", "two"]


def test_form_encoded_post_with_blocks_as_json_string(slack: LocalSlack) -> None:
    from urllib.parse import urlencode

    body = urlencode({"channel": "#mlops", "text": "form", "blocks": json.dumps([SECTION])}).encode()
    resp = raw_call(slack, "chat.postMessage", body, "application/x-www-form-urlencoded", "xoxb-test-token")
    assert resp["ok"] is True
    assert slack.messages()[0].blocks[0]["text"]["text"] == "*Model v1* is ready"


def test_ts_stay_unique_under_concurrent_posts(slack: LocalSlack) -> None:
    stamps: list[str] = []
    lock = threading.Lock()

    def post(n: int) -> None:
        ts = slack.web_client().chat_postMessage(channel="#mlops", text=f"m{n}")["ts"]
        with lock:
            stamps.append(ts)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(stamps)) == 20
    assert [m.ts for m in slack.messages()] == sorted(stamps, key=float)


def test_thread_replies_and_missing_parent(slack: LocalSlack, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="#mlops", text="card")
    reply = client.chat_postMessage(channel=parent["channel"], text="approved", thread_ts=parent["ts"])
    assert reply["message"]["thread_ts"] == parent["ts"]
    assert [m.text for m in slack.replies("#mlops", parent["ts"])] == ["approved"]
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="#mlops", text="orphan", thread_ts="1.000001")
    assert err.value.response["error"] == "thread_not_found"


def test_update_keeps_history(slack: LocalSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="#mlops", text="v1 pending", blocks=[SECTION, BUTTONS])
    updated = client.chat_update(
        channel=posted["channel"], ts=posted["ts"], text="v1 approved", blocks=[SECTION]
    )
    assert updated["ts"] == posted["ts"]
    assert updated["message"]["text"] == "v1 approved"
    msg = slack.message("#mlops", posted["ts"])
    assert msg is not None
    assert msg.revision == 1
    assert msg.text == "v1 approved"
    assert msg.history[0].text == "v1 pending"
    assert len(msg.history[0].blocks) == 2
    assert len(slack.messages()) == 1
    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel=posted["channel"], ts="1.000001", text="x")
    assert err.value.response["error"] == "message_not_found"


def test_ephemeral_messages(slack: LocalSlack, client: WebClient) -> None:
    resp = client.chat_postEphemeral(channel="#mlops", user="UBOB", text="only bob")
    assert resp["ok"] is True and "message_ts" in resp
    assert [m.text for m in slack.messages(visible_to="UBOB")] == ["only bob"]
    assert slack.messages(visible_to="UALICE") == []
    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel=channel_id("mlops"), ts=resp["message_ts"], text="edit")
    assert err.value.response["error"] == "cant_update_message"
    with pytest.raises(SlackApiError) as err:
        client.chat_postEphemeral(channel="#mlops", user="UNOBODY", text="x")
    assert err.value.response["error"] == "user_not_in_channel"


# -- observers and the call log -------------------------------------------------------------------


def test_observers_see_posts_and_updates_in_order(slack: LocalSlack, client: WebClient) -> None:
    seen: list[SlackEvent] = []
    unsubscribe = slack.subscribe(seen.append)
    posted = client.chat_postMessage(channel="#mlops", text="a")
    client.chat_update(channel=posted["channel"], ts=posted["ts"], text="b")
    unsubscribe()
    client.chat_postMessage(channel="#mlops", text="c")
    assert [(e.kind, e.message.text if e.message else None) for e in seen] == [("post", "a"), ("update", "b")]
    assert seen[0].seq < seen[1].seq


def test_every_call_is_recorded(slack: LocalSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="#mlops", text="hello")
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="#nowhere", text="lost")
    calls = slack.calls("chat.postMessage")
    assert [c.args["text"] for c in calls] == ["hello", "lost"]
    assert [c.ok for c in calls] == [True, False]
    assert calls[1].response["error"] == "channel_not_found"
    assert "token" not in calls[0].args


# -- fault injection --------------------------------------------------------------------------------


def test_fail_next_429_carries_retry_after_and_changes_nothing(slack: LocalSlack, client: WebClient) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="#mlops", text="x")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"
    assert err.value.response["error"] == "ratelimited"
    assert slack.messages() == []
    assert client.chat_postMessage(channel="#mlops", text="x")["ok"] is True


def test_fail_next_with_a_slack_error_code_and_times(slack: LocalSlack, client: WebClient) -> None:
    slack.fail_next("usergroups.list", status=200, error="plan_upgrade_required", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            client.usergroups_list()
        assert err.value.response.status_code == 200
        assert err.value.response["error"] == "plan_upgrade_required"
    assert client.usergroups_list()["ok"] is True


def test_random_5xx_rate_is_seeded_and_scoped(slack: LocalSlack, client: WebClient) -> None:
    slack.set_error_rate(0.5, methods=["chat.postMessage"], seed=3)
    outcomes = []
    for _ in range(40):
        try:
            client.chat_postMessage(channel="#mlops", text="x")
            outcomes.append(True)
        except SlackApiError as exc:
            assert exc.response.status_code == 500
            outcomes.append(False)
    assert 5 < outcomes.count(False) < 35
    assert len(slack.messages()) == outcomes.count(True)
    assert client.auth_test()["ok"] is True  # other methods unaffected
    slack.clear_faults()
    assert client.chat_postMessage(channel="#mlops", text="x")["ok"] is True
    with pytest.raises(ValueError, match="rate"):
        slack.set_error_rate(1.5)


# -- response_url --------------------------------------------------------------------------------


def test_response_url_ephemeral_in_channel_replace_and_delete(slack: LocalSlack, client: WebClient) -> None:
    card = client.chat_postMessage(channel="#mlops", text="card", blocks=[SECTION, BUTTONS])
    url = slack.response_url("#mlops", "UBOB", message_ts=card["ts"])
    hook = WebhookClient(url)
    assert hook.send(text="working…").status_code == 200
    assert hook.send(text="for all", response_type="in_channel").status_code == 200
    assert hook.send(text="replaced", replace_original=True).status_code == 200
    msgs = slack.messages()
    ephemeral = [m for m in msgs if m.ephemeral_to == "UBOB"]
    assert [m.text for m in ephemeral] == ["working…"]
    assert ephemeral[0].via == "response_url"
    assert any(m.text == "for all" and m.ephemeral_to is None for m in msgs)
    original = slack.message("#mlops", card["ts"])
    assert original is not None and original.text == "replaced" and original.revision == 1
    assert hook.send_dict({"delete_original": True}).status_code == 200
    assert slack.message("#mlops", card["ts"]).deleted  # type: ignore[union-attr]
    assert hook.send(text="fifth").status_code == 200
    used = hook.send(text="sixth")
    assert used.status_code == 404 and used.body == "used_url"
    assert WebhookClient(slack.url + "/response/nope").send(text="x").body == "expired_url"


def test_post_ack_shows_a_command_answer_to_its_user(slack: LocalSlack) -> None:
    msg = slack.post_ack("#mlops", "UALICE", {"text": "Working on it"})
    assert msg is not None and msg.ephemeral_to == "UALICE" and msg.via == "ack"
    assert slack.post_ack("#mlops", "UALICE", {}) is None
    shared = slack.post_ack("#mlops", "UALICE", {"text": "hi all", "response_type": "in_channel"})
    assert shared is not None and shared.ephemeral_to is None


# -- views ------------------------------------------------------------------------------------------


def test_views_open_update_and_trigger_rules(slack: LocalSlack, client: WebClient) -> None:
    trigger = slack.issue_trigger("UBOB")
    opened = client.views_open(trigger_id=trigger, view=MODAL)["view"]
    assert opened["id"].startswith("V")
    assert opened["callback_id"] == "reject_reason"
    assert opened["private_metadata"] == '{"v":1}'
    assert opened["state"] == {"values": {}}
    assert slack.view(opened["id"]).user == "UBOB"  # type: ignore[union-attr]
    with pytest.raises(SlackApiError) as err:
        client.views_open(trigger_id=trigger, view=MODAL)
    assert err.value.response["error"] == "exchanged_trigger_id"
    changed = dict(MODAL, title={"type": "plain_text", "text": "Reject v1 (again)"})
    updated = client.views_update(view_id=opened["id"], view=changed)["view"]
    assert updated["title"]["text"] == "Reject v1 (again)"
    with pytest.raises(SlackApiError) as err:
        client.views_update(view_id=opened["id"], hash="stale", view=changed)
    assert err.value.response["error"] == "hash_conflict"
    assert len(slack.view(opened["id"]).history) == 1  # type: ignore[union-attr]
    slack.close_view(opened["id"])
    assert slack.views(open_only=True) == []


def test_expired_and_unknown_triggers() -> None:
    now = [1000.0]
    with LocalSlack(strict_triggers=True, clock=Clock(monotonic=lambda: now[0])) as server:
        client = server.web_client()
        with pytest.raises(SlackApiError) as err:
            client.views_open(trigger_id="made-up", view=MODAL)
        assert err.value.response["error"] == "invalid_trigger_id"
        fresh, stale = server.issue_trigger("UBOB"), server.issue_trigger("UBOB")
        now[0] += TRIGGER_TTL_SECONDS
        assert client.views_open(trigger_id=fresh, view=MODAL)["ok"] is True  # 3 s exactly: still valid
        now[0] += 0.001
        with pytest.raises(SlackApiError) as err:
            client.views_open(trigger_id=stale, view=MODAL)
        assert err.value.response["error"] == "expired_trigger_id"


def test_response_url_expires_after_thirty_minutes() -> None:
    now = [1000.0]
    with LocalSlack(clock=Clock(monotonic=lambda: now[0])) as server:
        url = server.response_url("#mlops", "UBOB")
        now[0] += RESPONSE_URL_TTL_SECONDS + 0.001
        answer = WebhookClient(url).send(text="too late")
        assert (answer.status_code, answer.body) == (404, "expired_url")
        assert server.messages() == []


def test_wait_quiet_and_supported_methods(slack: LocalSlack, client: WebClient) -> None:
    hold = slack.hold("chat.postMessage")
    poster = threading.Thread(target=lambda: client.chat_postMessage(channel="#mlops", text="x"))
    poster.start()
    assert hold.arrived.wait(timeout=5)
    assert slack.busy  # a call Slack has not answered yet is in flight
    hold.release.set()
    poster.join(timeout=5)
    assert slack.wait_quiet(quiet=0.1, timeout=5)
    assert not slack.busy
    assert [m.text for m in slack.messages()] == ["x"]
    assert {"chat.postMessage", "chat.update", "views.open", "usergroups.users.list"} <= set(
        SUPPORTED_METHODS
    )


def test_a_commands_answer_replaces_its_ack_through_the_response_url(slack: LocalSlack) -> None:
    url = slack.response_url("#mlops", "UALICE")
    ack = slack.post_ack("#mlops", "UALICE", {"text": "Working on it"}, url)
    assert ack is not None
    hook = WebhookClient(url)
    assert hook.send(text="done", replace_original=True).status_code == 200
    replaced = slack.message(ack.channel, ack.ts)
    assert replaced is not None and replaced.text == "done" and replaced.revision == 1
    assert [m.text for m in slack.messages()] == ["done"]
    # a reply posted through the URL becomes the message the next replace_original replaces
    assert hook.send(text="second answer").status_code == 200
    assert hook.send(text="third", replace_original=True).status_code == 200
    assert [m.text for m in slack.messages()] == ["done", "third"]
    # another command's URL never touches this command's messages
    other = WebhookClient(slack.response_url("#mlops", "UALICE"))
    assert other.send(text="elsewhere", replace_original=True).status_code == 200
    assert [m.text for m in slack.messages()] == ["done", "third", "elsewhere"]
