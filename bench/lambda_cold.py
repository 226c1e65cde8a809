"""Lambda cold start and deployment package of the bot, against a bare Bolt Lambda app and boto3 alone.

    python -m bench.lambda_cold [--quick] [--skip-package]

Cold start: fresh interpreters (one subprocess per sample, median) that import ``runtimes.lambda_handler``
with the environment a Lambda function has (so the module builds its whole runtime at import, as the
init phase does), alternated with fresh interpreters importing ``bench.bare_bolt_lambda`` (a bare Bolt
Lambda app: ``App``, ``SlackRequestHandler`` and one boto3 client) and fresh interpreters importing only
``boto3``. Secrets come from environment variables; every AWS endpoint points at a closed local port,
so a call made during init fails instead of reaching AWS. The code runs from a copy compiled to
bytecode beforehand, as in a package pip builds (the checkout has no bytecode and is not written to).

Package: ``pip install --target`` of the project without extras, measured per distribution with and
without what the Lambda Python runtime already provides, and checked for the ``sagemaker`` SDK.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from bench.common import machine

ROOT = Path(__file__).resolve().parent.parent
GOAL_INIT_S = 0.6
#: Lambda init of the bot against the bare Bolt Lambda app's, in the same run.
GOAL_RATIO_TO_BARE = 1.5
BARE_MODULE = "bench.bare_bolt_lambda"
GOAL_UNZIPPED_MB = 50.0
#: Distributions the AWS Lambda Python runtime ships; a package need not include them.
RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "urllib3", "six"}
)
MB = 1024 * 1024

_TIMER = """
import json, sys, time
t = time.perf_counter()
import {module}
elapsed = time.perf_counter() - t
print(json.dumps({{"import_s": elapsed, "sagemaker_loaded": any(m == "sagemaker" or m.startswith("sagemaker.")
                   for m in sys.modules), "modules": len(sys.modules),
                   "deferred_loaded": sorted(set({deferred!r}) & set(sys.modules))}}))
"""
#: Loaded with the first request that needs them, never by the Lambda init: CI's OIDC check (PyJWT,
#: cryptography); the GitHub, CI, EventBridge and health routes (Starlette, Mangum, anyio, the event
#: models); the notifier's Prometheus counters (read only by the HTTP runtime's ``/metrics``); the
#: SageMaker platform's parts (registry, pipelines, endpoints, rollouts, production, progress, with what
#: they import), built on their first call; the evaluation report's reader (lazy evidence work only).
DEFERRED_MODULES = (
    "jwt",
    "cryptography",
    "starlette",
    "mangum",
    "anyio",
    "prometheus_client",
    "handlers.events",
    "bot.ingest.models",
    "runtimes.lambda_ingest",
    "ml.sagemaker.registry",
    "ml.sagemaker.pipelines",
    "ml.sagemaker.endpoints",
    "ml.sagemaker.rollout",
    "ml.sagemaker.production",
    "ml.sagemaker.progress",
    "ml.sagemaker.traffic",
    "ml.sagemaker.warm",
    "ml.sagemaker.parameters",
    "ml.sagemaker.capture_files",
    "ml.sagemaker.metrics",
    "ml.drift.stored",
    "ml.drift.metrics",
    "ml.evidence.report",
)


def compiled_copy(dest: Path) -> Path:
    """The project's packages and the bare app, compiled to bytecode, under ``dest``."""
    code = dest / "code"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".mlops")
    for package in ("bot", "handlers", "ml", "runtimes"):
        shutil.copytree(ROOT / package, code / package, ignore=ignore)
    (code / "bench").mkdir()
    for name in ("__init__.py", "bare_bolt_lambda.py"):
        shutil.copy2(ROOT / "bench" / name, code / "bench" / name)
    if not compileall.compile_dir(code, quiet=1):
        raise RuntimeError(f"compiling the copy of the sources in {code} failed")
    return code


