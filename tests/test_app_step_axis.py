"""The timeline's step axis in the real app, driven by its pilot: one key switches between
time and step order carrying the playhead, the selection and the events in view over; each
event is one column; a click on a column goes to its step; zoom, pan and fit in step order;
asyncio's and libraries' lane folded there."""

from __future__ import annotations

from pathlib import Path

from conftest import open_run
from textual.pilot import Pilot

from loopviz.app.app import LoopvizApp
from loopviz.app.axis import StepAxis, steps_between
from loopviz.app.screens.run import RunScreen
from loopviz.app.target import resolve
from loopviz.app.widgets.timeline_view import GROUP, HEADER_ROWS, Row, TimelineView
from loopviz.model import words
from loopviz.model.facts import Segment, State
from loopviz.model.timeline import Timeline

FIXTURES = Path(__file__).parent / "fixtures"
BLOCKING = FIXTURES / "blocking.trace.jsonl"  # 10_blocking_call: 222 events, 9 tasks
GATHER = FIXTURES / "gather.trace.jsonl"  # three sleeping tasks: few events


def step_axis(view: TimelineView) -> StepAxis:
    axis = view.axis
    assert isinstance(axis, StepAxis)
    return axis


def row_of(view: TimelineView, name: str) -> Row:
    assert view.timeline is not None
    return next(
        row
        for row in view._rows
        if row.kind == "task" and view.timeline.task(int(row.key)).name == name
    )


async def go_to(pilot: Pilot[None], screen: RunScreen, index: int) -> None:
    await pilot.press("home")
    while screen.step < index:
        await pilot.press("right")
    await pilot.pause()


def first_event(model: Timeline, state: State, name: str) -> int:
    return next(
        i
        for i in range(model.moment_count())
        if isinstance(event := model.moment(i).event, Segment)
        and event.interval.state is state
        and model.task(event.task).name == name
    )


async def test_the_axis_key_carries_the_playhead_the_selection_and_the_events_in_view() -> None:
    model = Timeline.from_file(BLOCKING)
    app = LoopvizApp(resolve(BLOCKING))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_run(pilot)
        view = screen.view
        blocks = first_event(model, State.RUNNING, "blocking/download")
        await go_to(pilot, screen, blocks)
        await pilot.press("down", "z", "z", "z")  # another task, a closer look
        step, playhead, selected = screen.step, screen.playhead, screen.selected
        window = (view.t0, view.span)
        in_view = steps_between(model, view.t0, view.t0 + view.span)
        assert 0 < in_view[1] < view.columns

        await pilot.press("a")
        assert view.by_steps and screen.has_class("-steps")
        assert (screen.step, screen.playhead, screen.selected) == (step, playhead, selected)
        axis = step_axis(view)
        assert (axis.start, axis.count) == in_view  # the same events, a column or more each
        assert axis.column_of_step(step)  # the playhead on screen
        assert "╵" in view.render_line(0).text and words.STEP_AXIS in view.render_line(0).text

        await pilot.press("a")  # back, untouched: the window as it was
        assert not view.by_steps and (view.t0, view.span) == window
        assert (screen.step, screen.playhead, screen.selected) == (step, playhead, selected)

        await pilot.press("a", "z", "l")  # in step order, closer and further on
        axis = step_axis(view)
        first, last = axis.start, min(axis.start + axis.shown, model.moment_count()) - 1
        await pilot.press("a")  # the time of those events
        assert view.t0 == model.moment_time(first)
        assert model.moment_time(last) < view.t0 + view.span


async def test_from_the_whole_run_the_step_order_shows_a_column_per_event() -> None:
    """222 events on 139 columns: entering step order shows one per column around the
    playhead, not several squeezed into one (each step must move the playhead)."""
    model = Timeline.from_file(BLOCKING)
    app = LoopvizApp(resolve(BLOCKING))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_run(pilot)
        view = screen.view
        await go_to(pilot, screen, 150)
        column = view.column_of(screen.playhead)
        assert column is not None
        await pilot.press("a")
        axis = step_axis(view)
        assert axis.width == 1 and axis.shown == view.columns < model.moment_count()
        assert abs(axis.column_of_step(150).start - column) <= 1  # where it was on screen


