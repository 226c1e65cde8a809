"""InputData comes from allowed places only, and no error shows what a file holds.

Attacks as a trainer would try them: host files, secrets, directories, ``../`` escapes, symlinks out
of the data directory, probing which paths exist, and other S3 buckets.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ml import datasets
from ml.local import LocalPlatform
from ml.local import parameters as local
from ml.parameters import RunPolicy
from ml.platform import ExecutionStatus, InvalidRequest
from ml.sagemaker.parameters import bucket_prefix, check_input
from ml.steps import preprocess

SECRET = "xoxb-this-is-the-bot-token-4711"
POLICY = RunPolicy()


@pytest.fixture()
def places(tmp_path: Path) -> tuple[Path, Path]:
    """A data directory with one good file, and a sibling directory outside it with a secret."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("a,label\n1,x\n", encoding="utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / ".env").write_text(f"export SLACK_BOT_TOKEN={SECRET}\n", encoding="utf-8")
    return data, outside


def _refusal(value: str, data_dir: Path) -> str:
    with pytest.raises(InvalidRequest) as info:
        local.resolve_run({"InputData": value}, policy=POLICY, data_dir=data_dir)
    return str(info.value)


def test_files_of_the_data_directory_and_the_bundled_data_are_allowed(places: tuple[Path, Path]) -> None:
    data, _ = places
    (data / "sub").mkdir()
    (data / "sub" / "more.csv").write_text("a,label\n", encoding="utf-8")
    os.symlink(data / "train.csv", data / "alias.csv")  # a symlink that stays inside
    for value in ("train.csv", str(data / "train.csv"), "sub/../train.csv", "alias.csv", "sub/more.csv"):
        run = local.resolve_run({"InputData": value}, policy=POLICY, data_dir=data)
        assert run.input_path.parent in (data.resolve(), (data / "sub").resolve())
        assert run.input_path.is_relative_to(data.resolve())
    bundled = str(datasets.adult_train_path())
    assert local.resolve_run({"InputData": bundled}, policy=POLICY, data_dir=data).input_path == (
        datasets.adult_train_path().resolve()
    )


def test_every_other_place_gets_the_same_message(places: tuple[Path, Path]) -> None:
    data, outside = places
    os.symlink(outside / ".env", data / "link-out.csv")  # inside the directory, pointing out
    os.symlink(outside, data / "dir-out")
    (data / "empty-dir").mkdir()
    attempts = [
        "/etc/passwd",
        "/etc/shadow",
        str(outside / ".env"),
        f"file://{outside / '.env'}",
        "../outside/.env",
        "sub/../../outside/.env",
        str(data / ".." / "outside" / ".env"),
        "link-out.csv",
        "dir-out/.env",
        "empty-dir",
        str(data),
        ".",
        "/",
        str(outside),
        str(outside / "missing.csv"),  # missing outside ...
        "/nonexistent/adult.csv",
        "missing.csv",  # ... and missing inside: the same answer as an existing outside file
        str(datasets.DATA_DIR / "adult.test.gz"),  # bundled, but not the training data
        "train.csv\x00.png",
    ]
    messages = {value: _refusal(value, data) for value in attempts}
    assert set(messages.values()) == {local.INPUT_RULE}
    assert "InputData" in local.INPUT_RULE and "MLOPS_DATA_DIR" in local.INPUT_RULE
    for message in messages.values():
        assert SECRET not in message and "passwd" not in message and str(outside) not in message


def test_a_refused_path_is_never_opened(places: tuple[Path, Path]) -> None:
    data, outside = places
    fifo = outside / "pipe.csv"
    os.mkfifo(fifo)  # opening it for reading would block until a writer comes
    done = threading.Event()
    outcome: list[str] = []

    def attempt() -> None:
        outcome.append(_refusal(str(fifo), data))
        done.set()

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    assert done.wait(10), "the refused path was opened"
    assert outcome == [local.INPUT_RULE]


@pytest.fixture()
def platform(places: tuple[Path, Path], tmp_path: Path) -> Iterator[LocalPlatform]:
    with LocalPlatform(tmp_path / "home", data_dir=places[0]) as instance:
        yield instance


