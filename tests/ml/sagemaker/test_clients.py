"""boto3 sessions of the platform: one botocore data loader per process, whatever the number of sessions."""

from __future__ import annotations

from ml.sagemaker.clients import aws_session


def test_sessions_share_one_loader_and_its_search_path_does_not_grow() -> None:
    first, second = aws_session("us-east-1"), aws_session("eu-west-1")
    loader = first._session.get_component("data_loader")
    assert second._session.get_component("data_loader") is loader
    paths = list(loader.search_paths)
    assert len(paths) == len(set(paths))
    for _ in range(5):
        aws_session()
    assert loader.search_paths == paths
    # the boto3 folder (resource models) stays on the path: boto3's resources still load
    assert any(path.endswith("boto3/data") for path in paths)
    assert second.region_name == "eu-west-1"
    assert second.client("sagemaker").meta.region_name == "eu-west-1"
    assert first.resource("s3").meta.client.meta.region_name == "us-east-1"
