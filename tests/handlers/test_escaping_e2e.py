"""Hostile text typed into Slack comes back escaped, whatever the path: the ack, response_url,
``chat.postEphemeral``, the release card and its thread. Signed requests, the real app and core."""

from __future__ import annotations

import json
from typing import Any

from tests.handlers.conftest import Harness
from tests.handlers.escaping import assert_safe

ATTACK = "<!channel> <@U123> <#C1> <https://evil.example|click> & >"
ESCAPED = "&lt;!channel&gt; &lt;@U123&gt; &lt;#C1&gt; &lt;https://evil.example|click&gt; &amp; &gt;"
WRITES = ("response_url", "chat.postMessage", "chat.update", "chat.postEphemeral", "views.open")


def as_payload(args: dict[str, Any]) -> dict[str, Any]:
    """Slack call arguments with JSON-encoded fields (form-encoded calls) decoded."""
    out = dict(args)
    for key in ("blocks", "view"):
        if isinstance(out.get(key), str):
            out[key] = json.loads(out[key])
    return out


def written(h: Harness) -> list[dict[str, Any]]:
    return [as_payload(c.args) for c in h.slack.calls() if c.method in WRITES]


def test_usage_errors_quote_what_was_typed_escaped(harness: Harness) -> None:
    answers = {}
    for text, user in (
        ("stop <!channel>&<@U123>", "UALICE"),  # not an execution id
        (f"deplyo {ATTACK}", "UCAROL"),  # not a command: the suggestion repeats the arguments
        ("reject v2", "UBOB"),  # usage with <placeholders>
        (f"audit {ATTACK}", "UCAROL"),
    ):
        response = harness.command(text, user)
        assert response.status == 200
        body = json.loads(response.body)
        assert body["text"].startswith(":warning: ")
        assert_safe(body)
        answers[text.split()[0]] = body["text"]
    assert "`&lt;!channel&gt;&amp;&lt;@U123&gt;` is not an execution id" in answers["stop"]
    assert "Usage: `/mlops stop &lt;execution-id&gt;`" in answers["stop"]
    assert "&lt;!channel&gt; &lt;@U123&gt; &lt;#C1&gt;" in answers["deplyo"]
    assert "`/mlops reject vN &lt;reason&gt;`" in answers["reject"]
    assert written(harness) == []  # answered in the ack alone


def test_a_rejection_reason_typed_as_markup_is_shown_as_typed(harness: Harness) -> None:
    harness.command(f"reject v2 {ATTACK}", "UBOB")
    reply = harness.wait_responses(1)[-1]
    harness.settle()
    assert {"response_url", "chat.postMessage"} <= {c.method for c in harness.slack.calls()}
    for args in written(harness):
        assert_safe(args)
    assert ESCAPED in reply["text"]
    card = next(m for m in harness.slack.top_level() if m.text.startswith("Model v2"))
    assert ESCAPED in json.dumps(card.blocks, ensure_ascii=False)
    thread = harness.slack.thread(card.ts)
    assert any(ESCAPED in m.text for m in thread), [m.text for m in thread]


def test_a_rejection_reason_from_the_modal_is_escaped_in_the_ephemeral_and_the_card(harness: Harness) -> None:
    assert harness.dispatch(harness.view_body(2, f"label leak {ATTACK}", user="UBOB")).status == 200
    (ephemeral,) = harness.slack.wait_for(lambda: harness.slack.calls("chat.postEphemeral"), what="ephemeral")
    harness.settle()
    assert ESCAPED in ephemeral.args["text"]
    for args in written(harness):
        assert_safe(args)
