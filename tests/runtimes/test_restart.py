"""A new app instance on the same store carries on the same messages and threads."""

from __future__ import annotations

from pathlib import Path

from bot.services import Services, build_services
from bot.settings import load_settings
from runtimes.assembly import create_app
from runtimes.slack_local import LocalSlack
from tests.conftest import BOB, CAROL


def start_instance(home: Path, slack: LocalSlack) -> Services:
    settings = load_settings(
        mlops_home=home,
        slack_bot_token=slack_token(slack),
        slack_signing_secret="restart-test-signing-secret",
        slack_api_url=slack.api_url,
        mlops_channel="#mlops",
    )
    services = build_services(settings, host_endpoints_in_process=True)
    create_app(services, client=slack.web_client())  # subscribes the Slack notifications
    return services


def slack_token(slack: LocalSlack) -> str:
    return str(slack.web_client().token)


def test_a_restarted_bot_updates_the_same_card_and_replies_in_its_thread(home: Path) -> None:
    slack = LocalSlack(home=home).start()
    try:
        first = start_instance(home, slack)
        assert first.release.approve(BOB, 1).ok
        assert first.notifier is not None and first.notifier.flush(60)
        card_ref = first.notifier.ref("card:v1")
        assert card_ref is not None
        first.close()  # the process ends: nothing in memory survives

        posts_before = [c for c in slack.calls("chat.postMessage") if not c.args.get("thread_ts")]
        second = start_instance(home, slack)
        try:
            assert second.release.promote(CAROL, 1).ok
            assert second.notifier is not None and second.notifier.flush(60)
            channel, card_ts = card_ref
            assert second.notifier.ref("card:v1") == card_ref

            top_level = [c for c in slack.calls("chat.postMessage") if not c.args.get("thread_ts")]
            assert len(top_level) == len(posts_before), "the restarted bot posted a new card"
            card = slack.message(channel, card_ts)
            assert card is not None and card.history, "the card was not updated in place"
            assert "production" in card.text or any("production" in str(b) for b in card.blocks)
            replies = [m.text for m in slack.replies(channel, card_ts)]
            assert any("Promoted v1 to production" in text for text in replies), replies
            assert any("Approved v1" in text for text in replies)  # the first instance's replies
        finally:
            second.close()
    finally:
        slack.close()
