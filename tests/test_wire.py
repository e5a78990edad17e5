"""What the recording process reads of the child's lines without decoding them, and the output
cap both sides apply: each checked against the real encoder, so a format change shows here."""

from __future__ import annotations

from loopviz.protocol import MAX_OUTPUT_LINES, OUTPUT_CUT_NOTE, OutputCap
from loopviz.trace import (
    LoopMark,
    LoopPhase,
    ProgramError,
    Ran,
    Record,
    Unseen,
    Untraced,
    decode_lines,
    encode_header,
    encode_records,
    loops_opened,
    new_header,
    parse_header,
)

RECORDS: list[Record] = [
    LoopMark(1, 1, LoopPhase.OPENED),
    Ran(2, 1, 3),
    LoopMark(4, 1, LoopPhase.CLOSED),
    LoopMark(5, 10, LoopPhase.OPENED),
    ProgramError(6, "ValueError", "boom", "Traceback ...\n"),
    Untraced(7, Unseen.LOOP, "uvloop.Loop", "/app/main.py", 9, "uvicorn"),
]


def test_loops_opened_counts_opened_marks_only() -> None:
    assert loops_opened(encode_records(RECORDS).splitlines()) == 2


def test_decode_lines_all_or_only_the_notes_skipping_foreign_lines() -> None:
    lines = [*encode_records(RECORDS).splitlines(), b"not a record", b"[14,1]", b"[19,1]"]
    assert decode_lines(lines) == RECORDS
    assert decode_lines(lines, only_notes=True) == RECORDS[-2:]


def test_new_header_reads_back() -> None:
    header = new_header("prog.py", ["-x"], 5, 7)
    assert parse_header(encode_header(header), "here") == header
    assert header.started.endswith("+00:00")  # ISO 8601, UTC


def test_the_output_cap_keeps_the_first_lines_then_one_note() -> None:
    cap = OutputCap()
    kept = [cap.admit(f"line {i}") for i in range(MAX_OUTPUT_LINES + 3)]
    assert kept[:2] == ["line 0", "line 1"]
    assert kept[MAX_OUTPUT_LINES - 1] == f"line {MAX_OUTPUT_LINES - 1}"
    assert kept[MAX_OUTPUT_LINES:] == [OUTPUT_CUT_NOTE, None, None]
