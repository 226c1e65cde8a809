"""Staging validation: run it on what staging serves, or record a report from CI; it gates promote."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ml.platform import Environment, PlatformError

from .base import ReleaseCore
from .models import Action, Actor, Outcome, Result, ValidationReport


class Validation:
    def __init__(self, core: ReleaseCore) -> None:
        self.core = core

    def validate(self, actor: Actor, version: int | None = None) -> Result:
        """Run the platform's staging validation against what staging serves now."""
        try:
            return self._validate(actor, version)
        except PlatformError as exc:
            return self.core._unreadable(actor, Action.VALIDATE, "staging", exc, version, "staging")

    def _validate(self, actor: Actor, version: int | None) -> Result:
        core = self.core
        target = "staging"
        if (denied := core._guard(actor, Action.VALIDATE, target, version, "staging")) is not None:
            return denied
        current = core.serving("staging")
        if current is None:
            return core._refuse(
                actor,
                Action.VALIDATE,
                target,
                "staging serves no model: deploy one first.",
                version=version,
                environment="staging",
            )
        if version is not None and version != current:
            return core._refuse(
                actor,
                Action.VALIDATE,
                target,
                f"staging serves v{current}, not v{version}: deploy v{version} to staging first.",
                version=version,
                environment="staging",
            )
        try:
            report = core.platform.validate("staging")
        except PlatformError as exc:
            return core._refuse(
                actor,
                Action.VALIDATE,
                target,
                f"Validation could not run: {exc}",
                version=current,
                environment="staging",
                outcome=Outcome.FAILED,
            )
        return self.record_validation(
            actor,
            current,
            "staging",
            bool(report.get("passed")),
            report,
            source=f"{core.platform.name}:{actor.label}",
        )

    def record_validation(
        self,
        actor: Actor,
        version: int,
        environment: Environment,
        passed: bool,
        report: Mapping[str, Any],
        source: str,
    ) -> Result:
        core = self.core
        target = f"v{version}@{environment}"
        if (denied := core._guard(actor, Action.VALIDATE, target, version, environment)) is not None:
            return denied
        package = core._package(actor, Action.VALIDATE, version)
        if isinstance(package, Result):
            return package
        summary = summarize_report(report)
        core.records.add_validation(
            ValidationReport(version, environment, passed, core.clock.now(), source, summary, report)
        )
        verdict = "passed" if passed else "FAILED"
        message = f"Staging validation of v{version} {verdict}: {summary}."
        message += (
            f" Promote is now available for v{version}."
            if passed
            else f" Promote stays unavailable for v{version} until a validation passes."
        )
        return core._finish(
            Result(
                Action.VALIDATE,
                Outcome.DONE,
                message,
                actor,
                version,
                environment,
                data={"passed": passed, "report": dict(report)},
            ),
            target,
        )


def summarize_report(report: Mapping[str, Any]) -> str:
    parts = []
    if isinstance(report.get("accuracy"), int | float):
        parts.append(f"accuracy {report['accuracy']:.3f}")
    if isinstance(report.get("p95_ms"), int | float):
        parts.append(f"p95 {report['p95_ms']:.0f} ms")
    failed = [
        c.get("name", "?") for c in report.get("checks", []) if isinstance(c, dict) and not c.get("passed")
    ]
    if failed:
        parts.append("failed checks: " + ", ".join(map(str, failed)))
    return ", ".join(parts) or "no details"
