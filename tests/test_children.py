"""Python child processes recorded into the program's trace (``--follow-children``, on by
default): a ``multiprocessing`` spawn child and a ``subprocess`` of ``sys.executable`` each
running ``asyncio.run``, really run and recorded; one started with ``-I`` (which skips the
bootstrap) said not followed, in one line; ``--no-follow-children`` as before. And the model's
side: every record's ids moved to its process's space, so two processes' task 1 stay apart."""

from __future__ import annotations

import json
import os
import re
import typing
from pathlib import Path

import pytest
from conftest import line_of, open_run, run_record, wait_for, write_program

from loopviz import cli
from loopviz.app.app import LoopvizApp
from loopviz.app.target import resolve
from loopviz.app.widgets.timeline_view import PROCESS, TimelineView
from loopviz.model import words
from loopviz.model.processes import ID_FIELDS, PROCESS_IDS
from loopviz.model.timeline import Timeline
from loopviz.report import summary
from loopviz.trace import (
    FORMAT_VERSION,
    End,
    Header,
    LoopMark,
    Process,
    Ready,
    Record,
    Renamed,
    Site,
    Str,
    TaskCreated,
    Unseen,
    Untraced,
    Wait,
    Waited,
)

PROGRAM = """\
import asyncio, multiprocessing, subprocess, sys


async def fetch(n):
    await asyncio.sleep(0.05)
    return n * 2


async def crunch():
    print("child got", await asyncio.gather(fetch(1), fetch(2)), flush=True)


def child():
    asyncio.run(crunch())


async def main():
    await asyncio.sleep(0.01)


if __name__ == "__main__":
    asyncio.run(main())
    worker = multiprocessing.get_context("spawn").Process(target=child)
    worker.start()  # spawned
    worker.join(30)
    code = "import asyncio; asyncio.run(asyncio.sleep(0.02)); print('sub done')"
    subprocess.run([sys.executable, "-c", code], timeout=30)  # a subprocess
    subprocess.run([sys.executable, "-I", "-c", code], timeout=30)  # isolated
    print("exit", worker.exitcode)
"""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Path]:
    folder = tmp_path_factory.mktemp("children")
    program = write_program(folder, PROGRAM)
    done, trace = run_record(program)
    assert done.returncode == 0, done.stderr
    return done.stderr, trace, program


def test_a_spawned_child_and_a_subprocess_are_recorded_in_the_same_trace(
    recorded: tuple[str, Path, Path],
) -> None:
    _, trace, _ = recorded
    timeline = Timeline.from_file(trace)
    spawned = [p for p in timeline.processes if "multiprocessing.spawn" in p.command]
    subprocess_ = [
        p for p in timeline.processes if "sub done" in p.command and "-I" not in p.command
    ]
    assert len(spawned) == 1 and len(subprocess_) == 1
    (child,), (sub,) = spawned, subprocess_
    program = timeline.processes[0]
    assert program.proc == 0 and child.ppid == program.pid == sub.ppid
    assert child.loops == 1 and sub.loops == 1 and program.loops == 1

    def coros(proc: int) -> list[str]:
        return [info.coro for info in timeline.tasks if info.process == proc]

    assert coros(0)[0] == "main"
    assert coros(child.proc)[:3] == ["crunch", "fetch", "fetch"]
    assert coros(sub.proc)[0] == "sleep"
    # Each process numbers its tasks from 1; in the model they stay apart, each whole.
    ids = [info.id for info in timeline.tasks]
    assert len(set(ids)) == len(ids)
    crunch = next(info for info in timeline.tasks if info.coro == "crunch")
    assert crunch.id == child.proc * PROCESS_IDS + 1
    fetches = [info for info in timeline.tasks if info.coro == "fetch"]
    assert [info.parent for info in fetches] == [crunch.id, crunch.id]
    assert all(info.outcome_detail in ("2", "4") for info in fetches)
    waited = timeline.state_at(fetches[0].id, fetches[0].created + 20_000_000)
    assert waited is not None and waited.kind == Wait.SLEEP
    # The child's clock is the trace's: its tasks start after it was started.
    assert crunch.created >= child.started > 0