async def test_each_step_is_one_column_and_shows_the_state_just_after_it() -> None:
    model = Timeline.from_file(BLOCKING)
    app = LoopvizApp(resolve(BLOCKING))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_run(pilot)
        view = screen.view
        await pilot.press("a", "home")
        axis = step_axis(view)
        download = row_of(view, "blocking/download")
        blocks = first_event(model, State.RUNNING, "blocking/download")
        assert model.moment_time(blocks) == model.moment_time(blocks + 1)  # its block: a tie
        blocking = view.looks.blocking
        seen = []
        for _ in range(blocks + 3):
            before = view.playhead_columns()
            await pilot.press("right")
            now = view.playhead_columns()
            assert len(now) == 1 and now.start == before.stop  # → moves one column on
            seen.append(screen.step)
            if screen.step >= blocks:  # the step that blocks, its block, the overdue tasks
                cell = view._cells(download, step_axis(view))[now.start]
                assert cell == blocking, screen.step
        assert seen == list(range(1, blocks + 4))  # from the first (home)
        assert step_axis(view) == axis  # all on one screen

    app = LoopvizApp(resolve(GATHER))  # 40 events: several columns each, all the same
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_run(pilot)
        view = screen.view
        await pilot.press("a")
        axis = step_axis(view)
        assert axis.width > 1 and axis.shown >= screen.timeline.moment_count()  # type: ignore[union-attr]
        await pilot.press("right")
        before = view.playhead_columns()
        await pilot.press("right")
        assert view.playhead_columns() == range(before.stop, before.stop + axis.width)


async def test_a_click_on_a_column_goes_to_its_step() -> None:
    model = Timeline.from_file(BLOCKING)
    app = LoopvizApp(resolve(BLOCKING))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_run(pilot)
        view = screen.view
        await pilot.press("a")
        axis = step_axis(view)
        x = view.label_width + 40  # +1 for the border
        await pilot.click(TimelineView, offset=(x + 1, 0 + 1))  # on the axis
        assert screen.step == axis.step_at(40) and screen.playhead == model.moment_time(40)
        assert view.playhead_columns() == range(40, 41)
        beat = row_of(view, "blocking/beat-2")
        y = HEADER_ROWS - 1 + view._rows.index(beat)
        await pilot.click(TimelineView, offset=(x + 20 + 1, y + 1))  # on a lane: that task too
        assert screen.step == 60 and screen.selected == beat.key
        assert not screen.playback.playing


async def test_zoom_pan_and_fit_in_step_order() -> None:
    model = Timeline.from_file(BLOCKING)
    total = model.moment_count()
    app = LoopvizApp(resolve(BLOCKING))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_run(pilot)
        view = screen.view
        await pilot.press("a")
        await go_to(pilot, screen, 100)
        widths = []
        for key in ("z", "z", "Z", "Z"):
            column = view.playhead_columns().start
            await pilot.press(key)
            widths.append(step_axis(view).width)
            assert abs(view.playhead_columns().start - column) <= 2  # the playhead stays put
        assert widths == [2, 4, 2, 1]
        first = view.first_step
        await pilot.press("l")
        assert view.first_step == first + round(step_axis(view).shown * 0.25)
        await pilot.press("f")
        axis = step_axis(view)
        assert (axis.start, axis.shown) == (0, total) and len(axis.edges) == view.columns + 1
        await pilot.press("Z")  # no further out than every event
        assert (view.first_step, view.step_count) == (0, total)


async def test_asyncio_and_libraries_lane_starts_folded_in_step_order() -> None:
    app = LoopvizApp(resolve(GATHER))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_run(pilot)
        view = screen.view
        folded = [row.kind for row in view._rows]
        assert folded[-1] == GROUP
        await pilot.press("g")  # open in time
        opened = len(view._rows)
        assert opened > len(folded)
        await pilot.press("a")
        assert [row.kind for row in view._rows] == folded  # folded in step order
        assert view.render_line(HEADER_ROWS + len(folded) - 2).text.startswith("▸")
        await pilot.press("g")  # it opens there too, when asked
        assert len(view._rows) == opened
        await pilot.press("g", "a")
        assert len(view._rows) == opened  # time keeps its own choice
