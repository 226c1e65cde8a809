"""Names the pipeline definition shares with its readers: steps, scripts, outputs and code locations."""

from __future__ import annotations

from typing import Final

from ml import parameters as spec
from ml import serving_code

STEP_PREPROCESS: Final = "PreprocessData"
STEP_TRAIN: Final = "TrainModel"
STEP_EVALUATE: Final = "EvaluateModel"
STEP_CHECK: Final = "CheckAccuracy"
STEP_REGISTER: Final = "RegisterModel"
STEP_FAIL: Final = "AccuracyBelowThreshold"

#: Framework container versions, matching the local platform's xgboost 3.2 / scikit-learn 1.9.
XGBOOST_VERSION: Final = "3.2-0"
SKLEARN_VERSION: Final = "1.9-0"

PREPROCESS_SCRIPT: Final = "preprocess.py"
EVALUATE_SCRIPT: Final = "evaluate.py"
TRAIN_SCRIPT: Final = "train.py"
TRAIN_SOURCE_ARCHIVE: Final = "sourcedir.tar.gz"

#: The package modules preprocess.py imports to write the drift baseline (``ml.drift.baseline`` and
#: the packages around it; it imports nothing else from ``ml``), by path from the package's parent.
#: Uploaded under ``<code prefix>/deps/`` and mounted at ``DEPS_LOCAL_PATH``, which preprocess.py
#: puts first on ``sys.path`` (``--deps``).
PREPROCESS_DEPENDENCIES: Final = ("ml/__init__.py", "ml/drift/__init__.py", "ml/drift/baseline.py")
DEPS_FOLDER: Final = "deps"
DEPS_INPUT: Final = "deps"
DEPS_LOCAL_PATH: Final = "/opt/ml/processing/deps"

PREPROCESS_OUTPUTS: Final = ("train", "validation", "test", "baseline", "features")
TRAINING_CHANNELS: Final = ("train", "validation", "features")
EVALUATION_OUTPUT: Final = "evaluation"
EVALUATION_FILE: Final = "evaluation.json"
EVALUATION_PROPERTY_FILE: Final = "EvaluationReport"
ACCURACY_JSON_PATH: Final = "classification_metrics.accuracy.value"

INFERENCE_INSTANCE_TYPES: Final = ("ml.m5.large", "ml.m5.xlarge")
TRANSFORM_INSTANCE_TYPES: Final = ("ml.m5.xlarge",)
APPROVAL_STATUSES: Final = spec.APPROVAL_STATUSES


def code_files(code_s3_prefix: str) -> dict[str, str]:
    """The S3 URIs the definition expects the step code (and the model's serving code) at, by file name
    (the preprocess step's dependencies by their path below the code prefix: ``deps/ml/...``)."""
    prefix = code_s3_prefix.rstrip("/")
    names = (
        PREPROCESS_SCRIPT,
        EVALUATE_SCRIPT,
        TRAIN_SOURCE_ARCHIVE,
        serving_code.SOURCE_ARCHIVE,
        *(f"{DEPS_FOLDER}/{path}" for path in PREPROCESS_DEPENDENCIES),
    )
    return {name: f"{prefix}/{name}" for name in names}


def deps_prefix(code_s3_prefix: str) -> str:
    """The S3 prefix of the preprocess step's dependencies; the trailing slash keeps a sibling such as
    ``deps-old/`` out of the processing input."""
    return f"{code_s3_prefix.rstrip('/')}/{DEPS_FOLDER}/"
