"""The model container of a local endpoint: SageMaker's XGBoost serving, in script or algorithm mode.

Which mode follows the model's container ``Environment``, as in the real image
(``sagemaker_xgboost_container/serving.py``): with ``SAGEMAKER_PROGRAM`` set, script mode
(``ml.local.script_mode``); without, algorithm mode (``ml.local.algorithm_mode``). Locally the
``Environment`` is read from ``container.json`` in the model directory, which the local RegisterModel
step writes beside the model files.

A container answers ``/invocations`` and ``/ping`` with a ``ContainerResponse``: the status, body and
content type the real container's HTTP server would send. What SageMaker's runtime API makes of a
non-2xx answer is ``ml.local.runtime_answers``' concern.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ml.serving_code import PROGRAM_ENV

CONTAINER_FILE = "container.json"
#: The XGBoost image the pipeline registers (its serving code is what the local host mirrors).
IMAGE = "sagemaker-xgboost:3.2-0"


@dataclass(frozen=True)
class ContainerResponse:
    status: int
    body: bytes
    content_type: str | None


class Container(Protocol):
    mode: str

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> ContainerResponse: ...

    def ping(self) -> ContainerResponse: ...


def text_response(status: int, message: str) -> ContainerResponse:
    """A Flask ``Response(message, status)``: Flask's default type is HTML."""
    return ContainerResponse(status, message.encode("utf-8"), "text/html; charset=utf-8")


def mimetype_header(mimetype: str) -> str:
    """The Content-Type Werkzeug sends for a ``mimetype`` (it adds the charset to text types)."""
    return (
        f"{mimetype}; charset=utf-8"
        if mimetype.startswith("text/") and "charset" not in mimetype
        else mimetype
    )


def read_environment(model_dir: Path) -> dict[str, str]:
    """The container ``Environment`` registered with the model (empty when none was)."""
    path = Path(model_dir) / CONTAINER_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        environment = data.get("Environment", {})
        if not isinstance(environment, dict):
            raise ValueError("Environment is not an object")
        return {str(k): str(v) for k, v in environment.items()}
    except (ValueError, AttributeError) as exc:
        raise ValueError(f"{path} is malformed: {exc}") from exc


def write_environment(model_dir: Path, environment: dict[str, str]) -> None:
    document = {"Image": IMAGE, "Environment": dict(environment)}
    (Path(model_dir) / CONTAINER_FILE).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def load_container(model_dir: Path, environment: dict[str, str] | None = None) -> Container:
    """Start the container for ``model_dir``; raises (as the real one fails its start) if it cannot."""
    env = read_environment(model_dir) if environment is None else dict(environment)
    if env.get(PROGRAM_ENV):
        from .script_mode import ScriptModeContainer

        return ScriptModeContainer(Path(model_dir), env)
    from .algorithm_mode import AlgorithmModeContainer

    return AlgorithmModeContainer(Path(model_dir), env)