def lambda_environment(workdir: Path, code: Path = ROOT) -> dict[str, str]:
    """What the function's configuration sets, secrets stubbed; nothing that reaches AWS or Slack."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLOPS_", "SLACK_"))}
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": "mlops-bot",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
            # Port 9 (discard) is closed here: an AWS call during init fails fast and shows up.
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
            "MLOPS_STORE": "dynamodb",
            "MLOPS_BACKEND": "sagemaker",
            "MLOPS_DYNAMODB_TABLE": "mlops-bot",
            "SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/SageMakerExecution",
            "SLACK_BOT_TOKEN": "xoxb-bench-stub",
            "SLACK_SIGNING_SECRET": "bench-stub-signing-secret",
            "SLACK_API_URL": "http://127.0.0.1:9/api/",
            "EVENTS_TOKEN": "bench-stub-events-token",
            "PYTHONPATH": str(code),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.pop("PYTHONSTARTUP", None)
    env["HOME"] = str(workdir)  # no ~/.aws config or credentials
    return env


def _time_import(module: str, env: dict[str, str], cwd: Path) -> dict[str, Any]:
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _TIMER.format(module=module, deferred=DEFERRED_MODULES)],
        env=env,
        cwd=cwd,  # no .env file of a developer's checkout is read
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(
            f"importing {module} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}"
        )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_s"] = wall
    return result


def cold_start(samples: int) -> dict[str, Any]:
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    with tempfile.TemporaryDirectory(prefix="mlops-bench-lambda-") as tmp:
        code = compiled_copy(Path(tmp))
        cwd = Path(tmp) / "cwd"
        cwd.mkdir()
        env = lambda_environment(cwd, code)
        import_only = {k: v for k, v in env.items() if k != "AWS_LAMBDA_FUNCTION_NAME"}
        runs: dict[str, list[dict[str, Any]]] = {"init": [], "import_only": [], "bare": [], "boto3": []}
        # One warm-up each so the file system cache is equally warm for all of them.
        _time_import("runtimes.lambda_handler", env, cwd)
        _time_import(BARE_MODULE, env, cwd)
        _time_import("boto3", env, cwd)
        for _ in range(samples):  # interleaved, so machine noise hits all of them alike
            runs["init"].append(_time_import("runtimes.lambda_handler", env, cwd))
            runs["bare"].append(_time_import(BARE_MODULE, env, cwd))
            runs["import_only"].append(_time_import("runtimes.lambda_handler", import_only, cwd))
            runs["boto3"].append(_time_import("boto3", env, cwd))

    def med(name: str, key: str) -> float:
        return float(statistics.median(r[key] for r in runs[name]))

    init_s, boto3_s = med("init", "import_s"), med("boto3", "import_s")
    bare_s = med("bare", "import_s")
    return {
        "samples": samples,
        "bytecode": "compiled beforehand",
        "init_s": init_s,
        "import_only_s": med("import_only", "import_s"),
        "bare_bolt_init_s": bare_s,
        "ratio_to_bare_bolt": init_s / bare_s,
        "goal_ratio_to_bare_bolt": GOAL_RATIO_TO_BARE,
        "met_ratio_to_bare_bolt": init_s / bare_s <= GOAL_RATIO_TO_BARE,
        "boto3_import_s": boto3_s,
        "ratio_to_boto3": init_s / boto3_s,
        "init_process_s": med("init", "process_s"),
        "bare_bolt_process_s": med("bare", "process_s"),
        "boto3_process_s": med("boto3", "process_s"),
        "modules_loaded": runs["init"][-1]["modules"],
        "bare_bolt_modules_loaded": runs["bare"][-1]["modules"],
        "deferred_imported_at_init": sorted({m for r in runs["init"] for m in r["deferred_loaded"]}),
        "sagemaker_sdk_imported": any(r["sagemaker_loaded"] for r in runs["init"] + runs["import_only"]),
        "goal_init_s": GOAL_INIT_S,
        "met": init_s <= GOAL_INIT_S,
    }


def _source_copy(dest: Path) -> Path:
    """The project's buildable files only: building in the checkout would write into it."""
    src = dest / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".mlops")
    for package in ("bot", "handlers", "ml", "runtimes"):
        shutil.copytree(ROOT / package, src / package, ignore=ignore)
    return src


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _distributions(target: Path) -> dict[str, int]:
    """Bytes on disk per installed distribution, attributed through each RECORD file."""
    sizes: dict[str, int] = {}
    claimed: set[Path] = set()
    for info in sorted(target.glob("*.dist-info")):
        name = _normalise(info.name.removesuffix(".dist-info").rsplit("-", 1)[0])
        total = 0
        record = info / "RECORD"
        lines = record.read_text().splitlines() if record.exists() else []
        for line in lines:
            rel = line.split(",", 1)[0]
            path = (target / rel).resolve()
            if path in claimed or not path.is_file():
                continue
            claimed.add(path)
            total += path.stat().st_size
        sizes[name] = total
    unclaimed = sum(p.stat().st_size for p in target.rglob("*") if p.is_file() and p.resolve() not in claimed)
    if unclaimed:
        sizes["(unattributed)"] = unclaimed
    return sizes


