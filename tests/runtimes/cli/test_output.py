"""What the CLI prints for a result: the retry the core names, as a CLI command."""

from __future__ import annotations

from bot.core.models import Action, Actor, Outcome, Result
from runtimes.cli.output import inert, result_json, result_line


def test_a_retry_is_said_as_the_cli_command() -> None:
    result = Result(
        Action.DEPLOY,
        Outcome.FAILED,
        "The deploy of v2 to staging by carol was interrupted (the bot stopped); staging still serves v1.",
        Actor("UCAROL", "carol"),
        2,
        "staging",
        {"interrupted": True, "retry": "deploy v2 staging"},
    )
    assert result_line(result).endswith(
        "staging still serves v1. To try again, run `mlops-bot deploy v2 staging`."
    )
    assert result_json(result)["data"]["retry"] == "deploy v2 staging"  # --json keeps the structure
    done = Result(Action.DEPLOY, Outcome.DONE, "Deployed v2 to staging.", Actor("UCAROL", "carol"))
    assert result_line(done) == "Deployed v2 to staging."


def test_cells_a_spreadsheet_would_run_are_made_text() -> None:
    for attack in ("=1+2", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"):
        assert inert(attack) == "'" + attack
    for harmless in ("bob", "v3->staging", "", "a=b", 3):
        assert inert(harmless) == harmless
    assert inert(None) == ""