def test_a_child_that_could_not_be_followed_is_said_in_one_line(
    recorded: tuple[str, Path, Path],
) -> None:
    stderr, trace, program = recorded
    isolated = line_of(program, "# isolated")
    notes = [line for line in stderr.splitlines() if "could not follow" in line]
    assert len(notes) == 1, stderr
    assert re.fullmatch(
        r"loopviz: \S*prog\.py started a Python process \(pid \d+\) that loopviz could not "
        r"follow \(a Python without loopviz installed, or one started with -I, -E or -S\): an "
        r"event loop there is not in this trace",
        notes[0],
    )
    timeline = Timeline.from_file(trace)
    (lost,) = [
        note
        for note in timeline.untraced
        if note.kind == Unseen.CHILD and int(note.what) not in {p.pid for p in timeline.processes}
    ]
    assert lost.line == isolated  # where the program started it


def test_the_summary_lists_the_processes(
    recorded: tuple[str, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, trace, _ = recorded
    assert cli.main(["summary", str(trace), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    processes = summary["processes"]
    assert [p["process"] for p in processes] == list(range(len(processes)))
    assert processes[0]["label"] == "program" and processes[0]["tasks"] >= 1
    spawned = next(p for p in processes if "multiprocessing.spawn" in p["command"])
    assert spawned["loops"] == 1 and spawned["label"] == f"child {spawned['process']}"
    crunch = next(task for task in summary["tasks"] if task["coro"] == "crunch")
    assert crunch["process"] == spawned["process"]
    assert cli.main(["summary", str(trace)]) == 0
    table = capsys.readouterr().out
    assert f"Processes ({len(processes)})" in table
    assert re.search(
        rf"\n  child {spawned['process']} +multiprocessing \(spawn\) +exited with "
        rf"status 0 +{spawned['pid']} ",
        table,
    )
    # Each task's row says whose it is: the child's crunch is not the program's.
    assert "\n  process  name  " in table
    assert re.search(rf"\n  child {spawned['process']} +crunch\(", table), table


def test_no_follow_children_leaves_them_out_as_before(tmp_path: Path) -> None:
    program = write_program(tmp_path, PROGRAM)
    done, trace = run_record(program, "--no-follow-children")
    assert done.returncode == 0, done.stderr
    assert "child got [2, 4]" in done.stdout  # the child ran all the same
    timeline = Timeline.from_file(trace)
    assert timeline.processes == []
    assert {info.process for info in timeline.tasks} == {0}
    assert [note.kind for note in timeline.untraced] == [Unseen.PROCESS] * 3
    assert "could not follow" not in done.stderr


def test_every_record_says_which_of_its_fields_are_ids() -> None:
    assert set(ID_FIELDS) == set(typing.get_args(Record))
    for record, fields in ID_FIELDS.items():
        assert set(fields) <= set(record.__struct_fields__)


def test_a_child_section_moves_ids_but_not_counts_or_default_names() -> None:
    header = Header(loopviz="0", python="3.11", program="/p.py", started="", version=FORMAT_VERSION)
    child = PROCESS_IDS
    records: list[Record] = [
        Str(1, "main"),
        Site(1, 1, 3, 1),
        TaskCreated(10, 1, -1, 1, 1, 0, 0),
        Process(20, 1, 42, 41, "python -c ..."),
        Str(1, "handle"),
        Site(1, 1, 7, 1),
        LoopMark(21, 1, 0),
        TaskCreated(22, 1, -1, 1, 1, 0, 0),
        TaskCreated(23, 2, 1, 1, 1, 1, 1),
        Ready(23, 2, 0, 0),
        Waited(24, 2, 1, int(Wait.TASK), 1, 1),  # waits on task 1: its own process's
        Waited(25, 1, 1, int(Wait.GATHER), 3, 1),  # gathers 3: a count, kept
        Str(2, "keeper"),
        Renamed(26, 1, 2),  # its own task 1, not the program's
        Process(30, 0, 41, 40, "p.py"),
        Ready(31, 1, 0, 0),
    ]
    timeline = Timeline(header)
    timeline.add(records)
    assert [(info.id, info.process, info.name, info.coro) for info in timeline.tasks] == [
        (1, 0, "Task-1", "main"),
        (child + 1, 1, "keeper", "handle"),
        (child + 2, 1, "handle", "handle"),
    ]
    assert timeline.tasks[2].parent == child + 1
    waiting = timeline.state_at(child + 2, 25)
    assert waiting is not None and waiting.ref == child + 1
    gathering = timeline.state_at(child + 1, 27)
    assert gathering is not None and gathering.ref == 3
    assert timeline.loops_opened == 1 and timeline.processes[1].loops == 1
    assert timeline.loop_totals() == (0, 0)  # the child's loop is not the program's


def test_loops_loopviz_cannot_trace_are_named_per_process_never_as_no_loop() -> None:
    """uvicorn --workers 2 with uvloop: the supervisor runs no loop, each worker a uvloop
    loop; a third child runs a traced loop. What each process ran is said where it is shown."""
    header = Header(loopviz="0", python="3.11", program="/venv/uvicorn/__main__.py", started="")
    records: list[Record] = [
        Process(0, 0, 40, 39, "uvicorn app:app --workers 2"),
        Process(10, 1, 41, 40, "python -c 'from multiprocessing.spawn import spawn_main'"),
        Untraced(11, Unseen.LOOP, "uvloop.Loop", "", 0, "uvicorn"),
        Process(12, 2, 42, 40, "python -c 'from multiprocessing.spawn import spawn_main'"),
        Untraced(13, Unseen.LOOP, "uvloop.Loop", "", 0, "uvicorn"),
        Process(14, 3, 43, 40, "python worker.py"),
        LoopMark(15, 1, 0),
        Untraced(16, Unseen.LOOP, "uvloop.Loop", "", 0, "uvicorn"),
        Process(30, 0, 40, 39, "uvicorn app:app --workers 2"),
        End(40, 0, 0),
    ]
    timeline = Timeline(header)
    timeline.add(records)
    assert timeline.untraced_loops == {1: ["uvloop.Loop"], 2: ["uvloop.Loop"], 3: ["uvloop.Loop"]}
    text = summary.render_table(timeline)
    assert text.startswith("uvicorn: exited, status 0\n")
    assert "  untraced loops    uvloop.Loop in 3 child processes (see Warnings)\n" in text
    rows = {line.split()[1]: line for line in text.splitlines() if line.startswith("  child ")}
    assert rows["1"].split()[-3:-1] == ["untraced", "0.000"]  # loops "1 untraced", busy
    assert "1 + 1 untraced" in rows["3"]
    processes = summary.to_json(timeline)["processes"]
    assert [p["untraced_loops"] for p in processes] == [[], *[["uvloop.Loop"]] * 3]
    figures = words.run_figures(timeline, 0, None)
    assert "loops of 3 child processes not traced (uvloop.Loop)" in figures
    facts = words.process_facts(timeline.processes[3], 0, 0, ["uvloop.Loop"], True)
    assert "1 event loop, busy 0 ns" in facts and "not traced: uvloop.Loop" in facts
    # The program's own loop not traced: its time is not "no loop running".
    alone = Timeline(Header(loopviz="0", python="3.11", program="/srv/app.py", started=""))
    alone.add([Untraced(5, Unseen.LOOP, "uvloop.Loop", "/srv/app.py", 3, ""), End(90, 0, 0)])
    text = summary.render_table(alone)
    assert "no loop running" not in text
    assert (
        "  no traced loop    90 ns (100%): the program ran uvloop.Loop, which loopviz cannot "
        "trace (see Warnings)\n" in text
    ), text
    assert summary.to_json(alone)["untraced_loops"] == ["uvloop.Loop"]
    assert words.run_figures(alone, 0, None).startswith(
        "ran 90 ns · its event loop is not traced (uvloop.Loop) · "
    )


def test_words_say_a_lost_child_only_once_the_run_is_over() -> None:
    lost = Untraced(1, Unseen.CHILD, "42", "/srv/run.py", 3, "")
    followed = Untraced(2, Unseen.CHILD, "43", "/srv/run.py", 4, "")
    assert words.untraced("run.py", 1, [lost, followed], None) == []
    (line,) = words.untraced("run.py", 1, [lost, followed], [43])
    assert line.startswith("run.py started a Python process (pid 42) that loopviz could not")


def test_the_bootstrap_leaves_the_program_s_path_and_sitecustomize_alone(tmp_path: Path) -> None:
    """A program's own ``sitecustomize`` still runs, in the program and in its children,
    and the bootstrap's folder is not on their ``sys.path``."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import builtins\nbuiltins.CUSTOMIZED = True\n")
    program = write_program(
        tmp_path,
        """\
        import subprocess, sys
        code = "import sys; print(CUSTOMIZED, any(p.endswith('boot') for p in sys.path))"
        print(CUSTOMIZED, any(p.endswith("boot") for p in sys.path), flush=True)
        subprocess.run([sys.executable, "-c", code], timeout=30)
        """,
    )
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)
    done, _ = run_record(program, env=os.environ | {"PYTHONPATH": path})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["True False", "True False"]


async def test_the_app_draws_each_child_process_as_a_group_of_lanes(
    recorded: tuple[str, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under the program's own lanes, a row per child process that ran a loop, over its
    tasks' lanes; a click on it folds them into it, and again unfolds them."""
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    _, trace, _ = recorded
    app = LoopvizApp(resolve(trace))
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_run(pilot)
        view = screen.view
        timeline = screen.timeline
        assert timeline is not None
        rows = view._rows
        heads = [row for row in rows if row.kind == PROCESS]
        looping = [p for p in timeline.processes[1:] if p.loops]
        assert [row.key for row in heads] == [p.proc for p in looping]  # not the silent one
        spawned = next(p for p in looping if "multiprocessing.spawn" in p.command)
        head = next(row for row in heads if row.key == spawned.proc)
        assert head.label == f"child {spawned.proc} · 3 tasks · pid {spawned.pid}"
        at = rows.index(head)
        shown = view.render_line(view.header_rows - 1 + at - int(view.scroll_y)).text
        assert f"child {spawned.proc} · 3 tasks" in shown and "pid…" not in shown
        under = [timeline.task(int(row.key)) for row in rows[at + 1 : at + 4]]
        assert [words.label(info) for info in under] == ["crunch()", "fetch(1)", "fetch(2)"]
        assert {info.process for info in under} == {spawned.proc}
        before = [row.kind for row in rows[:at]]
        assert before[:2] == ["loop", "task"] and PROCESS not in before  # the program's first
        y = view.header_rows - 1 + at - int(view.scroll_y) + 1  # +1: the border
        assert view.row_at_y(y - 1) == head
        await pilot.click(TimelineView, offset=(2, y))
        await wait_for(pilot, lambda: len(view._rows) == len(rows) - 3, "the child to fold")
        assert view._rows[at] == head
        await pilot.click(TimelineView, offset=(2, y))
        await wait_for(pilot, lambda: len(view._rows) == len(rows), "the child to unfold")


FORKED = """\
import asyncio, multiprocessing


async def nap(n):
    await asyncio.sleep(0.02)
    return n


def child(method):
    print(method, asyncio.run(nap(7)), flush=True)


if __name__ == "__main__":
    for method in ("fork", "forkserver"):
        worker = multiprocessing.get_context(method).Process(target=child, args=(method,))
        worker.start()
        worker.join(30)
"""


def test_children_made_by_fork_and_by_the_forkserver_are_recorded(tmp_path: Path) -> None:
    """A child made by fork inherits its parent's recorder, which records nothing there: it
    starts a recording of its own (and writes it out before ``os._exit``)."""
    program = write_program(tmp_path, FORKED)
    done, trace = run_record(program)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["fork 7", "forkserver 7"]
    assert "could not follow" not in done.stderr
    timeline = Timeline.from_file(trace)
    looping = [p for p in timeline.processes[1:] if p.loops]
    assert len(looping) == 2, timeline.processes
    forked, served = looping
    assert forked.ppid == timeline.processes[0].pid  # forked from the program itself
    assert forked.command.endswith(str(program)) and "loopviz" not in forked.command
    assert "forkserver" in served.command
    for process in looping:
        naps = [info for info in timeline.tasks if info.process == process.proc]
        assert naps[0].coro == "nap" and naps[0].outcome_detail == "7"


def test_a_child_numbering_past_its_id_space_is_damage_not_another_processs_task() -> None:
    header = Header(loopviz="0", python="3.11", program="/p.py", started="", version=FORMAT_VERSION)
    records: list[Record] = [
        Process(20, 1, 42, 41, "python -c ..."),
        TaskCreated(22, 1, -1, 0, 0, 0, 0),
        TaskCreated(23, PROCESS_IDS, -2, 0, 0, 0, 0),  # would be process 2's first task
    ]
    timeline = Timeline(header)
    timeline.add(records)
    assert [info.id for info in timeline.tasks] == [PROCESS_IDS + 1]
    assert any("past 16,777,215" in warning for warning in timeline.warnings)
