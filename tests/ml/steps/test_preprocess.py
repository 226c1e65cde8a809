"""preprocess.py run alone, as the SageMaker processing job runs it: with ``--deps`` it writes the same
drift baseline as inside the package; without, it still preprocesses and says why there is none."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from ml.pipeline import PREPROCESS_DEPENDENCIES
from ml.pipeline_cli.upload import PACKAGE_ROOT
from ml.steps import preprocess
from tests.ml.steps.container import container_python, deps_folder, run_alone

#: Each step script says it runs on Python 3.8 (the processing images' Python may be that old).
OLDEST_PYTHON = (3, 8)


def test_the_container_interpreter_cannot_import_the_project(tmp_path: Path) -> None:
    probe = container_python(tmp_path, "-c", "import ml")
    assert probe.returncode == 1 and "No module named 'ml'" in probe.stderr
    probe = container_python(tmp_path, "-c", "import numpy, pandas, sklearn")
    assert probe.returncode == 0, probe.stderr


def test_with_deps_the_script_alone_writes_the_baseline_the_package_writes(
    tmp_path: Path, small_data: Path, prepared: tuple[Path, dict[str, Any]]
) -> None:
    in_package, summary = prepared
    deps = deps_folder(tmp_path / "deps")
    result = run_alone(tmp_path / "job", small_data, "--deps", str(deps))
    assert result.returncode == 0, result.stderr
    assert preprocess.NO_BASELINE not in result.stderr
    assert json.loads(result.stdout) == summary
    out = tmp_path / "job" / "out"
    assert (out / "baseline" / "drift.json").read_bytes() == (
        in_package / "baseline" / "drift.json"
    ).read_bytes()
    assert json.loads((out / "baseline" / "drift.json").read_bytes())["rows"] == summary["train_rows"]
    for name in ("baseline/statistics.json", "features/features.json", "train/train.csv"):
        assert (out / name).read_bytes() == (in_package / name).read_bytes(), name


def test_without_deps_the_script_alone_preprocesses_and_says_there_is_no_baseline(
    tmp_path: Path, small_data: Path
) -> None:
    result = run_alone(tmp_path, small_data)
    assert result.returncode == 0, result.stderr
    assert preprocess.NO_BASELINE in result.stderr and "upload-code" in preprocess.NO_BASELINE
    out = tmp_path / "out"
    assert not (out / "baseline" / "drift.json").exists()
    assert (out / "baseline" / "statistics.json").is_file() and (out / "train" / "train.csv").is_file()


def test_a_deps_folder_without_the_modules_gives_no_baseline(tmp_path: Path, small_data: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run_alone(tmp_path, small_data, "--deps", str(tmp_path / "empty"))
    assert result.returncode == 0 and preprocess.NO_BASELINE in result.stderr
    assert not (tmp_path / "out" / "baseline" / "drift.json").exists()


def test_the_script_and_what_it_imports_parse_as_python_3_8() -> None:
    for path in [Path(preprocess.__file__), *(PACKAGE_ROOT / name for name in PREPROCESS_DEPENDENCIES)]:
        ast.parse(path.read_text(encoding="utf-8"), str(path), feature_version=OLDEST_PYTHON)
