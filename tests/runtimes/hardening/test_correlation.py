"""Every answer reaches the request it answers, however the answers interleave.

Requests from several people (the same person several times, too) go over real HTTP, signed, each
with a response URL of its own. LocalSlack holds every answer until all of them are waiting, then
lets them through at once; each URL must then hold exactly the one answer to its own request. The
interleaving comes from the hold, not from the machine's speed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bot.core.models import Action
from bot.users import user_id
from tests.runtimes.hardening.conftest import (
    Bench,
    asgi_of,
    confirm_value,
    http_server,
    make_bench,
    wait_done,
)

Answer = dict[str, Any]


@dataclass(frozen=True)
class Asked:
    """One request: who sent it, where its answer must go, and what that answer must say."""

    user: str
    what: str
    response_url: str
    expect: Callable[[Answer], bool] | None  # None: answered in the ack, nothing goes to the URL
    acked: str


def says(*parts: str) -> Callable[[Answer], bool]:
    return lambda answer: all(p in json.dumps(answer) for p in parts)


def offers_rollback(to: int) -> Callable[[Answer], bool]:
    def check(answer: Answer) -> bool:
        return json.loads(confirm_value(answer))["to"] == to

    return check


class Sender:
    """Sends signed Slack requests to the HTTP runtime, each with a fresh response URL."""

    def __init__(self, bench: Bench, http: httpx.Client) -> None:
        self.bench, self.http = bench, http
        self.asked: list[Asked] = []

    def _post(self, body: str) -> str:
        answer = self.http.post("/slack/events", content=body, headers=self.bench.headers(body))
        assert answer.status_code == 200, answer.text
        return answer.text

    def command(self, user: str, text: str, expect: Callable[[Answer], bool] | None) -> Asked:
        url = self.bench.response_url(user)
        acked = self._post(self.bench.command_body(text, user, response_url=url))
        asked = Asked(user, f"/mlops {text}", url, expect, acked)
        self.asked.append(asked)
        return asked

    def click(self, user: str, action_id: str, value: str, expect: Callable[[Answer], bool]) -> Asked:
        url = self.bench.response_url(user)
        acked = self._post(self.bench.action_body(action_id, value, user, response_url=url))
        asked = Asked(user, f"{action_id} {value}", url, expect, acked)
        self.asked.append(asked)
        return asked

    def held_round(self, send: Callable[[], None]) -> list[Asked]:
        """Send requests while every answer is held; release them together once all are waiting."""
        slack, first = self.bench.slack, len(self.asked)
        before = slack.arrived()
        slack.hold("response_url")
        try:
            send()
            sent = self.asked[first:]
            count = sum(1 for a in sent if a.expect is not None)
            slack.wait_for(lambda: slack.arrived() - before == count, 60, f"{count} answers to be waiting")
        finally:
            slack.release("response_url")
        slack.wait_for(
            lambda: all(slack.answers_to(a.response_url) for a in sent if a.expect is not None),
            60,
            "every answer",
        )
        self.bench.settle()
        return sent


def check_answers(bench: Bench, sent: list[Asked]) -> None:
    for asked in sent:
        answers = bench.slack.answers_to(asked.response_url)
        if asked.expect is None:
            assert answers == [], f"{asked.user}'s {asked.what} was answered in its ack, and again: {answers}"
            continue
        assert len(answers) == 1, f"{asked.user}'s {asked.what} got {len(answers)} answers: {answers}"
        assert asked.expect(answers[0]), f"{asked.user}'s {asked.what} was answered with {answers[0]}"
    # each answer was shown to the person who asked, and only to them
    shown = Counter(
        m.ephemeral_to for m in bench.slack.messages(include_deleted=True) if m.via == "response_url"
    )
    asked_by = Counter(user_id(a.user) for a in sent if a.expect is not None)
    assert all(shown[user] >= n for user, n in asked_by.items()), (shown, asked_by)


def test_interleaved_answers_each_reach_their_own_request(release_home: Path) -> None:
    bench = make_bench(release_home)
    try:
        with http_server(asgi_of(bench)) as url, httpx.Client(base_url=url, timeout=30) as http:
            sender = Sender(bench, http)
            sender.command("bob", "approve v2 better recall", says("v2"))
            wait_done(bench, Action.VALIDATE, 1)
            bench.settle()

            def first_round() -> None:
                # the case once seen mixed up: carol's promote is answered after her next command
                sender.click(
                    "carol", "promote_confirm", '{"v":2,"from":1}', says("Promoted v2 to production")
                )
                wait_done(bench, Action.PROMOTE, 1)
                sender.command("carol", "rollback production", offers_rollback(1))
                denied = sender.command("erin", "approve v2", None)
                assert "You need the *approver* role to approve" in denied.acked
                sender.command("alice", "status v1", says("v1"))
                sender.command("bob", "history production", says("production", "v2"))
                sender.command("frank", "audit 5", says("promote"))
                sender.command("erin", "status", says("production"))
                sender.click("carol", "rollback_cancel", _rollback_value(2, 1), says("Rollback cancelled"))

            sent = sender.held_round(first_round)
            check_answers(bench, sent)
            confirm = confirm_value(bench.slack.answers_to(sent[1].response_url)[0])

            def second_round() -> None:
                sender.click("carol", "rollback_confirm", confirm, says("production", "v1"))
                wait_done(bench, Action.ROLLBACK, 1)
                sender.command("carol", "status production", says("production"))
                # back means older: v2 is newer, so there is nothing to roll back to
                sender.command("dave", "rollback production", says("no version older than v1"))
                sender.command("bob", "history production", says("rollback"))

            check_answers(bench, sender.held_round(second_round))
            assert bench.services.release.serving("production") == 1
            # A denied click is answered through its response URL from within the request, so it
            # is sent with nothing held.
            denied = sender.click(
                "dave", "promote_confirm", '{"v":2,"from":1}', says("You need the", "promote")
            )
            bench.wait_until(lambda: bench.slack.answers_to(denied.response_url), "the denial")
            check_answers(bench, [denied])
    finally:
        bench.close()


def _rollback_value(frm: int, to: int) -> str:
    return json.dumps({"env": "production", "from": frm, "to": to})
