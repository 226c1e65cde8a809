"""``mlops-bot demo``: a full release, scripted, through the terminal chat.

Two training runs, four-eyes approval, staging validation, promotion, drifted
production traffic found by ``/mlops drift`` and by the scheduled check, whose drift card (with its
chart) offers the production rollback that follows, each step
typed as the person who would do it in Slack. It runs the same machinery as
``mlops-bot shell`` and checks the outcome on the platform itself: production must
serve v1 at the end.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import threading
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import IO

from bot.settings import ConfigError, Settings, load_settings
from ml.local import LocalPlatform
from runtimes.terminal import Shell, chat_logs, use_color
from runtimes.terminal.session import WORKSPACE_FILE

#: The script: who does what, as typed in the chat.
SCRIPT: tuple[str, ...] = (
    "# alice trains the first model",
    ":as alice",
    "/mlops train",
    ":wait",
    "# bob approves it: staging deploy and validation follow on their own",
    ":as bob",
    ":click Approve v1",
    "# carol, a release lead, promotes the validated version",
    ":as carol",
    ":click Promote v1",
    ":click Confirm",
    "# a second model with other hyperparameters",
    ":as alice",
    "/mlops train max_depth=3 eta=0.3",
    ":as bob",
    ":click Approve v2",
    ":as carol",
    ":click Promote v2",
    ":click Confirm",
    # here production answers a day of traffic from other people: see DRIFTED_TRAFFIC
    "# production's traffic has drifted: anyone can check it against v2's training data",
    "/mlops drift production 1h",
    # here the scheduled drift check runs once: its card (and chart) come up; see DRIFT_CARD_BEFORE
    "# the drift card offers a rollback: carol, on call, takes it",
    ":click Roll back production to v1",
    ":click Confirm",
    # here v2 starts failing half of its requests and production keeps receiving traffic: see CANARY
    "# v2 gets another try, as a canary guarded by alarms: it fails, and the alarm stops it",
    "/mlops promote v2 canary 10% 1m",
    ":click Confirm",
    ":wait",
    # here the traffic stops: the canary has ended
    "# where production stands, and what happened, in order",
    "/mlops status",
    "/mlops audit 20",
)

#: The line of the script before which production receives drifted traffic (older people working
#: twice the hours: ``age`` + 20, ``hours-per-week`` × 2, on held-out Adult rows).
DRIFT_BEFORE = "# production's traffic has drifted: anyone can check it against v2's training data"
DRIFTED_ROWS = 2000
#: The line before which the scheduled drift check runs, as the timer of ``serve`` and ``shell`` would.
DRIFT_CARD_BEFORE = "# the drift card offers a rollback: carol, on call, takes it"
#: rows per InvokeEndpoint call
BATCH = 100
#: The line before which the canary's traffic stops (the canary has ended by then).
AFTER_CANARY = "# where production stands, and what happened, in order"
#: The line before which v2 fails every second request (the local chaos switch) while production
#: receives traffic, until the script ends: the canary's guardrail alarm fires and rolls it back.
CANARY_BEFORE = "# v2 gets another try, as a canary guarded by alarms: it fails, and the alarm stops it"
CHAOS_VERSION = 2
CHAOS_ERROR_RATE = 0.5

#: What a home may hold and still be fresh for the demo (the chat's file counts by its prefix:
#: SQLite keeps ``-wal`` and ``-shm`` files beside it).
_NOT_RELEASE_STATE = frozenset({"users.json", "shell_history", "logs"})

#: What production must serve once the script ran.
EXPECTED_PRODUCTION_VERSION = 1


def _fresh_home(home: Path) -> bool:
    """True when ``home`` holds no release state yet (users, history, logs and chat messages are fine)."""
    if not home.exists():
        return True
    return all(p.name in _NOT_RELEASE_STATE or p.name.startswith(WORKSPACE_FILE) for p in home.iterdir())


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mlops-bot demo", description="A scripted release in the chat.")
    parser.add_argument("--home", type=Path, help="data directory (must hold no release state yet)")
    parser.add_argument(
        "--data",
        metavar="FILE",
        help="train on FILE (Adult's format, under MLOPS_DATA_DIR) instead of the bundled Adult data",
    )
    return parser.parse_args(list(argv))


def script(data: str | None = None) -> tuple[str, ...]:
    """The script, its training runs reading ``data`` when given (checked like any InputData)."""
    if data is None:
        return SCRIPT
    quoted = shlex.quote(f"InputData={data}")
    return tuple(f"{line} {quoted}" if line.startswith("/mlops train") else line for line in SCRIPT)


def _scheduled_check(shell: Shell) -> None:
    """One round of the drift check the chat runs on its timer (``MLOPS_DRIFT_SCHEDULE``), now."""
    from handlers.drift_watch import DriftWatch

    assert shell.notifier is not None
    watch = shell.drift_watch or DriftWatch(shell.services, shell.notifier, timedelta(hours=1))
    watch.check_now()
    shell.settle()


def _drifted_traffic(platform: LocalPlatform) -> None:
    """Held-out Adult rows with ``age`` + 20 and ``hours-per-week`` doubled, sent to production."""
    from ml.datasets import adult_test_path, open_text
    from ml.local.endpoint_validation import LOCAL_CREDENTIALS
    from ml.validate.runtime import runtime_invoker

    name, url = platform.endpoint_name("production"), platform.endpoint_url
    invoke = runtime_invoker(name, url, "us-east-1", credentials=LOCAL_CREDENTIALS)
    with open_text(adult_test_path()) as handle:
        lines = [line.strip() for line in handle if line.strip() and not line.startswith("|")]
    rows = []
    for line in lines[:DRIFTED_ROWS]:
        fields = [f.strip() for f in line.split(",")][:-1]  # without the label
        fields[0] = str(int(fields[0]) + 20)
        fields[12] = str(int(fields[12]) * 2)
        rows.append(",".join(fields))
    for start in range(0, len(rows), BATCH):
        invoke(("\n".join(rows[start : start + BATCH]) + "\n").encode(), "text/csv")
    platform.flush_capture(timeout=60)


class _Traffic:
    """Single held-out rows sent to production without pause, from a thread, until stopped."""

    def __init__(self, platform: LocalPlatform) -> None:
        from ml.local.endpoint_validation import LOCAL_CREDENTIALS
        from ml.validate.runtime import runtime_invoker
        from ml.validate.wire import InvokeError

        self._failure = InvokeError
        self._invoke = runtime_invoker(
            platform.endpoint_name("production"),
            platform.endpoint_url,
            "us-east-1",
            credentials=LOCAL_CREDENTIALS,
        )
        self.sent = self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="demo-traffic", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        row = (
            b"39,State-gov,77516,Bachelors,13,Never-married,Adm-clerical,Not-in-family,White,Male,2174,0,40,"
        )
        row += b"United-States\n"
        while not self._stop.is_set():
            self.sent += 1
            try:
                self._invoke(row, "text/csv")
            except self._failure:  # a failed request is what the canary's alarm counts
                self.failed += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def _canary_chaos(platform: LocalPlatform) -> None:
    from ml.local.chaos import set_chaos

    set_chaos(
        platform.home,
        CHAOS_VERSION,
        error_rate=CHAOS_ERROR_RATE,
        latency_ms=0,
        version_exists=lambda v: v == CHAOS_VERSION,
    )


def main_demo(
    argv_or_settings: Sequence[str] | Settings | None = None,
    *,
    data: str | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """Run the scripted release; 0 when production serves v1 at the end, 1 otherwise, 2 on bad setup."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        if isinstance(argv_or_settings, Settings):
            settings = argv_or_settings
        else:
            args = _parse_args(sys.argv[1:] if argv_or_settings is None else argv_or_settings)
            settings = load_settings(**({"mlops_home": args.home} if args.home is not None else {}))
            data = args.data or data
    except (ConfigError, ValueError) as exc:
        print(f"mlops-bot demo: {exc}", file=err)
        return 2
    with tempfile.TemporaryDirectory(prefix="mlops-demo-") as scratch:
        home = settings.mlops_home
        if not _fresh_home(home):
            # The script names v1 and v2: it needs a registry of its own.
            home = Path(scratch)
            print(
                f"{settings.mlops_home} already holds release state; the demo runs in a scratch "
                f"directory ({home}) instead.",
                file=out,
            )
        demo_settings = settings.model_copy(update={"mlops_home": home, "mlops_store_path": None})
        return _run(demo_settings, out, err, script(data))


