"""How a new model takes production's traffic: all at once, as a canary, or in linear steps.

One policy, written as people type it (``canary 10% 5m``, ``linear 20% 2m bake 10m``), checked against
the ranges SageMaker's ``BlueGreenUpdatePolicy`` accepts, so a policy that passes here is one
``UpdateEndpoint`` takes. Both platforms follow it: SageMaker through ``DeploymentConfig``, the local
platform by shifting its endpoint host's weights itself.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, cast

from ml.durations import describe_duration, read_duration

RolloutKind = Literal["all-at-once", "canary", "linear"]
KINDS: tuple[RolloutKind, ...] = ("all-at-once", "canary", "linear")

#: SageMaker's ranges (UpdateEndpoint ``DeploymentConfig.BlueGreenUpdatePolicy``).
CANARY_PERCENT = (1, 50)
LINEAR_PERCENT = (10, 50)
WAIT_SECONDS = (0, 3600)
BAKE_SECONDS = (0, 3600)
TIMEOUT_SECONDS = (600, 28800)

DEFAULT_BAKE_SECONDS = 300
DEFAULT_TIMEOUT_SECONDS = 3600

USAGE = (
    "a rollout is `all-at-once`, `canary <1-50>% <wait>` or `linear <10-50>% <wait>`, optionally "
    "followed by `bake <time>` (waits and bake 0s to 60m, e.g. `canary 10% 5m bake 10m`)"
)

_TOKEN = re.compile(r"\S+")


@dataclass(frozen=True)
class RolloutPolicy:
    """A traffic shift and how long the new fleet bakes before the old one is let go."""

    kind: RolloutKind = "all-at-once"
    #: canary size, or linear step, in percent of capacity (100 for all at once)
    percent: int = 100
    #: seconds between traffic steps (SageMaker's ``WaitIntervalInSeconds``)
    wait_seconds: int = 0
    #: seconds with all traffic on the new fleet before the old one goes (``TerminationWaitInSeconds``)
    bake_seconds: int = DEFAULT_BAKE_SECONDS
    #: the whole update's limit (``MaximumExecutionTimeoutInSeconds``)
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        problem = self.problem()
        if problem is not None:
            raise ValueError(problem)

    def problem(self) -> str | None:
        """What SageMaker would refuse about this policy, in words; None when it is valid."""
        if self.kind not in KINDS:
            return f"rollout {self.kind!r} is not one of: {', '.join(KINDS)}"
        if self.kind == "canary" and not CANARY_PERCENT[0] <= self.percent <= CANARY_PERCENT[1]:
            return f"a canary is 1% to 50% of capacity, not {self.percent}%"
        if self.kind == "linear" and not LINEAR_PERCENT[0] <= self.percent <= LINEAR_PERCENT[1]:
            return f"a linear step is 10% to 50% of capacity, not {self.percent}%"
        if self.kind == "all-at-once" and self.percent != 100:
            return "all-at-once moves 100% of traffic"
        if not WAIT_SECONDS[0] <= self.wait_seconds <= WAIT_SECONDS[1]:
            return f"the wait between steps is 0s to 60m, not {_said(self.wait_seconds)}"
        if not BAKE_SECONDS[0] <= self.bake_seconds <= BAKE_SECONDS[1]:
            return f"the bake time is 0s to 60m, not {_said(self.bake_seconds)}"
        if not TIMEOUT_SECONDS[0] <= self.timeout_seconds <= TIMEOUT_SECONDS[1]:
            return f"the rollout timeout is 10m to 8h, not {_said(self.timeout_seconds)}"
        if self.total_wait_seconds >= self.timeout_seconds:
            return (
                f"{self.describe()} waits {_said(self.total_wait_seconds)} in all, which must stay under "
                f"the rollout timeout ({_said(self.timeout_seconds)})"
            )
        return None

    @property
    def steps(self) -> tuple[int, ...]:
        """The new fleet's share of traffic, in percent, after each shift: canary 10% -> (10, 100)."""
        if self.kind == "all-at-once":
            return (100,)
        if self.kind == "canary":
            return (self.percent, 100)
        count = math.ceil(100 / self.percent)
        return tuple(min(100, self.percent * (i + 1)) for i in range(count))

    @property
    def total_wait_seconds(self) -> int:
        """Waits between steps plus the bake: how long a healthy rollout takes, besides provisioning."""
        return self.wait_seconds * (len(self.steps) - 1) + self.bake_seconds

    @property
    def gradual(self) -> bool:
        return self.kind != "all-at-once"

    def describe(self) -> str:
        """The policy in the words it is typed with: ``canary 10% 5m bake 5m``."""
        if self.kind == "all-at-once":
            head = "all-at-once"
        else:
            head = f"{self.kind} {self.percent}% {_said(self.wait_seconds)}"
        return f"{head} bake {_said(self.bake_seconds)}"

    def with_limits(
        self, *, bake_seconds: int | None = None, timeout_seconds: int | None = None
    ) -> RolloutPolicy:
        return RolloutPolicy(
            self.kind,
            self.percent,
            self.wait_seconds,
            self.bake_seconds if bake_seconds is None else bake_seconds,
            self.timeout_seconds if timeout_seconds is None else timeout_seconds,
        )


