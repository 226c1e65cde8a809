"""Instant rollback on the local platform: the replaced version stays loaded at weight 0 for a while.

After a promote (with warm rollback on) the endpoint keeps two variants: the promoted one with all the
traffic and the one it replaced (``warm``) until its window ends. A rollback to the warm version moves
the weights at once, loading nothing; the variant rolled away from becomes the warm one. Once the window
has ended, ``retire`` unloads the warm variant and a rollback loads the model again.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

from ml.clock import Clock
from ml.platform import EndpointStatus, Environment
from ml.rollout_state import RollbackPath, WarmStandby

from .announcer import Announcer
from .host_link import HostLink
from .registry import EndpointRow, Registry, VariantRow


def warm_variant(registry: Registry, clock: Clock, name: str) -> VariantRow | None:
    """The endpoint's warm variant while its window lasts."""
    now = clock.now()
    return next(
        (
            v
            for v in registry.variants(name)
            if v.role == "warm" and v.warm_until is not None and v.warm_until > now
        ),
        None,
    )


def shift_back(
    *,
    registry: Registry,
    announce: Announcer,
    link: HostLink,
    clock: Clock,
    window: timedelta | None,
    name: str,
    version: int,
    deployed_by: str,
) -> EndpointRow | None:
    """Serve the warm ``version`` by moving the weights (None when it is not warm): no model loads."""
    warm = warm_variant(registry, clock, name)
    row = registry.get_endpoint(name)
    if warm is None or warm.version != version or row is None or row.status is not EndpointStatus.IN_SERVICE:
        return None
    now = clock.now()
    until = now + window if window is not None else warm.warm_until
    variants = [
        dataclasses.replace(warm, weight=100, role="new", warm_until=None)
        if v.name == warm.name
        else dataclasses.replace(v, weight=0, role="warm", warm_until=until)
        for v in registry.variants(name)
    ]
    config_name = f"{name}-v{version}-{now.strftime('%Y%m%d%H%M%S%f')[:17]}"
    registry.shift_to_warm(name, warm, variants, config_name, deployed_by)
    link.nudge()
    done = registry.require_endpoint(name)
    announce.endpoint(done)
    announce.deployment(done, EndpointStatus.IN_SERVICE, [(v.name, v.weight, v.weight) for v in variants])
    return done


def path(registry: Registry, clock: Clock, name: str, version: int) -> RollbackPath:
    warm = warm_variant(registry, clock, name)
    if warm is not None and warm.version == version and warm.warm_until is not None:
        until = warm.warm_until.strftime("%H:%M UTC")
        detail = f"shifts all traffic back to the warm v{version} at once (kept warm until {until})"
        return RollbackPath(version, warm=True, detail=detail)
    return RollbackPath(version, warm=False, detail=f"loads v{version} again on the endpoint host")


def standby(registry: Registry, clock: Clock, environment: Environment, name: str) -> WarmStandby | None:
    warm = warm_variant(registry, clock, name)
    if warm is None or warm.warm_until is None:
        return None
    model = Path(warm.model_dir) / "xgboost-model"
    size = model.stat().st_size if model.is_file() else 0
    cost = f"no instance cost locally; its model stays loaded in the endpoint host ({_size(size)})"
    return WarmStandby(environment, warm.version, warm.warm_until, cost)


def retire(registry: Registry, link: HostLink, clock: Clock, name: str) -> bool:
    """Unload the warm variant once its window has ended; True when there was one to unload."""
    now = clock.now()
    variants = registry.variants(name)
    expired = [v for v in variants if v.role == "warm" and (v.warm_until is None or v.warm_until <= now)]
    if not expired:
        return False
    kept = [v for v in variants if v not in expired]
    # One variant left serves as the endpoint's one version again (``AllTraffic``).
    registry.set_variants(name, kept if len(kept) > 1 else [])
    link.nudge()
    return True


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB"
    return f"{max(1, round(size / 1024))} KB"
