"""The CLI's read-only commands: status, history, audit and the Slack dead letters."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC

from bot.core.models import AuditFilter
from bot.notify.deadletter import dead_letters, describe
from bot.services import Services
from ml.lifecycle import stage_text
from ml.platform import ENVIRONMENTS, Environment, PlatformError
from runtimes.cli.args import UsageError, version_arg
from runtimes.cli.output import audit_csv, audit_json, status_json, to_jsonable


class Reports:
    """Commands that only read: they print the state in text or (``--json``) JSON."""

    def __init__(self, services: Services, as_json: bool, out: Callable[[str], None]) -> None:
        self.services = services
        self.release = services.release
        self.as_json = as_json
        self.out = out

    def status(self, target: str | None) -> int:
        if target and target not in ENVIRONMENTS:
            return self.version_status(version_arg(target))
        view = self.release.status()
        if self.as_json:
            self.out(json.dumps(status_json(view, target), indent=2))
            return 0
        for ep in view.environments:
            if target and ep.environment != target:
                continue
            served = f"v{ep.version}" if ep.version else "nothing"
            self.out(f"{ep.environment:<11} {ep.name}: {ep.status.value}, serves {served}")
        if not target:
            for v in view.versions:
                m = v.package.metrics
                where = ",".join(v.environments) or "-"
                self.out(
                    f"v{v.version:<4} {v.approval.value:<22} acc {m.get('accuracy', 0):.3f} "
                    f"auc {m.get('auc', 0):.3f}  serving: {where}  stage: {stage_text(v.package.life_cycle)}"
                )
            for e in view.executions:
                self.out(f"run {e.execution_id.rsplit('/', 1)[-1]} {e.status.value} by {e.requested_by}")
        return 0

    def version_status(self, version: int) -> int:
        try:
            v = self.release.view(version)
        except PlatformError as exc:
            print(f"mlops-bot: refused: {exc}", file=sys.stderr)
            return 1
        if self.as_json:
            self.out(json.dumps(to_jsonable(v), indent=2))
            return 0
        self.out(f"v{version}: {v.approval.value}; serving: {', '.join(v.environments) or 'nowhere'}")
        self.out(f"  registry stage: {stage_text(v.package.life_cycle, with_description=True)}")
        if (owed := self.release.life_cycle_pending(version)) is not None:
            self.out(f"  registry stage owed: {stage_text(owed.life_cycle)} ({owed.error or 'in progress'})")
        for k, val in sorted(v.package.metrics.items()):
            self.out(f"  {k:<10} {val:.4f}")
        if v.decision:
            self.out(f"  decision: {v.decision.status.value} by {v.decision.actor_name} {v.decision.reason}")
        if v.validation:
            self.out(
                f"  staging validation: {'passed' if v.validation.passed else 'FAILED'} "
                f"({v.validation.summary})"
            )
        return 0

    def history(self, environment: Environment) -> int:
        records = self.release.history(environment)
        if self.as_json:
            self.out(json.dumps(to_jsonable(records), indent=2))
            return 0
        if not records:
            self.out(f"{environment} has no deployments yet.")
        for r in records:
            prev = f" (from v{r.previous_version})" if r.previous_version else ""
            self.out(f"{r.at:%Y-%m-%d %H:%M:%S} {r.kind:<8} v{r.version}{prev} by {r.actor_name}")
        return 0

    def audit(self, limit: int, where: AuditFilter | None = None, as_csv: bool = False) -> int:
        """The newest ``limit`` entries ``where`` matches: JSON and CSV newest first, text as a log
        (oldest first); ids are never shortened."""
        entries = self.release.audit(limit, where)
        if self.as_json:
            self.out(json.dumps(audit_json(entries), indent=2))
            return 0
        if as_csv:
            sys.stdout.write(audit_csv(entries))  # CRLF line ends as written: not through print
            return 0
        if not entries:
            self.out("No audit entries match." if where and where.narrows else "The audit log is empty.")
        for e in reversed(entries):
            version = f" (v{e.version})" if e.version is not None and f"v{e.version}" not in e.target else ""
            flag = "BREAK-GLASS " if e.break_glass else ""
            self.out(
                f"{e.at.astimezone(UTC):%Y-%m-%d %H:%M:%S} {flag}{e.actor_name:<12} {e.action.value:<9} "
                f"{e.outcome.value:<8} {e.target}{version}: {e.detail}"
            )
        return 0

    def dead_letters(self, limit: int) -> int:
        if not 1 <= limit <= 1000:
            raise UsageError(f"dead-letters takes a count from 1 to 1000, not {limit}")
        rows = dead_letters(self.services.store, limit)
        if self.as_json:
            self.out(json.dumps([{"id": k, **v} for k, v in rows], indent=2))
        for key, entry in [] if self.as_json else rows:
            self.out(describe(key, entry))
        if not rows and not self.as_json:
            self.out("No dead letters: every Slack message went through.")
        return 0
