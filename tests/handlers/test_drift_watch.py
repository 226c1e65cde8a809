"""The scheduled drift check: one drift card per environment, posted on drift and updated in place."""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image

from handlers.drift_chart import NS_DRIFT_CHART
from handlers.drift_watch import DriftWatch
from handlers.render.drift import drift_card_key
from ml.local.endpoint_validation import LOCAL_CREDENTIALS
from ml.validate.runtime import runtime_invoker
from runtimes.slack_local import Message
from tests.handlers.commands.test_drift import _shifted
from tests.handlers.conftest import Harness
from tests.runtimes.cli.test_drift import adult_test_rows


def _send(h: Harness, rows: list[list[str]]) -> None:
    """Real traffic: production's model scores the rows, and its endpoint captures them."""
    platform = h.services.platform
    name = platform.endpoint_name("production")
    invoke = runtime_invoker(name, platform.endpoint_url, "us-east-1", credentials=LOCAL_CREDENTIALS)
    for start in range(0, len(rows), 200):
        invoke(("\n".join(",".join(r) for r in rows[start : start + 200]) + "\n").encode(), "text/csv")
    assert platform.flush_capture(timeout=60)


def _watch(h: Harness) -> DriftWatch:
    return DriftWatch(h.services, h.services.notifier, timedelta(hours=1))


def test_nothing_to_check_posts_nothing_and_calm_traffic_posts_no_card(harness: Harness) -> None:
    watch = _watch(harness)
    assert watch.check_now() == {"production": "unavailable"}  # no captured traffic yet
    _send(harness, adult_test_rows(label=False)[:3000])  # held-out rows: no drift
    assert watch.check_now() == {"production": "ok"}
    harness.idle()
    assert not [m for m in harness.slack.top_level() if m.text.startswith("Drift in production")]


def test_drift_keeps_one_card_updated_in_place(harness: Harness) -> None:
    watch = _watch(harness)
    _send(harness, _shifted(adult_test_rows(label=False)[:3000]))
    assert watch.check_now() == {"production": "drift"}
    card = harness.slack.wait_for(
        lambda: [m for m in harness.slack.top_level() if m.text.startswith("Drift in production v1: drift")]
    )[0]
    assert card.text.endswith(("age)", "hours-per-week)"))  # the highest PSI: a shifted feature
    # production serves v1, the first version: nothing to roll back to, so no Roll back button
    (actions,) = [b for b in card.blocks if b["type"] == "actions"]
    labels = [e["text"]["text"] for e in actions["elements"]]
    assert labels == ["Retrain with current data", "Acknowledge for 4h"]
    harness.idle()
    assert harness.services.notifier.ref(drift_card_key("production")) == (card.channel, card.ts)
    _send(harness, _shifted(adult_test_rows(label=False)[3000:4000]))
    assert watch.check_now() == {"production": "drift"}
    # Slack's pacing may hold the update back a moment: wait for it, then look at the channel
    harness.slack.wait_for(lambda: "4,000 rows" in str(harness.slack.message(card.channel, card.ts).blocks))
    harness.idle()
    cards = [m for m in harness.slack.top_level() if m.text.startswith("Drift in production")]
    assert [(m.channel, m.ts) for m in cards] == [(card.channel, card.ts)]  # the same message, updated


def test_the_timer_stops_at_once_when_closed(harness: Harness) -> None:
    watch = DriftWatch(harness.services, harness.services.notifier, timedelta(hours=1))
    watch.start()
    watch.close(timeout=5)
    assert watch._thread is not None and not watch._thread.is_alive()


def test_an_acknowledged_alert_is_left_alone_until_the_mute_ends(harness: Harness) -> None:
    watch = _watch(harness)
    _send(harness, _shifted(adult_test_rows(label=False)[:2000]))
    assert watch.check_now() == {"production": "drift"}
    harness.idle()
    response = harness.click("drift_acknowledge", '{"env":"production"}', "UCAROL")  # oncall
    assert response.status == 200
    answer = harness.wait_responses(1)[-1]["text"]
    assert answer.startswith(":white_check_mark: Drift alerts for production muted until")
    mute = harness.services.release.drift_muted("production")
    assert mute is not None and mute.actor_id == "UCAROL"
    entry = harness.services.release.audit(1)[0]
    assert (entry.action.value, entry.outcome.value, entry.target) == (
        "acknowledge",
        "done",
        "drift:production",
    )
    thread = harness.slack.wait_for(
        lambda: [
            m for m in harness.slack.messages() if m.text.startswith(":no_bell: Drift alerts for production")
        ]
    )
    assert thread[0].thread_ts is not None  # a reply in the drift card's thread
    harness.idle()
    card = next(m for m in harness.slack.top_level() if m.text.startswith("Drift in production"))
    revisions = card.revision
    _send(harness, _shifted(adult_test_rows(label=False)[2000:3000]))
    assert watch.check_now() == {"production": "drift"}
    harness.idle()
    assert harness.slack.message(card.channel, card.ts).revision == revisions  # muted: not updated


def test_a_stale_acknowledge_or_a_trainer_less_retrain_changes_nothing(harness: Harness) -> None:
    before = harness.state()
    harness.click("drift_acknowledge", '{"env":"qa"}', "UCAROL")
    assert "out of date" in harness.wait_responses(1)[-1]["text"]
    harness.click("drift_retrain", '{"env":"production"}', "UCAROL")  # carol is no trainer
    assert "You need the *trainer* role" in harness.wait_responses(2)[-1]["text"]
    assert harness.state() == before and harness.services.release.drift_muted("production") is None


def _charts(h: Harness) -> list[Message]:
    return [m for m in h.slack.messages() if m.files]


def test_the_card_gets_one_chart_in_its_thread_per_drift_and_a_failed_upload_is_tried_again(
    harness: Harness,
) -> None:
    watch = _watch(harness)
    assert watch.charts is not None  # the bot's client uploads files
    _send(harness, _shifted(adult_test_rows(label=False)[:2000]))
    harness.slack.fail_next("files.getUploadURLExternal", status=200, error="file_uploads_disabled")
    assert watch.check_now() == {"production": "drift"}
    harness.idle()
    card = next(m for m in harness.slack.top_level() if m.text.startswith("Drift in production"))
    assert _charts(harness) == []  # refused: nothing recorded, so the next check tries again
    assert harness.services.store.get(NS_DRIFT_CHART, "production") is None

    assert watch.check_now() == {"production": "drift"}
    harness.idle()
    (chart,) = _charts(harness)
    assert chart.thread_ts == card.ts  # in the card's thread
    (doc,) = chart.files
    assert doc["name"].startswith("drift-production-v1-") and doc["name"].endswith(".png")
    assert "age: PSI" in doc["alt_txt"] and "hours-per-week: PSI" in doc["alt_txt"]
    image = Image.open(io.BytesIO(harness.slack.file_bytes(doc["id"]) or b""))
    assert image.format == "PNG"
    recorded = harness.services.store.get(NS_DRIFT_CHART, "production")
    assert recorded is not None and recorded["file"] == doc["id"]

    # the same drift found again: the card is updated, no second chart
    assert watch.check_now() == {"production": "drift"}
    harness.idle()
    assert len(_charts(harness)) == 1
    assert len(harness.slack.ok_calls("files.completeUploadExternal")) == 1
