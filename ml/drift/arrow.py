"""Fast paths on pyarrow, used when it is installed: ``feed`` and ``frame`` for ``capture`` (whole
capture files decoded by pyarrow's JSON Lines reader), ``floats`` for ``check``.
 The rows it takes itself are the common ones: one raw CSV row in the
request (``text/csv``, encoding ``CSV``, no quote, no line break) and, if any, one CSV score in the
answer. Every other record goes through ``CaptureReader``'s own code, one by one, and a file pyarrow
cannot read whole (a malformed line, a value of another type) goes entirely through it: the results
are the same either way, only the order of the rows may differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

try:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv
    import pyarrow.json as pa_json
except ImportError:  # the standard library path does everything, slower
    pa = None

if TYPE_CHECKING:
    from ml.drift.capture import CaptureReader


#: a frame attribute: every value is trimmed of surrounding whitespace already
TRIMMED = "values_trimmed"


def available() -> bool:
    return pa is not None


def _schema() -> Any:
    part = pa.struct(
        [
            ("observedContentType", pa.string()),
            ("data", pa.string()),
            ("encoding", pa.string()),
        ]
    )
    return pa.schema(
        [
            ("captureData", pa.struct([("endpointInput", part), ("endpointOutput", part)])),
            ("eventMetadata", pa.struct([("inferenceTime", pa.string())])),
        ]
    )


def feed(reader: CaptureReader, data: bytes) -> bool:
    """Take the records of one file into ``reader``; False (nothing taken) when pyarrow cannot read it."""
    options = pa_json.ParseOptions(explicit_schema=_schema(), unexpected_field_behavior="ignore")
    try:
        table = pa_json.read_json(pa.BufferReader(data), parse_options=options)
        capture = table.column("captureData").combine_chunks()
        times = pc.cast(
            table.column("eventMetadata").combine_chunks().field("inferenceTime"),
            pa.timestamp("us", tz="UTC"),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    request, answer = capture.field("endpointInput"), capture.field("endpointOutput")
    body = pc.utf8_rtrim(request.field("data"), characters="\r\n")  # clients often end the row
    no_answer = pc.is_null(answer)
    answer_data = pc.utf8_rtrim(answer.field("data"), characters="\r\n")
    fast = pc.and_kleene(
        pc.and_kleene(pc.is_valid(times), pc.equal(request.field("encoding"), "CSV")),
        pc.starts_with(request.field("observedContentType"), "text/csv"),
    )
    for char in ("\n", "\r", '"'):
        if _holds(body, char):  # one scan of the whole column first: most files hold neither
            fast = pc.and_kleene(fast, pc.invert(pc.match_substring(body, char)))
    one_score = pc.equal(answer.field("encoding"), "CSV")
    if _holds(answer_data, "\n"):
        one_score = pc.and_kleene(one_score, pc.invert(pc.match_substring(answer_data, "\n")))
    fast = pc.fill_null(pc.and_kleene(fast, pc.or_kleene(no_answer, one_score)), False)
    if reader.cutoff is not None:
        inside = pc.fill_null(
            pc.greater_equal(times, pa.scalar(reader.cutoff, pa.timestamp("us", tz="UTC"))), False
        )
        keep = pc.and_(fast, inside)
    else:
        keep = fast
    try:
        scores = pc.cast(pc.drop_null(pc.filter(answer_data, keep)), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False  # a score arrow will not parse: the standard path judges each record
    kept_bodies = pc.filter(body, keep)
    # Rows of another width (encoded vectors) are told apart when ``frame`` parses them.
    reader._arrow_lines.append(kept_bodies)
    reader._score_arrays.append(scores.to_numpy())
    reader.records += len(kept_bodies)
    if len(kept_bodies):
        bounds = pc.min_max(pc.filter(times, keep))
        reader._times.extend([bounds["min"].as_py(), bounds["max"].as_py()])
    slow = pc.invert(fast)
    if pc.any(slow).as_py():
        for record in table.filter(slow).to_pylist():
            reader.take(record)
    return True


def _holds(strings: Any, char: str) -> bool:
    """Whether any value of the string array may hold ``char`` (its whole data buffer is searched)."""
    data = strings.buffers()[2]
    return data is not None and char.encode() in data.to_pybytes()


def frame(chunks: Sequence[Any], columns: Sequence[str]) -> tuple[pd.DataFrame, int] | None:
    """CSV rows without quotes or line breaks, as arrow string ``chunks`` (what ``feed`` took): those
    of ``len(columns)`` fields as string columns, surrounding spaces trimmed, and how many others there
    were (blank ones aside), as the standard path counts them. None without pyarrow."""
    if pa is None:
        return None
    rows = pa.concat_arrays(list(chunks))
    if len(rows) == 0:
        return pd.DataFrame({c: pd.Series(dtype=str) for c in columns}), 0
    # Each row and a line break, back to back in one buffer: the CSV text, without copying rows one by one.
    ended = pc.binary_join_element_wise(rows, pa.scalar("", pa.string()), "\n")
    offsets = ended.buffers()[1]
    start, end = (int.from_bytes(offsets[i * 4 : i * 4 + 4], "little", signed=True) for i in (0, len(ended)))
    text = ended.buffers()[2][start:end] if len(ended) else pa.py_buffer(b"")
    others = 0

    def other_width(row: Any) -> str:
        nonlocal others
        others += bool(row.text.strip())
        return "skip"

    table = pa_csv.read_csv(
        pa.BufferReader(text),
        read_options=pa_csv.ReadOptions(column_names=list(columns)),
        parse_options=pa_csv.ParseOptions(invalid_row_handler=other_width),
        convert_options=pa_csv.ConvertOptions(
            column_types={c: pa.string() for c in columns},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    trimmed = {c: pc.utf8_trim_whitespace(table.column(c)) for c in columns}
    rows_frame = pa.table(trimmed).to_pandas(types_mapper=pd.ArrowDtype)
    rows_frame.attrs[TRIMMED] = True  # ``check`` need not trim these values again
    return rows_frame, others


def floats(values: pd.Series) -> np.ndarray | None:
    """``values`` (strings) as floats, or None when pyarrow is missing or some value is not a number."""
    if pa is None:
        return None
    try:
        return np.asarray(
            pa.array(values, from_pandas=True).cast(pa.float64()).to_numpy(zero_copy_only=False)
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, TypeError):
        return None
