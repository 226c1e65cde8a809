"""Calls to a model through ``sagemaker-runtime:InvokeEndpoint``, failures carrying the model's own status."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .wire import Invoke, InvokeError, describe


def runtime_invoker(
    endpoint_name: str,
    endpoint_url: str | None = None,
    region: str | None = None,
    *,
    credentials: tuple[str, str] | None = None,
) -> Invoke:
    """An ``invoke`` backed by ``sagemaker-runtime:InvokeEndpoint`` (or any endpoint speaking its API).

    ``credentials`` (access key id, secret) replace the environment's, for a runtime that checks no
    signature, such as the local endpoint host on a machine without AWS.
    """
    key_id, secret = credentials if credentials is not None else (None, None)
    client = boto3.client(
        "sagemaker-runtime",
        endpoint_url=endpoint_url,
        region_name=region,
        config=Config(connect_timeout=5, read_timeout=60, retries={"mode": "standard", "max_attempts": 3}),
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )

    def invoke(body: bytes, content_type: str) -> tuple[bytes, str]:
        try:
            response = client.invoke_endpoint(
                EndpointName=endpoint_name, ContentType=content_type, Accept=content_type, Body=body
            )
        except ClientError as exc:
            raise InvokeError(describe(exc), status=_client_error_status(exc)) from exc
        except BotoCoreError as exc:
            raise InvokeError(describe(exc)) from exc
        return response["Body"].read(), response.get("ContentType", content_type)

    return invoke


def _client_error_status(exc: ClientError) -> int | None:
    # A ModelError (HTTP 424) carries the container's own status as OriginalStatusCode.
    response: dict[str, Any] = dict(exc.response)
    original = response.get("OriginalStatusCode")
    if isinstance(original, int):
        return original
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status if isinstance(status, int) else None
