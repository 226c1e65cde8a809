"""One chat session's wiring: local Slack, the Bolt app and platform behind it, the acting user, settling."""

from __future__ import annotations

import logging
import os
import secrets
import sys
import threading
import time
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any, Self

from pydantic import SecretStr
from rich.console import RenderableType
from rich.text import Text

from bot.core.models import Role
from bot.settings import ConfigError, Settings
from bot.users import LocalUser, UsersFile, roles_for
from handlers.middleware.roles import GroupDirectory, role_directory
from runtimes.slack_local import LocalSlack
from runtimes.terminal.errors import ShellError
from runtimes.terminal.payloads import signed_headers
from runtimes.terminal.screen import Screen
from runtimes.terminal.tracking import TrackingExecutor, track_listeners
from runtimes.terminal.transcript import TranscriptPrinter

if TYPE_CHECKING:
    from bot.notify import Notifier
    from handlers.drift_watch import DriftWatch
    from handlers.scheduled_work import ScheduledWork

log = logging.getLogger(__name__)

#: Longest a script line waits for background work (pipeline runs, deploys, validations).
SETTLE_TIMEOUT_SECONDS = 900.0
#: At most this long for the local Slack to list the user groups at start-up.
ROLE_LOAD_SECONDS = 30.0
#: How long the transcript must stay unchanged, with nothing running, to count as settled.
QUIET_SECONDS = 0.3
#: Longest wait between two looks at a busy platform or Slack, when no platform event comes sooner.
BUSY_LOOK_SECONDS = 0.1
#: The chat's workspace (channels, messages, ``#N``) under MLOPS_HOME, so that a restart carries on.
WORKSPACE_FILE = "chat.db"
#: where files the bot uploads (the drift card's chart) are kept, as PNGs one can open
FILES_DIR = "files"


