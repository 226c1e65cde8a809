"""The request a lazy listener gets: Bolt's independent copy, without copying what is safe to share.

Bolt hands each lazy function a deep copy of the request, made by parsing the raw body again and
then deep-copying the whole request, context included: its Web API client (with its logger,
headers and retry handlers) is most of that copy's cost, paid inside the acknowledgement. The
client in a request's context is that request's own (Bolt builds one per request), and the ack half
is done with it when the lazy work starts, so the copy shares it, the app's logger, and the senders
built on them (``say``, ``respond``, ``complete``, ``fail``: they keep no state of their own); the
body, headers, query and every other context value (``ack`` included, which records its answer) are
still deep-copied, so the lazy work can change nothing the ack side or another lazy function sees.

Bolt also wires each lazy function's arguments (by inspecting its signature) before handing it to
the executor, inside the acknowledgement; here that is done by the executor's thread.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from logging import Logger
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest
from slack_bolt.lazy_listener.internals import build_runnable_function
from slack_bolt.lazy_listener.thread_runner import ThreadLazyListenerRunner
from slack_bolt.listener.thread_runner import ThreadListenerRunner

log = logging.getLogger(__name__)

__all__ = ["DeferredLazyListenerRunner", "SharedClientListenerRunner", "install"]

#: Context values the copy shares instead of copying (see the module's docstring).
SHARED = ("client", "logger", "say", "respond", "complete", "fail")


def _json_copy(body: Any) -> Any:
    """A deep copy of a parsed Slack body; JSON data copies fastest through the C encoder."""
    try:
        return json.loads(json.dumps(body))
    except (TypeError, ValueError):  # not plain JSON data (a Socket Mode body may hold anything)
        return copy.deepcopy(body)


def lazy_copy(request: BoltRequest) -> BoltRequest:
    """What Bolt's ``create_copy(request.to_copyable())`` gives, sharing only ``SHARED``."""
    memo: dict[int, Any] = {}
    for name in SHARED:
        value = request.context.get(name)
        if value is not None:
            memo[id(value)] = value  # deepcopy returns what its memo already holds
    context = BoltContext()
    for name, value in request.context.items():
        if name in BoltContext.non_copyable_standard_property_names:
            continue
        try:
            context[name] = copy.deepcopy(value, memo)
        except TypeError as exc:  # as Bolt does: such a value is left out of the lazy request
            log.warning("left %r out of a lazy listener's request: it cannot be copied (%s)", name, exc)
    copied = copy.copy(request)
    copied.body = _json_copy(request.body)
    copied.query = {key: list(values) for key, values in request.query.items()}
    copied.headers = {key: list(values) for key, values in request.headers.items()}
    copied.context = context
    return copied


class SharedClientListenerRunner(ThreadListenerRunner):
    """Bolt's listener runner, building each lazy request with ``lazy_copy``."""

    def _build_lazy_request(self, request: BoltRequest, lazy_func_name: str) -> BoltRequest:
        copied = lazy_copy(request)
        copied.lazy_only = True
        copied.lazy_function_name = lazy_func_name
        # not copyable, so set for the other thread (as Bolt's own runner does)
        copied.context["listener_runner"] = self
        if request.context.get_thread_context is not None:
            copied.context["get_thread_context"] = request.context.get_thread_context
        if request.context.save_thread_context is not None:
            copied.context["save_thread_context"] = request.context.save_thread_context
        return copied


def _run_lazy(function: Callable[..., None], logger: Logger, request: BoltRequest) -> None:
    build_runnable_function(func=function, logger=logger, request=request)()


class DeferredLazyListenerRunner(ThreadLazyListenerRunner):
    """Bolt's thread runner for lazy functions, wiring each function's arguments in its own thread."""

    def start(self, function: Callable[..., None], request: BoltRequest) -> None:
        self.executor.submit(_run_lazy, function, self.logger, request)


def install(app: App) -> SharedClientListenerRunner:
    """Replace ``app``'s listener runner by a ``SharedClientListenerRunner`` with the same parts, and
    Bolt's thread runner of lazy functions (not another runtime's, such as Lambda's) by a
    ``DeferredLazyListenerRunner`` on the same executor."""
    runner = app.listener_runner
    lazy = runner.lazy_listener_runner
    if type(lazy) is ThreadLazyListenerRunner:
        lazy = DeferredLazyListenerRunner(lazy.logger, lazy.executor)
    shared = SharedClientListenerRunner(
        logger=runner.logger,
        process_before_response=runner.process_before_response,
        listener_error_handler=runner.listener_error_handler,
        listener_start_handler=runner.listener_start_handler,
        listener_completion_handler=runner.listener_completion_handler,
        listener_executor=runner.listener_executor,
        lazy_listener_runner=lazy,
    )
    app._listener_runner = shared  # Bolt has no setter; App.dispatch and every adapter read this one
    return shared
