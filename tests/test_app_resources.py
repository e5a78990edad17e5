"""Resources in the real app, on real recordings of the bundled scenarios (09_semaphore,
14_queue, 15_lock): their lanes under the tasks, folded and unfolded, in time and in step
order; a resource's inspector; the step of the task that woke the selected one, marked."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import open_run, run_record, text_of
from textual.pilot import Pilot

from loopviz.app.app import LoopvizApp
from loopviz.app.palette import BARS
from loopviz.app.screens.run import RunScreen
from loopviz.app.target import resolve
from loopviz.app.widgets.timeline_view import RESOURCE, RESOURCES, TimelineView
from loopviz.catalog import bundled_folder
from loopviz.model import words
from loopviz.model.facts import State
from loopviz.model.timeline import Timeline
from loopviz.model.wakers import wake_at
from loopviz.trace import Cause
from loopviz.units import format_time

SCENARIOS = ("09_semaphore", "14_queue", "15_lock")


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each scenario recorded once, as a learner would."""
    folder = tmp_path_factory.mktemp("resources")
    found = {}
    for name in SCENARIOS:
        done, trace = run_record(
            bundled_folder() / f"{name}.py", trace=folder / f"{name}.trace.jsonl"
        )
        assert done.returncode == 0, done.stderr
        found[name] = trace
    return found


def resource_rows(view: TimelineView) -> list[int]:
    return [int(row.key) for row in view._rows if row.kind == RESOURCE]


def drawn_y(view: TimelineView, kind: str, key: int | str) -> int:
    """The screen row of the row ``kind``/``key``, scrolled into view."""
    index = next(i for i, row in enumerate(view._rows) if row.kind == kind and row.key == key)
    view.scroll_to(y=max(0, index - 1), animate=False)
    return index - int(view.scroll_y) + view.header_rows - 1


def drawn(view: TimelineView, kind: str, key: int | str) -> str:
    """The text of the row ``kind``/``key`` as the screen draws it."""
    return view.render_line(drawn_y(view, kind, key)).text


async def opened(pilot: Pilot[None]) -> RunScreen:
    screen = await open_run(pilot)
    await pilot.press("m")  # the timeline takes the screen: every lane in view
    await pilot.pause()
    return screen


async def test_each_resource_has_a_lane_under_the_tasks_that_folds(
    traces: dict[str, Path],
) -> None:
    app = LoopvizApp(resolve(traces["15_lock"]))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(pilot)
        view, timeline = screen.view, screen.timeline
        assert timeline is not None
        (printer,) = timeline.resources.all
        kinds = [row.kind for row in view._rows]
        assert kinds[-2:] == [RESOURCES, RESOURCE]  # under the tasks
        assert max(i for i, kind in enumerate(kinds) if kind == "task") < kinds.index(RESOURCES)
        assert drawn(view, RESOURCES, RESOURCES).startswith("▾1 lock")
        lane = drawn(view, RESOURCE, printer.id)
        assert lane.startswith(" printer")
        assert "clerk-1" in lane and "clerk-4" in lane  # the holders, on the bar, in turn
        await pilot.press("R")
        assert resource_rows(view) == [] and kinds.count(RESOURCES) == 1
        assert drawn(view, RESOURCES, RESOURCES).startswith("▸1 lock")
        await pilot.press("R")
        assert resource_rows(view) == [printer.id]
        # A click on its lane selects it; on their head, folds them (1: the view's border).
        await pilot.click(TimelineView, offset=(3, 1 + drawn_y(view, RESOURCE, printer.id)))
        assert screen.resource == printer.id
        await pilot.click(TimelineView, offset=(3, 1 + drawn_y(view, RESOURCES, RESOURCES)))
        assert resource_rows(view) == [] and not screen.resource  # folded: no longer selected
        await pilot.press("R")
        await pilot.press("a")  # in step order too
        assert resource_rows(view) == [printer.id]
        assert "█" in drawn(view, RESOURCE, printer.id)


@pytest.mark.parametrize("name", ["09_semaphore", "14_queue"])
async def test_a_bar_is_never_above_the_capacity_and_reaches_it(
    traces: dict[str, Path], name: str
) -> None:
    app = LoopvizApp(resolve(traces[name]))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(pilot)
        view, timeline = screen.view, screen.timeline
        assert timeline is not None
        (info,) = timeline.resources.all
        assert info.capacity == {"09_semaphore": 5, "14_queue": 2}[name]
        for steps in (False, True):
            if steps:
                await pilot.press("a", "f")
            axis = view.axis
            waits = timeline.waits_on(info.id)
            columns = timeline.resources.columns(info.id, axis.edges, waits, timeline.end)
            levels = [column.level for column in columns if column is not None]
            assert max(levels) == info.capacity, steps  # full at times, never more
            assert min(levels) >= 0
            row = next(r for r in view._rows if r.kind == RESOURCE)
            bars = [char for char, _ in view._cells(row, axis) if char in BARS]
            assert bars and "█" in bars  # drawn full where full; words where they fit
        assert max(len(columns[c].holders) for c in range(len(columns)) if columns[c]) <= 5


