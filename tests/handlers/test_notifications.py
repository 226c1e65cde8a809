"""Validation results in the card's thread and in ``/mlops status vN``, through signed Slack requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtimes.slack_local import LocalSlack, Message
from tests.conftest import Closer
from tests.handlers.conftest import CHANNEL, Harness, harness_with

VERDICTS = ("inside its 95 % CI: consistent.", "above its 95 % CI: lower than expected.")


@pytest.fixture
def sixty_rows(release_home: Path, local_slack: LocalSlack, close_later: Closer) -> Iterator[Harness]:
    """The release home's app, its staging validations sending 60 held-out rows (MLOPS_VALIDATION_ROWS)."""
    with harness_with(release_home, local_slack, close_later, mlops_validation_rows=60) as h:
        yield h


def thread_replies(h: Harness, key: str) -> list[Message]:
    ref = h.services.store.get("message", key)
    card = None if ref is None else h.slack.message(CHANNEL, str(ref["ts"]))
    return [] if card is None else sorted(h.slack.thread(card.ts), key=lambda r: r.ts)


def test_a_validation_reply_gives_rows_interval_and_how_the_two_accuracies_compare(
    sixty_rows: Harness,
) -> None:
    h = sixty_rows
    assert h.command("validate v1", "UCAROL").status == 200

    def reply() -> Message | None:
        found = [r for r in thread_replies(h, "card:v1") if "Staging validation of v1" in r.text]
        return found[-1] if found else None

    message: Message = h.slack.wait_for(reply, 60, "the validation reply in v1's thread")
    view = h.services.release.view(1)
    assert view.validation is not None and view.validation.passed
    report = view.validation.report
    assert (report["rows"], report["rows_requested"]) == (60, 60)
    low, high = report["accuracy_ci"]
    staging = report["correct"] / 60
    phrase = f"accuracy {staging:.3f} on 60 rows (95 % CI {low:.3f}–{high:.3f})"
    lines = message.text.splitlines()
    assert lines[0].startswith(f":white_check_mark: Staging validation of v1 passed: {phrase}, p95 ")
    test_rows = view.package.lineage["test_rows"]
    trained = view.package.metrics["accuracy"]
    note = (
        f":information_source: Card accuracy {trained:.3f}: training, on the test split ({test_rows} rows). "
        f"Staging {staging:.3f}: 60 held-out rows sent to the endpoint; {trained:.3f} is "
    )
    assert test_rows.isdigit() and int(test_rows) > 60
    assert lines[1].startswith(note) and lines[1].endswith(VERDICTS), lines[1]
    assert f":white_check_mark: accuracy — {phrase} &gt;= threshold 0.8" in lines
    assert json.dumps(message.blocks, ensure_ascii=False).count(phrase) == 2  # the summary and the check

    # /mlops status v1 shows the card, the same line under its activity
    count = h.respond_count()
    h.command("status v1", "UERIN")
    status = json.dumps(h.wait_responses(count + 1)[-1]["blocks"], ensure_ascii=False)
    assert "Staging validation passed" in status and phrase in status
    assert note in status
