"""A model version's facts as the store keeps them, so a new process need not describe it again.

Written whenever the platform describes a version (a state-change event, the bot's own approval or
stage change, a listing that found it new or changed); read by listings, which use a record only
while the registry's approval and stage still match it (``ml.sagemaker.registry.still_current``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ml.lifecycle import LifeCycle
from ml.platform import ApprovalStatus, ModelPackage

log = logging.getLogger(__name__)

#: bumped when the layout changes: records of another layout are ignored (the version is described)
LAYOUT = 1


def package_to_dict(package: ModelPackage) -> dict[str, Any]:
    life = package.life_cycle
    return {
        "layout": LAYOUT,
        "version": package.version,
        "arn": package.arn,
        "group": package.group,
        "approval_status": package.approval_status.value,
        "created_at": package.created_at.isoformat(),
        "approval_description": package.approval_description,
        "metrics": dict(package.metrics),
        "artifact_uri": package.artifact_uri,
        "artifact_sha256": package.artifact_sha256,
        "lineage": dict(package.lineage),
        "modified_by": package.modified_by,
        "life_cycle": None if life is None else [life.stage, life.status, life.description],
    }


def package_from_dict(d: Mapping[str, Any]) -> ModelPackage | None:
    """The stored package, or None for a record this code cannot read (it is described instead)."""
    if d.get("layout") != LAYOUT:
        return None
    try:
        life = d.get("life_cycle")
        return ModelPackage(
            version=int(d["version"]),
            arn=str(d["arn"]),
            group=str(d["group"]),
            approval_status=ApprovalStatus(d["approval_status"]),
            created_at=datetime.fromisoformat(str(d["created_at"])),
            approval_description=d.get("approval_description"),
            metrics={str(k): float(v) for k, v in (d.get("metrics") or {}).items()},
            artifact_uri=str(d.get("artifact_uri") or ""),
            artifact_sha256=str(d.get("artifact_sha256") or ""),
            lineage={str(k): str(v) for k, v in (d.get("lineage") or {}).items()},
            modified_by=str(d.get("modified_by") or ""),
            life_cycle=None if life is None else LifeCycle(str(life[0]), str(life[1]), str(life[2])),
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        log.warning("ignoring an unreadable stored model version %r: %s", d.get("arn"), exc)
        return None
