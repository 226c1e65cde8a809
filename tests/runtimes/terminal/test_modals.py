"""Modal answers parsed into the ``state.values`` Slack submits."""

from __future__ import annotations

from typing import Any

import pytest

from runtimes.terminal import ShellError, build_state, parse_answers

MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "deploy",
    "title": {"type": "plain_text", "text": "Deploy"},
    "submit": {"type": "plain_text", "text": "Go"},
    "blocks": [
        {
            "type": "input",
            "block_id": "reason",
            "label": {"type": "plain_text", "text": "Reason"},
            "element": {"type": "plain_text_input", "action_id": "reason_input"},
        },
        {
            "type": "input",
            "block_id": "env",
            "label": {"type": "plain_text", "text": "Environment"},
            "element": {
                "type": "static_select",
                "action_id": "env_select",
                "options": [
                    {"text": {"type": "plain_text", "text": "Staging"}, "value": "staging"},
                    {"text": {"type": "plain_text", "text": "Production"}, "value": "production"},
                ],
            },
        },
        {
            "type": "input",
            "block_id": "note",
            "optional": True,
            "label": {"type": "plain_text", "text": "Note"},
            "element": {"type": "plain_text_input", "action_id": "note_input"},
        },
    ],
}


def test_submit_answers_build_slack_state_values() -> None:
    answers = parse_answers(MODAL, "reason=metrics regressed badly env=Production")
    assert answers == {"reason": "metrics regressed badly", "env": "Production"}
    state = build_state(MODAL, answers)
    assert state["values"]["reason"]["reason_input"] == {
        "type": "plain_text_input",
        "value": "metrics regressed badly",
    }
    assert state["values"]["env"]["env_select"]["selected_option"]["value"] == "production"
    assert state["values"]["note"]["note_input"]["value"] is None
    with pytest.raises(ShellError, match=r"required field.*'Environment'"):
        build_state(MODAL, {"reason": "x"})
    with pytest.raises(ShellError, match="no option 'qa'"):
        build_state(MODAL, {"reason": "x", "env": "qa"})
    with pytest.raises(ShellError, match="unknown field 'colour'"):
        parse_answers(MODAL, "colour=blue")


def test_plain_text_fills_a_single_field_modal() -> None:
    single = dict(MODAL, blocks=MODAL["blocks"][:1])
    assert parse_answers(single, "not good enough") == {"reason": "not good enough"}
