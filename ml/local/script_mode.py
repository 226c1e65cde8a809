"""Script mode of SageMaker's XGBoost container, as its serving code runs it.

Facts taken from ``aws/sagemaker-xgboost-container`` (``serving.py``: ``_user_module_transformer``) and
``aws/sagemaker-containers`` (``_transformer.py``, ``_worker.py``, ``_functions.py``, ``_env.py``), which
that image serves script mode with, behind Flask:

* the module named by ``SAGEMAKER_PROGRAM`` (``.py`` dropped) is imported from the submit directory;
  ``model_fn(model_dir)`` runs once when the worker starts, and a failure stops the container;
* a module with ``transform_fn`` must not also define ``input_fn``, ``predict_fn`` or ``output_fn``
  (the container refuses to start); missing handlers take the XGBoost defaults (no default
  ``model_fn``: it raises ``NotImplementedError``);
* per request: ``output_fn(predict_fn(input_fn(content, content_type), model), accept)``, or
  ``transform_fn(model, content, content_type, accept)``. ``content`` is text when the content type is
  exactly ``application/json`` or ``text/csv``, else bytes; the content type comes from the
  ``ContentType`` or ``Content-Type`` header, default ``application/json``; ``accept`` is the
  ``Accept`` header, or ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`` (default ``application/json``) when it
  is missing or ``*/*``;
* every handler is wrapped so that any exception it raises becomes a ``ClientError``, which nothing
  catches: Flask answers HTTP 500 with its generic HTML page;
* a tuple result is sent as ``(body, mimetype)`` with status 200; any other result goes to Flask as is
  (a WSGI application is run, so it can set its own status; text or bytes are sent as HTML).

The local host keeps every model in one process, so ``ml`` imported by the script is the host's own
package (the same files the model's submit directory holds).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote, urlsplit

from ml.serving_code import PROGRAM_ENV, SUBMIT_DIRECTORY_ENV

from . import algorithm_mode
from .container import ContainerResponse, mimetype_header, text_response

log = logging.getLogger(__name__)

JSON = "application/json"
CSV = "text/csv"
_TEXT_TYPES = (JSON, CSV)
#: Werkzeug's body for an unhandled exception (Flask 3.1 / Werkzeug 3.1, as the image pins).
INTERNAL_SERVER_ERROR_HTML = (
    "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
    "<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was unable to "
    "complete your request. Either the server is overloaded or there is an error in the application.</p>\n"
)


class UserError(Exception):
    """The container refuses to start with this module."""


class ScriptModeContainer:
    mode = "script"

    def __init__(self, model_dir: Path, environment: dict[str, str]) -> None:
        self.model_dir = Path(model_dir)
        self.program = environment[PROGRAM_ENV]
        self.submit_directory = _submit_directory(self.model_dir, environment.get(SUBMIT_DIRECTORY_ENV))
        self.default_accept = environment.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or JSON
        self.module = _import_program(self.submit_directory, self.program)
        handlers = {name: getattr(self.module, name, None) for name in _HANDLERS}
        self._transform_fn = handlers["transform_fn"]
        if self._transform_fn is not None and any(
            handlers[n] for n in ("input_fn", "predict_fn", "output_fn")
        ):
            raise UserError(
                "Cannot use transform_fn implementation with input_fn, predict_fn, and/or output_fn"
            )
        self._input_fn = handlers["input_fn"] or _default_input_fn
        self._predict_fn = handlers["predict_fn"] or _default_predict_fn
        self._output_fn = handlers["output_fn"] or _default_output_fn
        model_fn = handlers["model_fn"] or _default_model_fn
        self.model = model_fn(str(self.model_dir))

    def ping(self) -> ContainerResponse:
        return ContainerResponse(200, b"", None)

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> ContainerResponse:
        request_type = content_type or JSON
        content: str | bytes = body.decode("utf-8", "replace") if request_type in _TEXT_TYPES else body
        response_type = self.default_accept if not accept or accept == "*/*" else accept
        try:
            if self._transform_fn is not None:
                result = self._transform_fn(self.model, content, request_type, response_type)
            else:
                data = self._input_fn(content, request_type)
                prediction = self._predict_fn(data, self.model)
                result = self._output_fn(prediction, response_type)
            return _to_response(result)
        except Exception:
            log.exception("%s: a handler failed; the container answers 500", self.program)
            return text_response(500, INTERNAL_SERVER_ERROR_HTML)


_HANDLERS = ("model_fn", "input_fn", "predict_fn", "output_fn", "transform_fn")


def _submit_directory(model_dir: Path, value: str | None) -> Path:
    """A directory path or ``file://`` URI; a relative path is relative to the model directory."""
    if not value:
        return Path("/opt/ml/code")  # the container's default, which never exists locally
    parts = urlsplit(value)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme:
        raise UserError(f"{SUBMIT_DIRECTORY_ENV}={value!r}: the local host reads directories only")
    path = Path(value)
    return path if path.is_absolute() else model_dir / path


def _import_program(directory: Path, program: str) -> ModuleType:
    name = program[:-3] if program.endswith(".py") else program
    path = directory / f"{name.replace('.', os.sep)}.py"
    if not path.is_file():
        raise UserError(f"{PROGRAM_ENV}={program!r}: no {path.name} in the submit directory {directory}")
    # A unique name per file: several models, each with its own script, live in one host process.
    unique = f"_sagemaker_program_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]}"
    spec = importlib.util.spec_from_file_location(unique, path)
    if spec is None or spec.loader is None:
        raise UserError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _to_response(result: Any) -> ContainerResponse:
    if isinstance(result, tuple):
        payload, mimetype = result[0], str(result[1])
        data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
        return ContainerResponse(200, data, mimetype_header(mimetype))
    if isinstance(result, str | bytes | bytearray):
        data = result.encode("utf-8") if isinstance(result, str) else bytes(result)
        return ContainerResponse(200, data, "text/html; charset=utf-8")
    if callable(result):
        return _run_wsgi(result)
    raise TypeError(f"the view function returned {type(result).__name__}, which Flask cannot send")


def _run_wsgi(app: Callable[..., Iterable[bytes]]) -> ContainerResponse:
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
        started.append((status, headers))

    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/invocations", "wsgi.url_scheme": "http"}
    body = b"".join(app(environ, start_response))
    if not started:
        raise RuntimeError("the WSGI application never called start_response")
    status, headers = started[-1]
    content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
    return ContainerResponse(int(status.split(" ", 1)[0]), body, content_type)


# -- the XGBoost image's defaults for a missing handler --------------------------------------------------
def _default_model_fn(model_dir: str) -> Any:
    raise NotImplementedError("Please provide a model_fn implementation.")


def _default_input_fn(content: str | bytes, content_type: str) -> Any:
    return algorithm_mode.decode(content, content_type)


def _default_predict_fn(data: Any, model: Any) -> Any:
    return model.predict(data, validate_features=False)


def _default_output_fn(prediction: Any, accept: str) -> tuple[bytes, str]:
    return algorithm_mode.encode_array(prediction, accept), accept
