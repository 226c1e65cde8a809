"""The EventBridge envelope every event shares, and the request body that carries one or many."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field, model_validator

from .fields import AwsModel, EventError, parse_time

#: An EventBridge entry is at most 256 KB; a batch of them stays well under this.
MAX_BODY_BYTES = 1024 * 1024


def _time_or_none(value: Any) -> datetime | None:
    try:
        return parse_time(value)
    except EventError:
        return None  # the envelope time is informational; a bad one must not lose the event


class EventBridgeEvent(AwsModel):
    """An event as EventBridge delivers it; ``detail`` stays a mapping for sources not modelled."""

    #: Set on the typed subclasses, one per (source, detail-type) understood.
    SOURCE: ClassVar[str | None] = None
    DETAIL_TYPE: ClassVar[str | None] = None

    version: str = "0"
    id: str
    source: str
    detail_type: str = Field(alias="detail-type")
    account: str = ""
    time: Annotated[datetime | None, BeforeValidator(_time_or_none)] = None
    region: str = ""
    resources: tuple[str, ...] = ()
    replay_name: str | None = Field(default=None, alias="replay-name")
    detail: Any

    @model_validator(mode="before")
    @classmethod
    def _envelope(cls, raw: Any) -> Any:
        return raw if isinstance(raw, EventBridgeEvent) else check_envelope(cls, raw)

    @property
    def known(self) -> bool:
        """True for the typed events: a (source, detail-type) this package models."""
        return self.DETAIL_TYPE is not None


def check_envelope(cls: type[EventBridgeEvent], raw: Any) -> dict[str, Any]:
    """The envelope checked, with a JSON-encoded detail decoded: the same refusals for every model."""
    if not isinstance(raw, Mapping):
        raise EventError(f"an event must be a JSON object, not {type(raw).__name__}")
    raw = dict(raw)
    if "detail-type" not in raw and "detail_type" in raw:  # built in code, by field name
        raw["detail-type"] = raw.pop("detail_type")
    if cls.DETAIL_TYPE is not None:  # a typed event built in code may leave its constants out
        raw.setdefault("source", cls.SOURCE)
        raw.setdefault("detail-type", cls.DETAIL_TYPE)
    problems = [k for k in ("id", "source", "detail-type") if not isinstance(raw.get(k), str) or not raw[k]]
    if problems:
        raise EventError(f"event lacks {', '.join(problems)}")
    detail = raw.get("detail")
    if isinstance(detail, str):  # some relays forward the detail JSON-encoded
        try:
            detail = json.loads(detail)
        except json.JSONDecodeError as exc:
            raise EventError(f"event {raw['id']}: detail is not JSON: {exc.msg}") from None
        except RecursionError:
            raise EventError(f"event {raw['id']}: detail is nested too deeply") from None
    if not isinstance(detail, Mapping | AwsModel):
        raise EventError(f"event {raw['id']}: detail must be a JSON object")
    resources = raw.get("resources") or []
    if not isinstance(resources, list | tuple):
        raise EventError(f"event {raw['id']}: resources must be a list")
    return {
        **raw,
        "detail": detail if isinstance(detail, AwsModel) else dict(detail),
        "resources": [str(r) for r in resources],
        "account": str(raw.get("account") or ""),
        "region": str(raw.get("region") or ""),
        "version": str(raw.get("version") or "0"),
    }


def parse_body(body: bytes) -> list[Any]:
    """The events of a request body: one event object or a JSON list of them."""
    if len(body) > MAX_BODY_BYTES:
        raise EventError(f"body of {len(body)} bytes exceeds {MAX_BODY_BYTES}")
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EventError(f"body is not JSON: {exc}") from None
    except RecursionError:
        raise EventError("body is nested too deeply") from None
    events = data if isinstance(data, list) else [data]
    if not events:
        raise EventError("body is an empty list")
    return events
