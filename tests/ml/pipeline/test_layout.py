"""Where the pipeline's code goes: the preprocess step's ``ml`` modules are exactly what it imports."""

from __future__ import annotations

import ast
from pathlib import Path

from ml.pipeline import layout
from ml.pipeline_cli.upload import PACKAGE_ROOT
from ml.steps import preprocess


def _ml_imports(path: Path) -> set[str]:
    """The ``ml`` modules (and packages) ``path`` imports, at any depth of its code."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # ``from ml import x`` may name a module, ``from ml.drift.baseline import f`` does not
            found |= {f"{node.module}.{alias.name}" for alias in node.names} & _MODULES
    return {name for name in found if name == "ml" or name.startswith("ml.")}


#: every module of the package, by dotted name
_MODULES = {
    ".".join(path.relative_to(PACKAGE_ROOT).with_suffix("").parts).removesuffix(".__init__")
    for path in (PACKAGE_ROOT / "ml").rglob("*.py")
}


def _files(module: str) -> list[str]:
    """The files importing ``module`` executes: each enclosing package's ``__init__.py``, then its own."""
    assert module in _MODULES, module
    parts = module.split(".")
    files = [f"{'/'.join(parts[:i])}/__init__.py" for i in range(1, len(parts))]
    own = "/".join(parts)
    return [*files, f"{own}/__init__.py" if (PACKAGE_ROOT / own).is_dir() else f"{own}.py"]


def test_the_dependencies_are_what_preprocess_imports_from_ml_and_nothing_more() -> None:
    needed: set[str] = set()
    pending = [name for module in _ml_imports(Path(preprocess.__file__)) for name in _files(module)]
    while pending:
        name = pending.pop()
        if name not in needed:
            needed.add(name)
            pending += [n for module in _ml_imports(PACKAGE_ROOT / name) for n in _files(module)]
    assert needed == set(layout.PREPROCESS_DEPENDENCIES)
    assert len(layout.PREPROCESS_DEPENDENCIES) == len(needed)  # no duplicates


def test_code_files_name_every_dependency_under_deps() -> None:
    files = layout.code_files("s3://b/p/")
    assert {name: uri for name, uri in files.items() if name.startswith("deps/")} == {
        "deps/ml/__init__.py": "s3://b/p/deps/ml/__init__.py",
        "deps/ml/drift/__init__.py": "s3://b/p/deps/ml/drift/__init__.py",
        "deps/ml/drift/baseline.py": "s3://b/p/deps/ml/drift/baseline.py",
    }
    assert layout.deps_prefix("s3://b/p/") == layout.deps_prefix("s3://b/p") == "s3://b/p/deps/"
    assert all(uri.startswith(layout.deps_prefix("s3://b/p")) for name, uri in files.items() if "/" in name)