class Session:
    """Local platform, local Slack, the Bolt app, and the user acting in the chat."""

    def __init__(
        self,
        settings: Settings,
        *,
        user: str | None = None,
        out: IO[str] | None = None,
        err: IO[str] | None = None,
        color: bool = False,
        interactive: bool = False,
        width: int | None = None,
    ) -> None:
        self.interactive = interactive
        self.screen = Screen(
            out or sys.stdout,
            err or sys.stderr,
            color=color,
            interactive=interactive,
            prompt=lambda: self.prompt,
            width=width,
        )
        self.roster = UsersFile(settings.mlops_home)
        self.users: dict[str, LocalUser] = self.roster.users
        start_user = user or os.environ.get("MLOPS_USER") or next(iter(self.users), "")
        if start_user not in self.users:
            raise ConfigError(self.unknown_user(start_user))
        self.user = self.users[start_user]
        token = "xoxb-local-" + secrets.token_hex(16)
        self.signing_secret = secrets.token_hex(32)
        self.settings = settings.model_copy(
            update={
                "slack_bot_token": SecretStr(token),
                "slack_signing_secret": SecretStr(self.signing_secret),
            }
        )
        channel = settings.mlops_channel
        self.slack = LocalSlack(
            self.users.values(),
            token=token,
            channels=(channel,),
            strict_triggers=True,
            state_file=settings.mlops_home / WORKSPACE_FILE,
            files_dir=settings.mlops_home / FILES_DIR,
        )
        self.channel = self.slack.channel_id(channel)
        self.printer = TranscriptPrinter(
            self.slack,
            self.screen.console,
            viewer=lambda: self.user.id,
            before_print=self.screen.clear_prompt,
            after_print=self.screen.redraw_prompt,
        )
        self.failed = False
        # Any: set in start(); the notifier is attached to it as an extra attribute the listeners look up
        self.services: Any = None
        self.app: Any = None  # slack_bolt.App
        self.listeners: TrackingExecutor | None = None
        self.notifier: Notifier | None = None
        self.drift_watch: DriftWatch | None = None
        self.scheduled_work: ScheduledWork | None = None
        self.roles: GroupDirectory | None = None
        self._started = False
        #: platform events seen so far: what a settle waits on while a pipeline run moves on
        self._platform_moved = threading.Condition()
        self._platform_events = 0

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Self:
        from bot.services import build_services
        from handlers.drift_watch import start_drift_watch
        from handlers.scheduled_work import start_scheduled_work
        from runtimes.assembly import create_app

        self.slack.start()
        self.slack.subscribe(self.printer)
        self.services = build_services(self.settings, host_endpoints_in_process=True)
        try:
            self.services.platform.subscribe(self._on_platform_event)
            client = self.slack.web_client()
            self.notifier = self._notifier(client)
            # The local Slack answers at once: load the user groups before the first line is read,
            # so that a busy machine never shows an early command "roles not known yet".
            self.roles = roles = role_directory(client, self.settings)
            roles.refresh().wait(ROLE_LOAD_SECONDS)
            self.app = create_app(self.services, client=client, roles=roles)
            self.listeners = track_listeners(self.app)
            # Warm up like a server start: the first parameter lookup imports the training
            # stack (seconds), which must not land inside a 3-second acknowledgement.
            self.services.platform.pipeline_parameters()
            self.drift_watch = start_drift_watch(self.services, self.notifier)
            self.scheduled_work = start_scheduled_work(self.services, self.notifier)
        except BaseException:
            self.services.close()
            self.slack.close()
            raise
        self._started = True
        self._say_restored()
        self._say_unheld_roles()
        return self

    def _say_unheld_roles(self) -> None:
        """Roles no local user holds: their buttons refuse everyone, which a log line alone would hide."""
        held = {
            role for user in self.users.values() for role in roles_for(user.groups, self.settings.mlops_roles)
        }
        for role in Role:
            groups = self.settings.mlops_roles.get(role, [])
            if role not in held:
                where = f"user group {', '.join(groups)}" if groups else "no user group (MLOPS_ROLES)"
                self.say(f"nobody in users.json has the {role.value} role ({where})", style="yellow")

    def _say_restored(self) -> None:
        numbers = [m.number for m in self.slack.messages() if m.number]
        if numbers:
            self.say(
                f"#{min(numbers)}–#{max(numbers)}: earlier messages, kept in {self.slack.state_file} "
                "(not shown again; their buttons still work)",
                style="dim",
            )

    def _notifier(self, client: Any) -> Notifier:
        """The notifier the listeners post through, built by the assembly so the shell can wait for it."""
        from runtimes.assembly import build_notifier

        return build_notifier(self.services, client)

    def close(self) -> None:
        if not self._started:
            self.slack.close()  # lets go of the workspace file
            return
        self._started = False
        if self.drift_watch is not None:
            self.drift_watch.close()
        if self.scheduled_work is not None:
            self.scheduled_work.close()
        if self.listeners is not None:
            self.listeners.wait_idle(timeout=30)
            self.listeners.shutdown(wait=True)  # the pool's threads end with the session, not the process
        if self.notifier is not None:
            self.notifier.close(timeout=10)
        self.services.close()
        self.slack.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- who is typing ----------------------------------------------------------------------------
    @property
    def prompt(self) -> Text:
        return Text.assemble((self.user.name, "bold green"), "> ")

    def say(self, text: RenderableType, style: str | None = None) -> None:
        self.screen.say(text, style)

    def error(self, text: str) -> None:
        self.screen.error(text)

    def sync_users(self) -> None:
        """Take in an edit of users.json before the next line runs: users, user groups, roles, people.

        A broken edit is said once and changes nothing: the users from before stay in force.
        """
        check = self.roster.check()
        if check.error is not None:
            self.error(f"{check.error}; the users from before stay in force until it is fixed")
        if not check.changed:
            return
        if not check.users:
            self.error(f"{self.roster.path} lists no users; the users from before stay in force")
            return
        from bot.services import identity_map

        try:
            people = identity_map(self.settings, check.users)
        except ValueError as exc:  # e.g. one identity given to two people
            self.error(f"{self.roster.path}: {exc}; the users from before stay in force until it is fixed")
            return
        self.users = check.users
        self.slack.set_users(check.users.values())
        self.printer.rename({u.id: u.name for u in check.users.values()})
        if self.services is not None:
            self.services.release.identities = people
        if self.roles is not None and not self.roles.reload(ROLE_LOAD_SECONDS):
            self.error("users.json changed, but the new user groups could not be read; roles may be stale")
        self.say(f"users.json changed: {', '.join(check.users)}", style="dim")
        self._say_unheld_roles()
        previous, self.user = self.user, check.users.get(self.user.name) or next(iter(check.users.values()))
        if self.user.name != previous.name:
            self.say(f"{previous.name} is no longer in users.json; now acting as {self.describe(self.user)}")

    def unknown_user(self, name: str) -> str:
        return f"unknown user {name!r}; users: {', '.join(self.users)} (edit users.json to add people)"

    def describe(self, user: LocalUser) -> str:
        roles = sorted(r.value for r in roles_for(user.groups, self.settings.mlops_roles))
        groups = ", ".join(user.groups) or "no groups"
        return f"{user.name} ({groups}; roles: {', '.join(roles) or 'none'})"

    # -- into the app -----------------------------------------------------------------------------
    def dispatch(self, body: str, content_type: str) -> Any:
        """Sign ``body`` as Slack would and dispatch it into the Bolt app; returns Bolt's response."""
        from slack_bolt.request import BoltRequest

        headers: dict[str, str | Sequence[str]] = dict(
            signed_headers(self.signing_secret, body, content_type)
        )
        response = self.app.dispatch(BoltRequest(body=body, headers=headers))
        if response.status == 401:
            raise ShellError("the app rejected the request signature (is the signing secret right?)")
        return response

    # -- settling ---------------------------------------------------------------------------------
    def _on_platform_event(self, _event: object) -> None:
        with self._platform_moved:
            self._platform_events += 1
            self._platform_moved.notify_all()

    def _wait_platform_event(self, seen: int, timeout: float) -> None:
        """Until the platform's next event after ``seen`` (a run moves on in its own thread or process),
        or ``timeout``: Slack calls in flight send no event, so a busy settle still looks again soon."""
        with self._platform_moved:
            self._platform_moved.wait_for(lambda: self._platform_events != seen, timeout)

    def _platform_busy(self) -> bool:
        try:
            return any(not e.status.terminal for e in self.services.platform.list_executions(limit=10))
        except Exception:  # a platform hiccup must not hang the shell; the quiet check still applies
            log.debug("could not list executions while settling", exc_info=True)
            return False

    def settle(self, timeout: float = SETTLE_TIMEOUT_SECONDS) -> bool:
        """Wait until listeners, pipeline runs, platform events and Slack traffic are all idle."""
        deadline = time.monotonic() + timeout
        calm = 0
        flush = getattr(self.services.platform, "flush_events", None)
        while time.monotonic() < deadline:
            remaining = deadline - time.monotonic()
            with self._platform_moved:
                seen = self._platform_events
            if self.listeners is not None and self.listeners.pending > 0:
                calm = 0
                self.listeners.wait_idle(timeout=min(0.2, remaining))
                continue
            if self.notifier is not None and self.notifier.pending() > 0:
                calm = 0
                self.notifier.flush(timeout=min(0.2, remaining))
                continue
            if self._platform_busy() or self.slack.busy:
                calm = 0
                self._wait_platform_event(seen, min(BUSY_LOOK_SECONDS, remaining))
                continue
            if callable(flush):
                flush(timeout=min(10.0, max(remaining, 0.1)))
            if self.slack.wait_quiet(QUIET_SECONDS, timeout=min(5.0, max(remaining, 0.1))):
                calm += 1
                if calm >= 2:
                    return True
        return False


__all__ = ["QUIET_SECONDS", "SETTLE_TIMEOUT_SECONDS", "Session"]
