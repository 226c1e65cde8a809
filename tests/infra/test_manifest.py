"""infra/slack-manifest.yaml grants what the code uses: scopes of every Web API call, every command."""

from __future__ import annotations

import ast
import re
from typing import Any

import pytest
import yaml
from slack_sdk import WebClient

from tests.infra.cfn import ROOT

MANIFEST = ROOT / "infra" / "slack-manifest.yaml"
SOURCES = sorted(
    path for package in ("bot", "handlers", "runtimes") for path in (ROOT / package).rglob("*.py")
)

#: Bot scope each Web API method needs (https://api.slack.com/methods); empty: no scope.
METHOD_SCOPES: dict[str, frozenset[str]] = {
    "auth_test": frozenset(),
    "chat_postMessage": frozenset({"chat:write"}),
    "chat_postEphemeral": frozenset({"chat:write"}),
    "chat_update": frozenset({"chat:write"}),
    "chat_delete": frozenset({"chat:write"}),
    "chat_getPermalink": frozenset(),
    "views_open": frozenset(),
    "views_update": frozenset(),
    "views_push": frozenset(),
    "usergroups_list": frozenset({"usergroups:read"}),
    "usergroups_users_list": frozenset({"usergroups:read"}),
    "users_info": frozenset({"users:read"}),
    "users_list": frozenset({"users:read"}),
    "users_lookupByEmail": frozenset({"users:read.email"}),
    "conversations_info": frozenset({"channels:read", "groups:read"}),
    "conversations_list": frozenset({"channels:read", "groups:read"}),
    "conversations_join": frozenset({"channels:join"}),
    "conversations_history": frozenset({"channels:history", "groups:history"}),
    "conversations_replies": frozenset({"channels:history", "groups:history"}),
    "reactions_add": frozenset({"reactions:write"}),
    "files_upload_v2": frozenset({"files:write"}),
}
#: Scopes granted beyond what calls need, and why.
EXTRA_SCOPES = {
    "commands": "the /mlops slash command",
    "chat:write.public": "notifications reach the configured channel without inviting the bot first",
}
WEB_API_METHODS = frozenset(
    name
    for name in dir(WebClient)
    if not name.startswith("_") and "_" in name and callable(getattr(WebClient, name))
)


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def web_api_calls() -> dict[str, set[str]]:
    """Web API method -> files calling it (``client.chat_postMessage(`` and ``api_call("chat.x")``)."""
    calls: dict[str, set[str]] = {}
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        for method in re.findall(r"\.([A-Za-z]+(?:_[A-Za-z0-9]+)+)\(", text):
            if method in WEB_API_METHODS:
                calls.setdefault(method, set()).add(str(path.relative_to(ROOT)))
        for dotted in re.findall(r"api_call\(\s*[\"']([a-zA-Z.]+)[\"']", text):
            calls.setdefault(dotted.replace(".", "_"), set()).add(str(path.relative_to(ROOT)))
    return calls


def registered_commands() -> set[str]:
    """Slash commands passed to ``app.command(...)``, literal or a module-level string constant."""
    commands: set[str] = set()
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            target.id: node.value.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "command"
                and node.args
            ):
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                commands.add(arg.value)
            elif isinstance(arg, ast.Name) and arg.id in constants:
                commands.add(constants[arg.id])
            else:
                pytest.fail(f"{path}: app.command({ast.unparse(arg)}) is not a resolvable string")
    return commands


def test_scan_finds_the_calls_the_bot_is_known_to_make() -> None:
    calls = web_api_calls()
    assert {"chat_postMessage", "chat_update", "usergroups_users_list"} <= set(calls)


def test_every_web_api_call_has_its_scope(manifest: dict[str, Any]) -> None:
    granted = set(manifest["oauth_config"]["scopes"]["bot"])
    unknown = {m: sorted(f) for m, f in web_api_calls().items() if m not in METHOD_SCOPES}
    assert not unknown, f"add the scope of these methods to METHOD_SCOPES: {unknown}"
    for method, files in web_api_calls().items():
        missing = METHOD_SCOPES[method] - granted
        assert not missing, f"{method} (in {sorted(files)}) needs {sorted(missing)}"


def test_no_scope_beyond_what_is_used(manifest: dict[str, Any]) -> None:
    granted = set(manifest["oauth_config"]["scopes"]["bot"])
    needed = set().union(*(METHOD_SCOPES[m] for m in web_api_calls()))
    assert granted - needed - set(EXTRA_SCOPES) == set(), "unused scope granted"
    assert set(EXTRA_SCOPES) <= granted


def test_every_registered_command_is_declared(manifest: dict[str, Any]) -> None:
    commands = registered_commands()
    assert "/mlops" in commands
    declared = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert commands == set(declared)
    for command in declared.values():
        assert command["url"] == "https://YOUR-BOT-URL/slack/events"
        assert command["usage_hint"] and command["description"]


def test_settings_of_an_http_app(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert settings["interactivity"] == {
        "is_enabled": True,
        "request_url": "https://YOUR-BOT-URL/slack/events",
    }
    assert settings["socket_mode_enabled"] is False
    assert settings["token_rotation_enabled"] is False
    assert settings["org_deploy_enabled"] is False
    assert manifest["features"]["bot_user"]["display_name"]


def test_manifest_sizes_within_slack_limits(manifest: dict[str, Any]) -> None:
    info = manifest["display_information"]
    assert len(info["name"]) <= 35 and len(info["description"]) <= 140
    assert 175 <= len(info["long_description"]) <= 4000
    for command in manifest["features"]["slash_commands"]:
        assert len(command["description"]) <= 100 and len(command["usage_hint"]) <= 1000
