"""The README stays true: its configuration reference lists exactly the settings the bot reads."""

from __future__ import annotations

import re
from pathlib import Path

from bot.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def reference_rows() -> dict[str, str]:
    text = README.read_text()
    section = text.split("## Configuration reference", 1)[1].split("\n## ", 1)[0]
    return {m.group(1): m.group(2) for m in re.finditer(r"^\| `([A-Z0-9_]+)` \| (.*?) \|", section, re.M)}


def test_configuration_reference_matches_the_settings() -> None:
    documented = reference_rows()
    declared = {name.upper() for name in Settings.model_fields}
    assert sorted(declared - documented.keys()) == [], "settings missing from the README"
    assert sorted(documented.keys() - declared) == [], "README documents settings that do not exist"


def test_documented_defaults_match() -> None:
    documented = reference_rows()
    for name, field in Settings.model_fields.items():
        default = field.default
        if field.default_factory is not None or default in (None, ""):
            continue
        assert f"`{default}`" == documented[name.upper()], name


def test_the_two_commands_are_documented() -> None:
    text = README.read_text()
    assert "make run" in text and "make test" in text
    makefile = (README.parent / "Makefile").read_text()
    assert re.search(r"^run:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    ci = (README.parent / ".ci" / "run").read_text()
    assert "make test" in ci
