"""Small rooms, tests found by path, one local Slack: the layout rules that keep the house navigable."""

from __future__ import annotations

import re
from pathlib import Path

from tests.paths import ROOT

PACKAGES = ("runtimes", "handlers", "bot", "ml")
CEILING = 400
METHOD = "chat." + "postMessage"  # spelt in two so that this file is not a match
#: Test folders that are not a package's mirror: infrastructure checks, benchmarks' smoke tests,
#: sample events, and the attacks and faults run against whole runtimes.
NOT_MIRRORS = {"tests/infra", "tests/bench", "tests/events", "tests/runtimes/hardening"}


def product_modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_no_module_is_over_the_ceiling() -> None:
    sizes = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8").count("\n") for p in product_modules()}
    assert {name: n for name, n in sizes.items() if n > CEILING} == {}


def test_tests_mirror_the_packages() -> None:
    strays = []
    for folder in sorted(p for p in (ROOT / "tests").rglob("*") if p.is_dir() and p.name != "__pycache__"):
        name = folder.relative_to(ROOT).as_posix()
        if any(name == skip or name.startswith(skip + "/") for skip in NOT_MIRRORS):
            continue
        if not (ROOT / name.removeprefix("tests/")).is_dir():
            strays.append(name)
    assert strays == [], "test folders must be named after the package they test"


def test_one_fake_of_slacks_web_api() -> None:
    server = re.compile(r"BaseHTTPRequestHandler|def do_POST|Starlette\(|Route\(")
    fakes = [
        p.relative_to(ROOT).as_posix()
        for p in [*product_modules(), *(ROOT / "tests").rglob("*.py")]
        if METHOD in (text := p.read_text(encoding="utf-8")) and server.search(text)
    ]
    assert fakes == ["runtimes/slack_local/server.py"]
