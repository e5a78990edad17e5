"""``loopviz record``: unmodified programs in a real child process, and how runs end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import line_of, run_loopviz, run_record, write_program
from trace_builder import S

from loopviz.model.facts import State
from loopviz.model.timeline import Timeline
from loopviz.record.process import STOP_GRACE, Recording
from loopviz.trace import (
    Blocking,
    End,
    EndReason,
    Output,
    ProgramError,
    Record,
    Stream,
    TaskCreated,
    Wait,
    read_trace,
)


def by_name(timeline: Timeline) -> dict[str, int]:
    return {task.name: task.id for task in timeline.tasks}


# --- what the issue says a trace must show -------------------------------------------------------
def test_gather_of_one_two_one_seconds_takes_two(tmp_path: Path) -> None:
    program = write_program(
        tmp_path,
        """
        import asyncio

        async def nap(seconds):
            await asyncio.sleep(seconds)

        async def main():
            await asyncio.gather(
                asyncio.create_task(nap(1), name="A"),
                asyncio.create_task(nap(2), name="B"),
                asyncio.create_task(nap(1), name="C"),
            )

        asyncio.run(main())
        """,
    )
    done, trace = run_record(program)
    assert done.returncode == 0, done.stderr
    timeline = Timeline.from_file(trace)
    ids = by_name(timeline)
    main = timeline.tasks[0]
    wall = main.ended - main.created
    assert 2.0 * S <= wall < 2.3 * S
    lifetimes = 0
    for name, delay in (("A", 1), ("B", 2), ("C", 1)):
        task = timeline.task(ids[name])
        waiting = timeline.totals(task.id).waiting
        assert delay * S * 0.98 < waiting < delay * S * 1.1
        assert all(
            i.kind == Wait.SLEEP for i in timeline.intervals(task.id) if i.state == State.WAITING
        )
        lifetimes += task.ended - task.created
    assert 1.7 < lifetimes / wall < 2.05  # concurrency gain: 4 s of sleeping in 2 s


def test_time_sleep_blocks_the_loop_and_starves_the_others(tmp_path: Path) -> None:
    program = write_program(
        tmp_path,
        """
        import asyncio, time

        async def due_soon():
            await asyncio.sleep(0.1)

        async def blocker():
            time.sleep(1)  # blocks here

        async def main():
            await asyncio.gather(
                asyncio.create_task(due_soon(), name="one"),
                asyncio.create_task(due_soon(), name="two"),
                asyncio.create_task(blocker(), name="blocker"),
            )

        asyncio.run(main())
        """,
    )
    done, trace = run_record(program)
    assert done.returncode == 0, done.stderr
    timeline = Timeline.from_file(trace)
    ids = by_name(timeline)
    (step,) = timeline.blocking
    assert step.task == ids["blocker"]
    assert 1.0 * S <= step.duration < 1.3 * S
    assert Path(step.file).name == "prog.py"
    assert step.line == line_of(program, "blocks here")
    for name in ("one", "two"):
        ready = timeline.totals(ids[name]).ready
        assert 0.85 * S < ready < 1.2 * S, name
        overdue = [i for i in timeline.intervals(ids[name]) if i.overdue]
        assert overdue and overdue[0].state == State.READY


def test_semaphore_of_two_around_six_tasks(tmp_path: Path) -> None:
    program = write_program(
        tmp_path,
        """
        import asyncio

        async def worker(gate):
            async with gate:
                await asyncio.sleep(0.1)

        async def main():
            gate = asyncio.Semaphore(2)
            await asyncio.gather(
                *(asyncio.create_task(worker(gate), name=f"w{i}") for i in range(6))
            )

        asyncio.run(main())
        """,
    )
    done, trace = run_record(program)
    assert done.returncode == 0, done.stderr
    timeline = Timeline.from_file(trace)
    workers = [t for t in timeline.tasks if t.name.startswith("w")]
    waited = {
        t.name
        for t in workers
        for i in timeline.intervals(t.id)
        if i.state == State.WAITING and i.kind == Wait.SEMAPHORE
    }
    assert waited == {"w2", "w3", "w4", "w5"}

    def held(task_id: int) -> tuple[int, int]:
        """From the step that got past the semaphore to the task's end (release)."""
        intervals = timeline.intervals(task_id)
        waits = [i for i in intervals if i.state == State.WAITING and i.kind == Wait.SEMAPHORE]
        after = waits[-1].end if waits else 0
        acquired = next(i.start for i in intervals if i.state == State.RUNNING and i.start >= after)
        return acquired, timeline.task(task_id).ended

    spans = [held(t.id) for t in workers]
    assert max(sum(a <= t < b for a, b in spans) for t, _ in spans) == 2


