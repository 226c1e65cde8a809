"""Where a run or a version comes from, as message lines: its commit, its log file, its console pages."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.slack_text import escape

from . import links
from .common import code, link, truncate

__all__ = ["console_link", "git_line", "logs_line"]


def git_line(lineage: Mapping[str, str] | Any) -> str:
    """The commit a run's code came from, or why none was recorded (a local run says why)."""
    sha = str(lineage.get("git_sha", ""))
    if sha:
        dirty = " (uncommitted changes)" if lineage.get("git_dirty") == "true" else ""
        return code(sha[:12]) + dirty
    state = str(lineage.get("git_state", ""))
    return escape(truncate(state, 80)) if state else "not recorded"


def logs_line(lineage: Mapping[str, str] | Any) -> str:
    """``Logs `logs/runs/<id>.log``` for a local run: relative to the platform home, or nothing."""
    try:
        return f"*Logs* {code(links.home_relative(lineage.get('logs')), 300)}"
    except links.LinkError:
        return ""


def console_link(label: str, build: Callable[..., str], *parts: str) -> str:
    """``<url|label>`` when ``build`` accepts the parts; nothing for a local platform's ARNs or bad parts."""
    try:
        return link(build(*parts), label)
    except links.LinkError:
        return ""
