"""Progressive delivery in the terminal chat: a promote's rollout in its confirmation, ``rollout stop``
answered in words, a bad rollout explained."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.runtimes.terminal.test_session import chat


@pytest.fixture(autouse=True)
def _no_user_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_USER", raising=False)


def test_a_promote_with_a_rollout_and_the_rollout_commands_in_the_chat(home: Path) -> None:
    script = "\n".join(
        [
            ":as bob",
            "/mlops approve v1",
            ":wait",
            ":as carol",
            "/mlops promote v1 canary 80% 5m",
            ":wait",
            "/mlops promote v1 canary 5% 10m",
            ":wait",
            ":click Confirm",
            ":wait",
            "/mlops rollout stop production",
            ":wait",
            "/mlops help",
            ":wait",
            "",
        ]
    )
    code, out, err = chat(home, script)
    assert code == 0, err + out
    said = " ".join(out.split())
    assert "a canary is 1% to 50% of capacity, not 80%" in said
    assert "Rollout (chosen for this promote): canary 5% for 10m, then 100%; guarded by alarms" in said
    assert "Promoted v1 to production" in said
    assert "No rollout is running on production: there has been none. Nothing changed." in said
    assert "/mlops rollout stop staging|production" in said
