"""Building the pipeline and its definition JSON, offline and deterministically."""

from __future__ import annotations

import json
from typing import Any, Unpack

from ml.pipeline.arguments import PipelineArguments, validated
from ml.pipeline.graph import build_graph
from ml.pipeline.sdk import offline_environment, pipeline_session


def build_pipeline(*, sagemaker_session: Any = None, **arguments: Unpack[PipelineArguments]) -> Any:
    """Build the ``sagemaker.mlops.workflow.Pipeline`` (offline; raises PipelineConfigError on bad input).

    ``default_bucket`` receives the steps' outputs under ``<pipeline>/<execution id>/<step>/``; it
    defaults to the bucket of ``code_s3_prefix``. A caller-supplied ``sagemaker_session`` must be a
    ``PipelineSession`` and should opt out of telemetry itself.
    """
    cfg = validated(**arguments)
    with offline_environment(cfg.region):
        session = (
            sagemaker_session if sagemaker_session is not None else pipeline_session(cfg.region, cfg.bucket)
        )
        return build_graph(cfg, session)


def definition(*, sagemaker_session: Any = None, **arguments: Unpack[PipelineArguments]) -> str:
    """The pipeline definition JSON (indented, stable across builds) for CreatePipeline/UpdatePipeline."""
    pipeline = build_pipeline(sagemaker_session=sagemaker_session, **arguments)
    with offline_environment(arguments["region"]):
        raw = pipeline.definition()
    return json.dumps(json.loads(raw), indent=2) + "\n"
