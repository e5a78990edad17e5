"""How each followed child process ended (trace format 6, ``Exit``): real children that exit
0 and 3, one killed by SIGKILL, a pool's workers that ``terminate()`` kills with SIGTERM, one
still running when the recording stopped; said in the summary (table and ``--json``), the
model, and the app (its row is selected by ↑/↓ and folds with Enter, as a group's does)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from conftest import open_run, run_record, wait_for, write_program

from loopviz import cli
from loopviz.app.app import LoopvizApp
from loopviz.app.target import resolve
from loopviz.app.widgets.inspector import Inspector
from loopviz.app.widgets.timeline_view import PROCESS
from loopviz.model import words
from loopviz.model.processes import ProcessInfo, on_exit
from loopviz.model.timeline import Timeline
from loopviz.trace import Exit

PROGRAM = """\
import asyncio, multiprocessing, os, signal, subprocess, sys, time


async def nap(n):
    await asyncio.sleep(0.01)
    return n


def ok():
    asyncio.run(nap(1))


def fails():
    asyncio.run(nap(2))
    sys.exit(3)


def killed():
    asyncio.run(nap(3))
    os.kill(os.getpid(), signal.SIGKILL)


def forever(_):
    asyncio.run(nap(4))
    signal.pause()


if __name__ == "__main__":
    spawn = multiprocessing.get_context("spawn")
    for target in (ok, fails, killed):
        worker = spawn.Process(target=target, name=target.__name__)
        worker.start()
        worker.join(30)
        print(target.__name__, worker.exitcode, flush=True)
    with spawn.Pool(1) as pool:  # leaving it terminates its worker: SIGTERM
        pool.map_async(forever, [0])
        time.sleep(1.0)
    code = "import asyncio, time; asyncio.run(asyncio.sleep(0)); print('up', flush=True); "
    code += "time.sleep(60)"
    left = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    print(left.stdout.readline().decode().strip(), flush=True)  # left running
"""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    program = write_program(tmp_path_factory.mktemp("ends"), PROGRAM)
    done, trace = run_record(program)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["ok 0", "fails 3", "killed -9", "up"]
    return trace


def _by_target(timeline: Timeline) -> dict[int, ProcessInfo]:
    """The children, by what they ran (their first task's argument)."""
    return {
        info.args[0]: timeline.processes[info.process]
        for info in timeline.tasks
        if info.process and info.coro == "nap" and info.args
    }


def test_each_child_s_end_is_recorded(recorded: Path) -> None:
    timeline = Timeline.from_file(recorded)
    children = _by_target(timeline)
    assert set(children) == {1, 2, 3, 4}, children
    ok, fails, killed, pooled = (children[n] for n in (1, 2, 3, 4))
    assert (ok.status, fails.status, killed.status) == (0, 3, -signal.SIGKILL)
    assert pooled.status == -signal.SIGTERM  # the pool's terminate()
    for child in (ok, fails, killed, pooled):
        assert child.ended is not None and child.started < child.ended <= timeline.end
    figures = words.run_figures(timeline, timeline.loop_totals()[0], None)
    assert "the program's loop busy 0%" in figures  # it ran none: its children did
    assert "loops of 5 child processes busy " in figures
    (left,) = [p for p in timeline.processes[1:] if "time.sleep(60)" in p.command]
    assert left.ended is None and left.status is None
    said = [words.process_end(p, over=True) for p in (ok, fails, killed, pooled, left)]
    assert said == [
        "exited with status 0",
        "exited with status 3",
        "killed by signal 9 (SIGKILL)",
        "killed by signal 15 (SIGTERM)",
        "still running when the recording stopped",
    ]


def test_the_summary_says_how_each_child_ended(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["summary", str(recorded), "--json"]) == 0
    processes = json.loads(capsys.readouterr().out)["processes"]
    assert "end" not in processes[0]  # the program's own end is the summary's first line
    ends = {p["end"] for p in processes[1:]}
    assert {
        "exited with status 0",
        "exited with status 3",
        "killed by signal 9 (SIGKILL)",
        "killed by signal 15 (SIGTERM)",
        "still running when the recording stopped",
    } <= ends
    killed = next(p for p in processes if p.get("exit_status") == -9)
    assert killed["ended_s"] > killed["started_s"]
    assert cli.main(["summary", str(recorded)]) == 0
    table = capsys.readouterr().out
    assert "killed by signal 9 (SIGKILL)" in table and "exited with status 3" in table


def test_the_first_exit_that_knows_says_how_the_earliest_says_when() -> None:
    child = ProcessInfo(1, 42, 7, "python -c ...", 10)
    processes = [ProcessInfo(0, 7, 1, "prog.py", 0), child]
    on_exit(processes, Exit(50, 42, 0, known=False))  # its connection closed
    assert (child.ended, child.status) == (50, None)
    assert words.process_end(child, over=True) == "ended, exit status not seen"
    on_exit(processes, Exit(60, 42, -15))  # then its parent reaped it
    on_exit(processes, Exit(70, 42, 0))
    on_exit(processes, Exit(80, 99, 1))  # a process loopviz did not follow: left out
    assert (child.ended, child.status) == (50, -15)
    assert words.process_end(ProcessInfo(2, 43, 7, "", 0), over=False) == "running"


async def test_a_child_s_row_is_selected_and_folded_by_keyboard(
    recorded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """↓ reaches a child process's row (selected, the inspector says how it ended); Enter
    folds its lanes into it and unfolds them again; the help and the binding say so."""
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    app = LoopvizApp(resolve(recorded))
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_run(pilot)
        view = screen.view
        timeline = screen.timeline
        assert timeline is not None
        killed = _by_target(timeline)[3]
        for _ in range(200):
            if screen.process == killed.proc:
                break
            await pilot.press("down")
        assert screen.process == killed.proc and screen.selected == 0
        inspector = screen.query_one(Inspector)
        await wait_for(
            pilot, lambda: "killed by signal 9" in str(inspector.render()), "the inspector"
        )
        said = str(inspector.render())
        assert f"pid {killed.pid} (parent {timeline.processes[0].pid})" in said
        assert inspector.border_title == "process"
        at = next(
            i for i, row in enumerate(view._rows) if row.kind == PROCESS and row.key == killed.proc
        )
        shown = view.render_line(view.header_rows - 1 + at - int(view.scroll_y)).text
        assert "✗ killed by signal 9 (SIGKILL)" in shown  # said where its row ends
        rows = len(view._rows)
        mine = len(view.process_tasks(killed.proc))
        assert mine >= 1
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(view._rows) == rows - mine, "the child to fold")
        assert screen.process == killed.proc  # still selected, on its row
        head = next(row for row in view._rows if row.kind == PROCESS and row.key == killed.proc)
        assert head in view.selectable
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(view._rows) == rows, "the child to unfold")
        assert "**Enter** or a click folds its lanes" in words.RUN_VIEW_HELP


