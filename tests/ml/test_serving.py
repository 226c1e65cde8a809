from __future__ import annotations

import json
import shutil
import tarfile
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ml import datasets
from ml.serving import MAX_ROWS, BadInput, Scorer
from ml.steps import preprocess

Rows = list[tuple[list[str], str]]


def _spec(model_dir: Path) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads((model_dir / "features.json").read_text())
    return spec


def _encoded(model_dir: Path, raw_rows: list[list[str]]) -> np.ndarray:
    """The encoding preprocessing itself applies, for comparison with the scorer's own."""
    frame = pd.DataFrame(raw_rows, columns=list(datasets.ADULT_COLUMNS[:-1]))
    return preprocess.encode(frame, _spec(model_dir))


def _csv(rows: list[list[str]] | np.ndarray) -> bytes:
    return "".join(",".join(str(v) for v in row) + "\n" for row in rows).encode()


def _csv_scores(body: bytes) -> list[float]:
    return [float(line) for line in body.decode().splitlines()]


def test_raw_encoded_and_json_inputs_score_the_same(
    scorer: Scorer, trained: tuple[Path, dict[str, Any]], adult_test_rows: Rows
) -> None:
    raw = [values for values, _ in adult_test_rows[:50]]
    encoded = _encoded(trained[0], raw)

    raw_csv, raw_type = scorer.predict(_csv(raw), "text/csv")
    encoded_csv, _ = scorer.predict(_csv(encoded), "text/csv; charset=utf-8")
    as_lists, json_type = scorer.predict(json.dumps({"instances": raw}).encode(), "application/json")
    records = [dict(zip(scorer.raw_columns, values, strict=True)) for values in raw]
    as_records, _ = scorer.predict(json.dumps({"instances": records}).encode(), "application/json")
    encoded_json, _ = scorer.predict(json.dumps({"instances": encoded.tolist()}).encode(), "application/json")

    assert raw_type == "text/csv" and json_type == "application/json"
    expected = _csv_scores(raw_csv)
    assert len(expected) == 50 and len(set(expected)) > 40
    assert all(0.0 <= p <= 1.0 for p in expected)
    assert _csv_scores(encoded_csv) == pytest.approx(expected, abs=1e-8)
    for body in (as_lists, as_records, encoded_json):
        predictions = json.loads(body)["predictions"]
        assert [p["score"] for p in predictions] == pytest.approx(expected, abs=1e-8)


def test_scores_are_accurate_on_unseen_rows(scorer: Scorer, adult_test_rows: Rows) -> None:
    scores = scorer.predict_rows([values for values, _ in adult_test_rows])
    accuracy = np.mean(
        [(s >= 0.5) == (label == ">50K") for s, (_, label) in zip(scores, adult_test_rows, strict=True)]
    )
    assert accuracy >= 0.8


def test_accept_header_chooses_the_response_type(scorer: Scorer, adult_test_rows: Rows) -> None:
    body = _csv([adult_test_rows[0][0]])
    payload, content_type = scorer.predict(body, "text/csv", accept="application/json")
    assert content_type == "application/json"
    assert len(json.loads(payload)["predictions"]) == 1
    assert scorer.predict(body, "text/csv", accept="*/*")[1] == "text/csv"
    with pytest.raises(BadInput, match="unsupported Accept"):
        scorer.predict(body, "text/csv", accept="image/png")


def test_unknown_category_encodes_as_all_zeros(
    scorer: Scorer, trained: tuple[Path, dict[str, Any]], adult_test_rows: Rows
) -> None:
    values = list(adult_test_rows[0][0])
    column = scorer.raw_columns.index("native-country")
    values[column] = "Atlantis"
    encoded = _encoded(trained[0], [values])[0]
    names = _spec(trained[0])["feature_names"]
    block = [i for i, name in enumerate(names) if name.startswith("native-country=")]
    assert encoded[block].sum() == 0
    assert scorer.predict_rows([values]) == pytest.approx(scorer.predict_rows([encoded.tolist()]), abs=1e-9)


def test_missing_values_are_filled_as_in_training(
    scorer: Scorer, trained: tuple[Path, dict[str, Any]], adult_test_rows: Rows
) -> None:
    spec = _spec(trained[0])
    values = list(adult_test_rows[1][0])
    age, workclass = scorer.raw_columns.index("age"), scorer.raw_columns.index("workclass")
    with_missing = list(values)
    with_missing[age], with_missing[workclass] = "", "?"
    filled = list(values)
    filled[age], filled[workclass] = str(spec["numeric_fill"]["age"]), "Unknown"
    record: dict[str, object] = dict(zip(scorer.raw_columns, values, strict=True))
    del record["age"]
    record["workclass"] = None
    expected = scorer.predict_rows([filled])
    assert scorer.predict_rows([with_missing]) == pytest.approx(expected, abs=1e-9)
    assert scorer.predict_rows([record]) == pytest.approx(expected, abs=1e-9)