def _run(settings: Settings, out: IO[str], err: IO[str], lines: tuple[str, ...]) -> int:
    try:
        shell = Shell(settings, user="alice", out=out, err=err, color=use_color("auto", out))
    except (ConfigError, ValueError) as exc:
        print(f"mlops-bot demo: {exc}", file=err)
        return 2
    with chat_logs(settings.mlops_home), shell:
        split = lines.index(DRIFT_BEFORE) if DRIFT_BEFORE in lines else len(lines)
        card = lines.index(DRIFT_CARD_BEFORE) if DRIFT_CARD_BEFORE in lines else len(lines)
        canary = lines.index(CANARY_BEFORE) if CANARY_BEFORE in lines else len(lines)
        code = shell.run_script(lines[:split])
        if code == 0 and split < len(lines):
            shell.say(f"(sending {DRIFTED_ROWS} drifted rows to production)", style="dim")
            _drifted_traffic(shell.services.platform)
            code = shell.run_script(lines[split:card])
        if code == 0 and card < len(lines):
            shell.say("(the scheduled drift check runs)", style="dim")
            _scheduled_check(shell)
            code = shell.run_script(lines[card:canary])
        if code == 0 and canary < len(lines):
            shell.say(
                f"(v{CHAOS_VERSION} now fails every second request: `python -m ml.local chaos --version "
                f"{CHAOS_VERSION} --error-rate {CHAOS_ERROR_RATE}`; production receives traffic)",
                style="dim",
            )
            _canary_chaos(shell.services.platform)
            traffic = _Traffic(shell.services.platform)
            after = lines.index(AFTER_CANARY) if AFTER_CANARY in lines else len(lines)
            code = shell.run_script(lines[canary:after])
            traffic.stop()
            shell.say(f"({traffic.sent} requests sent to production, {traffic.failed} failed)", style="dim")
            if code == 0:
                code = shell.run_script(lines[after:])
        settled = shell.settle()
        shell.say("")
        shell.say("── transcript (final state of each message) ──", style="bold")
        out.write(shell.printer.transcript() + "\n")
        serving = shell.services.platform.describe_endpoint("production").version
        if code != 0:
            print("demo failed: a step of the script could not run (see above)", file=err)
            return 1
        if not settled:
            print("demo failed: background work did not settle", file=err)
            return 1
        if serving != EXPECTED_PRODUCTION_VERSION:
            print(
                f"demo failed: production serves {f'v{serving}' if serving else 'nothing'}, "
                f"expected v{EXPECTED_PRODUCTION_VERSION} after the rollback",
                file=err,
            )
            return 1
        shell.say(f"demo passed: production serves v{serving} after the rollback", style="green")
        return 0


__all__ = ["EXPECTED_PRODUCTION_VERSION", "SCRIPT", "main_demo", "script"]
