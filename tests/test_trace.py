"""The trace format: records round-trip, and bad files are refused in one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopviz.trace import (
    FORMAT_VERSION,
    Cause,
    Header,
    Output,
    Ready,
    Str,
    TraceError,
    Waited,
    encode_header,
    encode_records,
    read_trace,
)

HEADER = Header(loopviz="t", python="3.11", program="p.py", started="2026-01-01T00:00:00")
RECORDS = [
    Str(1, "sleep"),
    Ready(10, 1, Cause.TIMER, 0),
    Waited(20, 1, 5, 1, 1, 0, 1_000),
    Output(30, 1, 'He said "hi"\tand left ✓'),
]


def write(path: Path, body: bytes) -> Path:
    path.write_bytes(body)
    return path


def test_records_round_trip(tmp_path: Path) -> None:
    trace = read_trace(write(tmp_path / "t", encode_header(HEADER) + encode_records(RECORDS)))
    assert trace.header == HEADER
    assert trace.records == RECORDS
    assert trace.warnings == []


def test_records_are_compact_arrays() -> None:
    assert encode_records([Ready(123, 7, Cause.TIMER)]) == b"[3,123,7,2,0]\n"


def test_truncated_last_line_keeps_everything_before_it(tmp_path: Path) -> None:
    body = encode_header(HEADER) + encode_records(RECORDS)
    trace = read_trace(write(tmp_path / "t", body[:-7]))
    assert trace.records == RECORDS[:-1]
    assert len(trace.warnings) == 1
    assert "incomplete" in trace.warnings[0] and ":5:" in trace.warnings[0]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty file"),
        (b"hello world\n", ":1: not a loopviz trace"),
        (b'{"format": "something-else"}\n', ":1: not a loopviz trace"),
        (
            b'{"format":"loopviz-trace","version":%d}\n' % (FORMAT_VERSION + 1),
            f":1: trace format version {FORMAT_VERSION + 1} is newer",
        ),
        (encode_header(HEADER) + b"[3,1,1,0,0]\n[3,oops]\n[3,2,1,0,0]\n", ":3: malformed event"),
        (encode_header(HEADER) + b"[99,1,2]\n", ":2: malformed event"),
    ],
)
def test_bad_files_are_refused_naming_file_and_line(
    tmp_path: Path, body: bytes, message: str
) -> None:
    path = write(tmp_path / "bad.trace.jsonl", body)
    with pytest.raises(TraceError) as caught:
        read_trace(path)
    text = str(caught.value)
    assert text.startswith(str(path))
    assert message in text
    assert "\n" not in text


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="cannot read"):
        read_trace(tmp_path / "nope.jsonl")
