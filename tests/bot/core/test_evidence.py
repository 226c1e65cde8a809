"""Evidence on the local platform: a version against the champion production serves, or with none."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.evidence import build_evidence, gather_evidence
from bot.core.service import ReleaseService
from bot.store.sqlite import SQLiteStore
from ml.evidence.rules import parse_rules
from ml.local import LocalPlatform
from ml.platform import NotFound, PlatformError

RULES = parse_rules("accuracy >= 0.5; auc >= champion - 0.01; f1 >= 0.99")


@pytest.fixture
def release(release_home: Path) -> Iterator[ReleaseService]:
    """v1 Approved and serving production (the champion); v2 pending."""
    platform = LocalPlatform(release_home, host_endpoints_in_process=True)
    store = SQLiteStore(release_home / "bot.db")
    try:
        yield ReleaseService(platform, store)
    finally:
        platform.close()
        store.close()


def test_without_a_champion_the_metrics_stand_alone_and_relative_rules_are_not_judged(
    local_release: ReleaseService,
) -> None:
    view = local_release.view(1)
    evidence = gather_evidence(local_release.platform, view, RULES)
    assert evidence.champion_version is None and not evidence.is_champion
    assert [m.name for m in evidence.metrics] == ["accuracy", "precision", "recall", "f1", "auc"]
    assert all(m.champion is None and m.delta is None for m in evidence.metrics)
    fixed, relative, strict = evidence.verdicts
    assert fixed.passed is True and strict.passed is False
    assert (relative.passed, relative.why) == (None, "no champion")
    assert evidence.rules_met is False
    # the run's data: hash and the three splits, from the lineage and the preprocess statistics
    lineage = view.package.lineage
    assert (
        evidence.data.dataset_sha256 == lineage["dataset_sha256"] and len(evidence.data.dataset_sha256) == 64
    )
    rows = (evidence.data.train_rows, evidence.data.validation_rows, evidence.data.test_rows)
    assert rows == (int(lineage["train_rows"]), int(lineage["validation_rows"]), int(lineage["test_rows"]))
    assert evidence.confusion is not None and evidence.confusion.total == evidence.data.test_rows
    assert evidence.model_package_arn == view.package.arn and evidence.validation is None
    assert set(evidence.spreads) == {"accuracy", "precision", "recall", "f1", "auc"}


def test_a_challenger_is_compared_with_the_champion_metric_by_metric(release: ReleaseService) -> None:
    view = release.view(2)
    evidence = gather_evidence(release.platform, view, RULES)
    champion = release.platform.describe_model_package(1).metrics
    assert evidence.champion_version == 1
    for line in evidence.metrics:
        assert line.champion == pytest.approx(champion[line.name])
        assert line.delta == pytest.approx(view.package.metrics[line.name] - champion[line.name])
    relative = evidence.verdicts[1]
    assert relative.bound == pytest.approx(champion["auc"] - 0.01)
    assert relative.passed is (view.package.metrics["auc"] >= champion["auc"] - 0.01)
    # the champion's own card says so and judges only the fixed rules
    own = gather_evidence(release.platform, release.view(1), RULES)
    assert own.is_champion and all(m.delta is None for m in own.metrics)
    assert (own.verdicts[1].passed, own.verdicts[1].why) == (None, "this version is the champion")


class Unreadable(LocalPlatform):
    """The local platform whose report store fails, as S3 can."""

    def evaluation(self, version: int) -> dict[str, object] | None:
        if version == 1:
            raise PlatformError("the bucket is gone")
        return super().evaluation(version)


def test_an_unreadable_report_leaves_out_the_matrix_not_the_evidence(home: Path) -> None:
    store = SQLiteStore(home / "bot.db")
    with Unreadable(home, host_endpoints_in_process=True) as platform:
        release = ReleaseService(platform, store)
        evidence = gather_evidence(platform, release.view(1), RULES)
        assert evidence.confusion is None and evidence.metrics[0].value is not None
        assert evidence.data.test_rows is not None  # the lineage still has it
        with pytest.raises(NotFound):
            platform.evaluation(7)  # not this platform's failure: an unknown version is still NotFound
    store.close()


def test_a_version_registered_before_evaluation_reports_were_kept_has_no_matrix(
    local_release: ReleaseService,
) -> None:
    evidence = build_evidence(local_release.view(1), None, RULES)
    assert evidence.confusion is None and evidence.data.train_rows is not None  # from the lineage
