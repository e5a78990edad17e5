"""Recording what people run, as they run it: a module (``-m``), a console script found on
PATH, a program reading its standard input, a program stopped with Ctrl-C (its own exit
status kept), the CI gate on a program recorded on the spot, and the app's command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_record, wait_for, write_program

from loopviz import cli, exits
from loopviz.app.app import LoopvizApp
from loopviz.app.screens.run import RunScreen
from loopviz.app.target import Run, Target
from loopviz.model.timeline import Timeline
from loopviz.trace import End, EndReason, read_trace

LOOPVIZ = [sys.executable, "-m", "loopviz"]

MAIN = """\
import asyncio, sys

async def main():
    await asyncio.create_task(asyncio.sleep(0.01), name="nap")
    print("args", sys.argv[1:])

asyncio.run(main())
"""


def test_record_a_module_as_python_m_runs_it(tmp_path: Path) -> None:
    package = tmp_path / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    main = write_program(package, MAIN, "__main__.py")
    trace = tmp_path / "m.trace.jsonl"
    command = [*LOOPVIZ, "record", "-m", "app", "-o", str(trace), "--", "a", "-b"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "args ['a', '-b']\n"
    timeline = Timeline.from_file(trace)
    assert timeline.header is not None and timeline.header.program == str(main)
    assert "nap" in {info.name for info in timeline.tasks}
    summary = subprocess.run(
        [*LOOPVIZ, "summary", str(trace)], capture_output=True, text=True, timeout=60
    )
    assert summary.stdout.startswith("app: exited, status 0\n")  # as named: not __main__.py
    missing = [*LOOPVIZ, "record", "-m", "no_such_module", "-o", str(trace)]
    gone = subprocess.run(missing, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert gone.returncode == 1  # as python -m says it
    assert f"{sys.executable}: No module named no_such_module\n" in gone.stderr


def test_a_console_script_on_path_is_recorded_and_summarised(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = write_program(bin_dir, f"#!{sys.executable}\n{MAIN}", "greet")
    script.chmod(0o755)
    not_python = write_program(bin_dir, "#!/bin/sh\necho hi\n", "shell-thing")
    not_python.chmod(0o755)
    env = os.environ | {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    trace = tmp_path / "greet.trace.jsonl"
    command = [*LOOPVIZ, "record", "greet", "-o", str(trace), "--", "x"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "args ['x']\n"
    assert "nap" in {info.name for info in Timeline.from_file(trace).tasks}
    summary = subprocess.run(
        [*LOOPVIZ, "summary", str(script)], capture_output=True, text=True, timeout=60, env=env
    )
    assert summary.returncode == 0, summary.stderr
    assert summary.stdout.startswith("greet: exited, status 0\n")
    refused = subprocess.run(
        [*LOOPVIZ, "record", "shell-thing"], capture_output=True, text=True, timeout=60, env=env
    )
    assert refused.returncode == 2
    assert refused.stderr == f"loopviz: shell-thing: {not_python} is not a Python program\n"


def test_standard_input_reaches_the_program(tmp_path: Path) -> None:
    program = write_program(
        tmp_path,
        """
        import asyncio

        async def main():
            line = await asyncio.to_thread(input)
            print("read", line)

        asyncio.run(main())
        """,
    )
    command = [*LOOPVIZ, "record", str(program), "-o", str(tmp_path / "t.trace.jsonl")]
    done = subprocess.run(command, input="x\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "read x\n"


CTRL_C = """\
import asyncio, sys

async def main():
    print("ready", flush=True)
    try:
        await asyncio.sleep(30)
    finally:
        if sys.argv[1] == "fail":
            raise RuntimeError("clean-up failed")

try:
    asyncio.run(main())
except KeyboardInterrupt:
    print("stopped")
"""


@pytest.mark.parametrize(("how", "status"), [("clean", 0), ("fail", 1)])
def test_ctrl_c_keeps_the_programs_own_exit_status(tmp_path: Path, how: str, status: int) -> None:
    """A program that handles Ctrl-C and exits 0 is 0; one whose clean-up then fails is 1:
    both as the program run alone, and the trace says it was interrupted."""
    program = write_program(tmp_path, CTRL_C)
    trace = tmp_path / "t.trace.jsonl"

    def interrupted(command: list[str]) -> subprocess.CompletedProcess[str]:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        return subprocess.CompletedProcess(command, proc.returncode, out, err)

    plain = interrupted([sys.executable, str(program), how])
    recorded = interrupted([*LOOPVIZ, "record", str(program), "-o", str(trace), "--", how])
    assert plain.returncode == recorded.returncode == status
    end = read_trace(trace).records[-1]
    assert isinstance(end, End) and (end.status, end.reason) == (status, EndReason.INTERRUPTED)
    if how == "fail":
        assert recorded.stderr.splitlines()[-1] == (
            f"loopviz: {program} was interrupted (stopped by the user), then failed: "
            "RuntimeError: clean-up failed"
        )
        summary = subprocess.run(
            [*LOOPVIZ, "summary", str(trace)], capture_output=True, text=True, timeout=60
        )
        assert summary.returncode == 1


def test_summary_of_a_program_gates_a_step_below_the_default_threshold(tmp_path: Path) -> None:
    """``summary prog.py --max-block 50`` records with a 50 ms threshold: a 60 ms step gates."""
    program = write_program(
        tmp_path,
        """
        import asyncio, time

        async def main():
            time.sleep(0.06)  # blocks 60 ms

        asyncio.run(main())
        """,
    )
    done = subprocess.run(
        [*LOOPVIZ, "summary", str(program), "--max-block", "50"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == exits.BLOCKED
    (line,) = done.stderr.splitlines()
    assert line.startswith("loopviz: over --max-block 50 ms: task main() blocked the loop 6")
    assert line.endswith(" ms at prog.py:5")


def test_max_block_reads_a_saved_trace_below_its_threshold(tmp_path: Path) -> None:
    """A trace recorded at 100 ms still holds each step's length: --max-block 50 finds a
    60 ms step in it; without --max-block the summary does not call it blocking."""
    program = write_program(
        tmp_path, "import asyncio, time\n\nasync def main():\n    time.sleep(0.06)\n\n"
        "asyncio.run(main())\n"
    )  # fmt: skip
    done, trace = run_record(program)
    assert done.returncode == 0
    assert cli.main(["summary", str(trace)]) == exits.OK
    assert cli.main(["summary", str(trace), "--max-block", "50"]) == exits.BLOCKED


@pytest.mark.parametrize("as_module", [False, True])
async def test_the_app_runs_a_program_with_its_arguments_and_no_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_module: bool
) -> None:
    """``loopviz prog.py -- a b`` and ``loopviz -m prog -- a b``: the arguments reach the
    program; it runs with no timeout unless one is asked for."""
    program = write_program(tmp_path, MAIN)
    monkeypatch.chdir(tmp_path)
    run = Run(args=("a", "b"))
    if as_module:
        target = Target("program", tmp_path / "prog", module="prog", run=run)
    else:
        target = Target("program", program, run=run)
    app = LoopvizApp(target)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunScreen)

        def ended() -> bool:
            return screen.timeline is not None and screen.timeline.finished

        await wait_for(pilot, ended, "the run to end", timeout=30)
        assert screen.recording is not None and screen.recording.timeout is None
        timeline = screen.timeline
        assert timeline is not None and timeline.exit.status == 0
        assert timeline.output_until(timeline.end)[-1][2] == "args ['a', 'b']"
