"""Staging validation: does a deployed endpoint answer correctly, accurately and fast enough?

Checks, in order (each one a ``checks`` entry of the report):

``ping``              the endpoint reports healthy (only when a ``ping`` callable is given)
``response_shape``    a batch of held-out rows comes back with exactly one score per row
``score_range``       every score is a finite probability in [0, 1]
``accuracy``          accuracy on the held-out labelled sample (threshold 0.5) >= ``threshold``; the
                      report adds the number of rows and the 95 % Wilson interval, which inform and
                      do not gate
``latency``           p95 of single-row calls <= ``latency_budget_ms``
``malformed_request`` a malformed request, and a row one value short, are each refused with a 4xx
                      error, and the endpoint still answers

What is sent is the serving contract (``ml.inference``): CSV rows, raw business values by default (the
bundled ``adult.test``, which no model trained on ``adult.data`` has seen), ``Accept: text/csv``. A
short row is probed on purpose: SageMaker's built-in XGBoost (algorithm mode) scores one without
complaint, so an endpoint serving the wrong contract fails here. Standard library and boto3 only: this
runs inside the bot's lean runtime.

Where things live: ``sample`` (the labelled rows), ``interval`` (the accuracy's Wilson interval),
``wire`` (request and response bodies, call failures), ``checks`` (the checks and the report),
``runtime`` (``sagemaker-runtime`` calls) and ``cli`` (``python -m ml validate``).
"""

from .checks import BATCH_ROWS, DEFAULT_ROWS, LATENCY_SAMPLES, MALFORMED_BODY, CheckFn, validate_endpoint
from .cli import main
from .interval import CONFIDENCE, describe_accuracy, wilson_interval
from .runtime import runtime_invoker
from .sample import LabelledSample, load_sample
from .wire import CONTENT_TYPE_CSV, CONTENT_TYPE_JSON, Invoke, InvokeError, parse_scores, status_of, to_csv

__all__ = [
    "BATCH_ROWS",
    "CONFIDENCE",
    "CONTENT_TYPE_CSV",
    "CONTENT_TYPE_JSON",
    "DEFAULT_ROWS",
    "LATENCY_SAMPLES",
    "MALFORMED_BODY",
    "CheckFn",
    "Invoke",
    "InvokeError",
    "LabelledSample",
    "describe_accuracy",
    "load_sample",
    "main",
    "parse_scores",
    "runtime_invoker",
    "status_of",
    "to_csv",
    "validate_endpoint",
    "wilson_interval",
]
