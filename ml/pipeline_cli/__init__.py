"""``python -m ml pipeline ...``: build, publish, run and report on the SageMaker training pipeline.

Subcommands::

    definition   print the pipeline definition JSON (offline; needs the ``pipeline`` extra)
    upsert       create or update the pipeline in SageMaker (builds the definition unless
                 --definition-file is given)
    upload-code  upload the step scripts, the ml modules the preprocess step imports (deps/) and the
                 model's serving code to the code prefix the definition points at
    start        start an execution; prints its ARN
    wait         poll an execution until it ends; exit 0 if it succeeded, 1 if not
    results      the execution's "pipeline result" report (JSON, shape in ``ml.sagemaker.results``)

Only ``definition`` and ``upsert`` (without --definition-file) import the SageMaker SDK; the other
subcommands need boto3 alone.

Exit codes: 0 success; 1 the execution failed, was stopped, or did not finish within --timeout;
2 bad arguments or configuration, or an AWS call failed.

Options default from the environment so CI and a laptop need no flags: MLOPS_PIPELINE_NAME,
SAGEMAKER_ROLE_ARN, AWS_REGION / AWS_DEFAULT_REGION, MLOPS_CODE_S3_PREFIX,
MLOPS_MODEL_PACKAGE_GROUP, MLOPS_INPUT_DATA, MLOPS_ARTIFACT_BUCKET. ``definition`` falls back to
placeholders so it works with no configuration at all.

Modules: ``arguments`` (flags and their environment defaults), ``console`` (exit codes, errors,
output, AWS clients), ``publish`` (definition, upsert), ``upload`` (upload-code), ``runs`` (start,
wait, results) and ``cli`` (``main``). AWS calls go through ``ml.sagemaker``.
"""

from ml.pipeline_cli.arguments import STEPS_DIR
from ml.pipeline_cli.cli import main
from ml.pipeline_cli.console import EXIT_ERROR, EXIT_OK, EXIT_RUN_FAILED, CliError
from ml.pipeline_cli.upload import source_archive, source_archive_members

__all__ = [
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_RUN_FAILED",
    "STEPS_DIR",
    "CliError",
    "main",
    "source_archive",
    "source_archive_members",
]
