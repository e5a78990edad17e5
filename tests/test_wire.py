"""What the recording process reads of the child's lines without decoding them, and the output
cap it applies: each checked against the real encoder, so a format change shows here."""

from __future__ import annotations

from loopviz.protocol import MAX_OUTPUT_LINES, OUTPUT_CUT_NOTE, OutputCap
from loopviz.trace import (
    LoopMark,
    LoopPhase,
    Output,
    ProgramError,
    Ran,
    Record,
    Str,
    Unseen,
    Untraced,
    decode_lines,
    encode_header,
    encode_records,
    new_header,
    parse_header,
    read_notes,
)

RECORDS: list[Record] = [
    LoopMark(1, 1, LoopPhase.OPENED),
    Ran(2, 1, 3),
    LoopMark(4, 1, LoopPhase.CLOSED),
    LoopMark(5, 10, LoopPhase.OPENED),
    ProgramError(6, "ValueError", "boom", "Traceback ...\n"),
    Untraced(7, Unseen.LOOP, "uvloop.Loop", "/app/main.py", 9, "uvicorn"),
]


def test_read_notes_counts_opened_loops_and_finds_the_notes_only() -> None:
    data = encode_records(RECORDS) + b"not a record\n[14,1]\n[19,1]\n"
    assert read_notes(data) == (2, RECORDS[-2:])
    notes_first = encode_records([*RECORDS[-2:], *RECORDS[:-2]])
    assert read_notes(notes_first) == (2, RECORDS[-2:])  # the first line too
    assert read_notes(notes_first.rstrip(b"\n")) == (2, RECORDS[-2:])  # and a last unended
    others = [Output(1, 1, "[13,1,1,0]"), Str(2, "\n[19,"), Ran(3, 1, 2)]
    assert read_notes(encode_records(others)) == (0, [])


def test_decode_lines_skips_foreign_lines() -> None:
    lines = [*encode_records(RECORDS).splitlines(), b"not a record", b"[14,1]", b"[19,1]"]
    assert decode_lines(lines) == RECORDS


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
