"""The infrastructure files pass their linters: cfn-lint, checkov, actionlint, shellcheck, hadolint.

Every tool runs offline; each must exit 0 (no findings).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.infra.cfn import ROOT
from tests.infra.tools import tool

pytestmark = pytest.mark.long

WORKFLOWS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
SCRIPTS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / ".github" / "scripts").glob("*.sh"))


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def report(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"


def test_cfn_lint() -> None:
    result = run(tool("cfn-lint"), "infra/template.yaml")
    assert result.returncode == 0, report(result)


def test_cfn_lint_expands_sam_resources(tmp_path: Path) -> None:
    """A mistake inside a SAM resource is found: the SAM translator is installed and used."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
        "    Properties:\n      Handler: app.handler\n      Runtime: python3.11\n      CodeUri: .\n"
        "      Events:\n        Api:\n          Type: Api\n          Properties:\n"
        "            Path: /x\n            Method: get\n            NotAProperty: 1\n"
    )
    result = run(tool("cfn-lint"), str(bad))
    assert result.returncode != 0 and "NotAProperty" in result.stdout, report(result)


def test_checkov_offline() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_API", "PRISMA_"))}
    # No platform mapping download, no update check, no API key: nothing leaves the machine.
    env |= {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE", "LOG_LEVEL": "WARNING"}
    result = run(
        tool("checkov"),
        "-f",
        "infra/template.yaml",
        "--framework",
        "cloudformation",
        "--quiet",
        "--compact",
        "--skip-download",
        env=env,
    )
    assert result.returncode == 0, report(result)
    assert "Failed checks: 0" in result.stdout or result.stdout.strip() == "", report(result)


def test_actionlint_with_shellcheck() -> None:
    assert {
        ".github/workflows/ci.yml",
        ".github/workflows/model-build.yml",
        ".github/workflows/model-deploy.yml",
    } <= set(WORKFLOWS)
    result = run(tool("actionlint"), "-shellcheck", tool("shellcheck"), "-no-color", *WORKFLOWS)
    assert result.returncode == 0, report(result)


def test_scripts_pass_shellcheck() -> None:
    assert SCRIPTS, "expected .github/scripts/*.sh"
    result = run(tool("shellcheck"), "--severity=style", *SCRIPTS)
    assert result.returncode == 0, report(result)


def test_hadolint() -> None:
    result = run(tool("hadolint"), "--no-color", "Dockerfile")
    assert result.returncode == 0, report(result)
