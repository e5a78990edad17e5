"""``loopviz summary`` on real programs recorded in a child process, and on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import line_of, write_program
from trace_builder import MS, TraceBuilder

from loopviz import cli, exits
from loopviz.model.timeline import Timeline
from loopviz.record.process import record_program
from loopviz.report.summary import render_table
from loopviz.trace import Cause, End, EndReason, Finished, Ready, Wait, Waited


def summary(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["summary", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_gather_of_sleeps_overlaps(tmp_path, capsys):
    prog = write_program(
        tmp_path,
        """
        import asyncio

        async def work(n):
            await asyncio.sleep(n)
            return n

        async def main():
            await asyncio.gather(work(0.2), work(0.4), work(0.2))

        asyncio.run(main())
        """,
    )
    code, out, err = summary(capsys, str(prog), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert {"wall_s", "loop_busy_s", "loop_idle_s", "concurrency_gain", "peak_waiting"} <= set(
        report
    )
    assert report["exit"] == {"status": 0, "reason": "EXITED", "error": ""}
    assert 0.4 <= report["wall_s"] < 1.5
    assert 0.39 <= report["loop_busy_s"] + report["loop_idle_s"] < 1.0
    assert report["loop_idle_s"] > 0.3  # the loop slept in select while the tasks slept
    assert 1.6 < report["concurrency_gain"] < 2.1  # 0.8 s of sleeps in 0.4 s
    assert report["peak_waiting"] >= 4  # main on the gather, three on their sleeps
    assert report["blocking"] == []
    workers = [task for task in report["tasks"] if task["coro"] == "work"]
    assert sorted(round(task["waiting_s"], 1) for task in workers) == [0.2, 0.2, 0.4]
    keys = {"id", "name", "coro", "parent", "created_s", "ended_s", "outcome"}
    keys |= {"running_s", "ready_s", "waiting_s", "steps"}
    assert all(keys <= set(task) for task in report["tasks"])
    main = next(task for task in report["tasks"] if task["coro"] == "main")
    assert all(task["parent"] == main["id"] for task in workers)
    assert {task["outcome"] for task in workers} == {"returned 0.2", "returned 0.4"}


BLOCKING = """
    import asyncio
    import time

    async def ticker():
        for _ in range(3):
            await asyncio.sleep(0.01)

    async def main():
        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        time.sleep(0.3)  # the culprit
        await task

    asyncio.run(main())
    """


@pytest.fixture
def blocking_trace(tmp_path) -> tuple[Path, int]:
    prog = write_program(tmp_path, BLOCKING)
    result = record_program(prog, tmp_path / "blocking.trace.jsonl", timeout=30)
    assert result.status == 0, result.error
    return result.trace_path, line_of(prog, "the culprit")


def test_blocking_step_is_warned_at_its_line(blocking_trace, capsys):
    trace, line = blocking_trace
    code, out, _ = summary(capsys, str(trace))
    assert code == 0
    warnings = out.split("Warnings (")[1]
    assert "task main() blocked the loop 3" in warnings  # 300-ish ms
    assert f" ms at prog.py:{line}\n" in warnings
    assert "longest step" in out and f"prog.py:{line})" in out


def test_max_block_exit_code_names_each_offender(blocking_trace, capsys):
    trace, line = blocking_trace
    code, _, err = summary(capsys, str(trace), "--max-block", "100")
    assert code == exits.BLOCKED
    [offender] = err.splitlines()
    assert offender.startswith("loopviz: over --max-block 100 ms: task main() blocked the loop ")
    assert offender.endswith(f" ms at prog.py:{line}")
    code, _, err = summary(capsys, str(trace), "--max-block", "1000")
    assert code == 0 and err == ""


def test_failed_program_still_summarised(tmp_path, capsys):
    prog = write_program(
        tmp_path,
        """
        import asyncio
        import gc

        async def broken():
            raise KeyError("lost")

        async def forever(event):
            await event.wait()

        async def main():
            asyncio.create_task(broken())
            asyncio.create_task(forever(asyncio.Event()), name="stuck")
            await asyncio.sleep(0.05)
            gc.collect()  # the loop reports the lost exception when the task is collected
            raise ValueError("boom")

        # Not asyncio.run: it would cancel "stuck"; a bare loop leaves it pending.
        asyncio.new_event_loop().run_until_complete(main())
        """,
    )
    code, out, err = summary(capsys, str(prog), "--json")
    assert code == exits.PROGRAM_FAILED, err
    report = json.loads(out)
    assert report["exit"]["status"] == 1
    assert report["exit"]["error"] == "ValueError: boom"
    lints = {warning["lint"]: warning["text"] for warning in report["warnings"]}
    assert "never-retrieved" in lints and "KeyError" in lints["never-retrieved"]
    assert any(
        w["lint"] == "never-finished" and "task stuck never finished" in w["text"]
        for w in report["warnings"]
    )
    outcomes = {task["coro"]: task["outcome"] for task in report["tasks"]}
    assert outcomes["main"] == "raised ValueError: boom"


def test_timed_out_program_exits_3(tmp_path, capsys):
    prog = write_program(tmp_path, "import asyncio\nasyncio.run(asyncio.sleep(60))\n")
    code, out, _ = summary(capsys, str(prog), "--timeout", "0.5")
    assert code == exits.TIMEOUT
    assert out.startswith("prog.py: timed out and was killed\n")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "empty file"),
        (b"hello\n", "not a loopviz trace"),
        (b'{"format": "loopviz-trace", "version": 1}\n', "bad trace header"),
    ],
)
def test_bad_trace_is_one_line_and_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "bad.jsonl"
    if content is not None:
        path.write_bytes(content)
    code, out, err = summary(capsys, str(path))
    assert code == exits.USAGE and out == ""
    [line] = err.splitlines()
    assert line.startswith("loopviz: ") and message in line


def test_corrupt_event_line_names_the_line(tmp_path, capsys):
    path = sleepy_trace().write(tmp_path / "t.jsonl")
    lines = path.read_bytes().split(b"\n")
    lines[3] = b"[4, 1, oops]"
    path.write_bytes(b"\n".join(lines))
    code, _, err = summary(capsys, str(path))
    assert code == exits.USAGE
    [line] = err.splitlines()
    assert f"{path}:4: malformed event" in line


def test_missing_program_is_exit_2(tmp_path, capsys):
    code, _, err = summary(capsys, str(tmp_path / "nothing.py"))
    assert code == exits.USAGE and "no such file" in err


def test_truncated_trace_warns_on_stderr(tmp_path, capsys):
    path = sleepy_trace().write(tmp_path / "t.jsonl")
    path.write_bytes(path.read_bytes()[:-3])
    code, out, err = summary(capsys, str(path))
    assert code == 0
    [warning] = err.splitlines()
    assert "cut short" in warning
    assert "the run did not finish" in out


def sleepy_trace(tasks: int = 3) -> TraceBuilder:
    b = TraceBuilder()
    for n in range(1, tasks + 1):
        b.task(n * MS, n, f"w{n}")
        b.add(
            Waited(n * MS, n, MS, Wait.SLEEP, 0, b.site(5), timeout=100 * MS),
            Ready((n + 101) * MS, n, Cause.TIMER),
            Finished((n + 102) * MS, n, MS, 0, b.s("None")),
        )
    b.add(End(200 * MS, 0, EndReason.EXITED))
    return b


def test_table_lists_first_rows_and_counts_the_rest(tmp_path):
    timeline = Timeline.from_file(sleepy_trace(12).write(tmp_path / "t.jsonl"))
    table = render_table(timeline, max_rows=5)
    rows = [line.split()[0] for line in table.splitlines() if "returned None" in line]
    assert rows == ["w1", "w2", "w3", "w4", "w5"]
    assert "… and 7 more tasks (--json lists them all)" in table
    assert "Tasks (12)" in table and "No warnings" in table
    header = "name coroutine created by outcome running ready waiting steps"
    assert table.splitlines()[3].split() == header.split()
    assert rows and "w1_coro" in next(line for line in table.splitlines() if "w1" in line)
