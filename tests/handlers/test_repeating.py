"""The timer under the scheduled drift check and the scheduled approval work."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest

from handlers.repeating import Repeating


class Rounds(Repeating):
    def __init__(self) -> None:
        super().__init__(timedelta(0), "test-rounds")
        self.count = 0
        self.second = threading.Event()

    def round(self) -> object:
        self.count += 1
        if self.count == 1:
            raise RuntimeError("the first round fails")
        self.second.set()
        return None


def test_a_failing_round_is_logged_and_the_next_one_runs(caplog: pytest.LogCaptureFixture) -> None:
    timer = Rounds()
    with caplog.at_level(logging.ERROR, logger="handlers.repeating"):
        timer.start()
        timer.start()  # started once only
        try:
            assert timer.second.wait(20)
        finally:
            timer.close(timeout=5)
    assert "test-rounds failed" in caplog.text and "the first round fails" in caplog.text
    assert timer._thread is not None and not timer._thread.is_alive()
    assert threading.active_count() == len([t for t in threading.enumerate() if t.name != "test-rounds"])