def test_the_platform_refuses_before_recording_a_run(
    platform: LocalPlatform, places: tuple[Path, Path]
) -> None:
    _, outside = places
    for value in ("/etc/passwd", str(outside / ".env"), "../outside/.env", "s3://bucket/x.csv"):
        with pytest.raises(InvalidRequest, match="InputData"):
            platform.start_pipeline({"InputData": value}, "U1")
    assert platform.list_executions(limit=10) == []


def test_a_secret_in_the_data_directory_is_not_quoted_by_the_failed_run(
    platform: LocalPlatform, places: tuple[Path, Path]
) -> None:
    data = places[0]
    (data / ".env").write_text(f"export SLACK_BOT_TOKEN={SECRET}\nexport DEBUG=1\n", encoding="utf-8")
    ended = threading.Event()
    platform.subscribe(
        lambda event: (
            ended.set()
            if event["detail"].get("currentPipelineExecutionStatus") in ("Failed", "Succeeded")
            else None
        )
    )
    started = platform.start_pipeline({"InputData": ".env"}, "U1")
    assert ended.wait(60)
    execution = platform.describe_execution(started.execution_id)
    assert execution.status is ExecutionStatus.FAILED
    assert execution.failure_reason is not None
    assert "target column 'income' is not a column of the input file" in execution.failure_reason
    assert SECRET not in execution.failure_reason and "SLACK_BOT_TOKEN" not in execution.failure_reason


@pytest.mark.parametrize(
    ("content", "target", "hidden"),
    [
        (f"export SLACK_BOT_TOKEN={SECRET}\n", "income", SECRET),  # a header of secrets
        (f"a,label\n1,{SECRET}\n2,y\n3,z\n", "label", SECRET),  # three classes, one a secret
        (f"a,label\n1,{SECRET}\n2,dog\n", "label", SECRET),  # which class is positive?
        ("a,label\n" + "".join(f"{i},{SECRET if i < 5 else 'dog'}\n" for i in range(40)), "label", SECRET),
    ],
)
def test_preprocess_errors_never_quote_the_file(
    tmp_path: Path, content: str, target: str, hidden: str
) -> None:
    source = tmp_path / "input.csv"
    source.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError) as info:
        preprocess.run(source, tmp_path / "out", target=target, positive_label=None)
    assert hidden not in str(info.value)
    assert "SLACK_BOT_TOKEN" not in str(info.value)


def test_encoding_errors_name_no_value() -> None:
    import pandas as pd

    spec = {"missing_values": [""], "raw_columns": ["n"], "numeric_fill": {"n": 0.0}}
    with pytest.raises(ValueError) as info:
        preprocess.encode(pd.DataFrame({"n": ["1", SECRET]}), spec)
    assert str(info.value) == "feature column 1 is numeric but holds a value that is not a number"


def test_preprocess_never_lists_a_directory(tmp_path: Path) -> None:
    channel = tmp_path / "channel"
    channel.mkdir()
    for name in ("id_rsa", "credentials", "passwords.txt"):
        (channel / name).write_text("x", encoding="utf-8")
    with pytest.raises(ValueError) as info:
        preprocess.run(channel, tmp_path / "out")
    assert str(info.value) == "the input directory holds 3 files: name the one to use"


def test_sagemaker_input_must_be_under_an_allowed_prefix() -> None:
    allowed = (bucket_prefix("s3://mlops-data/training/"), "s3://shared-data/team-a")
    for ok in ("s3://mlops-data/training/x.csv", "s3://mlops-data/other/", "s3://shared-data/team-a/f.csv"):
        assert check_input(ok, allowed) == ok
    refused = [
        "s3://other-bucket/x",
        "s3://mlops-data2/x",  # a bucket whose name starts like an allowed one
        "s3://shared-data/team-ab/x",  # a prefix that starts like an allowed one
        "s3://shared-data/team-a/../team-b/x",
        "s3://shared-data/team-a//x",
        "/etc/passwd",
        "file:///etc/passwd",
        "https://mlops-data.s3.amazonaws.com/training/x.csv",
    ]
    for value in refused:
        with pytest.raises(InvalidRequest) as info:
            check_input(value, allowed)
        assert str(info.value) == (
            "InputData must be an s3:// URI under an allowed prefix (s3://mlops-data/, s3://shared-data/team-a/)."
        )
    with pytest.raises(InvalidRequest, match=r"allowed prefix \(none configured\)"):
        check_input("s3://mlops-data/training/x.csv", ())
