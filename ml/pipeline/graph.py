"""The step graph: PreprocessData -> TrainModel -> EvaluateModel -> CheckAccuracy -> RegisterModel or
AccuracyBelowThreshold, built with the SageMaker SDK."""

from __future__ import annotations

from typing import Any

from ml import parameters as spec
from ml import serving_code
from ml.pipeline import layout
from ml.pipeline.arguments import BuildConfig, PipelineConfigError
from ml.pipeline.parameters import declare_parameters


def build_graph(cfg: BuildConfig, session: Any) -> Any:
    """The ``Pipeline`` object of the step graph in the package docstring (imports the SDK)."""
    from sagemaker.core import image_uris
    from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.core.processing import ScriptProcessor
    from sagemaker.core.shapes import ProcessingInput, ProcessingOutput, ProcessingS3Input, ProcessingS3Output
    from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig, StoppingCondition
    from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join, JsonGet
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

    code = layout.code_files(cfg.code_prefix)
    try:
        sklearn_image = image_uris.retrieve("sklearn", region=cfg.region, version=layout.SKLEARN_VERSION)
        xgboost_image = image_uris.retrieve("xgboost", region=cfg.region, version=layout.XGBOOST_VERSION)
        xgboost_inference_image = image_uris.retrieve(
            "xgboost", region=cfg.region, version=layout.XGBOOST_VERSION, image_scope="inference"
        )
    except ValueError as exc:
        raise PipelineConfigError(f"no SageMaker framework image for region {cfg.region!r}: {exc}") from exc

    parameters = declare_parameters(cfg.default_input_data)
    input_data = parameters["InputData"]
    processing_instance_type = parameters["ProcessingInstanceType"]
    training_instance_type = parameters["TrainingInstanceType"]
    accuracy_threshold = parameters["AccuracyThreshold"]
    approval_status = parameters["ModelApprovalStatus"]
    hyperparameters = [parameters[name] for name in spec.HYPERPARAMETERS]

    retry = [
        StepRetryPolicy(
            exception_types=[StepExceptionTypeEnum.SERVICE_FAULT, StepExceptionTypeEnum.THROTTLING],
            max_attempts=3,
        )
    ]

    def execution_path(*parts: str) -> Any:
        # Explicit, per-execution locations: the SDK's generated ones would need a bucket lookup.
        execution = ExecutionVariables.PIPELINE_EXECUTION_ID
        return Join(on="/", values=["s3:/", cfg.bucket, cfg.pipeline_name, execution, *parts])

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
                s3_uri=execution_path(step, name),
                local_path=f"/opt/ml/processing/{name}",
                s3_upload_mode="EndOfJob",
            ),
        )

    def processor(image_uri: str, job: str) -> Any:
        return ScriptProcessor(
            role=cfg.role_arn,
            image_uri=image_uri,
            command=["python3"],
            instance_count=1,
            instance_type=processing_instance_type,
            base_job_name=f"{cfg.pipeline_name}-{job}",
            sagemaker_session=session,
        )

    # -- PreprocessData -----------------------------------------------------------------------
    preprocessor = processor(sklearn_image, "preprocess")
    preprocess = ProcessingStep(
        name=layout.STEP_PREPROCESS,
        step_args=preprocessor.run(
            code=code[layout.PREPROCESS_SCRIPT],
            inputs=[
                s3_input("input", input_data, "/opt/ml/processing/input"),
                # The ml.drift modules the drift baseline needs: the script runs alone in the container.
                s3_input(layout.DEPS_INPUT, layout.deps_prefix(cfg.code_prefix), layout.DEPS_LOCAL_PATH),
            ],
            outputs=[s3_output(layout.STEP_PREPROCESS, name) for name in layout.PREPROCESS_OUTPUTS],
            arguments=["--target", parameters["TargetColumn"], "--deps", layout.DEPS_LOCAL_PATH],
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
            "sagemaker_program": layout.TRAIN_SCRIPT,
            "sagemaker_submit_directory": code[layout.TRAIN_SOURCE_ARCHIVE],
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
        output_data_config=OutputDataConfig(s3_output_path=execution_path(layout.STEP_TRAIN)),
    )
    train = TrainingStep(
        name=layout.STEP_TRAIN,
        step_args=trainer.train(
            input_data_config=[
                InputData(channel_name=channel, data_source=preprocessed(channel), content_type="text/csv")
                for channel in layout.TRAINING_CHANNELS
            ]
        ),
        retry_policies=retry,
    )
    model_artifact = train.properties.ModelArtifacts.S3ModelArtifacts

    # -- EvaluateModel ------------------------------------------------------------------------
    evaluation_report = PropertyFile(
        name=layout.EVALUATION_PROPERTY_FILE,
        output_name=layout.EVALUATION_OUTPUT,
        path=layout.EVALUATION_FILE,
    )
    # The scoring needs xgboost, which the scikit-learn image lacks.
    evaluator = processor(xgboost_image, "evaluate")
    evaluate = ProcessingStep(
        name=layout.STEP_EVALUATE,
        step_args=evaluator.run(
            code=code[layout.EVALUATE_SCRIPT],
            inputs=[
                s3_input("model", model_artifact, "/opt/ml/processing/model"),
                s3_input("test", preprocessed("test"), "/opt/ml/processing/test"),
            ],
            outputs=[s3_output(layout.STEP_EVALUATE, layout.EVALUATION_OUTPUT)],
        ),
        property_files=[evaluation_report],
        retry_policies=retry,
    )
    evaluation_uri = Join(
        on="/",
        values=[
            evaluate.properties.ProcessingOutputConfig.Outputs[layout.EVALUATION_OUTPUT].S3Output.S3Uri,
            layout.EVALUATION_FILE,
        ],
    )
    accuracy = JsonGet(
        step_name=evaluate.name, property_file=evaluation_report, json_path=layout.ACCURACY_JSON_PATH
    )

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
        name=layout.STEP_REGISTER,
        step_args=builder.register(
            model_package_group_name=cfg.model_package_group,
            content_types=["text/csv", "application/json"],
            response_types=["text/csv", "application/json"],
            inference_instances=list(layout.INFERENCE_INSTANCE_TYPES),
            transform_instances=list(layout.TRANSFORM_INSTANCE_TYPES),
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
        name=layout.STEP_FAIL,
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
        name=layout.STEP_CHECK,
        conditions=[ConditionGreaterThanOrEqualTo(left=accuracy, right=accuracy_threshold)],
        if_steps=[register],
        else_steps=[fail],
    )

    return Pipeline(
        name=cfg.pipeline_name,
        parameters=list(parameters.values()),
        steps=[preprocess, train, evaluate, check],
        sagemaker_session=session,
        # No SageMaker Experiments trial per run: the bot keeps its own run history.
        pipeline_experiment_config=None,
    )
