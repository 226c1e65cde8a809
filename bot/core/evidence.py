"""Evidence for approvers: the challenger against the champion, the data, staging validation, the matrix.

The champion is the version production serves; a card of that version shows it as the champion. Rules
come from ``MLOPS_PROMOTION_RULES`` (``ml.evidence.rules``). Everything here is read from what the run
and the bot recorded: nothing is recomputed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ml.evidence.rules import METRIC_NAMES, Rule, Verdict, judge
from ml.platform import MLPlatform, PlatformError

from .models import ValidationReport, VersionView

if TYPE_CHECKING:
    from ml.evidence.report import Confusion

__all__ = ["DataFacts", "Evidence", "MetricLine", "build_evidence", "gather_evidence"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetricLine:
    name: str
    value: float | None
    champion: float | None
    #: ``value - champion``; None when either is missing or this version is the champion
    delta: float | None


@dataclass(frozen=True)
class DataFacts:
    dataset_sha256: str = ""
    train_rows: int | None = None
    validation_rows: int | None = None
    test_rows: int | None = None


@dataclass(frozen=True)
class Evidence:
    version: int
    #: the version production serves (None: nothing serves production)
    champion_version: int | None
    metrics: tuple[MetricLine, ...]
    verdicts: tuple[Verdict, ...]
    data: DataFacts
    validation: ValidationReport | None
    confusion: Confusion | None
    model_package_arn: str
    git_sha: str
    threshold: float | None = None
    #: the evaluation report's ``classification_metrics`` standard deviations, when recorded
    spreads: Mapping[str, float] = field(default_factory=dict)

    @property
    def is_champion(self) -> bool:
        return self.champion_version == self.version

    @property
    def rules_met(self) -> bool | None:
        """True when every judged rule holds, False when one fails, None when none could be judged."""
        judged = [v.passed for v in self.verdicts if v.passed is not None]
        if not judged:
            return None
        return all(judged)


def _rows(lineage: Mapping[str, str], key: str, fallback: int | None) -> int | None:
    raw = str(lineage.get(key, ""))
    return int(raw) if raw.isdigit() else fallback


def _spreads(report: Mapping[str, Any] | None) -> dict[str, float]:
    metrics = report.get("classification_metrics") if report else None
    out: dict[str, float] = {}
    if isinstance(metrics, Mapping):
        for name in METRIC_NAMES:
            entry = metrics.get(name)
            std = entry.get("standard_deviation") if isinstance(entry, Mapping) else None
            if isinstance(std, int | float) and not isinstance(std, bool):
                out[name] = float(std)
    return out


def build_evidence(view: VersionView, report: Mapping[str, Any] | None, rules: Sequence[Rule]) -> Evidence:
    """The evidence of ``view``'s version from its evaluation report (None: the registry keeps none)."""
    pkg = view.package
    # Imported here: only the lazy work that shows evidence reads a report, never an acknowledgement.
    from ml.evidence.report import facts

    found = facts(report)
    champion_version = view.production_version
    champion = view.production_metrics if champion_version not in (None, view.version) else None
    lines = []
    for name in METRIC_NAMES:
        value = pkg.metrics.get(name)
        base = champion.get(name) if champion is not None else None
        mine = float(value) if isinstance(value, int | float) else None
        theirs = float(base) if isinstance(base, int | float) else None
        delta = mine - theirs if mine is not None and theirs is not None else None
        lines.append(MetricLine(name, mine, theirs, delta))
    verdicts = judge(rules, pkg.metrics, champion)
    if champion_version == view.version:
        verdicts = [
            Verdict(v.rule, v.passed, v.value, v.bound, "this version is the champion")
            if v.passed is None
            else v
            for v in verdicts
        ]
    lineage = pkg.lineage
    data = DataFacts(
        dataset_sha256=str(lineage.get("dataset_sha256", "")) or found.dataset_sha256,
        train_rows=_rows(lineage, "train_rows", found.train_rows),
        validation_rows=_rows(lineage, "validation_rows", None),
        test_rows=_rows(lineage, "test_rows", found.test_rows),
    )
    threshold = found.threshold
    return Evidence(
        version=view.version,
        champion_version=champion_version,
        metrics=tuple(lines),
        verdicts=tuple(verdicts),
        data=data,
        validation=view.validation,
        confusion=found.confusion,
        model_package_arn=pkg.arn,
        git_sha=str(lineage.get("git_sha", "")),
        threshold=threshold,
        spreads=_spreads(report),
    )


def gather_evidence(platform: MLPlatform, view: VersionView, rules: Sequence[Rule]) -> Evidence:
    """:func:`build_evidence` with the version's report from the platform; a report that cannot be read
    leaves the matrix and its data facts out rather than the card."""
    try:
        report = platform.evaluation(view.version)
    except PlatformError as exc:
        log.warning("evaluation report of v%s not read: %s", view.version, exc)
        report = None
    return build_evidence(view, report, rules)
