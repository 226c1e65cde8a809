"""preprocess.py as a SageMaker processing job runs it: the script alone in its code folder, in an
interpreter that cannot import this project, and the ``ml`` modules only where ``--deps`` points.

The project is installed editable in the test environment, so ``python -I`` would still find it (the
install's ``.pth`` import hook): the interpreter runs with ``-S`` instead, which processes no ``.pth``
file, and gets the third-party packages (numpy, pandas, scikit-learn) on ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path, PurePosixPath

from ml.pipeline.layout import DEPS_FOLDER
from ml.pipeline_cli.upload import preprocess_dependencies
from ml.steps import preprocess


def deps_folder(target: Path) -> Path:
    """What SageMaker copies to ``DEPS_LOCAL_PATH``: the files upload-code puts under ``deps/``."""
    for name, data in preprocess_dependencies().items():
        path = target.joinpath(*PurePosixPath(name).relative_to(DEPS_FOLDER).parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return target


def container_python(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python3 ARGS`` in ``workdir`` with the third-party packages but without this project."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    packages = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    env["PYTHONPATH"] = os.pathsep.join(sorted(packages))
    return subprocess.run(
        [sys.executable, "-S", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def run_alone(workdir: Path, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """preprocess.py copied alone into ``workdir/code`` and run on ``data`` into ``workdir/out``."""
    code = workdir / "code"
    code.mkdir(parents=True)
    script = Path(shutil.copy(preprocess.__file__, code / "preprocess.py"))
    return container_python(
        workdir, str(script), "--input", str(data), "--output-dir", str(workdir / "out"), *args
    )
