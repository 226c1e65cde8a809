"""Imports point one way (runtimes -> handlers -> bot -> ml); the bot's runtime never loads the SageMaker SDK.

The floors are checked from real imports, from module names handed to ``importlib.import_module`` or
``__import__``, and from the entry points in pyproject.toml: an arrow hidden in a string is still an
arrow. ``bench`` and ``tests`` sit outside the house and may import anything.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Top-level packages, lowest floor first: each may import only its own floor and those below.
FLOORS = {"ml": 0, "bot": 1, "handlers": 2, "runtimes": 3}
DYNAMIC_IMPORTS = {"import_module", "__import__"}


def module_of(root: Path, path: Path) -> tuple[str, bool]:
    """Dotted name of the module at ``path``, and whether it is a package's ``__init__``."""
    parts = path.relative_to(root).with_suffix("").parts
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute module a relative import names (``level`` leading dots)."""
    if level == 0:
        return name or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def references(root: Path, path: Path) -> Iterator[tuple[int, str | None, str]]:
    """``(line, module, how)`` for each import in ``path``; ``module`` is None if only known at run time."""
    module, is_package = module_of(root, path)
    tree = ast.parse(path.read_text(), str(path))
    # import_module and __import__, and the names ``from importlib import ...`` binds them to
    loaders = set(DYNAMIC_IMPORTS)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "importlib" and node.level == 0:
            loaders.update(
                alias.asname or alias.name for alias in node.names if alias.name in DYNAMIC_IMPORTS
            )
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, "import"
        elif isinstance(node, ast.ImportFrom):
            yield node.lineno, absolute(module, is_package, node.level, node.module), "import"
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if not (
                (isinstance(func, ast.Attribute) and called in DYNAMIC_IMPORTS)
                or (isinstance(func, ast.Name) and called in loaders)
            ):
                continue
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                name = first.value
                level = len(name) - len(name.lstrip("."))
                yield node.lineno, absolute(module, is_package, level, name.lstrip(".") or None), str(called)
            else:
                yield node.lineno, None, str(called)


def entry_point_offences(pyproject: Path) -> list[str]:
    """Console scripts start a runtime; no other entry point names the project's code (it hides arrows)."""
    project = tomllib.loads(pyproject.read_text()).get("project", {})
    found: list[str] = []
    for name, target in project.get("scripts", {}).items():
        if target.split(":")[0].split(".")[0] != "runtimes":
            found.append(f"pyproject.toml: script {name} = {target!r} starts no runtime")
    for group, entries in project.get("entry-points", {}).items():
        for name, target in entries.items():
            if target.split(":")[0].split(".")[0] in FLOORS:
                found.append(f"pyproject.toml: entry point {group}.{name} = {target!r} loads project code")
    return found


def layering_offences(root: Path) -> list[str]:
    """Every upward arrow between the floors under ``root``, and every import named only at run time."""
    found: list[str] = []
    for package, floor in FLOORS.items():
        for path in sorted((root / package).rglob("*.py")):
            where = path.relative_to(root).as_posix()
            for line, target, how in references(root, path):
                if target is None:
                    found.append(f"{where}:{line} imports a module named at run time ({how})")
                elif FLOORS.get(target.split(".")[0], -1) > floor:
                    found.append(f"{where}:{line} imports {target} ({how})")
    if (root / "pyproject.toml").exists():
        found.extend(entry_point_offences(root / "pyproject.toml"))
    return found


def imported_modules(package: str) -> dict[Path, set[str]]:
    return {
        path: {target for _, target, _ in references(ROOT, path) if target}
        for path in (ROOT / package).rglob("*.py")
    }


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path.relative_to(ROOT)} imports {name}"
        for path, names in imported_modules(package).items()
        for name in names
        if name.split(".")[0] in forbidden
    )


def test_no_arrow_points_up() -> None:
    assert layering_offences(ROOT) == []


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in {
        "ml/__init__.py": "",
        "bot/__init__.py": "",
        "handlers/__init__.py": "",
        **files,
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(
    "source",
    [
        'import importlib\n\nimportlib.import_module("handlers")\n',
        'import importlib as loader\n\nloader.import_module("handlers.events.routes")\n',
        'from importlib import import_module as load\n\nload("handlers")\n',
        '\n\n__import__("handlers.notifications")\n',
    ],
)
def test_an_importlib_import_of_handlers_from_bot_is_caught(tmp_path: Path, source: str) -> None:
    root = write(tmp_path, {"bot/app.py": source})
    [offence] = layering_offences(root)
    assert offence.startswith("bot/app.py:3 imports handlers"), offence


def test_plain_and_relative_imports_upward_are_caught(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "ml/platform.py": "from bot import settings\n",
            "bot/core/service.py": "from ..store import sqlite\nfrom . import models\n",
            "handlers/views.py": "import runtimes.assembly\nfrom bot.core import service\n",
        },
    )
    assert sorted(layering_offences(root)) == [
        "handlers/views.py:1 imports runtimes.assembly (import)",
        "ml/platform.py:1 imports bot (import)",
    ]


def test_a_module_named_at_run_time_is_caught(tmp_path: Path) -> None:
    root = write(
        tmp_path, {"bot/plugins.py": "import importlib\n\nNAME = 'x'\nimportlib.import_module(NAME)\n"}
    )
    assert layering_offences(root) == ["bot/plugins.py:4 imports a module named at run time (import_module)"]


def test_entry_points_into_the_project_are_caught(tmp_path: Path) -> None:
    pyproject = """
[project.scripts]
mlops-bot = "bot.cli:main"
other = "runtimes.cli:main"

[project.entry-points."mlops_bot.listeners"]
handlers = "handlers:register"

[project.entry-points."pytest11"]
outside = "somewhere_else:plugin"
"""
    root = write(tmp_path, {"pyproject.toml": pyproject})
    assert layering_offences(root) == [
        "pyproject.toml: script mlops-bot = 'bot.cli:main' starts no runtime",
        "pyproject.toml: entry point mlops_bot.listeners.handlers = 'handlers:register' loads project code",
    ]


def test_release_core_is_pure() -> None:
    assert offenders("bot/core", ("slack_sdk", "slack_bolt", "boto3", "botocore", "starlette")) == []


def test_only_the_pipeline_definition_imports_the_sagemaker_sdk() -> None:
    users = [o for o in offenders("ml", ("sagemaker",))]
    assert all(o.startswith("ml/pipeline/") for o in users), users
    assert offenders("bot", ("sagemaker",)) == []
    assert offenders("handlers", ("sagemaker",)) == []
    assert offenders("runtimes", ("sagemaker",)) == []


@pytest.mark.parametrize(
    "module",
    [
        "runtimes.cli",
        "bot.services",
        "runtimes.assembly",
        "runtimes.http_server",
        "runtimes.lambda_handler",
        "ml.sagemaker.platform",
    ],
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
