"""Change freezes in the terminal chat: the freeze notice, the refusal, and break-glass through its button."""

from __future__ import annotations

from pathlib import Path

from tests.runtimes.terminal.test_session import _no_user_from_env, chat

__all__ = ["_no_user_from_env"]  # the fixture, used by name


def test_a_freeze_refuses_promote_and_oncall_breaks_glass_in_the_chat(home: Path) -> None:
    script = "\n".join(
        [
            ":as bob",
            "/mlops approve v1",
            ":wait",
            ":as carol",
            '/mlops freeze production 4h "quarter close"',
            ":wait",
            "/mlops promote v1",
            ":wait",
            '/mlops promote v1 break-glass "hotfix INC-42"',
            ":wait",
            ":click Break glass",
            ":wait",
            "/mlops audit 1 promote",
            ":wait",
            "",
        ]
    )
    code, out, err = chat(home, script)
    assert code == 0, err + out
    said = " ".join(out.split())
    assert "❄️ Froze production until" in said and "quarter close" in said
    assert "ℹ️ Cannot promote v1: production is frozen until" in said
    assert 'by carol: "quarter close". Rollback still works' in said
    assert "🚨 Break-glass — production is frozen" in said and "[1 Break glass: promote v1]" in said
    assert "🚨 @ml-leads Break-glass by @carol: v1 went to production through a freeze" in said
    assert "✅ 🚨 break-glass" in said  # the audit line's flag
