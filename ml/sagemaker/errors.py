"""Turn botocore failures into ``PlatformError``s whose message can be shown to a user as is.

Messages name the AWS action, the resource and what to do about it; they never carry a
traceback or a raw exception ``repr``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ReadTimeoutError,
    WaiterError,
)

from ml.platform import InvalidRequest, NotFound, PlatformError


class AccessDenied(PlatformError):
    """The bot's AWS role may not perform the action."""


class Throttled(PlatformError):
    """AWS kept throttling the call after every retry."""


class AwsUnavailable(PlatformError):
    """AWS could not be reached, or did not answer in time."""


class DeploymentFailed(PlatformError):
    """An endpoint create/update did not end serving the requested version."""


_ACCESS_DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnrecognizedClientException"}
)
_THROTTLED = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "ProvisionedThroughputExceededException",
    }
)
_NOT_FOUND = frozenset(
    {"ResourceNotFound", "ResourceNotFoundException", "NoSuchKey", "NoSuchBucket", "NotFound", "404"}
)
_NOT_FOUND_PHRASES = ("could not find", "not found", "does not exist", "cannot find")
_EXPIRED = frozenset({"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId"})

#: Operations outside SageMaker, so permission messages name the right IAM action prefix.
_SERVICE_OF_OPERATION = {
    "RegisterScalableTarget": "application-autoscaling",
    "DeregisterScalableTarget": "application-autoscaling",
    "PutScalingPolicy": "application-autoscaling",
    "DescribeScalableTargets": "application-autoscaling",
    "GetObject": "s3",
    "GetObjectAttributes": "s3",
    "HeadObject": "s3",
    "GetCallerIdentity": "sts",
    "InvokeEndpoint": "sagemaker",
}

_MAX_AWS_MESSAGE = 300

#: What a botocore call may raise: callers that report failures themselves catch these.
AWS_ERRORS = (ClientError, BotoCoreError)


def _aws_message(error: ClientError) -> str:
    message = str(error.response.get("Error", {}).get("Message") or "").strip()
    first_line = message.splitlines()[0] if message else ""
    if len(first_line) > _MAX_AWS_MESSAGE:
        first_line = first_line[: _MAX_AWS_MESSAGE - 1] + "…"
    return first_line


def _iam_action(operation: str) -> str:
    return f"{_SERVICE_OF_OPERATION.get(operation, 'sagemaker')}:{operation}"


def _attempts(error: ClientError) -> int:
    retries = error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
    return int(retries) + 1


def is_not_found(error: ClientError) -> bool:
    """Whether AWS answered that the resource does not exist (SageMaker often says so in a
    ValidationException's message rather than in its code)."""
    code = str(error.response.get("Error", {}).get("Code") or "")
    lowered = _aws_message(error).lower()
    return code in _NOT_FOUND or (
        code in ("ValidationException", "ValidationError") and any(p in lowered for p in _NOT_FOUND_PHRASES)
    )


def short_message(error: Exception) -> str:
    """``<Code>: <Message>`` of a ``ClientError``, else the exception's own text."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'Error')}: {details.get('Message', str(error))}"
    return str(error)


def translate_client_error(error: ClientError, target: str) -> PlatformError:
    """Map one ``ClientError`` to the most specific ``PlatformError``.

    ``target`` names what was acted on ("endpoint 'churn-prod'"), for the message.
    """
    code = str(error.response.get("Error", {}).get("Code") or "")
    operation = error.operation_name or "an AWS call"
    aws_message = _aws_message(error)
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in _ACCESS_DENIED or (status == 403 and code not in _EXPIRED):
        return AccessDenied(
            f"AWS denied {_iam_action(operation)} on {target} — the bot's role lacks this permission"
            + (f" ({aws_message})" if aws_message else "")
        )
    if code in _EXPIRED:
        return AccessDenied(f"AWS rejected the bot's credentials while calling {operation} on {target}")
    if code in _THROTTLED:
        attempts = _attempts(error)
        plural = "s" if attempts != 1 else ""
        return Throttled(
            f"AWS throttled {_iam_action(operation)} on {target} after {attempts} attempt{plural}; "
            "try again in a minute"
        )
    if is_not_found(error):
        return NotFound(f"Could not find {target}" + (f": {aws_message}" if aws_message else ""))
    if code in ("ValidationException", "ValidationError"):
        return InvalidRequest(f"AWS refused {operation} on {target}: {aws_message or 'invalid request'}")
    if code == "ResourceLimitExceeded":
        return PlatformError(f"AWS quota reached for {operation} on {target}: {aws_message}")
    if code in ("ResourceInUse", "ConflictException", "ConcurrentModification"):
        return InvalidRequest(f"{target} is busy ({operation} refused): {aws_message}")
    if isinstance(status, int) and status >= 500:
        return AwsUnavailable(
            f"AWS failed {operation} on {target} with a server error ({code or status}); try again shortly"
        )
    return PlatformError(
        f"{operation} on {target} failed: {code or 'error'}" + (f": {aws_message}" if aws_message else "")
    )


def translate_error(error: Exception, target: str) -> PlatformError:
    """Like ``translate_client_error`` for any botocore failure; other exceptions pass through."""
    if isinstance(error, PlatformError):
        return error
    if isinstance(error, ClientError):
        return translate_client_error(error, target)
    if isinstance(error, ConnectTimeoutError | EndpointConnectionError):
        return AwsUnavailable(
            f"Could not reach AWS while working on {target}; check the network and try again"
        )
    if isinstance(error, ReadTimeoutError):
        return AwsUnavailable(f"AWS did not answer in time while working on {target}; try again shortly")
    if isinstance(error, ConnectionClosedError):
        return AwsUnavailable(f"AWS closed the connection while working on {target}; try again shortly")
    if isinstance(error, NoCredentialsError):
        return AccessDenied("The bot has no AWS credentials (set a role, profile or AWS_* variables)")
    if isinstance(error, NoRegionError):
        return PlatformError("No AWS region is configured for the SageMaker platform")
    if isinstance(error, WaiterError):
        return DeploymentFailed(f"Waiting for {target} failed: {_waiter_reason(error)}")
    if isinstance(error, BotoCoreError):
        return PlatformError(f"AWS call on {target} failed: {type(error).__name__}")
    raise TypeError(f"not an AWS error: {type(error).__name__}")


def _waiter_reason(error: WaiterError) -> str:
    last: Any = error.last_response or {}
    if isinstance(last, dict):
        if last.get("FailureReason"):
            return str(last["FailureReason"])
        if "Error" in last:
            return str(last["Error"].get("Message") or last["Error"].get("Code"))
    return str(error.kwargs.get("reason", "unknown reason"))


@contextmanager
def aws_errors(target: str) -> Iterator[None]:
    """Re-raise botocore failures inside the block as ``PlatformError`` about ``target``."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise translate_error(exc, target) from exc
