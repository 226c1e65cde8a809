"""Staging validation: run it on what staging serves, or record a report from CI; it gates promote."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class StagingAccuracy:
    """The accuracy a validation report states, with the rows behind it and their 95 % interval.

    ``ml.validate`` computes the interval (Wilson) and writes it into the report, which CI posts too;
    the bot reads it from there. An older report without it still gives the accuracy and its rows.
    """

    accuracy: float
    rows: int | None = None
    interval: tuple[float, float] | None = None
    #: rows asked for, when the held-out data held fewer
    asked: int | None = None

    @classmethod
    def of(cls, report: Mapping[str, Any]) -> StagingAccuracy | None:
        accuracy, rows = _number(report.get("accuracy")), _count(report.get("rows"))
        if accuracy is None:
            return None
        if not rows:
            return cls(accuracy)
        correct = _count(report.get("correct"))
        if correct is not None and correct <= rows:
            accuracy = correct / rows  # the report rounds its accuracy to 4 places
        bounds = report.get("accuracy_ci")
        interval = None
        if isinstance(bounds, list | tuple) and len(bounds) == 2:
            low, high = _number(bounds[0]), _number(bounds[1])
            interval = None if low is None or high is None else (low, high)
        asked = _count(report.get("rows_requested"))
        return cls(accuracy, rows, interval, asked if asked is not None and asked > rows else None)

    def text(self) -> str:
        """``accuracy 0.830 on 200 rows (95 % CI 0.772–0.876)``."""
        out = f"accuracy {self.accuracy:.3f}"
        if self.rows is None:
            return out
        out += f" on {self.rows} rows"
        notes = []
        if self.interval is not None:
            notes.append(f"95 % CI {self.interval[0]:.3f}–{self.interval[1]:.3f}")
        if self.asked is not None:
            notes.append(f"{self.asked} rows asked, the data holds only {self.rows}")
        return out + (f" ({'; '.join(notes)})" if notes else "")

    def placement(self, value: float) -> str | None:
        """Where ``value`` lies against the interval: ``inside``, ``above`` or ``below``."""
        if self.interval is None:
            return None
        # Compared at the three places shown, so that the verdict never contradicts the figures.
        shown, low, high = (round(v, 3) for v in (value, *self.interval))
        return "above" if shown > high else "below" if shown < low else "inside"


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def summarize_report(report: Mapping[str, Any]) -> str:
    parts = []
    if (accuracy := StagingAccuracy.of(report)) is not None:
        parts.append(accuracy.text())
    if isinstance(report.get("p95_ms"), int | float):
        parts.append(f"p95 {report['p95_ms']:.0f} ms")
    failed = [
        c.get("name", "?") for c in report.get("checks", []) if isinstance(c, dict) and not c.get("passed")
    ]
    if failed:
        parts.append("failed checks: " + ", ".join(map(str, failed)))
    return ", ".join(parts) or "no details"
