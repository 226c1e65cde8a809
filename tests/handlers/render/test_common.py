"""How a result reads in Slack: the core names what to retry, the renderer says which command runs it."""

from __future__ import annotations

from bot.core.models import Action, Actor, Outcome, Result
from handlers.render.common import result_text

CAROL = Actor("UCAROL", "carol")


def interrupted(retry: object) -> Result:
    message = "The promote of v1 to production was interrupted; production still serves no model."
    return Result(Action.PROMOTE, Outcome.FAILED, message, CAROL, 1, "production", {"retry": retry})


def test_a_retry_is_said_as_the_slash_command() -> None:
    text = result_text(interrupted("promote v1"))
    assert text.startswith(":x: The promote of v1") and text.endswith(
        "To try again, run `/mlops promote v1`."
    )


def test_a_retry_is_escaped_and_anything_else_is_ignored() -> None:
    assert "run `/mlops rollback &lt;!channel&gt;`." in result_text(interrupted("rollback <!channel>"))
    assert "To try again" not in result_text(interrupted({"cmd": "promote v1"}))
    assert "To try again" not in result_text(interrupted(""))
