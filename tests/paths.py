"""Where the tests find the project and the sample events (one folder, as AWS and GitHub send them)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "tests" / "events"


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of the sample event ``tests/events/<name>``."""
    data: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return copy.deepcopy(data)
