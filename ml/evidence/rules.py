"""Promotion rules: what a challenger's metrics must meet, alone or against the champion.

The grammar, one rule per ``;``::

    rule   := metric op bound
    metric := accuracy | precision | recall | f1 | auc      (the evaluation report's metrics)
    op     := >= | > | <= | < | ==
    bound  := number | champion | champion + number | champion - number

``accuracy >= 0.8; auc >= champion - 0.01``. A rule against the champion is not judged while
production serves nothing (its verdict is None, shown as "no champion").
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "DEFAULT_RULES",
    "METRIC_NAMES",
    "Rule",
    "RuleError",
    "Verdict",
    "judge",
    "parse_rules",
]

#: the evaluation report's metrics (``classification_metrics``), in the order cards show them
METRIC_NAMES: tuple[str, ...] = ("accuracy", "precision", "recall", "f1", "auc")
DEFAULT_RULES = "accuracy >= 0.8; auc >= champion - 0.01"

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}
_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
_RULE = re.compile(
    rf"(?P<metric>[a-z0-9_]+)\s*(?P<op>>=|<=|==|>|<)\s*"
    rf"(?:(?P<champion>champion)\s*(?:(?P<sign>[+-])\s*(?P<margin>{_NUMBER}))?|(?P<number>{_NUMBER}))"
)
EXAMPLE = "accuracy >= 0.8; auc >= champion - 0.01"


class RuleError(ValueError):
    """A rule that does not parse; the message names the rule and what is allowed."""


@dataclass(frozen=True)
class Rule:
    metric: str
    op: str
    #: the fixed bound, or the margin added to the champion's value when ``against_champion``
    value: float
    against_champion: bool = False

    @property
    def text(self) -> str:
        if not self.against_champion:
            return f"{self.metric} {self.op} {self.value:g}"
        if self.value == 0:
            return f"{self.metric} {self.op} champion"
        sign = "+" if self.value > 0 else "-"
        return f"{self.metric} {self.op} champion {sign} {abs(self.value):g}"

    def bound(self, champion: Mapping[str, float] | None) -> float | None:
        """The number the metric is compared with; None when it needs a champion value there is not."""
        if not self.against_champion:
            return self.value
        base = None if champion is None else champion.get(self.metric)
        return None if not isinstance(base, int | float) else float(base) + self.value


@dataclass(frozen=True)
class Verdict:
    rule: Rule
    #: True met, False not met, None not judged (no champion, or the metric was not recorded)
    passed: bool | None
    value: float | None
    bound: float | None
    why: str = ""


def parse_rules(text: str) -> tuple[Rule, ...]:
    """Rules from ``text`` (``;``-separated; blank means none); RuleError names the bad one."""
    rules: list[Rule] = []
    for raw in text.split(";"):
        part = " ".join(raw.split()).lower()
        if not part:
            continue
        m = _RULE.fullmatch(part)
        if m is None:
            raise RuleError(
                f"rule {raw.strip()!r} is not 'metric op bound' (op one of {', '.join(_OPS)}; bound a "
                f"number, champion, or champion ± a number), e.g. {EXAMPLE!r}"
            )
        metric = m.group("metric")
        if metric not in METRIC_NAMES:
            raise RuleError(
                f"rule {raw.strip()!r}: unknown metric {metric!r}; valid: {', '.join(METRIC_NAMES)}"
            )
        if m.group("champion"):
            margin = float(m.group("margin") or 0)
            value = -margin if m.group("sign") == "-" else margin
            rules.append(Rule(metric, m.group("op"), value, against_champion=True))
        else:
            rules.append(Rule(metric, m.group("op"), float(m.group("number"))))
    return tuple(rules)


def judge(
    rules: Sequence[Rule], metrics: Mapping[str, float], champion: Mapping[str, float] | None
) -> list[Verdict]:
    """Each rule's verdict for a challenger's ``metrics`` against ``champion`` (None: no champion)."""
    out: list[Verdict] = []
    for rule in rules:
        value = metrics.get(rule.metric)
        if not isinstance(value, int | float):
            out.append(Verdict(rule, None, None, None, f"{rule.metric} not recorded"))
            continue
        bound = rule.bound(champion)
        if bound is None:
            why = "no champion" if champion is None else f"the champion has no {rule.metric}"
            out.append(Verdict(rule, None, float(value), None, why))
            continue
        # compared at the precision the report keeps, so 0.8 >= 0.8 holds whatever the float noise
        passed = _OPS[rule.op](round(float(value), 6), round(bound, 6))
        out.append(Verdict(rule, passed, float(value), bound))
    return out
