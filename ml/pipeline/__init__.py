"""The SageMaker Pipelines definition of the training pipeline (SageMaker Python SDK v3).

Graph::

    PreprocessData -> TrainModel -> EvaluateModel -> CheckAccuracy
        accuracy >= AccuracyThreshold: RegisterModel (model package group, ModelApprovalStatus)
        otherwise:                     AccuracyBelowThreshold (Fail step naming the threshold)

Pipeline parameters: every one declared by ``ml.parameters`` for SageMaker, with its type and
default from there (``InputData``'s default is the ``default_input_data`` build argument).
``TargetColumn`` reaches PreprocessData as ``--target``; ``ModelApprovalStatus`` is policy: the bot
always sends ``PendingManualApproval``.

Hyperparameter parameters carry exactly the training script's argument names, so no mapping exists
anywhere: SageMaker passes each hyperparameter to the script as ``--<name> <value>``.

The step scripts are not uploaded here: the definition only points at ``code_s3_prefix``, which
must hold (see ``code_files()``) ``preprocess.py``, ``evaluate.py``, ``sourcedir.tar.gz`` (with
``train.py`` at its root and ``ml/parameters.py`` beside it, which it imports), the model's
``serving-sourcedir.tar.gz`` and ``deps/ml/...``: the ``ml.drift`` modules preprocess.py imports to
write the drift baseline (``PREPROCESS_DEPENDENCIES``), mounted at ``/opt/ml/processing/deps`` and
named by ``--deps``. ``python -m ml pipeline upload-code`` puts them there.

Training runs ``train.py`` in SageMaker's XGBoost framework container in script mode, driven by the
container's own ``sagemaker_program`` / ``sagemaker_submit_directory`` hyperparameters rather than by
``ModelTrainer(source_code=...)``: the latter uploads SDK driver scripts to S3 under a timestamped
job name while the definition is built, which needs the network and makes the JSON differ per build.

Building is offline and deterministic (same arguments, same JSON). The SDK is imported lazily,
inside ``sdk.offline_environment``, because importing it creates boto3 clients (which need a region
and would otherwise probe the EC2 metadata address), ``ModelTrainer`` validates the role through
IAM unless told not to, and telemetry is sent unless the session's config opts out.

Modules: ``layout`` (step, script and output names; where the code goes), ``arguments`` (the build
arguments and their checks), ``parameters`` (the pipeline parameters), ``sdk`` (offline SDK set-up),
``graph`` (the steps) and ``definition`` (``build_pipeline`` and the JSON). Importing this package
imports no SDK module.
"""

from __future__ import annotations

from ml.pipeline.arguments import (
    PipelineArguments,
    PipelineConfigError,
    check_code_prefix,
)
from ml.pipeline.definition import (
    build_pipeline,
    definition,
)
from ml.pipeline.layout import (
    ACCURACY_JSON_PATH,
    APPROVAL_STATUSES,
    DEPS_LOCAL_PATH,
    EVALUATE_SCRIPT,
    EVALUATION_FILE,
    EVALUATION_OUTPUT,
    EVALUATION_PROPERTY_FILE,
    INFERENCE_INSTANCE_TYPES,
    PREPROCESS_DEPENDENCIES,
    PREPROCESS_OUTPUTS,
    PREPROCESS_SCRIPT,
    SKLEARN_VERSION,
    STEP_CHECK,
    STEP_EVALUATE,
    STEP_FAIL,
    STEP_PREPROCESS,
    STEP_REGISTER,
    STEP_TRAIN,
    TRAIN_SCRIPT,
    TRAIN_SOURCE_ARCHIVE,
    TRAINING_CHANNELS,
    TRANSFORM_INSTANCE_TYPES,
    XGBOOST_VERSION,
    code_files,
    deps_prefix,
)
from ml.pipeline.parameters import (
    HYPERPARAMETERS,
    PARAMETER_DEFAULTS,
    ParameterType,
)

__all__ = [
    "ACCURACY_JSON_PATH",
    "APPROVAL_STATUSES",
    "DEPS_LOCAL_PATH",
    "EVALUATE_SCRIPT",
    "EVALUATION_FILE",
    "EVALUATION_OUTPUT",
    "EVALUATION_PROPERTY_FILE",
    "HYPERPARAMETERS",
    "INFERENCE_INSTANCE_TYPES",
    "PARAMETER_DEFAULTS",
    "PREPROCESS_DEPENDENCIES",
    "PREPROCESS_OUTPUTS",
    "PREPROCESS_SCRIPT",
    "SKLEARN_VERSION",
    "STEP_CHECK",
    "STEP_EVALUATE",
    "STEP_FAIL",
    "STEP_PREPROCESS",
    "STEP_REGISTER",
    "STEP_TRAIN",
    "TRAINING_CHANNELS",
    "TRAIN_SCRIPT",
    "TRAIN_SOURCE_ARCHIVE",
    "TRANSFORM_INSTANCE_TYPES",
    "XGBOOST_VERSION",
    "ParameterType",
    "PipelineArguments",
    "PipelineConfigError",
    "build_pipeline",
    "check_code_prefix",
    "code_files",
    "definition",
    "deps_prefix",
]
