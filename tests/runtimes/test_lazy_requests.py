"""The request a lazy listener gets: independent of the ack's, sharing only the Web API client and logger."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import BoltContext, BoltRequest

from runtimes import lazy_requests
from runtimes.lazy_requests import DeferredLazyListenerRunner, SharedClientListenerRunner, lazy_copy
from runtimes.slack_local import LocalSlack
from tests.conftest import Closer
from tests.handlers.conftest import (  # noqa: F401  (the handlers' Slack users)
    Harness,
    drain,
    local_slack_options,
    make_harness,
    make_services,
)


@pytest.fixture
def acking_inline(tmp_path: Path, local_slack: LocalSlack, close_later: Closer) -> Iterator[Harness]:
    """The app as the HTTP runtime and Lambda run it: acks inline, slow work in lazy listeners."""
    services = make_services(tmp_path / "home")
    h = make_harness(local_slack, services, process_before_response=True)
    try:
        yield h
    finally:
        drain(h.app, services)
        close_later(services.close)


def test_lazy_work_gets_its_own_request_with_the_acks_client(
    acking_inline: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = acking_inline
    assert isinstance(h.app.listener_runner, SharedClientListenerRunner)
    copies: list[tuple[BoltRequest, BoltRequest]] = []

    def recording(request: BoltRequest) -> BoltRequest:
        copied = lazy_copy(request)
        copies.append((request, copied))
        return copied

    monkeypatch.setattr(lazy_requests, "lazy_copy", recording)
    response = h.command("status", user="UCAROL")
    assert response.status == 200
    # the lazy half answered through the response URL, from the copied request
    assert h.wait_responses(1)[0]["text"]
    [(original, copied)] = copies
    assert copied.lazy_only and copied.lazy_function_name == "mlops_run"
    assert copied.context["client"] is original.context["client"]
    assert copied.context["logger"] is original.context["logger"]
    assert copied.context["listener_runner"] is h.app.listener_runner
    assert copied.body == original.body and copied.body is not original.body
    assert copied.headers == original.headers and copied.headers is not original.headers
    assert copied.context["actor"] == original.context["actor"]
    for sender in ("say", "respond"):  # they keep no state: shared, as the client they send through
        assert copied.context[sender] is original.context[sender]
    assert copied.context["ack"] is not original.context["ack"]  # it records its answer: copied
    copied.body["text"] = "changed"
    copied.context["user_id"] = "UOTHER"
    assert original.body["text"] == "status" and original.context["user_id"] == "UCAROL"


def test_an_uncopyable_context_value_is_left_out_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    request = BoltRequest(
        body={"type": "block_actions", "nested": {"list": [1, 2]}},
        headers={"content-type": "application/json"},
        context={"lock": threading.Lock(), "kept": {"a": [1]}},
        mode="socket_mode",
    )
    shared_client = object()
    request.context["client"] = shared_client
    with caplog.at_level(logging.WARNING, logger="runtimes.lazy_requests"):
        copied = lazy_copy(request)
    assert "lock" not in copied.context and "'lock'" in caplog.text
    assert copied.context["kept"] == {"a": [1]} and copied.context["kept"] is not request.context["kept"]
    assert copied.context["client"] is shared_client
    assert isinstance(copied.context, BoltContext)
    copied.body["nested"]["list"].append(3)
    assert request.body["nested"]["list"] == [1, 2]


def test_a_body_that_is_not_json_data_is_still_copied() -> None:
    marker: Any = {1, 2}  # a set: json cannot encode it
    request = BoltRequest(body={"type": "x", "values": marker}, mode="socket_mode")
    copied = lazy_copy(request)
    assert copied.body == {"type": "x", "values": {1, 2}} and copied.body["values"] is not marker


def test_a_lazy_functions_arguments_are_wired_in_the_background_thread(
    acking_inline: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = acking_inline
    assert isinstance(h.app.listener_runner.lazy_listener_runner, DeferredLazyListenerRunner)
    wired_in: list[threading.Thread] = []
    build = lazy_requests.build_runnable_function

    def recording(**kwargs: Any) -> Any:
        wired_in.append(threading.current_thread())
        return build(**kwargs)

    monkeypatch.setattr(lazy_requests, "build_runnable_function", recording)
    assert h.command("status", user="UCAROL").status == 200
    assert h.wait_responses(1)[0]["text"]  # the lazy half ran, with its arguments
    assert len(wired_in) == 1 and wired_in[0] is not threading.current_thread()
