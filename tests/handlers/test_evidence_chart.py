"""The confusion matrix in the card's thread, through the Slack app: once per version, retried after a
failed upload; and ``/mlops card vN`` answering with the model card export."""

from __future__ import annotations

import io
import json

from PIL import Image

from handlers.evidence_chart import NS_EVIDENCE_CHART
from handlers.notifications import SlackNotifications
from ml.evidence.chart import HEIGHT, WIDTH
from runtimes.slack_local import Message
from tests.handlers.conftest import Harness


def _matrices(h: Harness) -> list[Message]:
    return [m for m in h.slack.messages() if m.files and m.files[0]["name"].startswith("confusion-matrix-")]


def _card(h: Harness, version: int) -> Message:
    ref = h.services.store.get("message", f"card:v{version}")
    assert ref is not None, f"no card of v{version}"
    card = h.slack.message("C0MLOPS", str(ref["ts"]))
    assert card is not None
    return card


def test_the_matrix_goes_into_the_cards_thread_once_and_a_failed_upload_is_tried_again(
    harness: Harness,
) -> None:
    h = harness
    # refused until cleared: the rejection's own stage change is a package event that tries again
    h.slack.fail_next("files.getUploadURLExternal", status=200, error="file_uploads_disabled", times=None)
    assert h.command("reject v2 too slow for production", "UBOB").status == 200
    h.idle()
    h.settle()
    card = _card(h, 2)
    assert "*Evidence* · Champion: v1, which production serves." in json.dumps(
        card.blocks, ensure_ascii=False
    )
    assert _matrices(h) == []  # refused: nothing recorded, so the next event about v2 tries again
    assert h.services.store.get(NS_EVIDENCE_CHART, "v2") is None

    h.slack.clear_faults()
    notifications = h.services.subscriber
    assert isinstance(notifications, SlackNotifications)
    notifications.chart_card(2)  # what the next model package event of v2 runs
    (matrix,) = _matrices(h)
    assert matrix.thread_ts == card.ts
    (doc,) = matrix.files
    assert doc["name"] == "confusion-matrix-v2.png" and doc["alt_txt"].startswith("Confusion matrix of ")
    image = Image.open(io.BytesIO(h.slack.file_bytes(doc["id"]) or b""))
    assert (image.format, image.size) == ("PNG", (WIDTH, HEIGHT))
    recorded = h.services.store.get(NS_EVIDENCE_CHART, "v2")
    assert recorded is not None and recorded["file"] == doc["id"]

    notifications.chart_card(2)  # again: the matrix is there already
    h.settle()
    assert len(_matrices(h)) == 1
    assert len(h.slack.ok_calls("files.completeUploadExternal")) == 1


def test_the_card_command_answers_with_the_export_and_refuses_an_unknown_version(harness: Harness) -> None:
    h = harness
    usage = json.loads(h.command("card", "UERIN").body)  # answered at once, changing nothing
    assert usage["response_type"] == "ephemeral" and "Usage: `/mlops card vN`" in usage["text"]
    h.command("card v2", "UERIN")  # a read anyone in the channel may do
    first = h.wait_responses(1)[0]
    h.command("card v9", "UERIN")
    unknown = h.wait_responses(2)[1]
    assert first["response_type"] == "ephemeral" and first["text"] == "Model card · v2"
    body = "\n".join(b["text"]["text"] for b in first["blocks"] if b["type"] == "section")
    assert "# Model card: mlops-xgboost v2" in body and "Champion: v1, which production serves." in body
    assert "| Actual negative |" in body
    assert "model version v9 does not exist" in unknown["text"]