TERMINATED = """\
import asyncio, multiprocessing, time


async def work():
    await asyncio.sleep(30)


def job(_):
    asyncio.run(work())


if __name__ == "__main__":
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        pool.map_async(job, [0])
        time.sleep(1.5)  # then leaving the pool terminates its worker, mid-sleep
    print("left")
"""


def test_a_task_cut_short_by_its_process_s_end_says_so(tmp_path: Path) -> None:
    """A pool's worker terminated while its task sleeps: the task never finished, and the
    summary and the warning say that its process was killed."""
    done, trace = run_record(write_program(tmp_path, TERMINATED))
    assert done.returncode == 0, done.stderr
    timeline = Timeline.from_file(trace)
    (work,) = [info for info in timeline.tasks if info.coro == "work"]
    assert work.ended is None
    child = f"child {work.process}"
    said = words.task_outcome(timeline, work.id)
    assert said == f"never finished: {child} was killed by signal 15 (SIGTERM)"
    assert words.never_finished(timeline, work.id).endswith(
        f"; {child} was killed by signal 15 (SIGTERM)"
    )


REAPED_LATE = """\
import asyncio, multiprocessing
from multiprocessing.connection import wait


def child():
    asyncio.run(asyncio.sleep(0.01))
    raise SystemExit(5)


if __name__ == "__main__":
    worker = multiprocessing.get_context("spawn").Process(target=child)
    worker.start()
    wait([worker.sentinel], 30)  # no join: multiprocessing reaps it as the program exits
"""


def test_a_spawned_child_reaped_only_at_the_program_s_exit_says_its_status(
    tmp_path: Path,
) -> None:
    """Its parent reaps it after its own recording ended (as hypercorn's does): the child's
    ``spawn_main`` says its status as it goes."""
    done, trace = run_record(write_program(tmp_path, REAPED_LATE))
    assert done.returncode == 0, done.stderr
    timeline = Timeline.from_file(trace)
    (child,) = [p for p in timeline.processes if "multiprocessing.spawn" in p.command]
    assert child.status == 5 and child.ended is not None
    assert words.process_end(child, over=True) == "exited with status 5"
