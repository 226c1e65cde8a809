"""``mlops-bot socket``: the tokens it needs are checked before anything is built."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.services import build_services
from bot.settings import ConfigError, load_settings
from runtimes import cli
from runtimes.slack_local import LocalSlack
from runtimes.socket_mode import build_socket_handler, socket_settings


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_both_tokens_are_named_when_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN and SLACK_BOT_TOKEN"):
        socket_settings(load_settings(mlops_home=tmp_path))
    with pytest.raises(ConfigError, match="needs SLACK_BOT_TOKEN"):
        socket_settings(load_settings(mlops_home=tmp_path, slack_app_token="xapp-1-A-1-x"))


def test_a_bot_token_in_place_of_the_app_token_is_refused(tmp_path: Path) -> None:
    settings = load_settings(mlops_home=tmp_path, slack_app_token="xoxb-1", slack_bot_token="xoxb-1")
    with pytest.raises(ConfigError, match=r"app-level token \(xapp-"):
        socket_settings(settings)


def test_cli_reports_the_missing_tokens_with_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path))
    assert cli.main(["socket"]) == 2
    assert "SLACK_APP_TOKEN and SLACK_BOT_TOKEN" in capsys.readouterr().err


def test_handler_is_built_without_a_signing_secret(tmp_path: Path, local_slack: LocalSlack) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    settings = socket_settings(
        load_settings(
            mlops_home=tmp_path,
            slack_app_token="xapp-1-A-1-x",
            slack_bot_token=local_slack.token,
            slack_api_url=local_slack.api_url,
        )
    )
    assert settings.slack_signing_secret is not None  # random: Socket Mode requests are not signed
    services = build_services(settings)
    try:
        handler = build_socket_handler(settings, services)
        assert isinstance(handler, SocketModeHandler)
        assert handler.app_token == "xapp-1-A-1-x"
        # The app verified its bot token against the Web API, as it does in production, and
        # started loading the user groups in the background (so that the first command finds roles).
        methods = [c.method for c in local_slack.calls()]
        assert methods[0] == "auth.test"
        assert set(methods) <= {"auth.test", "usergroups.list", "usergroups.users.list"}
    finally:
        services.close()
