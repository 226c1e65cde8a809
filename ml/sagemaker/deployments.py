"""Did an endpoint update take? SageMaker's silent auto-rollback, and the alarms that caused it.

A blue/green ``UpdateEndpoint`` guarded by ``AutoRollbackConfiguration`` alarms does not fail when an
alarm fires: SageMaker shifts traffic back and the endpoint is ``InService`` again on the *old*
``EndpointConfigName``. The only sign is that the config in service is not the one requested. This
module makes that comparison and names the alarms that fired, read from CloudWatch
(``DescribeAlarms``, then ``DescribeAlarmHistory`` for alarms that fired and cleared again during the
update) and from the endpoint's ``FailureReason``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ml.platform import Environment, RolledBack
from ml.sagemaker import naming
from ml.sagemaker.errors import translate_error

logger = logging.getLogger(__name__)

#: How a reader names who undid the update.
ROLLED_BACK_BY = "SageMaker"
_ALARM = "ALARM"


def guarding_alarms(description: Mapping[str, Any], configured: Sequence[str]) -> tuple[str, ...]:
    """The alarms that watched the endpoint's last update: as SageMaker recorded them, else as configured."""
    last = description.get("LastDeploymentConfig")
    rollback = last.get("AutoRollbackConfiguration") if isinstance(last, Mapping) else None
    alarms = rollback.get("Alarms") if isinstance(rollback, Mapping) else None
    recorded = [
        str(alarm["AlarmName"])
        for alarm in (alarms if isinstance(alarms, list) else [])
        if isinstance(alarm, Mapping) and alarm.get("AlarmName")
    ]
    return tuple(dict.fromkeys(recorded or configured))


def fired_alarms(cloudwatch: Any, names: Sequence[str], since: datetime | None) -> tuple[str, ...]:
    """Those of ``names`` in ALARM now, or that went into ALARM after ``since``; in the order given.

    Best effort: when CloudWatch cannot be read the rollback is still reported, without alarm names.
    """
    return tuple(fired_alarm_reasons(cloudwatch, names, since))


def fired_alarm_reasons(cloudwatch: Any, names: Sequence[str], since: datetime | None) -> dict[str, str]:
    """``fired_alarms`` with each alarm's ``StateReason`` (the values that tripped it), in the order given."""
    if not names:
        return {}
    try:
        response = cloudwatch.describe_alarms(
            AlarmNames=list(names), AlarmTypes=["MetricAlarm", "CompositeAlarm"], MaxRecords=100
        )
    except (ClientError, BotoCoreError) as exc:
        logger.warning("Cannot tell which rollback alarm fired: %s", translate_error(exc, "rollback alarms"))
        return {}
    fired: dict[str, str] = {}
    for alarm in [*response.get("MetricAlarms", []), *response.get("CompositeAlarms", [])]:
        name = str(alarm.get("AlarmName", ""))
        if alarm.get("StateValue") == _ALARM:
            fired[name] = str(alarm.get("StateReason") or "")
            continue
        changed = alarm.get("StateUpdatedTimestamp")
        # An alarm that fired and cleared again during the update changed state since it began.
        if (
            since is not None
            and isinstance(changed, datetime)
            and changed >= since
            and _went_into_alarm(cloudwatch, name, since)
        ):
            fired[name] = ""
    return {name: fired[name] for name in names if name in fired}


def _went_into_alarm(cloudwatch: Any, name: str, since: datetime) -> bool:
    try:
        response = cloudwatch.describe_alarm_history(
            AlarmName=name, HistoryItemType="StateUpdate", StartDate=since, MaxRecords=100
        )
    except (ClientError, BotoCoreError) as exc:
        logger.warning(
            "Cannot read the history of alarm %s: %s", name, translate_error(exc, f"alarm '{name}'")
        )
        return False
    for item in response.get("AlarmHistoryItems", []):
        try:
            data = json.loads(str(item.get("HistoryData") or "{}"))
        except ValueError:
            continue
        new_state = data.get("newState") if isinstance(data, dict) else None
        if isinstance(new_state, dict) and new_state.get("stateValue") == _ALARM:
            return True
    return False


def alarms_named_in(reason: str | None, names: Sequence[str]) -> tuple[str, ...]:
    """Guarding alarms that SageMaker's ``FailureReason`` names."""
    if not reason:
        return ()
    return tuple(name for name in names if name in reason)


def _alarm_said(name: str, state_reason: str) -> str:
    return f"alarm {name} fired: {state_reason}" if state_reason else f"alarm {name} fired"


def rolled_back(
    *,
    environment: Environment,
    final: Mapping[str, Any],
    requested_config: str,
    cloudwatch: Any,
    configured_alarms: Sequence[str],
    since: datetime | None,
) -> RolledBack | None:
    """A ``RolledBack`` when the endpoint ended ``InService`` on a config other than ``requested_config``.

    ``final`` is the endpoint's description once it stopped changing; ``since`` is when the update began.
    """
    serving_config = str(final.get("EndpointConfigName") or "")
    if final.get("EndpointStatus") != "InService" or serving_config == requested_config:
        return None
    endpoint = str(final.get("EndpointName") or "")
    requested = naming.parse_config_name(endpoint, requested_config)
    serving = naming.parse_config_name(endpoint, serving_config)
    reason = str(final.get("FailureReason") or "") or None
    guards = guarding_alarms(final, configured_alarms)
    reasons = fired_alarm_reasons(cloudwatch, guards, since)
    fired = tuple(reasons) + tuple(n for n in alarms_named_in(reason, guards) if n not in reasons)
    version = requested[0] if requested else 0
    why = (
        "; ".join(_alarm_said(name, reasons.get(name, "")) for name in fired)
        if fired
        else (reason or "the new fleet did not pass its checks")
    )
    now = f"v{serving[0]}" if serving else f"config {serving_config}"
    return RolledBack(
        f"{ROLLED_BACK_BY} rolled back v{version} on {endpoint} ({why}); it still serves {now}",
        environment=environment,
        requested_version=version,
        serving_version=serving[0] if serving else None,
        requested_config=requested_config,
        serving_config=serving_config,
        rolled_back_by=ROLLED_BACK_BY,
        alarms=fired,
        reason=reason,
    )
