"""What the timeline's columns show, and the model facts behind them: the program's start-up,
tasks folded away as asyncio's or a library's, waits cut short (ghosts), the time axis."""

from __future__ import annotations

import pytest
from trace_builder import MS, S, TraceBuilder

from loopviz.app.axis import TimeAxis
from loopviz.model.columns import even_edges, task_columns
from loopviz.model.facts import State
from loopviz.model.timeline import Timeline, library_code
from loopviz.trace import (
    Cause,
    End,
    EndReason,
    Finished,
    LoopMark,
    Outcome,
    Ready,
    TaskCreated,
    Wait,
    Waited,
)

PROGRAM = "/home/me/proj/prog.py"


@pytest.mark.parametrize(
    ("file", "library"),
    [
        ("/home/me/proj/prog.py", False),
        ("/home/me/proj/pkg/helpers.py", False),
        ("/home/me/other/tool.py", False),  # not installed: someone's own code
        ("/usr/lib/python3.11/asyncio/base_events.py", True),
        ("/venv/lib/python3.12/site-packages/aiohttp/connector.py", True),
        ("/home/me/proj/.venv/lib/python3.11/site-packages/aiohttp/client.py", True),
        ("/usr/lib/python3/dist-packages/foo.py", True),
        ("C:\\Python311\\Lib\\asyncio\\tasks.py", True),
        ("<frozen runpy>", True),
        ("", False),  # unknown: the program's until said otherwise
    ],
)
def test_library_code_is_installed_packages_and_the_standard_library(
    file: str, library: bool
) -> None:
    assert library_code(file, PROGRAM) is library


def test_a_program_installed_among_the_libraries_is_still_its_own() -> None:
    program = "/venv/lib/python3.11/site-packages/loopviz/scenarios/13_taskgroup.py"
    own = "/venv/lib/python3.11/site-packages/loopviz/scenarios/13_taskgroup.py"
    assert not library_code(own, program)
    assert library_code("/venv/lib/python3.11/site-packages/aiohttp/connector.py", program)


def test_an_installed_package_run_with_m_is_a_library_not_the_program() -> None:
    """``python -m uvicorn``: the program is uvicorn's ``__main__.py``; uvicorn's tasks are
    uvicorn's (as when run by its console script), not the program's own."""
    program = "/venv/lib/python3.11/site-packages/uvicorn/__main__.py"
    assert library_code("/venv/lib/python3.11/site-packages/uvicorn/server.py", program)
    own = "/project/app/__main__.py"  # python -m app, in the project: its package is its own
    assert not library_code("/project/app/server.py", own)


def test_tasks_of_asyncio_and_of_libraries_are_marked_library() -> None:
    b = TraceBuilder(program=PROGRAM)
    b.task(0, 1, "main")
    aiohttp = b.site(122, "/venv/lib/python3.11/site-packages/aiohttp/connector.py")
    b.add(TaskCreated(MS, 2, -2, b.s("_wait_for_close"), aiohttp, 1, b.site(9)))
    shutdown = b.site(539, "/usr/lib/python3.11/asyncio/base_events.py")
    b.add(TaskCreated(2 * MS, 3, -3, b.s("BaseEventLoop.shutdown_asyncgens"), shutdown, 0, 0))
    tl = Timeline(b.header)
    tl.add(b.records)
    assert [(i.library, i.internal) for i in tl.tasks] == [
        (False, False),
        (True, False),  # a library started it
        (True, True),  # asyncio's own
    ]


def test_the_start_up_ends_where_the_first_loop_starts() -> None:
    b = TraceBuilder()
    assert Timeline(b.header).loop_start == 0  # no loop yet
    b.add(LoopMark(300 * MS, 1, 0), LoopMark(400 * MS, 1, 1), LoopMark(500 * MS, 2, 0))
    tl = Timeline(b.header)
    tl.add(b.records)
    assert tl.loop_start == 300 * MS


def cancelled_sleeper() -> Timeline:
    """Task 1 sleeps 1 s from 10 ms and is cancelled at 300 ms (done at 310 ms); task 2's
    0.2 s sleep ends by its timer; task 3's 0.1 s sleep is cancelled after its deadline."""
    b = TraceBuilder()
    b.add(LoopMark(0, 1, 0))
    for task in (1, 2, 3):
        b.task(0, task, f"t{task}")
    b.add(
        Waited(0, 1, 10 * MS, Wait.SLEEP, 0, b.site(3), S),
        Waited(0, 2, 10 * MS, Wait.SLEEP, 0, b.site(3), 200 * MS),
        Waited(0, 3, 10 * MS, Wait.SLEEP, 0, b.site(3), 100 * MS),
        Ready(210 * MS, 2, Cause.TIMER),
        Finished(215 * MS, 2, MS, Outcome.RESULT, b.s("None")),
        Ready(300 * MS, 1, Cause.CANCEL),
        Ready(300 * MS, 3, Cause.CANCEL),  # its deadline (110 ms) had passed: overdue
        Finished(310 * MS, 1, MS, Outcome.CANCELLED, 0),
        Finished(311 * MS, 3, MS, Outcome.CANCELLED, 0),
        End(2 * S, 0, EndReason.EXITED),
    )
    tl = Timeline(b.header)
    tl.add(b.records)
    return tl


def test_a_wait_cut_short_by_a_cancellation_keeps_its_deadline() -> None:
    tl = cancelled_sleeper()
    [cut] = tl.cut_short(1)
    assert (cut.state, cut.kind, cut.start, cut.end, cut.deadline) == (
        State.WAITING, Wait.SLEEP, 10 * MS, 300 * MS, 1010 * MS,
    )  # fmt: skip
    assert tl.cut_short(2) == [] and tl.cut_short(3) == []
    assert tl.cut_until == 1010 * MS


def test_a_ghost_fills_the_empty_lane_to_the_deadline_only() -> None:
    tl = cancelled_sleeper()
    columns = task_columns(tl, 1, even_edges(0, 2 * S, 20))  # 100 ms each
    ghosts = [c for c, column in enumerate(columns) if column.ghost]
    assert ghosts == list(range(3, 11))  # done at 311 ms (most of column 3), due at 1.01 s
    assert {columns[c].kind for c in ghosts} == {Wait.SLEEP}
    assert [column.state for column in columns[:3]] == [State.WAITING] * 3  # not drawn over
    for other in (2, 3):
        assert not any(column.ghost for column in task_columns(tl, other, even_edges(0, 2 * S, 20)))


def test_the_time_axis_folds_the_start_up_into_its_first_column() -> None:
    axis = TimeAxis(300 * MS, 1000 * MS, 11, gap=True)
    assert axis.first == 1
    assert axis.edges[:3] == [0, 300 * MS, 400 * MS] and axis.edges[-1] == 1300 * MS
    assert axis.column_of(0) == axis.column_of(299 * MS) == 0  # the start-up
    assert axis.column_of(300 * MS) == 1 and axis.column_of(1299 * MS) == 10
    assert axis.column_of(1300 * MS) is None and axis.column_of(-1) is None
    assert axis.time_at(1) == 300 * MS and axis.clamped(5 * S) == 10
    plain = TimeAxis(300 * MS, 1000 * MS, 10)
    assert plain.first == 0 and plain.column_of(0) is None and plain.column_of(300 * MS) == 0