def _zip_size(target: Path, skip: set[str]) -> int:
    """Deflated size of the package (top-level entries in ``skip`` left out)."""
    with tempfile.TemporaryDirectory(prefix="mlops-bench-zip-") as tmp:
        archive = Path(tmp) / "package.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for path in sorted(target.rglob("*")):
                rel = path.relative_to(target)
                if path.is_file() and rel.parts[0] not in skip:
                    zf.write(path, rel)
        return archive.stat().st_size


def _top_level_of(target: Path, dists: frozenset[str]) -> set[str]:
    """Top-level names (packages, modules, dist-info dirs) that belong to ``dists``."""
    names: set[str] = set()
    for info in target.glob("*.dist-info"):
        if _normalise(info.name.removesuffix(".dist-info").rsplit("-", 1)[0]) not in dists:
            continue
        names.add(info.name)
        record = info / "RECORD"
        for line in record.read_text().splitlines() if record.exists() else []:
            first = line.split(",", 1)[0].split("/", 1)[0]
            if first and first != "..":
                names.add(first)
    return names


def package(timeout: float = 240.0) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="mlops-bench-pkg-") as tmp:
        work = Path(tmp)
        src = _source_copy(work)
        target = work / "package"
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            "--prefer-binary",
            "--target",
            str(target),
            str(src),
        ]
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        pip_s = time.perf_counter() - t
        if proc.returncode != 0:
            raise RuntimeError(
                f"pip install --target failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}"
            )
        sizes = _distributions(target)
        total = sum(sizes.values())
        provided = sum(size for name, size in sizes.items() if name in RUNTIME_PROVIDED)
        skip = _top_level_of(target, RUNTIME_PROVIDED)
        sagemaker_dirs = sorted(str(p.relative_to(target)) for p in target.glob("sagemaker*"))
        largest = sorted(sizes.items(), key=lambda kv: -kv[1])[:8]
        result: dict[str, Any] = {
            "pip_s": pip_s,
            "distributions": len(sizes) - ("(unattributed)" in sizes),
            "unzipped_mb": total / MB,
            "unzipped_without_runtime_provided_mb": (total - provided) / MB,
            "zipped_mb": _zip_size(target, set()) / MB,
            "zipped_without_runtime_provided_mb": _zip_size(target, skip) / MB,
            "runtime_provided_mb": provided / MB,
            "largest_mb": {name: round(size / MB, 2) for name, size in largest},
            "sagemaker_paths": sagemaker_dirs,
            "has_sagemaker_sdk": bool(sagemaker_dirs) or "sagemaker" in sizes,
            "goal_unzipped_mb": GOAL_UNZIPPED_MB,
        }
        result["met"] = (
            result["unzipped_without_runtime_provided_mb"] <= GOAL_UNZIPPED_MB
            and not result["has_sagemaker_sdk"]
        )
        return result


def run(*, quick: bool = False, samples: int | None = None, build_package: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"machine": machine(), "cold_start": cold_start(samples or (3 if quick else 7))}
    if build_package:
        out["package"] = package()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer cold-start samples")
    parser.add_argument("--skip-package", action="store_true", help="cold start only (no pip, no network)")
    args = parser.parse_args(argv)
    json.dump(run(quick=args.quick, build_package=not args.skip_package), sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
