"""moto's sagemaker-runtime made to answer as SageMaker does, from moto's own state.

moto 5.2's ``InvokeEndpoint`` answers 200 with canned data for any endpoint name, existing or not, and
never fails. ``install()`` replaces it on ``SageMakerRuntimeResponse`` with what SageMaker does:

* the endpoint is looked up in moto's SageMaker backend (created with CreateEndpoint); an unknown one is a
  ``ValidationError``;
* a body over 6 MB is refused with HTTP 413 (moto has already buffered it; SageMaker would not);
* otherwise the endpoint's config, model and container (``PrimaryContainer``, or the model package's
  ``InferenceSpecification`` for a model created from a package) are read from moto, the model archive
  and the submit directory are fetched from moto's S3, and the request goes to the same container twin
  the local platform runs (``ml.local.container``), behind the same runtime answers
  (``ml.local.runtime_answers.container_answer``, called on a pool and waited for up to SageMaker's
  time limit): a non-2xx answer becomes a ``ModelError``.

So a test against moto proves what the SageMaker platform's code (boto3 client, ``ml.validate``) does
with SageMaker's answers; the answers themselves are the twin's, checked against the container's source
and botocore's service model, not against AWS.
"""

from __future__ import annotations

import concurrent.futures
import io
import tarfile
import tempfile
from pathlib import Path

from moto.core.common_types import TYPE_RESPONSE
from moto.s3.models import s3_backends
from moto.sagemaker.models import sagemaker_backends
from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

from ml.local.container import Container, load_container
from ml.local.runtime_answers import (
    INVOCATION_TIMEOUT_S,
    MAX_PAYLOAD_BYTES,
    Answer,
    container_answer,
    endpoint_not_found,
    payload_too_large,
    timed_out,
)

_executor = concurrent.futures.ThreadPoolExecutor(8, thread_name_prefix="moto-runtime")
_containers: dict[tuple[str, str, str], Container] = {}
_workdir = tempfile.TemporaryDirectory(prefix="moto-runtime-")
settings: dict[str, float] = {"timeout": INVOCATION_TIMEOUT_S}


def install() -> None:
    """Make moto's InvokeEndpoint behave as above (idempotent)."""
    SageMakerRuntimeResponse.invoke_endpoint = _invoke_endpoint  # type: ignore[method-assign]


def _invoke_endpoint(self: SageMakerRuntimeResponse) -> TYPE_RESPONSE:
    account, region = self.current_account, self.region
    name = str(self._get_param("EndpointName"))
    raw = self.raw_body
    body = raw if isinstance(raw, bytes) else str(raw or "").encode("utf-8")
    sm = sagemaker_backends[account][region]
    endpoint = sm.endpoints.get(name)
    if endpoint is None:
        answer = endpoint_not_found(name, account)
    elif len(body) > MAX_PAYLOAD_BYTES:
        answer = payload_too_large()
    else:
        container = _container(account, region, endpoint.endpoint_config_name)
        future = _executor.submit(
            container_answer,
            container,
            name,
            body,
            self.headers.get("Content-Type"),
            self.headers.get("Accept"),
            region=region,
            account=account,
        )
        answer = _in_time(future, name, region, account)
    # moto takes the status from the "status" header of the answer
    return answer.status, {**answer.headers, "status": str(answer.status)}, answer.body


def _in_time(future: concurrent.futures.Future[Answer], name: str, region: str, account: str) -> Answer:
    try:
        return future.result(timeout=settings["timeout"])
    except concurrent.futures.TimeoutError:
        # The container goes on working, as a real one would; its answer is dropped.
        return timed_out(name, region=region, account=account)


def _container(account: str, region: str, config_name: str) -> Container:
    key = (account, region, config_name)
    if key not in _containers:
        sm = sagemaker_backends[account][region]
        config = sm.endpoint_configs[config_name]
        model = sm._models[config.production_variants[0]["ModelName"]]
        spec = model.primary_container or (model.containers[0] if model.containers else {})
        if spec.get("ModelPackageName"):
            package = sm.model_packages[spec["ModelPackageName"]]
            spec = package.inference_specification["Containers"][0]
        home = Path(_workdir.name) / f"{account}-{region}-{config_name}"
        _extract(account, spec["ModelDataUrl"], home / "model")
        environment = dict(spec.get("Environment") or {})
        submit = environment.get("SAGEMAKER_SUBMIT_DIRECTORY")
        if submit and submit.startswith("s3://"):
            _extract(account, submit, home / "code")
            environment["SAGEMAKER_SUBMIT_DIRECTORY"] = str(home / "code")
        _containers[key] = load_container(home / "model", environment)
    return _containers[key]


def _extract(account: str, uri: str, target: Path) -> None:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    found = s3_backends[account]["aws"].get_object(bucket, key)
    if found is None:
        raise FileNotFoundError(uri)
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(found.value), mode="r:gz") as tar:
        tar.extractall(target, filter="data")


def reset() -> None:
    """Forget the containers started so far (moto's state is reset between tests)."""
    _containers.clear()


def model_archive(model_dir: Path) -> bytes:
    """``model.tar.gz`` as a training job writes it: the files of ``model_dir`` at the archive's root."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(Path(model_dir).iterdir()):
            if path.is_file():
                tar.add(path, arcname=path.name)
    return buffer.getvalue()