def test_same_output_as_plain_python(tmp_path: Path) -> None:
    program = write_program(
        tmp_path,
        """
        import asyncio

        async def count(name, n, delay):
            for i in range(n):
                print(name, i)
                await asyncio.sleep(delay)
            return name * n

        async def main():
            loop = asyncio.get_running_loop()
            loop.call_soon(print, "callback first")
            results = await asyncio.gather(count("a", 3, 0.01), count("b", 2, 0.015))
            print(results)
            try:
                async with asyncio.timeout(0.01):
                    await asyncio.sleep(1)
            except TimeoutError:
                print("timed out")

        if __name__ == "__main__":
            asyncio.run(main())
        """,
    )
    plain = subprocess.run([sys.executable, str(program)], capture_output=True, text=True)
    done, trace = run_record(program)
    assert done.returncode == plain.returncode == 0
    assert done.stdout == plain.stdout
    recorded = [
        r.text for r in read_trace(trace).records if isinstance(r, Output) and r.stream == 1
    ]
    assert recorded == plain.stdout.splitlines()


def test_unmodified_program_sees_main_its_directory_and_its_argv(tmp_path: Path) -> None:
    write_program(tmp_path, "GREETING = 'from a sibling module'\n", "helper.py")
    program = write_program(
        tmp_path,
        """
        import asyncio, sys
        import helper

        async def main():
            print(helper.GREETING, sys.argv[1:], __name__)

        if __name__ == "__main__":
            with asyncio.Runner() as runner:
                runner.run(main())
        """,
    )
    done, trace = run_record(program, args=("one", "--two"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "from a sibling module ['one', '--two'] __main__\n"
    header = read_trace(trace).header
    assert header.argv == ["one", "--two"]
    assert any(isinstance(r, TaskCreated) for r in read_trace(trace).records)


# --- how runs end ---------------------------------------------------------------------------------
def test_a_program_that_raises(tmp_path: Path) -> None:
    program = write_program(
        tmp_path,
        """
        import asyncio

        async def main():
            await asyncio.sleep(0.01)
            raise ValueError("boom")

        asyncio.run(main())
        """,
    )
    done, trace = run_record(program)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == f"loopviz: {program} failed: ValueError: boom"
    assert "Traceback" in done.stderr and "loopviz/child.py" not in done.stderr
    records = read_trace(trace).records
    (error,) = [r for r in records if isinstance(r, ProgramError)]
    assert (error.type, error.message) == ("ValueError", "boom")
    assert 'prog.py", line 6' in error.traceback
    assert records[-1].status == 1 and records[-1].reason == EndReason.EXITED
    stderr_lines = [r.text for r in records if isinstance(r, Output) and r.stream == Stream.STDERR]
    assert stderr_lines[-1] == "ValueError: boom"


def test_a_program_with_a_syntax_error(tmp_path: Path) -> None:
    program = write_program(tmp_path, "import asyncio\ndef broken(:\n    pass\n")
    done, trace = run_record(program)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"loopviz: {program} failed: SyntaxError:") and "line 2" in last
    assert isinstance(read_trace(trace).records[-1], End)


def test_a_missing_program_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done, trace = run_record(tmp_path / "absent.py")
    assert done.returncode == 2
    assert done.stderr == f"loopviz: {tmp_path / 'absent.py'}: no such file\n"
    assert not trace.exists()


def test_timeout_kills_the_program_and_keeps_what_was_recorded(tmp_path: Path) -> None:
    program = write_program(
        tmp_path,
        """
        import asyncio

        async def main():
            i = 0
            while True:
                print("tick", i)
                i += 1
                await asyncio.sleep(0.05)

        asyncio.run(main())
        """,
    )
    started = time.monotonic()
    done, trace = run_record(program, "--timeout", "1")
    assert time.monotonic() - started < 10
    assert done.returncode == 3
    assert "timed out after 1 s" in done.stderr
    result = read_trace(trace)
    assert result.warnings == []
    end = result.records[-1]
    assert isinstance(end, End) and end.reason == EndReason.TIMEOUT
    # Every tick it printed before the kill is in the trace, in order, and each tick was a
    # step of its task (how many it managed in 1 s depends on the machine's load).
    printed = done.stdout.splitlines()
    ticks = [r.text for r in result.records if isinstance(r, Output)]
    assert ticks and ticks == printed == [f"tick {i}" for i in range(len(ticks))]
    timeline = Timeline.from_trace(result)
    assert len(timeline.intervals(timeline.tasks[0].id)) >= 2 * len(ticks)  # run + sleep each


def test_ctrl_c_stops_the_program_cleanly(tmp_path: Path) -> None:
    program = write_program(
        tmp_path,
        """
        import asyncio

        async def main():
            print("started", flush=True)
            await asyncio.sleep(30)

        asyncio.run(main())
        """,
    )
    trace = tmp_path / "prog.trace.jsonl"
    command = [sys.executable, "-m", "loopviz", "record", str(program), "-o", str(trace)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "started\n"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=15)
    assert proc.returncode == 130
    assert "was interrupted" in stderr
    end = read_trace(trace).records[-1]
    assert isinstance(end, End) and end.reason == EndReason.INTERRUPTED


@pytest.mark.parametrize("handles", [False, True])
def test_sigterm_to_record_reaches_the_program_and_its_end_is_recorded(
    tmp_path: Path, handles: bool
) -> None:
    """A service manager stopping ``loopviz record`` (SIGTERM) stops the program as it would
    stop it alone, no limit on how long it ran before: a program without a handler is killed
    by it, one that handles it exits as it chooses; either way it is gone and the trace ends."""
    program = write_program(
        tmp_path,
        f"""
        import asyncio, os, signal, sys

        async def main():
            if {handles}:
                asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, sys.exit, 0)
            print(os.getpid(), flush=True)
            await asyncio.sleep(3600)

        asyncio.run(main())
        """,
    )
    trace = tmp_path / "prog.trace.jsonl"
    command = [sys.executable, "-m", "loopviz", "record", str(program), "-o", str(trace)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    pid = int(proc.stdout.readline())
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=15)
    with pytest.raises(ProcessLookupError):  # not left running
        os.kill(pid, 0)
    end = read_trace(trace).records[-1]
    assert isinstance(end, End)
    if handles:
        assert (proc.returncode, end.status, end.reason) == (0, 0, EndReason.EXITED), stderr
    else:
        assert (proc.returncode, end.status, end.reason) == (
            1,
            -signal.SIGTERM,
            EndReason.SIGNAL,
        ), stderr
        assert "SIGTERM" in stderr


def test_stopping_a_program_that_blocks_its_loop_kills_it(tmp_path: Path) -> None:
    program = write_program(
        tmp_path,
        """
        import asyncio, time

        async def main():
            print("blocking", flush=True)
            while True:
                time.sleep(0.2)  # never gives the loop a chance to see Ctrl-C

        asyncio.run(main())
        """,
    )
    blocked_long = threading.Event()

    def watch(records: list[Record]) -> None:
        """Note the watchdog's report that the loop has been blocked for over 0.4 s."""
        if any(isinstance(r, Blocking) and r.t - r.since > 0.4 * S for r in records):
            blocked_long.set()

    recording = Recording(program, tmp_path / "t.trace.jsonl", on_records=watch)
    recording.start()
    assert blocked_long.wait(10), "the watchdog never reported the loop blocked for 0.4 s"
    started = time.monotonic()
    recording.stop()
    result = recording.wait()
    assert time.monotonic() - started < STOP_GRACE + 3
    assert result.reason == EndReason.INTERRUPTED
    timeline = Timeline.from_file(result.trace_path)
    (step,) = timeline.blocking
    assert step.ongoing and step.duration > 0.4 * S


def test_a_flood_of_output_still_leaves_a_readable_trace(tmp_path: Path) -> None:
    program = write_program(
        tmp_path,
        """
        import asyncio, sys

        async def main():
            for i in range(150_000):
                sys.stdout.write(f"line {i}\\n")
            sys.stdout.write("x" * 100_000 + "\\n")

        asyncio.run(main())
        """,
    )
    done, trace = run_record(program)
    assert done.returncode == 0
    result = read_trace(trace)
    lines = [r.text for r in result.records if isinstance(r, Output)]
    assert lines[0] == "line 0"
    assert "not recorded" in lines[-1]
    assert len(lines) == 100_001
    assert isinstance(result.records[-1], End)


def test_a_hundred_thousand_tasks(tmp_path: Path) -> None:
    program = write_program(
        tmp_path,
        """
        import asyncio

        async def tiny(i):
            return i

        async def main():
            results = await asyncio.gather(*(tiny(i) for i in range(100_000)))
            print(sum(results))

        asyncio.run(main())
        """,
    )
    done, trace = run_record(program, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{sum(range(100_000))}\n"
    timeline = Timeline.from_file(trace)
    assert len(timeline.tasks) >= 100_001
    assert all(t.outcome is not None for t in timeline.tasks)


@pytest.mark.parametrize("body", ["", "not json\n", '{"format":"loopviz-trace","version":99}\n'])
def test_summary_of_a_bad_trace_is_one_line(tmp_path: Path, body: str) -> None:
    trace = tmp_path / "bad.trace.jsonl"
    trace.write_text(body)
    done = subprocess.run(
        [sys.executable, "-m", "loopviz", "summary", str(trace)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("loopviz: ")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["record"], "loopviz: record: the following arguments are required: PROGRAM or -m"),
        (["record", "x.py", "--timeout", "-1"], "loopviz: record: argument --timeout: must be"),
        (["record", "x.py", "-m", "x"], "loopviz: record: either x.py or -m x"),
        (["summary", "t", "--max-block", "soon"], "loopviz: summary: argument --max-block: not"),
        (["--no-such-option"], "loopviz: unrecognized arguments: --no-such-option"),
    ],
)
def test_usage_errors_are_one_line(argv: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loopviz", *argv], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert done.stderr.startswith(message)
    assert len(done.stderr.splitlines()) == 1


def test_record_refuses_a_trace_and_a_missing_output_folder(tmp_path: Path) -> None:
    program = write_program(tmp_path, "import asyncio\nasyncio.run(asyncio.sleep(0))\n")
    done, trace = run_record(program)
    assert done.returncode == 0
    again, _ = run_record(trace)
    assert again.returncode == 2
    assert (
        again.stderr
        == f"loopviz: {trace} is a trace, not a program: open it with 'loopviz {trace}'\n"
    )
    command = [sys.executable, "-m", "loopviz", "record", str(program), "-o", "/no/such/dir/t"]
    nowhere = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert nowhere.returncode == 2
    assert nowhere.stderr == "loopviz: cannot write the trace: no such folder: /no/such/dir\n"


def test_a_program_without_an_event_loop_is_pointed_out(tmp_path: Path) -> None:
    done, trace = run_record(write_program(tmp_path, "print('no asyncio here')\n"))
    assert done.returncode == 0
    assert done.stdout == "no asyncio here\n"
    assert done.stderr.strip().endswith("never started an asyncio event loop")
    assert isinstance(read_trace(trace).records[-1], End)
    summarised = subprocess.run(
        [sys.executable, "-m", "loopviz", "summary", str(trace)], capture_output=True, text=True
    )
    assert summarised.returncode == 0
    assert summarised.stderr == "loopviz: prog.py never started an asyncio event loop\n"
    # no empty table of tasks, no loop figures of zero: what happened, said once
    assert summarised.stdout == (
        "prog.py: exited, status 0\n\nNo event loop ran: the program ended without starting"
        " one, so there is no task to show.\n\nNo warnings\n"
    )


def test_a_program_that_does_not_compile_is_summarised_in_two_lines(tmp_path: Path) -> None:
    program = tmp_path / "broken.py"
    program.write_text("def f(:\n    pass\n")
    summarised = run_loopviz("summary", str(program))
    assert summarised.returncode == 1
    first, _, rest = summarised.stdout.partition("\n")
    assert first.startswith("broken.py: failed: SyntaxError")
    assert "Tasks (0)" not in rest and "No event loop ran: the program ended" in rest
    no_target = run_loopviz("summary")
    assert no_target.returncode == 2
    assert "required: TRACE, PROGRAM or -m MODULE" in no_target.stderr
