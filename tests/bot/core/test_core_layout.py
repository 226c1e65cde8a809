"""The release core leaves process probing to whoever runs it."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.core import service
from bot.core.models import Outcome
from bot.core.records import NS_INFLIGHT
from bot.core.service import ReleaseService
from tests.bot.core.test_recovery import promote_marker
from tests.conftest import BOB

CORE = Path(service.__file__).parent


def test_the_core_never_probes_processes() -> None:
    found = []
    for path in CORE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in {"kill", "killpg", "waitpid"}:
                found.append(f"{path.name}:{node.lineno} .{node.attr}")
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                found += [f"{path.name}:{node.lineno} import {n}" for n in names if n in {"signal", "psutil"}]
    assert found == []


def test_names_other_packages_import_stay_in_service() -> None:
    names = {"ReleaseService", "RollbackPlan", "StatusView", "AUTO_APPROVER", "local_owner_is_dead"}
    assert names <= set(service.__all__)
    assert all(callable(getattr(service, n)) for n in names - {"AUTO_APPROVER"})


def test_recover_asks_the_callers_probe_and_nothing_else(local_release: ReleaseService) -> None:
    release = local_release
    assert release.approve(BOB, 1).ok
    marker = promote_marker(owner="build-host-7:4242")
    release.records.store.put(NS_INFLIGHT, "production", marker)
    asked: list[str] = []

    def alive(owner: str) -> bool:
        asked.append(owner)
        return False

    assert release.recover(alive) == []
    assert asked == ["build-host-7:4242"]
    assert [env for env, _ in release.records.inflight()] == ["production"]

    settled = release.recover(lambda owner: owner == "build-host-7:4242")
    assert [(r.outcome, r.data.get("retry")) for r in settled] == [(Outcome.FAILED, "promote v1")]
    assert release.records.inflight() == []
