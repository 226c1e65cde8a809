"""The bundled Adult data, and the stratified sample the fast tests train on."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

from ml import datasets
from ml.steps import preprocess

ADULT_DATA_SHA256 = "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d"


def test_bundled_files_match_the_original_data() -> None:
    assert datasets.adult_names_path().read_text(encoding="utf-8").count("native-country") >= 1
    assert preprocess.ADULT_COLUMNS == datasets.ADULT_COLUMNS
    rows = list(datasets.iter_adult_rows(datasets.adult_test_path()))
    assert len(rows) == 16281
    assert {label for _, label in rows} == {">50K", "<=50K"}
    assert datasets.looks_like_adult(datasets.adult_train_path())
    training = [label for _, label in datasets.iter_adult_rows(datasets.adult_train_path())]
    assert len(training) == 32561
    assert training.count(">50K") / len(training) == pytest.approx(0.2408, abs=0.0001)
    raw = gzip.decompress(datasets.adult_train_path().read_bytes())
    assert hashlib.sha256(raw).hexdigest() == ADULT_DATA_SHA256


def test_the_sample_is_stratified_real_and_in_file_order() -> None:
    lines = datasets.adult_sample()
    assert len(lines) == datasets.SAMPLE_ROWS == 3000
    full = datasets.open_text(datasets.adult_train_path()).read().splitlines(keepends=True)
    remaining = iter(full)
    assert all(line in remaining for line in lines)  # a subsequence: real rows, in the file's order
    positives = sum(1 for line in lines if line.rstrip().endswith(">50K"))
    assert positives == round(3000 * 7841 / 32561)  # the full file's share of >50K, rounded
    assert all(line.endswith("\n") for line in lines)


def test_the_sample_is_reproducible_and_the_seed_chooses_it() -> None:
    assert datasets.adult_sample(500, seed=1) == datasets.adult_sample(500, seed=1)
    assert datasets.adult_sample(500, seed=1) != datasets.adult_sample(500, seed=2)
    assert len(datasets.adult_sample(1)) == 1


def test_a_written_sample_is_valid_adult_data(tmp_path: Path) -> None:
    path = datasets.write_adult_sample(tmp_path / "nested" / "adult-sample.data", rows=400, seed=3)
    assert datasets.looks_like_adult(path)
    rows = list(datasets.iter_adult_rows(path))
    assert len(rows) == 400
    assert path.read_text(encoding="utf-8") == "".join(datasets.adult_sample(400, seed=3))


@pytest.mark.parametrize("rows", [0, -5, 32562])
def test_sample_sizes_outside_the_file_are_refused(rows: int) -> None:
    expected = rf"rows must be between 1 and 32561 \(the rows of adult\.data\.gz\), not {rows}$"
    with pytest.raises(ValueError, match=expected):
        datasets.adult_sample(rows)
