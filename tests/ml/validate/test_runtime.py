"""``runtime_invoker``: calls through boto3 that keep the model's own HTTP status."""

from __future__ import annotations

import pytest

from ml import validate
from ml.validate import InvokeError


def test_runtime_invoker_reports_http_status(runtime_url: str) -> None:
    invoke = validate.runtime_invoker("mlops-staging", endpoint_url=runtime_url, region="us-east-1")
    with pytest.raises(InvokeError) as refused:
        invoke(b"1,2,3\n", "text/csv")
    assert refused.value.status == 400
    assert "row 1 has 3 values" in str(refused.value)
    missing = validate.runtime_invoker("nope", endpoint_url=runtime_url, region="us-east-1")
    with pytest.raises(InvokeError) as not_found:
        missing(b"1\n", "text/csv")
    assert not_found.value.status == 404