#: All traffic at once with no bake: a platform's policy when none is configured.
AT_ONCE = RolloutPolicy("all-at-once", 100, 0, 0)


def _said(seconds: int) -> str:
    return describe_duration(timedelta(seconds=seconds)) if seconds else "0s"


def read_seconds(text: str, what: str) -> int:
    """``0``/``0s``/``90s``/``5m``/``1h`` as seconds; ValueError naming ``what`` otherwise."""
    if text.strip().lower() in ("0", "0s", "0m"):
        return 0
    value = read_duration(text, units="smh")
    if value is None:
        raise ValueError(f"{what} {text!r} is not a duration such as 30s, 5m or 1h")
    return int(value.total_seconds())


def parse_rollout(
    text: str,
    *,
    bake_seconds: int = DEFAULT_BAKE_SECONDS,
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
) -> RolloutPolicy:
    """``text`` as a policy; ``bake_seconds`` applies unless the text says ``bake <time>``.

    Raises ValueError saying what was wrong and what a rollout is.
    """
    words = [w.lower() for w in _TOKEN.findall(text)]
    if "bake" in words:
        at = words.index("bake")
        if at + 2 != len(words):
            raise ValueError(f"`bake` takes one duration at the end; {USAGE}")
        bake_seconds = _checked(lambda: read_seconds(words[at + 1], "bake time"))
        words = words[:at]
    if not words:
        raise ValueError(f"no rollout given; {USAGE}")
    kind = words[0].replace("_", "-")
    if kind in ("all-at-once", "allatonce", "all"):
        if len(words) != 1:
            raise ValueError(f"all-at-once takes no size or wait; {USAGE}")
        return _policy("all-at-once", 100, 0, bake_seconds, timeout_seconds)
    if kind not in ("canary", "linear"):
        raise ValueError(f"unknown rollout {words[0]!r}; {USAGE}")
    if len(words) != 3:
        example = "10" if kind == "canary" else "20"
        raise ValueError(f"{kind} needs a size and a wait, e.g. `{kind} {example}% 5m`; {USAGE}")
    size = words[1].removesuffix("%")
    if not size.isdigit():
        raise ValueError(f"{kind} size {words[1]!r} is not a percentage such as 10%; {USAGE}")
    wait = _checked(lambda: read_seconds(words[2], "wait"))
    return _policy(cast(RolloutKind, kind), int(size), wait, bake_seconds, timeout_seconds)


def _checked(read: Callable[[], int]) -> int:
    try:
        return read()
    except ValueError as exc:
        raise ValueError(f"{exc}; {USAGE}") from None


def _policy(kind: RolloutKind, percent: int, wait: int, bake: int, timeout: int) -> RolloutPolicy:
    try:
        return RolloutPolicy(kind, percent, wait, bake, timeout)
    except ValueError as exc:
        raise ValueError(str(exc)) from None
