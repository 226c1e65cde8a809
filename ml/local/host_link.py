"""How the platform reaches its endpoint host, in this process or its own: nudge it, read its status."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ml.clock import Clock
from ml.platform import PlatformError

from .capture import CaptureSettings
from .endpoint_host import EndpointHost
from .host_process import ensure_host_process, host_status, live_host


class HostLink:
    def __init__(
        self,
        home: Path,
        host: EndpointHost | None,
        *,
        port: int,
        clock: Clock,
        capture: CaptureSettings | None,
    ) -> None:
        self._home = home
        self.host = host
        self._port = port
        self._clock = clock
        self._capture = capture

    def nudge(self) -> dict[str, Any] | None:
        """Make the host serve what the database says now (loading what it must); the status of a host
        process after it synced (None for a host in this process: read it with ``status`` if needed).

        A host process is told over HTTP (``POST /sync``) and answers once it has synced, so a weight
        change takes effect at once rather than at its next 200 ms poll. Starts a host if none runs.
        """
        if self.host is not None:
            self.host.sync()
            return None
        record = ensure_host_process(self._home, port=self._port, clock=self._clock, capture=self._capture)
        request = urllib.request.Request(f"{record.url}/sync", data=b"", method="POST")  # noqa: S310 - http only
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - http only
                data = json.loads(response.read())
        except (OSError, ValueError, urllib.error.URLError) as exc:
            raise PlatformError(f"the endpoint host at {record.url} did not take the change: {exc}") from exc
        return data if isinstance(data, dict) else {}

    def status(self) -> dict[str, Any]:
        """The host's status, or {} when no host runs (reading never starts one)."""
        if self.host is not None:
            return self.host.status()
        record = live_host(self._home)
        return (host_status(record.url) or {}) if record is not None else {}


def endpoint_entry(status: dict[str, Any], name: str) -> dict[str, Any]:
    entry = (status.get("endpoints") or {}).get(name)
    return entry if isinstance(entry, dict) else {}


def variant_entry(status: dict[str, Any], endpoint: str, variant: str) -> dict[str, Any]:
    for item in endpoint_entry(status, endpoint).get("variants") or []:
        if isinstance(item, dict) and item.get("name") == variant:
            return item
    return {}
