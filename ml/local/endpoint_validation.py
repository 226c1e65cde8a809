"""Staging validation of a local endpoint: ``ml.validate`` through the endpoint host's runtime API."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from ml.clock import Clock
from ml.platform import EndpointInfo
from ml.validate import DEFAULT_ROWS, runtime_invoker, validate_endpoint

__all__ = ["DEFAULT_ROWS", "LOCAL_CREDENTIALS", "validate_served"]

#: The local endpoint host checks no signature: any fixed credentials will do.
LOCAL_CREDENTIALS = ("local", "local")


def validate_served(
    info: EndpointInfo, url: str, threshold: float, clock: Clock, *, rows: int = DEFAULT_ROWS
) -> dict[str, Any]:
    """Validate what ``info``'s endpoint serves on the host at ``url`` with ``rows`` held-out rows."""
    report = validate_endpoint(
        runtime_invoker(info.name, url, "us-east-1", credentials=LOCAL_CREDENTIALS),
        threshold=threshold,
        sample_size=rows,
        ping=lambda: _ping(url, info.name),
        endpoint=info.name,
        clock=clock,
    )
    report["model_version"] = info.version
    return report


def _ping(url: str, endpoint: str) -> bool:
    request = urllib.request.Request(f"{url}/ping", headers={"X-Endpoint": endpoint})  # noqa: S310 - http only
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False