async def test_selecting_a_resource_shows_it_in_the_inspector(traces: dict[str, Path]) -> None:
    app = LoopvizApp(resolve(traces["09_semaphore"]))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_run(pilot)
        timeline = screen.timeline
        assert timeline is not None
        (gate,) = timeline.resources.all
        while not screen.resource:  # down the lanes, past the tasks, to the resource's
            await pilot.press("down")
        assert screen.resource == gate.id and screen.selected == 0
        # The playhead where the most tasks wait on the semaphore.
        waits = timeline.waits_on(gate.id)
        t = max((start for start, _ in waits), key=lambda t: len(timeline.waiters_at(gate.id, t)))
        screen.playback.following = False
        screen._show_time(t)
        await pilot.pause()
        shown = text_of(app, "#inspector").splitlines()
        assert screen.query_one("#inspector").border_title == "resource"
        holders = [h.task for h in timeline.resources.holders_at(gate.id, t)]
        waiting = [task for task, _ in timeline.waiters_at(gate.id, t)]
        assert len(holders) == 5 and len(waiting) >= 10
        assert shown[:4] == [
            "semaphore `gate`",
            f"made at 09_semaphore.py:{gate.line}",
            "capacity: 5 permits",
            f"held by {words.name(timeline, holders[0])}, {words.name(timeline, holders[1])},"
            f" {words.name(timeline, holders[2])} and 2 more (5 of 5)",
        ]
        first = [words.name(timeline, task) for task in waiting[:5]]
        assert (
            shown[4] == f"in line ({len(waiting)}): {', '.join(first)} and {len(waiting) - 5} more"
        )
        assert shown[5:] == [
            "20 acquisitions in all",
            f"at most 5 in use · {len(waiting)} waiting",
            f"waited {format_time(sum(e - s for s, e in waits))} in all",
            shown[8],
        ]
        assert shown[8].startswith("longest hold ")
        await pilot.press("up")  # back to a task: the task's inspector
        assert screen.selected and not screen.resource
        assert screen.query_one("#inspector").border_title == "task"


def first_wake_by_a_release(timeline: Timeline, name: str) -> tuple[int, int]:
    """(task, time) of the first wake-up of task ``name`` that another task's release did."""
    (task,) = [info.id for info in timeline.tasks if info.name == name]
    ready = next(
        iv
        for iv in timeline.intervals(task)
        if iv.state is State.READY and iv.kind == Cause.FUTURE and iv.resource
    )
    return task, ready.start


@pytest.mark.parametrize("steps", [False, True])
async def test_the_wakers_step_is_marked_at_the_selected_tasks_wake_up(
    traces: dict[str, Path], steps: bool
) -> None:
    app = LoopvizApp(resolve(traces["15_lock"]))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await opened(pilot)
        view, timeline = screen.view, screen.timeline
        assert timeline is not None
        clerk_2, woken = first_wake_by_a_release(timeline, "clerk-2")
        (clerk_1,) = [info.id for info in timeline.tasks if info.name == "clerk-1"]
        wake = wake_at(timeline, clerk_2, woken)
        assert wake is not None and wake.waker == clerk_1
        assert words.cause(timeline, wake.woken) == "clerk-1 released lock `printer`"
        if steps:
            await pilot.press("a")
        screen.follow = False
        screen._select_task(clerk_2)
        screen.playback.following = False
        screen._show_time(woken)
        await pilot.pause()
        assert "clerk-1 released lock `printer`" in text_of(app, "#inspector")
        marked = view.waker()
        assert marked is not None and marked[0] == clerk_1
        axis = view.axis
        if steps:  # the columns of the events during clerk-1's step, and no other
            during = range(
                timeline.moment_index(wake.start - 1) + 1, timeline.moment_index(wake.end - 1) + 1
            )
            expected = sorted({c for i in during for c in axis.column_of_step(i)})
            assert list(marked[1]) == expected
            assert timeline.moment_index(woken) in during  # the wake-up is one of them
        else:
            first, last = axis.column_of(wake.start), axis.column_of(wake.end - 1)
            assert first is not None and last is not None
            assert list(marked[1]) == list(range(first, last + 1))
        line = drawn(view, "task", clerk_1)
        assert line.startswith("»clerk-1")  # its label says it too
        style = view.looks.marks["waker"]
        segments = list(
            view.render_line(view._row_of_task[clerk_1] - int(view.scroll_y) + view.header_rows - 1)
        )
        x, colours = 0, {}
        for segment in segments:
            for _ in segment.text:
                colours[x - view.label_width] = segment.style.color if segment.style else None
                x += 1
        white = {c for c, colour in colours.items() if c >= 0 and colour == style.color}
        assert white == set(marked[1])  # under the playhead too
        screen._show_time(woken - 1)  # before the wake-up: nothing marked
        await pilot.pause()
        assert view.waker() is None
        assert drawn(view, "task", clerk_1).startswith(" clerk-1")


async def test_each_workers_wake_up_on_the_queue_names_the_producer(
    traces: dict[str, Path],
) -> None:
    timeline = Timeline.from_file(traces["14_queue"])
    names = {info.id: info.name for info in timeline.tasks}
    wakers = set()
    for info in timeline.tasks:
        if not info.name.startswith("worker-"):
            continue
        for iv in timeline.intervals(info.id):
            if iv.state is State.READY and iv.resource:
                wake = wake_at(timeline, info.id, iv.start)
                assert wake is not None
                wakers.add(names[wake.waker])
                assert words.cause(timeline, iv) == "producer put an item in queue `orders`"
    assert wakers == {"producer"}