def test_json_numbers_for_raw_columns(scorer: Scorer, adult_test_rows: Rows) -> None:
    values = adult_test_rows[2][0]
    record: dict[str, object] = dict(zip(scorer.raw_columns, values, strict=True))
    record["age"] = int(values[0])
    record["hours-per-week"] = float(values[12])
    assert scorer.predict_rows([record]) == pytest.approx(scorer.predict_rows([values]), abs=1e-9)


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"", "text/csv", "empty request body"),
        (b"  \n\n", "text/csv", "empty request body"),
        (b"1,2,3\n", "text/csv", "row 1 has 3 values; expected {n} encoded features or 14 raw columns"),
        (
            b"abc, Private, 1, Bachelors, 13, Never-married, Sales, Husband, White, Male, 0, 0, 40, Cuba\n",
            "text/csv",
            "row 1 column 'age': 'abc' is not a number",
        ),
        ("{ones},x\n", "text/csv", "row 1 column 'feature {n}': 'x' is not a number"),
        ("{ones},inf\n", "text/csv", "infinite"),
        (b"\xff\xfe", "text/csv", "not UTF-8"),
        (b'{"instances": [', "application/json", "malformed JSON"),
        (b"[[1, 2]]", "application/json", 'object with an "instances" list'),
        (b'{"instances": {"age": 1}}', "application/json", '"instances" must be a list'),
        (b'{"instances": []}', "application/json", "no rows to score"),
        (b'{"instances": ["39"]}', "application/json", "row 1: expected a list of values or an object"),
        (b'{"instances": [{"agee": 39}]}', "application/json", "unknown field"),
        (b'{"instances": [{"age": [39]}]}', "application/json", "unsupported value"),
        (b"1,2", "application/x-recordio-protobuf", "unsupported content type"),
    ],
)
def test_malformed_requests_raise_bad_input(
    scorer: Scorer, body: bytes | str, content_type: str, message: str
) -> None:
    """``{n}``: the model's feature count; ``{ones}``: one short of a full encoded row."""
    n = scorer.n_features
    if isinstance(body, str):
        body = body.format(ones=",".join(["1"] * (n - 1))).encode()
    with pytest.raises(BadInput, match=message.format(n=n).replace("(", r"\(")):
        scorer.predict(body, content_type)


def test_bad_input_is_a_value_error() -> None:
    assert issubclass(BadInput, ValueError)


def test_too_many_rows_are_refused(scorer: Scorer) -> None:
    row = ",".join(["0"] * scorer.n_features) + "\n"
    with pytest.raises(BadInput, match=f"more than {MAX_ROWS} rows"):
        scorer.predict((row * (MAX_ROWS + 1)).encode(), "text/csv")
    instances = json.dumps({"instances": [[0] * scorer.n_features] * (MAX_ROWS + 1)}).encode()
    with pytest.raises(BadInput, match=f"the limit is {MAX_ROWS}"):
        scorer.predict(instances, "application/json")
    assert len(scorer.predict((row * MAX_ROWS).encode(), "text/csv")[0].splitlines()) == MAX_ROWS


def test_concurrent_predictions_match_sequential_ones(scorer: Scorer, adult_test_rows: Rows) -> None:
    bodies = [_csv([values]) for values, _ in adult_test_rows[:40]]
    expected = [scorer.predict(body, "text/csv")[0] for body in bodies]
    mismatches: list[int] = []
    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        try:
            for round_ in range(5):
                for i in range(len(bodies)):
                    index = (i + offset + round_) % len(bodies)
                    if scorer.predict(bodies[index], "text/csv")[0] != expected[index]:
                        mismatches.append(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and not mismatches


def test_load_from_model_archive(
    scorer: Scorer, trained: tuple[Path, dict[str, Any]], tmp_path: Path, adult_test_rows: Rows
) -> None:
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as tar:
        for name in ("xgboost-model", "features.json"):
            tar.add(trained[0] / name, arcname=name)
    loaded = Scorer.load(tmp_path)
    rows = [values for values, _ in adult_test_rows[:10]]
    assert loaded.predict_rows(rows) == scorer.predict_rows(rows)


def test_model_without_features_takes_encoded_rows_only(
    scorer: Scorer, trained: tuple[Path, dict[str, Any]], tmp_path: Path, adult_test_rows: Rows
) -> None:
    shutil.copy(trained[0] / "xgboost-model", tmp_path / "xgboost-model")
    bare = Scorer.load(tmp_path)
    assert not bare.accepts_raw and bare.n_features == scorer.n_features
    encoded = _encoded(trained[0], [adult_test_rows[0][0]])
    assert bare.predict_rows(encoded.tolist()) == scorer.predict_rows([adult_test_rows[0][0]])
    with pytest.raises(BadInput, match=rf"expected {scorer.n_features} encoded features$"):
        bare.predict(_csv([adult_test_rows[0][0]]), "text/csv")
    with pytest.raises(BadInput, match=r"need the model's features\.json"):
        bare.predict_rows([{"age": 39}])


def test_load_errors(trained: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no xgboost-model or model\.tar\.gz"):
        Scorer.load(tmp_path)
    shutil.copy(trained[0] / "xgboost-model", tmp_path / "xgboost-model")
    spec = _spec(trained[0])
    n = len(spec["feature_names"])
    spec["feature_names"] = spec["feature_names"][:-1]
    (tmp_path / "features.json").write_text(json.dumps(spec))
    with pytest.raises(ValueError, match=f"encode to {n} features but it names {n - 1}"):
        Scorer.load(tmp_path)
    (tmp_path / "features.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        Scorer.load(tmp_path)
    (tmp_path / "xgboost-model").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="is not an XGBoost model"):
        Scorer.load(tmp_path)
