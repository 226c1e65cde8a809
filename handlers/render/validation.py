"""One line that tells the card's accuracy (training's test split) from staging validation's."""

from __future__ import annotations

from bot.core.models import VersionView
from bot.core.validation import StagingAccuracy

#: What the test-split accuracy lying above, inside or below the staging interval says of staging.
_VERDICT = {
    "above": "is above its 95 % CI: lower than expected",
    "inside": "is inside its 95 % CI: consistent",
    "below": "is below its 95 % CI: higher than expected",
}


def accuracy_note(view: VersionView) -> str | None:
    """Where each accuracy was measured and whether they agree; None without both figures."""
    if view.validation is None:
        return None
    staging = StagingAccuracy.of(view.validation.report)
    trained = view.package.metrics.get("accuracy")
    if staging is None or staging.rows is None or not isinstance(trained, int | float):
        return None
    test_rows = str(view.package.lineage.get("test_rows", ""))
    split = f"test split ({int(test_rows)} rows)" if test_rows.isdigit() else "test split"
    line = (
        f":information_source: Card accuracy {trained:.3f}: training, on the {split}. "
        f"Staging {staging.accuracy:.3f}: {staging.rows} held-out rows sent to the endpoint"
    )
    placement = staging.placement(trained)
    return line + (f"; {trained:.3f} {_VERDICT[placement]}." if placement else ".")
