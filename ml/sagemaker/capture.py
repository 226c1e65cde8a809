"""The ``DataCaptureConfig`` of every endpoint config the platform creates (staging and production).

SageMaker then writes sampled invocations below ``DestinationS3Uri`` as
``<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl``, the records the local platform writes too
(``ml.local.capture_record``). The request's shape is botocore's ``DataCaptureConfig``:
``InitialSamplingPercentage`` 0-100, ``CaptureOptions`` ``Input``/``Output``, and
``CaptureContentTypeHeader`` naming the content types recorded as text (any other is base64).
"""

from __future__ import annotations

from typing import Any

from ml.sagemaker.config import SageMakerConfig

CSV_CONTENT_TYPES = ["text/csv"]
JSON_CONTENT_TYPES = ["application/json"]


def data_capture_config(config: SageMakerConfig) -> dict[str, Any] | None:
    """The endpoint config's ``DataCaptureConfig``, or None when capture is off (no URI, or 0 %)."""
    if not config.data_capture_s3_uri or config.data_capture_sampling_percent == 0:
        return None
    return {
        "EnableCapture": True,
        "InitialSamplingPercentage": config.data_capture_sampling_percent,
        "DestinationS3Uri": config.data_capture_s3_uri,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {
            "CsvContentTypes": list(CSV_CONTENT_TYPES),
            "JsonContentTypes": list(JSON_CONTENT_TYPES),
        },
    }
