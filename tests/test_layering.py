"""Imports point one way (handlers -> bot -> ml) and the bot's runtime never loads the SageMaker SDK."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(package: str) -> dict[Path, set[str]]:
    found: dict[Path, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[path] = names
    return found


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for path, names in imported_modules(package).items()
        for name in names
        if name.split(".")[0] in forbidden
    )


def test_ml_imports_neither_bot_nor_handlers() -> None:
    assert offenders("ml", ("bot", "handlers")) == []


def test_bot_never_imports_handlers() -> None:
    assert offenders("bot", ("handlers",)) == []


def test_release_core_is_pure() -> None:
    assert offenders("bot/core", ("slack_sdk", "slack_bolt", "boto3", "botocore", "starlette")) == []


def test_only_the_pipeline_definition_imports_the_sagemaker_sdk() -> None:
    users = [o for o in offenders("ml", ("sagemaker",))]
    assert all(o.startswith("ml/pipeline.py") for o in users), users
    assert offenders("bot", ("sagemaker",)) == []
    assert offenders("handlers", ("sagemaker",)) == []


@pytest.mark.parametrize(
    "module",
    ["bot.cli", "bot.services", "bot.app", "bot.http_server", "bot.lambda_handler", "ml.sagemaker.platform"],
)
def test_runtime_modules_load_no_sagemaker_sdk(module: str) -> None:
    code = (
        f"import importlib, sys; importlib.import_module({module!r}); "
        "bad = sorted(m for m in sys.modules if m == 'sagemaker' or m.startswith('sagemaker.')); "
        "print(bad); raise SystemExit(1 if bad else 0)"
    )
    env = {"AWS_DEFAULT_REGION": "us-east-1", "MLOPS_STORE": "sqlite", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
