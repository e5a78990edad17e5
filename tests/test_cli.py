"""What every command says about its input, and how it ends when its reader goes away."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from trace_builder import MS, TraceBuilder

from loopviz import cli, exits
from loopviz.trace import End, EndReason, Finished, LoopMark, LoopPhase, Outcome, ProgramError


@pytest.mark.parametrize("command", ["record", "summary", "export"])
def test_a_missing_file_and_a_folder_are_one_line_in_the_same_words(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "absent.py"
    assert cli.main([command, str(missing)]) == exits.USAGE
    assert capsys.readouterr().err == f"loopviz: {missing}: no such file\n"
    assert cli.main([command, str(tmp_path)]) == exits.USAGE
    err = capsys.readouterr().err
    assert err.startswith(f"loopviz: {tmp_path}: a folder, not a") and err.count("\n") == 1


def test_a_reader_that_goes_away_is_no_traceback(tmp_path: Path) -> None:
    """``loopviz summary --json T | head -c 10``: the pipe closes early; loopviz stops
    quietly (no traceback on stderr) and does not report the run as failed."""
    builder = TraceBuilder()
    builder.add(LoopMark(0, 1, LoopPhase.OPENED))
    for task in range(1, 3001):
        builder.task(task * MS, task, f"task-{task}")
        builder.add(Finished(task * MS, task, MS, Outcome.RESULT, 0))
    builder.add(End(4 * 1000 * MS, 0, EndReason.EXITED))
    trace = builder.write(tmp_path / "big.trace.jsonl")
    with subprocess.Popen(
        [sys.executable, "-m", "loopviz", "summary", "--json", str(trace)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.read(10) == b'{"program"'
        proc.stdout.close()  # as head does once it has its bytes
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == exits.OK
    assert err == ""


def test_summary_of_a_failed_run_says_why_it_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    builder = TraceBuilder()
    builder.add(LoopMark(0, 1, LoopPhase.OPENED))
    builder.add(ProgramError(MS, "ValueError", "boom", ""), End(2 * MS, 1, EndReason.EXITED))
    trace = builder.write(tmp_path / "failed.trace.jsonl")
    assert cli.main(["summary", str(trace)]) == exits.PROGRAM_FAILED
    assert capsys.readouterr().err == "loopviz: prog.py failed: ValueError: boom\n"
