"""What the runtime API's tests serve through: one endpoint's version and container."""

from __future__ import annotations

from dataclasses import dataclass

from ml.local.container import Container


@dataclass
class Served:
    version: int
    container: Container
