"""The local rollout guard: SageMaker's alarm-based auto-rollback, on one machine.

SageMaker watches an update's ``AutoRollbackConfiguration`` alarms while the new fleet bakes; if one
is in ALARM it shifts traffic back, and the endpoint is ``InService`` again on its old config with no
error at all. The local platform does the same with the alarms named in its ``rollback_alarm_names``,
whose states live in ``home/alarms.json``::

    {"mlops-xgboost-production-5xx": {"state": "ALARM", "reason": "5xx above 1%", "updated_at": "..."}}

``set_alarm`` (or ``python -m ml.local set-alarm``) changes a state. Once an update serves the new
model, the guard reads the states: with a guarding alarm in ALARM, the endpoint goes back to the
version and config it had, the host serves the old model again, and ``deploy``/``rollback`` raise
``RolledBack`` as the SageMaker platform does. The rollback is remembered in the registry's ``meta``
table, so ``rolled_back_update`` can answer for a caller that is gone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ml.clock import SYSTEM_CLOCK, Clock
from ml.platform import Environment, InvalidRequest, RolledBack

from .registry import EndpointRow, Registry

ALARMS_FILE = "alarms.json"
ALARM_STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
#: How a reader names who undid the update.
ROLLED_BACK_BY = "the local rollout guard"
_META_KEY = "rolled-back:"


def alarm_states(home: Path) -> dict[str, dict[str, Any]]:
    """Every alarm's state as recorded in ``home/alarms.json`` (an absent file: no alarms)."""
    try:
        data = json.loads((Path(home) / ALARMS_FILE).read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise InvalidRequest(f"{Path(home) / ALARMS_FILE} is not readable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidRequest(f"{Path(home) / ALARMS_FILE} must hold a JSON object of alarm states")
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def set_alarm(home: Path, name: str, state: str, reason: str = "", clock: Clock = SYSTEM_CLOCK) -> None:
    """Record ``name``'s state (OK, ALARM or INSUFFICIENT_DATA), as CloudWatch's SetAlarmState does."""
    if state not in ALARM_STATES:
        raise InvalidRequest(f"alarm state {state!r} is not one of: {', '.join(ALARM_STATES)}")
    if not name.strip() or len(name) > 255:
        raise InvalidRequest("an alarm name is 1 to 255 characters")
    if not Path(home).is_dir():
        raise InvalidRequest(f"{home} is not a platform home (no such directory)")
    states = alarm_states(home)
    states[name] = {"state": state, "reason": reason[:1023], "updated_at": clock.now().isoformat()}
    path = Path(home) / ALARMS_FILE
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(states, indent=2) + "\n")
    os.replace(tmp, path)


def fired(home: Path, guarding: Sequence[str]) -> tuple[str, ...]:
    """The guarding alarms in ALARM now, in the order given."""
    if not guarding:
        return ()
    states = alarm_states(home)
    return tuple(name for name in guarding if states.get(name, {}).get("state") == "ALARM")


def reason(home: Path, alarms: Sequence[str]) -> str:
    states = alarm_states(home)
    parts = [
        f"{name} ({states[name]['reason']})" if states.get(name, {}).get("reason") else name
        for name in alarms
    ]
    return f"Auto rollback: alarm {', '.join(parts)} in ALARM while the update baked"


def revert(
    registry: Registry,
    before: EndpointRow,
    *,
    version: int,
    config_name: str,
    alarms: Sequence[str],
    why: str,
    rolled_back_by: str = ROLLED_BACK_BY,
    cause: str | None = None,
) -> tuple[EndpointRow, RolledBack]:
    """Put the endpoint back on the version and config it had, InService, and remember the rollback;
    returns the endpoint and the ``RolledBack`` its caller raises once the old model serves again.

    Its variants go too: all traffic is back on the one version it served. ``why`` becomes the
    endpoint's failure reason; ``cause`` (default ``why``) is what the remembered rollback reports."""
    record = {
        "version": version,
        "config_name": config_name,
        "alarms": list(alarms),
        "reason": why if cause is None else cause,
        "serving_config": before.config_name,
        "rolled_back_by": rolled_back_by,
    }
    with registry.transaction() as conn:
        conn.execute("DELETE FROM endpoint_variants WHERE endpoint = ?", (before.name,))
        conn.execute(
            "UPDATE endpoints SET status = 'InService', config_name = ?, target_version = NULL, "
            "target_model_dir = NULL, failure_reason = ?, updated_at = ?, owner = NULL, "
            "generation = generation + 1 WHERE name = ?",
            (before.config_name, why, registry.clock.now().isoformat(), before.name),
        )
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            (_META_KEY + before.name, json.dumps(record)),
        )
    back = registry.require_endpoint(before.name)
    return back, rolled_back(before.environment, back, record)


def rolled_back(environment: Environment, row: EndpointRow, record: dict[str, Any]) -> RolledBack:
    version = int(record["version"])
    alarms = tuple(str(a) for a in record.get("alarms", []))
    why = str(record.get("reason") or "") or None
    by = str(record.get("rolled_back_by") or ROLLED_BACK_BY)
    cause = f"alarm {', '.join(alarms)} fired" if alarms else (why or "rolled back")
    return RolledBack(
        f"{by} rolled back v{version} on {row.name} ({cause}); it still serves v{row.version}",
        environment=environment,
        requested_version=version,
        serving_version=row.version,
        requested_config=str(record["config_name"]),
        serving_config=row.config_name,
        rolled_back_by=by,
        alarms=alarms,
        reason=why,
    )


def last_rollback(registry: Registry, environment: Environment, name: str, version: int) -> RolledBack | None:
    """The guard's rollback of the newest update of ``name``, if it was towards ``version``."""
    row = registry.get_endpoint(name)
    with registry.transaction() as conn:
        found = conn.execute("SELECT value FROM meta WHERE key = ?", (_META_KEY + name,)).fetchone()
    if row is None or found is None:
        return None
    record = json.loads(found["value"])
    # Still on the config the guard went back to: no update has happened since.
    if int(record["version"]) != version or row.config_name != record.get("serving_config"):
        return None
    if str(row.status) != "InService":
        return None
    return rolled_back(environment, row, record)
