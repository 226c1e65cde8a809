"""Lenient field types for EventBridge details: times, numbers and strings as AWS really sends them.

Real events are looser than their documentation: times come as ISO 8601 strings
(``Z``, ``+00:00`` or ``+0000``) or as epoch milliseconds (numbers or numeric strings),
numbers sometimes come as strings (``"ModelPackageVersion": "3"``), optional fields come
and go, and optional sub-objects may have an unexpected shape. These types accept all of
that; only a missing or unreadable key field makes an event malformed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict


class EventError(ValueError):
    """A malformed event; the message says what is wrong with it."""


class AwsModel(BaseModel):
    """A part of an event: fields by their AWS names (aliases) or Python names; unknown fields kept out."""

    # Validators are built with the first event parsed, not at import: Slack-only cold starts skip them.
    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="ignore", defer_build=True)


def parse_time(value: Any) -> datetime | None:
    """A UTC time from an ISO 8601 string or epoch seconds/milliseconds (number or numeric string)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, str):
        text = value.strip()
        try:
            number: float | None = float(text)
        except ValueError:
            number = None
        if number is None:
            if text.endswith(("Z", "z")):
                text = text[:-1] + "+00:00"
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                raise EventError(f"unreadable time {value!r}") from None
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        value = number
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise EventError(f"unreadable time {value!r}")
        # Epoch seconds stay below 1e11 until the year 5138; milliseconds are above it since 1973.
        try:
            seconds = value / 1000 if value >= 1e11 else value
            return datetime.fromtimestamp(seconds, UTC)
        except (ValueError, OverflowError, OSError):  # beyond the years a datetime can hold
            raise EventError(f"unreadable time {value!r}") from None
    raise EventError(f"unreadable time {value!r}")


def to_int(value: Any, name: str) -> int | None:
    """An integer from a number or numeric string (``3``, ``"3"``, ``3.0``)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise EventError(f"{name} must be a number, not {value!r}")
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise EventError(f"{name} must be a number, not {value!r}") from None
    if not number.is_integer():
        raise EventError(f"{name} must be a whole number, not {value!r}")
    return int(number)


def loose_str(value: Any) -> Any:
    """Numbers as text, empty strings as absent; anything else is left for the type to judge."""
    if value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _optional_text(value: Any) -> str | None:
    value = loose_str(value)
    return value if isinstance(value, str) else None  # an odd optional field is dropped, not fatal


def _object_or_none(value: Any) -> Any:
    return value if isinstance(value, Mapping) else None


def _objects(value: Any) -> list[Any]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _tags(value: Any) -> dict[str, str]:
    """Tags arrive as a mapping or as a list of ``{"Key": ..., "Value": ...}``."""
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, list):
        return {
            str(t.get("Key", t.get("key"))): str(t.get("Value", t.get("value", "")))
            for t in value
            if isinstance(t, Mapping) and (t.get("Key") or t.get("key"))
        }
    return {}


_E = TypeVar("_E", bound=Enum)


def enum_or_raw(enum_type: type[_E]) -> Callable[[Any], _E | str | None]:
    """A known status as its enum; one this code does not know yet is kept as text, not refused."""

    def convert(value: Any) -> _E | str | None:
        value = loose_str(value)
        if value is None or isinstance(value, enum_type):
            return value
        try:
            return enum_type(value)
        except ValueError:
            return value if isinstance(value, str) else None

    return convert


#: A required string: a number is accepted as its text, an empty string counts as missing.
Text = Annotated[str, BeforeValidator(loose_str)]
#: An optional string: absent, empty or of another type reads as None.
OptionalText = Annotated[str | None, BeforeValidator(_optional_text)]
#: A time in any of the formats AWS uses; unreadable ones are refused with the value.
Time = Annotated[datetime | None, BeforeValidator(parse_time)]
#: A tag map from either of the two shapes AWS uses.
Tags = Annotated[dict[str, str], BeforeValidator(_tags)]
#: An optional sub-object: one of another shape reads as absent.
OBJECT_OR_NONE = BeforeValidator(_object_or_none)
#: A list of sub-objects: entries of another shape are skipped.
OBJECTS = BeforeValidator(_objects)


def arn_name(arn: str | None, resource: str) -> str | None:
    """``my-pipeline`` from ``arn:aws:sagemaker:r:a:pipeline/my-pipeline[/execution/x]``."""
    if not arn:
        return None
    _, sep, rest = arn.partition(f":{resource}/")
    return rest.split("/", 1)[0] if sep else None


def execution_suffix(execution_arn: str) -> str:
    return execution_arn.rstrip("/").rsplit("/", 1)[-1]
