"""The loop of the local platform's worker threads: take work off a queue until told to stop."""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def consume(work: queue.Queue[T | None], handle: Callable[[T], None]) -> None:
    """Hand each item to ``handle``, in order, until the ``None`` that asks the thread to stop."""
    while True:
        item = work.get()
        if item is None:
            return
        handle(item)
