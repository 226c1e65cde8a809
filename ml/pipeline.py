"""The SageMaker Pipelines definition of the training pipeline (SageMaker Python SDK v3).

Graph::

    PreprocessData -> TrainModel -> EvaluateModel -> CheckAccuracy
        accuracy >= AccuracyThreshold: RegisterModel (model package group, ModelApprovalStatus)
        otherwise:                     AccuracyBelowThreshold (Fail step naming the threshold)

Pipeline parameters (the names the bot's SageMaker backend starts runs with):

=====================  =======  =======================  =========================================
name                   type     default                  used by
=====================  =======  =======================  =========================================
InputData              String   ``default_input_data``   PreprocessData input (S3 prefix)
ProcessingInstanceType String   ml.m5.xlarge             PreprocessData, EvaluateModel
TrainingInstanceType   String   ml.m5.xlarge             TrainModel
AccuracyThreshold      Float    0.8                      CheckAccuracy (and the Fail message)
ModelApprovalStatus    String   PendingManualApproval    RegisterModel
num_round              Integer  100                      ``train.py --num_round``
max_depth              Integer  5                        ``train.py --max_depth``
eta                    Float    0.2                      ``train.py --eta``
subsample              Float    0.8                      ``train.py --subsample``
colsample_bytree       Float    0.8                      ``train.py --colsample_bytree``
=====================  =======  =======================  =========================================

Hyperparameter parameters carry exactly the training script's argument names, so no mapping exists
anywhere: SageMaker passes each hyperparameter to the script as ``--<name> <value>``.

The step scripts are not uploaded here: the definition only points at ``code_s3_prefix``, which
must hold (see ``code_files()``) ``preprocess.py``, ``evaluate.py`` and ``sourcedir.tar.gz`` (with
``train.py`` at its root). ``python -m ml pipeline upload-code`` puts them there.

Training runs ``train.py`` in SageMaker's XGBoost framework container in script mode, driven by the
container's own ``sagemaker_program`` / ``sagemaker_submit_directory`` hyperparameters rather than by
``ModelTrainer(source_code=...)``: the latter uploads SDK driver scripts to S3 under a timestamped
job name while the definition is built, which needs the network and makes the JSON differ per build.

Building is offline and deterministic (same arguments, same JSON). The SDK is imported lazily,
inside ``_offline_environment``, because importing it creates boto3 clients (which need a region
and would otherwise probe the EC2 metadata address), ``ModelTrainer`` validates the role through
IAM unless told not to, and telemetry is sent unless the session's config opts out.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from ml import serving_code

__all__ = [
    "ACCURACY_JSON_PATH",
    "EVALUATION_FILE",
    "HYPERPARAMETERS",
    "PARAMETER_DEFAULTS",
    "STEP_CHECK",
    "STEP_EVALUATE",
    "STEP_FAIL",
    "STEP_PREPROCESS",
    "STEP_REGISTER",
    "STEP_TRAIN",
    "PipelineConfigError",
    "build_pipeline",
    "code_files",
    "definition",
]

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

PREPROCESS_OUTPUTS: Final = ("train", "validation", "test", "baseline", "features")
TRAINING_CHANNELS: Final = ("train", "validation", "features")
EVALUATION_OUTPUT: Final = "evaluation"
EVALUATION_FILE: Final = "evaluation.json"
EVALUATION_PROPERTY_FILE: Final = "EvaluationReport"
ACCURACY_JSON_PATH: Final = "classification_metrics.accuracy.value"

INFERENCE_INSTANCE_TYPES: Final = ("ml.m5.large", "ml.m5.xlarge")
TRANSFORM_INSTANCE_TYPES: Final = ("ml.m5.xlarge",)
APPROVAL_STATUSES: Final = ("PendingManualApproval", "Approved")

ParameterType = Literal["String", "Integer", "Float"]

#: Defaults of every parameter but InputData (whose default is a build argument).
PARAMETER_DEFAULTS: Final[Mapping[str, tuple[ParameterType, str | int | float]]] = {
    "ProcessingInstanceType": ("String", "ml.m5.xlarge"),
    "TrainingInstanceType": ("String", "ml.m5.xlarge"),
    "AccuracyThreshold": ("Float", 0.8),
    "ModelApprovalStatus": ("String", "PendingManualApproval"),
}

#: Hyperparameters, named exactly as ``train.py``'s arguments.
HYPERPARAMETERS: Final[Mapping[str, tuple[ParameterType, int | float]]] = {
    "num_round": ("Integer", 100),
    "max_depth": ("Integer", 5),
    "eta": ("Float", 0.2),
    "subsample": ("Float", 0.8),
    "colsample_bytree": ("Float", 0.8),
}

_PIPELINE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
_GROUP_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/[\w+=,.@\-/]{1,512}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(?P<key>/.*)?$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")

# Telemetry opt-out in the SDK's own config schema; passing a config also stops the session from
# reading /etc/xdg and ~/.config SDK defaults, which would otherwise leak into the definition.
_SDK_CONFIG: Final = {
    "SchemaVersion": "1.0",
    "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
}


class PipelineConfigError(ValueError):
    """An argument of the pipeline definition is invalid; the message names it."""


@dataclass(frozen=True)
class _Config:
    pipeline_name: str
    role_arn: str
    region: str
    code_prefix: str
    model_package_group: str
    default_input_data: str
    bucket: str


def code_files(code_s3_prefix: str) -> dict[str, str]:
    """The S3 URIs the definition expects the step code (and the model's serving code) at, by file name."""
    prefix = code_s3_prefix.rstrip("/")
    return {
        PREPROCESS_SCRIPT: f"{prefix}/{PREPROCESS_SCRIPT}",
        EVALUATE_SCRIPT: f"{prefix}/{EVALUATE_SCRIPT}",
        TRAIN_SOURCE_ARCHIVE: f"{prefix}/{TRAIN_SOURCE_ARCHIVE}",
        serving_code.SOURCE_ARCHIVE: f"{prefix}/{serving_code.SOURCE_ARCHIVE}",
    }


def check_code_prefix(code_s3_prefix: str) -> str:
    """The bucket of a valid ``s3://bucket/prefix``; raises PipelineConfigError saying what is wrong."""
    if not code_s3_prefix.startswith("s3://"):
        raise PipelineConfigError(
            f"code S3 prefix {code_s3_prefix!r} is invalid: expected s3://bucket/prefix"
        )
    bucket, _, key = code_s3_prefix.removeprefix("s3://").partition("/")
    if not _BUCKET.match(bucket):
        raise PipelineConfigError(
            f"code S3 prefix {code_s3_prefix!r} is invalid: bucket name {bucket!r} breaks S3's naming rule "
            "(3-63 characters: lowercase letters, digits, dots and hyphens, starting and ending with a "
            "letter or digit)"
        )
    if not key.strip("/"):
        raise PipelineConfigError(
            f"code S3 prefix {code_s3_prefix!r} is invalid: it names a bare bucket; "
            f"add a prefix, e.g. s3://{bucket}/mlops/code"
        )
    return bucket


def _validated(
    *,
    pipeline_name: str,
    role_arn: str,
    region: str,
    code_s3_prefix: str,
    model_package_group: str,
    default_input_data: str,
    default_bucket: str | None,
) -> _Config:
    if not _PIPELINE_NAME.match(pipeline_name):
        raise PipelineConfigError(
            f"pipeline name {pipeline_name!r} is invalid: use letters, digits and hyphens "
            "(1-256 characters, starting and ending with a letter or digit)"
        )
    if not _ROLE_ARN.match(role_arn):
        raise PipelineConfigError(
            f"role ARN {role_arn!r} is invalid: expected arn:aws:iam::<12-digit account>:role/<name>"
        )
    if not _REGION.match(region):
        raise PipelineConfigError(f"region {region!r} is invalid: expected a name like eu-west-1")
    code_bucket = check_code_prefix(code_s3_prefix)
    if not _GROUP_NAME.match(model_package_group):
        raise PipelineConfigError(
            f"model package group {model_package_group!r} is invalid: use letters, digits and hyphens "
            "(1-63 characters)"
        )
    if not _S3_URI.match(default_input_data):
        raise PipelineConfigError(
            f"default input data {default_input_data!r} is invalid: expected an s3://bucket/prefix URI"
        )
    bucket = default_bucket if default_bucket is not None else code_bucket
    if not _BUCKET.match(bucket):
        raise PipelineConfigError(f"default bucket {bucket!r} is not a valid S3 bucket name")
    return _Config(
        pipeline_name=pipeline_name,
        role_arn=role_arn,
        region=region,
        code_prefix=code_s3_prefix.rstrip("/"),
        model_package_group=model_package_group,
        default_input_data=default_input_data,
        bucket=bucket,
    )


@contextlib.contextmanager
def _offline_environment(region: str) -> Iterator[None]:
    """Environment under which importing the SDK and building a definition touch no network.

    Restored afterwards: ``AWS_EC2_METADATA_DISABLED`` would otherwise break instance-profile
    credentials for the boto3 calls a caller makes next (``upsert``). Not thread-safe.
    """
    overrides = {
        "AWS_DEFAULT_REGION": region,
        "AWS_EC2_METADATA_DISABLED": "true",
        "SAGEMAKER_VALIDATE_ROLE": "false",
    }
    saved = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    try:
        with warnings.catch_warnings():
            # Emitted once per step built under a PipelineSession: expected, and only noise here.
            warnings.filterwarnings(
                "ignore", message="Running within a PipelineSession", category=UserWarning
            )
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# The SDK is imported inside functions on purpose: it is an optional ~1 GB extra, and importing it
# needs the environment prepared first.


def _pipeline_session(region: str, bucket: str) -> Any:
    import boto3
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    return PipelineSession(
        boto_session=boto3.Session(region_name=region),
        default_bucket=bucket,
        default_bucket_prefix=None,
        sagemaker_config=_SDK_CONFIG,
    )


def build_pipeline(
    *,
    pipeline_name: str,
    role_arn: str,
    region: str,
    code_s3_prefix: str,
    model_package_group: str,
    default_input_data: str,
    default_bucket: str | None = None,
    sagemaker_session: Any = None,
) -> Any:
    """Build the ``sagemaker.mlops.workflow.Pipeline`` (offline; raises PipelineConfigError on bad input).

    ``default_bucket`` receives the steps' outputs under ``<pipeline>/<execution id>/<step>/``; it
    defaults to the bucket of ``code_s3_prefix``. A caller-supplied ``sagemaker_session`` must be a
    ``PipelineSession`` and should opt out of telemetry itself.
    """
    cfg = _validated(
        pipeline_name=pipeline_name,
        role_arn=role_arn,
        region=region,
        code_s3_prefix=code_s3_prefix,
        model_package_group=model_package_group,
        default_input_data=default_input_data,
        default_bucket=default_bucket,
    )
    with _offline_environment(cfg.region):
        session = (
            sagemaker_session if sagemaker_session is not None else _pipeline_session(cfg.region, cfg.bucket)
        )
        return _build(cfg, session)


def definition(
    *,
    pipeline_name: str,
    role_arn: str,
    region: str,
    code_s3_prefix: str,
    model_package_group: str,
    default_input_data: str,
    default_bucket: str | None = None,
    sagemaker_session: Any = None,
) -> str:
    """The pipeline definition JSON (indented, stable across builds) for CreatePipeline/UpdatePipeline."""
    pipeline = build_pipeline(
        pipeline_name=pipeline_name,
        role_arn=role_arn,
        region=region,
        code_s3_prefix=code_s3_prefix,
        model_package_group=model_package_group,
        default_input_data=default_input_data,
        default_bucket=default_bucket,
        sagemaker_session=sagemaker_session,
    )
    with _offline_environment(region):
        raw = pipeline.definition()
    return json.dumps(json.loads(raw), indent=2) + "\n"


def _build(cfg: _Config, session: Any) -> Any:
    from sagemaker.core import image_uris
    from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import ProcessingInput, ProcessingOutput, ProcessingS3Input, ProcessingS3Output
    from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig, StoppingCondition
    from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.core.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow import (
        ConditionStep,
        FailStep,
        ModelStep,
        Pipeline,
        ProcessingStep,
        TrainingStep,
    )
    from sagemaker.mlops.workflow.retry import StepExceptionTypeEnum, StepRetryPolicy
    from sagemaker.serve.model_builder import ModelBuilder
    from sagemaker.train import ModelTrainer

    code = code_files(cfg.code_prefix)
    try:
        sklearn_image = image_uris.retrieve("sklearn", region=cfg.region, version=SKLEARN_VERSION)
        xgboost_image = image_uris.retrieve("xgboost", region=cfg.region, version=XGBOOST_VERSION)
        xgboost_inference_image = image_uris.retrieve(
            "xgboost", region=cfg.region, version=XGBOOST_VERSION, image_scope="inference"
        )
    except ValueError as exc:
        raise PipelineConfigError(f"no SageMaker framework image for region {cfg.region!r}: {exc}") from exc

    # -- parameters ---------------------------------------------------------------------------
    input_data = ParameterString("InputData", default_value=cfg.default_input_data)
    processing_instance_type = ParameterString(
        "ProcessingInstanceType", default_value=str(PARAMETER_DEFAULTS["ProcessingInstanceType"][1])
    )
    training_instance_type = ParameterString(
        "TrainingInstanceType", default_value=str(PARAMETER_DEFAULTS["TrainingInstanceType"][1])
    )
    accuracy_threshold = ParameterFloat(
        "AccuracyThreshold", default_value=float(PARAMETER_DEFAULTS["AccuracyThreshold"][1])
    )
    approval_status = ParameterString(
        "ModelApprovalStatus",
        default_value=str(PARAMETER_DEFAULTS["ModelApprovalStatus"][1]),
        enum_values=list(APPROVAL_STATUSES),
    )
    hyperparameters = [
        ParameterInteger(name, default_value=int(default))
        if kind == "Integer"
        else ParameterFloat(name, default_value=float(default))
        for name, (kind, default) in HYPERPARAMETERS.items()
    ]

    retry = [
        StepRetryPolicy(
            exception_types=[StepExceptionTypeEnum.SERVICE_FAULT, StepExceptionTypeEnum.THROTTLING],
            max_attempts=3,
        )
    ]

    def step_output(step: str, name: str) -> Any:
        # Explicit, per-execution locations: the SDK's generated ones would need a bucket lookup.
        return Join(
            on="/",
            values=[
                "s3:/",
                cfg.bucket,
                cfg.pipeline_name,
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                step,
                name,
            ],
        )

    def s3_input(name: str, uri: Any, local_path: str) -> Any:
        return ProcessingInput(
            input_name=name,
            s3_input=ProcessingS3Input(
                s3_uri=uri, local_path=local_path, s3_data_type="S3Prefix", s3_input_mode="File"
            ),
        )

    def s3_output(step: str, name: str) -> Any:
        return ProcessingOutput(
            output_name=name,
            s3_output=ProcessingS3Output(
                s3_uri=step_output(step, name),
                local_path=f"/opt/ml/processing/{name}",
                s3_upload_mode="EndOfJob",
            ),
        )

    # -- PreprocessData -----------------------------------------------------------------------
    preprocessor = ScriptProcessor(
        role=cfg.role_arn,
        image_uri=sklearn_image,
        command=["python3"],
        instance_count=1,
        instance_type=processing_instance_type,
        base_job_name=f"{cfg.pipeline_name}-preprocess",
        sagemaker_session=session,
    )
    preprocess = ProcessingStep(
        name=STEP_PREPROCESS,
        step_args=preprocessor.run(
            code=code[PREPROCESS_SCRIPT],
            inputs=[s3_input("input", input_data, "/opt/ml/processing/input")],
            outputs=[s3_output(STEP_PREPROCESS, name) for name in PREPROCESS_OUTPUTS],
        ),
        retry_policies=retry,
    )

    def preprocessed(name: str) -> Any:
        return preprocess.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri

    # -- TrainModel ---------------------------------------------------------------------------
    # Hyperparameters must be strings in the training job request, hence ``to_string()``.
    training_hyperparameters: dict[str, Any] = {param.name: param.to_string() for param in hyperparameters}
    training_hyperparameters.update(
        {
            "sagemaker_program": TRAIN_SCRIPT,
            "sagemaker_submit_directory": code[TRAIN_SOURCE_ARCHIVE],
            "sagemaker_region": cfg.region,
            "sagemaker_container_log_level": "20",
        }
    )
    trainer = ModelTrainer(
        sagemaker_session=session,
        role=cfg.role_arn,
        training_image=xgboost_image,
        base_job_name=f"{cfg.pipeline_name}-train",
        compute=Compute(instance_type=training_instance_type, instance_count=1, volume_size_in_gb=30),
        stopping_condition=StoppingCondition(max_runtime_in_seconds=3600),
        hyperparameters=training_hyperparameters,
        output_data_config=OutputDataConfig(
            s3_output_path=Join(
                on="/",
                values=[
                    "s3:/",
                    cfg.bucket,
                    cfg.pipeline_name,
                    ExecutionVariables.PIPELINE_EXECUTION_ID,
                    STEP_TRAIN,
                ],
            )
        ),
    )
    train = TrainingStep(
        name=STEP_TRAIN,
        step_args=trainer.train(
            input_data_config=[
                InputData(channel_name=channel, data_source=preprocessed(channel), content_type="text/csv")
                for channel in TRAINING_CHANNELS
            ]
        ),
        retry_policies=retry,
    )
    model_artifact = train.properties.ModelArtifacts.S3ModelArtifacts

    # -- EvaluateModel ------------------------------------------------------------------------
    evaluation_report = PropertyFile(
        name=EVALUATION_PROPERTY_FILE, output_name=EVALUATION_OUTPUT, path=EVALUATION_FILE
    )
    evaluator = ScriptProcessor(
        role=cfg.role_arn,
        image_uri=xgboost_image,  # the scoring needs xgboost, which the scikit-learn image lacks
        command=["python3"],
        instance_count=1,
        instance_type=processing_instance_type,
        base_job_name=f"{cfg.pipeline_name}-evaluate",
        sagemaker_session=session,
    )
    evaluate = ProcessingStep(
        name=STEP_EVALUATE,
        step_args=evaluator.run(
            code=code[EVALUATE_SCRIPT],
            inputs=[
                s3_input("model", model_artifact, "/opt/ml/processing/model"),
                s3_input("test", preprocessed("test"), "/opt/ml/processing/test"),
            ],
            outputs=[s3_output(STEP_EVALUATE, EVALUATION_OUTPUT)],
        ),
        property_files=[evaluation_report],
        retry_policies=retry,
    )
    evaluation_uri = Join(
        on="/",
        values=[
            evaluate.properties.ProcessingOutputConfig.Outputs[EVALUATION_OUTPUT].S3Output.S3Uri,
            EVALUATION_FILE,
        ],
    )
    accuracy = JsonGet(step_name=evaluate.name, property_file=evaluation_report, json_path=ACCURACY_JSON_PATH)

    # -- RegisterModel ------------------------------------------------------------------------
    builder = ModelBuilder(
        image_uri=xgboost_inference_image,
        s3_model_data_url=model_artifact,
        role_arn=cfg.role_arn,
        sagemaker_session=session,
        dependencies={},  # the default {"auto": True} inspects S3 while building
        # Script mode: the container runs ml/inference.py, so raw business rows can be scored.
        env_vars=serving_code.environment(code[serving_code.SOURCE_ARCHIVE]),
    )
    register = ModelStep(
        name=STEP_REGISTER,
        step_args=builder.register(
            model_package_group_name=cfg.model_package_group,
            content_types=["text/csv", "application/json"],
            response_types=["text/csv", "application/json"],
            inference_instances=list(INFERENCE_INSTANCE_TYPES),
            transform_instances=list(TRANSFORM_INSTANCE_TYPES),
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(content_type="application/json", s3_uri=evaluation_uri)
            ),
            approval_status=approval_status,
            description=f"XGBoost model trained by the {cfg.pipeline_name} pipeline",
            customer_metadata_properties={
                "execution_id": ExecutionVariables.PIPELINE_EXECUTION_ID,
                "input_data": input_data,
            },
        ),
    )
    fail = FailStep(
        name=STEP_FAIL,
        error_message=Join(
            on="",
            values=[
                "Model accuracy ",
                accuracy,
                " is below AccuracyThreshold ",
                accuracy_threshold,
                "; the model was not registered.",
            ],
        ),
    )
    check = ConditionStep(
        name=STEP_CHECK,
        conditions=[ConditionGreaterThanOrEqualTo(left=accuracy, right=accuracy_threshold)],
        if_steps=[register],
        else_steps=[fail],
    )

    return Pipeline(
        name=cfg.pipeline_name,
        parameters=[
            input_data,
            processing_instance_type,
            training_instance_type,
            accuracy_threshold,
            approval_status,
            *hyperparameters,
        ],
        steps=[preprocess, train, evaluate, check],
        sagemaker_session=session,
        # No SageMaker Experiments trial per run: the bot keeps its own run history.
        pipeline_experiment_config=None,
    )
