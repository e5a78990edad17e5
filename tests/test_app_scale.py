"""Thousands of tasks in the real app, driven by its pilot: a server's 3,038 tasks read as a
few grouped rows that fold and unfold, ``/`` finds and filters them, the census strip over
the lanes says what the model counts, and one key goes to the most starved task or the
longest step. The trace is ``server_trace``'s: 3,000 ``handle`` tasks, a 300 ms block."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import open_run, text_of, wait_for
from server_trace import BLOCK, server_trace
from textual.pilot import Pilot
from textual.widgets import Input

from loopviz.app.app import LoopvizApp
from loopviz.app.axis import StepAxis
from loopviz.app.palette import bar
from loopviz.app.screens.run import RunScreen
from loopviz.app.target import resolve
from loopviz.app.widgets.search_bar import SearchBar
from loopviz.app.widgets.timeline_view import CENSUS_ROWS, CORO, GROUP, HEADER_ROWS, TimelineView
from loopviz.model import words
from loopviz.model.census import Census
from loopviz.model.facts import State
from loopviz.model.groups import stats
from loopviz.units import format_time

SIZE = (160, 48)


@pytest.fixture(autouse=True)
def no_animations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return server_trace(tmp_path_factory.mktemp("server"))


async def opened(pilot: Pilot[None]) -> RunScreen:
    """The run screen once its trace is loaded and its census counted."""
    screen = await open_run(pilot)
    await wait_for(pilot, lambda: screen.census is not None, "the census to be counted")
    await pilot.pause()
    return screen


def lines(view: TimelineView) -> list[str]:
    return [view.render_line(y).text for y in range(view.size.height)]


def key_of(screen: RunScreen, coro: str) -> str:
    return next(g.key for g in screen.view.grouping.groups.values() if g.coro == coro)


async def test_three_thousand_tasks_are_a_few_rows_grouped_by_coroutine(server: Path) -> None:
    app = LoopvizApp(resolve(server))
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        view = screen.view
        timeline = screen.timeline
        assert timeline is not None and len(timeline.tasks) == 3038
        handle = key_of(screen, "handle")
        rows = view._rows
        # main, the 3,000 handlers folded in one row at the first one's place, the fetches
        # one lane each (12: too few to fold), asyncio's and libraries' lane.
        assert [row.kind for row in rows[:3]] == ["loop", "task", CORO]
        assert rows[1].label == "main()"  # asyncio's name Task-1: labelled by its coroutine
        assert rows[2].key == handle and rows[2].label == "handle ×3,000"
        assert [row.label for row in rows[3:15]] == [f"fetch-{n}" for n in range(1, 13)]
        assert rows[15].kind == GROUP and len(rows) == 16
        header = HEADER_ROWS + len(CENSUS_ROWS)  # the census is over the lanes at scale
        group_line = lines(view)[header + 1]
        found = stats(timeline, view.grouping.groups[handle])
        brief = next(form for form in words.group_brief(found) if form in group_line)
        assert group_line.startswith("▸handle ×3,000") and "p50/p99/max" in brief

        await pilot.press("down")  # from main to the group's row: the task pane says it all
        assert screen.group == handle and screen.selected == 0
        inspector = text_of(app, "#inspector")
        assert inspector.startswith("handle ×3,000")
        for fact in words.group_facts(timeline, view.grouping.groups[handle], found):
            assert fact in inspector
        assert "6 raised" in inspector

        await pilot.press("enter")  # unfolds: its tasks under it, in creation order
        members = view.grouping.groups[handle].tasks
        assert [row.key for row in view._rows[3:3003]] == members
        assert all(row.label.startswith("Task-") for row in view._rows[3:3003])
        assert lines(view)[header + 1].startswith("▾handle ×3,000")
        await pilot.press("down")
        assert screen.selected == members[0] and not screen.group
        await pilot.press("enter")  # on one of its tasks: folds its group, the row selected
        assert screen.group == handle and len(view._rows) == 16

        await pilot.press("down", "enter")  # fetch-1's group (12 tasks) folds at its place
        fetch = key_of(screen, "fetch")
        assert screen.group == fetch and [row.kind for row in view._rows[:5]] == [
            "loop", "task", CORO, CORO, GROUP,
        ]  # fmt: skip
        assert view._rows[3].label == "fetch ×12"
        await pilot.press("enter")  # unfolded: back at their places, the first selected
        assert [row.label for row in view._rows[3:15]] == [f"fetch-{n}" for n in range(1, 13)]
        assert screen.selected == view.grouping.groups[fetch].tasks[0]

        y = view.header_rows + 1  # the handlers' row, +1 for the border: a click unfolds it
        await pilot.click(TimelineView, offset=(view.label_width + 30, y + 1))
        assert screen.group == handle and not view.folded(handle)
        assert view._rows[3].key == members[0]
        await pilot.click(TimelineView, offset=(3, y + 1))  # and folds it again
        assert view.folded(handle) and len(view._rows) == 16

        await pilot.press("g")  # asyncio's and libraries' lane opens: a group too (25 > 20)
        library = key_of(screen, "RequestHandler._handle_request")
        assert view._rows[-1].key == library and view._rows[-1].dim
        await pilot.press("home", "shift+up")  # from fetch-1: back to the handlers' row
        assert screen.group == handle
        await pilot.press("shift+down")  # over the fetches to the library's group
        assert screen.group == library
        await pilot.press("shift+down")
        assert screen.group == library  # the last group: it stays
        assert any(words.NO_MORE_GROUPS in n.message for n in app._notifications)


async def test_slash_finds_and_filters_the_tasks_and_esc_clears(server: Path) -> None:
    app = LoopvizApp(resolve(server))
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        view = screen.view
        timeline = screen.timeline
        assert timeline is not None
        window = (view.t0, view.span)
        await pilot.press("slash")
        bar_ = screen.query_one(SearchBar)
        assert bar_.has_class("-open") and isinstance(app.focused, Input)
        await pilot.press(*"fetch")  # f, h: typed, not fit and pan
        fetches = [info.id for info in timeline.tasks if info.coro == "fetch"]
        assert screen.query_one(Input).value == "fetch" and (view.t0, view.span) == window
        assert view.task_ids == fetches and len(view._rows) == 13  # the loop and 12 lanes
        said = "12 of 3,038 tasks match 'fetch'"
        assert said in text_of(app, "#search-result") and said in str(view.border_title)

        await pilot.press("enter")  # the filter stays; the first match is selected
        assert not bar_.has_class("-open") and app.focused is view
        assert screen.selected == fetches[0] and view.filter == frozenset(fetches)
        await pilot.press("n", "n")
        assert screen.selected == fetches[2]
        await pilot.press("N", "N", "N")
        assert screen.selected == fetches[-1]  # round from the first to the last

        await pilot.press("slash", "ctrl+u", *"handle")  # many matches: they fold again
        assert [row.kind for row in view._rows] == ["loop", CORO, CORO]
        assert view._rows[1].label == "handle ×3,000" and view._rows[2].label.startswith(
            "_handle_request ×25"
        )
        await pilot.press("escape")  # in the bar: clears the filter, every task is back
        assert view.filter is None and len(view._rows) == 16 and app.focused is view
        assert view.border_title == "timeline"

        await pilot.press("w")  # the playhead where the most starved task became ready
        await pilot.press("slash", *"state:ready", "enter")  # the tasks ready then
        t = screen.playhead
        ready = [
            info.id
            for info in timeline.tasks
            if (interval := timeline.state_at(info.id, t)) and interval.state is State.READY
        ]
        assert screen.matches == ready and screen.selected in ready
        assert f"match 'state:ready' at {format_time(t)}" in str(view.border_title)
        await pilot.press("escape")  # on the timeline: clears the filter, stays on the screen
        assert view.filter is None and app.screen is screen
        await pilot.press("slash", *"state:asleep")
        assert words.unknown_states(("asleep",)) in text_of(app, "#search-result")


async def test_the_census_strip_says_what_the_model_counts(server: Path) -> None:
    app = LoopvizApp(resolve(server))
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        view = screen.view
        timeline, census = screen.timeline, screen.census
        assert timeline is not None and census is not None
        await pilot.press("W")  # the block, main's 300 ms step: the playhead at its start
        for axis_key in ("", "a"):  # in time, then in step order
            if axis_key:
                await pilot.press(axis_key)
            axis = view.axis
            steps = axis.steps if isinstance(axis, StepAxis) else None
            model = axis.spread(Census(timeline).columns(axis.edges, steps), None)
            at = model[view.playhead_columns().start]
            width = view.label_width
            drawn = lines(view)[1 : 1 + len(CENSUS_ROWS)]
            for name, line in zip(CENSUS_ROWS, drawn, strict=True):
                assert line[:width].strip() == words.census_value(name, at)
                if name in ("busy", "running"):
                    values = [getattr(c, name) or 0.0 if c else 0.0 for c in model]
                    peak = 1.0
                elif name == "lag":
                    values = [float(c.lag) if c else 0.0 for c in model]
                    peak = max(max(values), timeline.block_threshold)
                else:
                    values = [getattr(c, name) if c else 0.0 for c in model]
                    peak = max(max(values), 1.0)
                bars = [bar(value, peak) for value in values]
                cover = view.playhead_columns()
                lane = line[width:]
                assert all(lane[c] == bars[c] for c in range(len(bars)) if c not in cover)
            after = model[view.playhead_columns().stop]
            assert after is not None and after.busy == 1.0  # the block
        await pilot.press("C")  # hidden: the lanes move up
        assert view.header_rows == HEADER_ROWS and lines(view)[1].startswith(" loop")


async def test_keys_go_to_the_most_starved_task_and_the_longest_step(server: Path) -> None:
    app = LoopvizApp(resolve(server))
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        view, timeline = screen.view, screen.timeline
        assert timeline is not None and screen.census is not None
        worst = screen.census.longest_ready()
        assert worst is not None and worst.length >= BLOCK - 5_000_000
        await pilot.press("w")
        assert screen.selected == worst.task and screen.playhead == worst.start
        assert view.has_row("task", worst.task)  # its group was unfolded to show it
        assert view.shows(worst.start) and view.shows(worst.start + worst.length - 1)
        said = words.worst_ready(timeline, worst, 0)
        assert any(n.message == said for n in app._notifications)
        row = view._row_of_task[worst.task]
        assert lines(view)[view.header_rows - 1 + row - int(view.scroll_y)].startswith("▶")

        second = screen.census.longest_ready(1)
        assert second is not None
        await pilot.press("w")  # again: the next longest
        assert screen.selected == second.task and screen.playhead == second.start

        await pilot.press("W")
        step = screen.census.longest_step()
        assert step is not None and screen.selected == 1 == step.task
        assert screen.playhead == step.start and step.length == BLOCK

        await pilot.press("a", "w")  # in step order, the third: the step its wait began at
        third = screen.census.longest_ready(2)
        assert third is not None and screen.selected == third.task
        assert screen.step == timeline.moment_index(third.start)


def test_a_server_at_160x48(snap_compare, server: Path) -> None:
    """The whole run: the census over the lanes (the block: busy, the ready queue piling
    up, the lag when it ends), the 3,000 handlers folded in one row, selected, which the
    task pane says in full."""

    async def group_selected(pilot: Pilot[None]) -> None:
        await opened(pilot)
        await pilot.press("down")
        pilot.app.clear_notifications()
        await pilot.pause()

    app = LoopvizApp(resolve(server))
    assert snap_compare(app, terminal_size=SIZE, run_before=group_selected)


async def test_at_80x24_the_lanes_come_first_and_the_census_when_there_is_room(
    server: Path,
) -> None:
    """The census strip takes five rows: in an 80x24 terminal's timeline pane that is all of
    it, so it starts hidden there; maximized, the pane has room and it is back; C still
    shows or hides it whatever the room."""
    app = LoopvizApp(resolve(server))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await opened(pilot)
        view = screen.view
        assert not view.census_shown and view.header_rows == HEADER_ROWS
        shown = lines(view)
        assert shown[1].startswith(" loop ") and shown[2].startswith("▶main()")
        assert shown[3].startswith("▸handle ×3,000")
        await pilot.press("m")  # the timeline alone: room for the census and lanes under it
        await pilot.pause()
        assert view.census_shown and view.header_rows == HEADER_ROWS + len(CENSUS_ROWS)
        assert lines(view)[1].startswith(" running ")
        await pilot.press("m")  # the panes back: the lanes again
        await pilot.pause()
        assert not view.census_shown and lines(view)[2].startswith("▶main()")
        await pilot.press("C")  # the user's choice holds, room or not
        await pilot.pause()
        assert view.census_shown and lines(view)[1].startswith(" running ")
