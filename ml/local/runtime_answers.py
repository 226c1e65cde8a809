"""SageMaker's runtime API in front of local model containers: the answers ``InvokeEndpoint`` gives.

Checked against botocore's ``sagemaker-runtime`` service model (``InvokeEndpoint``: errors
``ValidationError`` 400, ``ModelError`` 424 with ``OriginalStatusCode``, ``OriginalMessage`` and
``LogStreamArn``; ``Body`` at most 6,291,456 bytes) and the messages SageMaker is seen to send:

* an unknown endpoint: ``ValidationError`` (400) "Endpoint <name> of account <account> not found.";
* a container answering anything but 2xx: ``ModelError`` (424), message 'Received client|server error
  (<status>) from primary with message "<body>". See <log group link> in account <account> for more
  information.', with the container's status and body as ``OriginalStatusCode``/``OriginalMessage``;
* a container not answering within 60 s: ``ModelError`` with ``OriginalStatusCode`` 0, "Your invocation
  timed out while waiting for a response from container primary. ...";
* a body over 6 MB: HTTP 413 "HTTP content length exceeded 6291456 bytes." with no error code (botocore
  reports the code as "413"); the body is never read.

``container_answer`` is shared by the local endpoint host (``ml.local.runtime_api``) and the tests'
moto runtime, so both platforms answer a boto3 client alike.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .container import Container

log = logging.getLogger(__name__)

#: ``InvokeEndpoint``'s Body limit (botocore's BodyBlob ``max``).
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
#: How long SageMaker waits for the container's answer.
INVOCATION_TIMEOUT_S = 60.0
VARIANT = "AllTraffic"
CONTAINER_NAME = "primary"
TIMED_OUT = (
    f"Your invocation timed out while waiting for a response from container {CONTAINER_NAME}. "
    "Review the latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again."
)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def json_error(status: int, code: str | None, fields: Mapping[str, Any]) -> Answer:
    headers = {"Content-Type": "application/json"}
    if code is not None:
        headers["x-amzn-ErrorType"] = code
    return Answer(status, json.dumps(dict(fields)).encode(), headers)


def endpoint_not_found(name: str, account: str) -> Answer:
    return json_error(400, "ValidationError", {"message": f"Endpoint {name} of account {account} not found."})


def payload_too_large() -> Answer:
    return json_error(413, None, {"message": f"HTTP content length exceeded {MAX_PAYLOAD_BYTES} bytes."})


def model_error(name: str, status: int, original: str, *, region: str, account: str) -> Answer:
    kind = "client" if 400 <= status < 500 else "server"
    logs = (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logEventViewer:group=/aws/sagemaker/Endpoints/{name}"
    )
    return json_error(
        424,
        "ModelError",
        {
            "message": (
                f'Received {kind} error ({status}) from {CONTAINER_NAME} with message "{original}". '
                f"See {logs} in account {account} for more information."
            ),
            "OriginalStatusCode": status,
            "OriginalMessage": original,
            "LogStreamArn": (
                f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/Endpoints/{name}"
                f":log-stream:{VARIANT}/local"
            ),
        },
    )


def container_answer(
    container: Container,
    name: str,
    body: bytes,
    content_type: str | None,
    accept: str | None,
    *,
    region: str,
    account: str,
    variant: str = VARIANT,
    in_time: Callable[[], bool] = lambda: True,
) -> Answer:
    """What ``InvokeEndpoint`` answers once the endpoint is found and the body is within the limit, the
    container called in this thread. ``in_time``, asked once the container answered: False when the
    time limit passed meanwhile (the answer is then the timeout's)."""
    try:
        response = container.invoke(body, content_type, accept)
    except Exception as exc:  # the container process itself failed: a 500 from its server
        if not in_time():
            return timed_out(name, region=region, account=account)
        log.exception("endpoint %s: the container failed", name)
        return model_error(name, 500, f"{type(exc).__name__}: {exc}", region=region, account=account)
    if not in_time():
        return timed_out(name, region=region, account=account)
    if not 200 <= response.status < 300:
        original = response.body.decode("utf-8", "replace")
        return model_error(name, response.status, original, region=region, account=account)
    headers = {"Content-Type": response.content_type or "application/octet-stream"}
    headers["x-Amzn-Invoked-Production-Variant"] = variant
    return Answer(200, response.body, headers)


def timed_out(name: str, *, region: str, account: str) -> Answer:
    return model_error(name, 0, TIMED_OUT, region=region, account=account)
