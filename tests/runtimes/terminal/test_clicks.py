"""``:click`` resolution: labels, versions, numbers and clear errors."""

from __future__ import annotations

import pytest

from runtimes.terminal import ShellError, find_click, normalize_label
from tests.runtimes.terminal.cards import card, message


def test_click_finds_the_newest_message_with_the_label() -> None:
    msgs = [message(1, card(1)), message(2, card(2))]
    click = find_click(msgs, ["Reject"])
    assert click.message.seq == 2 and click.button.action_id == "release_reject"
    assert find_click(msgs, ["approve", "v1"]).message.seq == 1  # label that names the version


def test_click_with_a_version_picks_that_versions_card() -> None:
    msgs = [message(1, card(1, promotable=True)), message(2, card(2, promotable=True))]
    click = find_click(msgs, ["Promote", "v1"])
    assert click.message.seq == 1 and click.button.label == "Promote to production"
    reject = find_click(msgs, ["Reject", "v1", "metrics", "regressed"])
    assert reject.message.seq == 1
    assert reject.rest == "metrics regressed"


def test_click_by_number_and_clear_errors() -> None:
    msgs = [message(1, card(1))]
    assert find_click(msgs, ["2"]).button.label == "Reject…"
    with pytest.raises(ShellError, match=r"buttons 1 to 2"):
        find_click(msgs, ["5"])
    with pytest.raises(ShellError, match=r"no button labelled 'Aprove'.*'Approve v1'"):
        find_click(msgs, ["Aprove"])
    with pytest.raises(ShellError, match="no message with buttons"):
        find_click([message(1, [])], ["Approve"])
    assert normalize_label(":white_check_mark: Reject…") == "reject"


def test_a_missing_button_is_explained_by_the_cards_own_words() -> None:
    why = {
        "type": "context",
        "block_id": "why-v2",
        "elements": [{"type": "mrkdwn", "text": "Promote is not offered: it is not approved yet."}],
    }
    msgs = [message(1, card(1, promotable=True)), message(2, [*card(2), why])]
    with pytest.raises(
        ShellError, match=r"no 'Promote v2' button on v2's card\. Promote is not offered: it is"
    ):
        find_click(msgs, ["Promote", "v2"])
    # the reason names another button: the usual answer, listing what can be clicked
    with pytest.raises(ShellError, match=r"no button labelled 'Archive v2'.*buttons:"):
        find_click(msgs, ["Archive", "v2"])
    assert find_click(msgs, ["Promote", "v1"]).message.seq == 1
