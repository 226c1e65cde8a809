"""Locating the infrastructure linters: the project venv, its isolated infra-tools venv, then PATH.

checkov and cfn-lint (with the SAM translator) pin versions of boto3 and pydantic that clash with the
bot's own, so they live in a venv of their own (``.venv/infra`` by default, ``MLOPS_INFRA_VENV`` to
override); hadolint, actionlint and shellcheck are self-contained binaries from PyPI wheels.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from .cfn import ROOT


def tool(name: str) -> str:
    infra = Path(os.environ.get("MLOPS_INFRA_VENV", ROOT / ".venv" / "infra"))
    for directory in (infra / "bin", Path(sys.executable).parent):
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: `make test` installs it (see the Makefile's lint tools)")
    return found
