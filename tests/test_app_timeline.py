"""The timeline's room and marks, in the real app: the folded lane of asyncio's and libraries'
tasks, the axis starting at the first loop, the maximized timeline, ghosts of waits cut
short, the colour-blind letters, the help on every mark, and re-running an edited program."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from conftest import open_run, text_of, wait_for, write_program
from test_app import kinds_trace, lane_cells, swatches, task_id
from test_app_live import wait_ended
from textual.widgets import Static
from trace_builder import MS, S, TraceBuilder

from loopviz.app.app import LoopvizApp
from loopviz.app.palette import CHARS, GHOST, LETTERS, WAIT_GROUPS
from loopviz.app.screens.run import RunScreen
from loopviz.app.target import resolve
from loopviz.app.widgets.timeline_view import GROUP, HEADER_ROWS, TimelineView
from loopviz.catalog import bundled_folder
from loopviz.model import words
from loopviz.trace import Cause, End, Finished, LoopMark, Outcome, Ready, TaskCreated, Wait, Waited


def library_trace(folder: Path) -> Path:
    """main, a task aiohttp started and asyncio's shutdown task, each a few ms."""
    b = TraceBuilder(program=str(folder / "prog.py"))
    b.add(LoopMark(0, 1, 0))
    b.task(0, 1, "main")
    b.add(Waited(MS, 1, MS, Wait.SLEEP, 0, b.site(5), 100 * MS))
    connector = b.site(122, "/venv/lib/python3.11/site-packages/aiohttp/connector.py")
    b.add(TaskCreated(50 * MS, 2, -2, b.s("_wait_for_close"), connector, 1, b.site(7)))
    b.add(Finished(52 * MS, 2, MS, Outcome.RESULT, b.s("None")))
    b.add(Ready(101 * MS, 1, Cause.TIMER), Finished(102 * MS, 1, MS, Outcome.RESULT, b.s("None")))
    shutdown = b.site(539, "/usr/lib/python3.11/asyncio/base_events.py")
    b.add(TaskCreated(104 * MS, 3, -3, b.s("BaseEventLoop.shutdown_asyncgens"), shutdown, 0, 0))
    b.add(Finished(105 * MS, 3, MS, Outcome.RESULT, b.s("None")))
    b.add(LoopMark(106 * MS, 1, 1), End(107 * MS, 0, 0))
    return b.write(folder / "library.trace.jsonl")


def lines(view: TimelineView) -> list[str]:
    return [view.render_line(y).text for y in range(view.size.height)]


async def test_asyncio_and_library_tasks_fold_into_one_lane_that_a_key_or_click_opens(
    tmp_path: Path,
) -> None:
    app = LoopvizApp(resolve(library_trace(tmp_path)))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_run(pilot)
        view = screen.view
        assert [row.kind for row in view._rows] == ["loop", "task", GROUP]
        assert view.task_ids == [1]
        group_line = lines(view)[HEADER_ROWS + 1]
        assert group_line.startswith("▸" + words.folded_group(2)[0])
        await pilot.press("down", "down")
        assert screen.selected == 1  # the folded tasks cannot be selected

        await pilot.press("g")
        assert [row.key for row in view._rows[1:]] == [1, GROUP, 2, 3]
        assert all(row.dim for row in view._rows[2:])
        assert lines(view)[HEADER_ROWS + 1].startswith("▾")
        await pilot.press("down")
        assert screen.selected == 2  # opened, they can
        assert "_wait_for_close" in text_of(app, "#inspector")

        y = HEADER_ROWS + 1  # the group's lane, +1 for the border: a click folds it
        await pilot.click(TimelineView, offset=(view.label_width + 20, y + 1))
        assert [row.kind for row in view._rows] == ["loop", "task", GROUP]


async def test_the_axis_starts_where_the_first_loop_does_and_the_start_up_unfolds(
    tmp_path: Path,
) -> None:
    program = write_program(
        tmp_path,
        """\
        import asyncio
        import time

        time.sleep(0.3)  # start-up before the loop


        async def main():
            await asyncio.sleep(0.05)


        asyncio.run(main())
        """,
    )
    app = LoopvizApp(resolve(program))
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunScreen)
        await wait_ended(pilot, screen)
        view, timeline = screen.view, screen.timeline
        started = timeline.loop_start
        assert started >= 300 * MS
        await pilot.press("f")
        assert view.t0 == started  # the window begins with the loop...
        assert view.t0 + view.span >= timeline.end  # ...and ends with the program
        assert view.span < timeline.end  # no room given to the start-up
        axis_line, loop_line = lines(view)[:2]
        assert axis_line.strip().startswith(words.start_up(started)[0])
        assert loop_line[view.label_width] == CHARS["gap"]  # the start-up's one column
        await pilot.press("home")
        assert view.column_of(screen.playhead) == 0  # its start is in that column

        await pilot.press("u")
        assert view.t0 == 0
        assert view.column_of(started) > view.columns // 2  # 0.3 s of a 0.4 s run
        assert "start-up" not in lines(view)[0]
        await pilot.click(TimelineView, offset=(2, 1))  # the axis's label: folded again
        assert view.t0 == started


async def test_a_key_gives_the_timeline_the_whole_screen_and_back(tmp_path: Path) -> None:
    app = LoopvizApp(resolve(library_trace(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_run(pilot)
        view = screen.view
        panes = [screen.query_one(selector) for selector in ("#panes", "#events")]
        before = view.outer_size.height
        await pilot.press("m")
        assert not any(pane.display for pane in panes)
        # all but the title, the one line saying the step at the playhead, and the footer
        narration = screen.query_one("#narration")
        assert narration.display and narration.outer_size.height == 1
        assert view.outer_size.height == 24 - 3
        assert view.outer_size.height > 2 * before
        await pilot.press("m")
        assert all(pane.display for pane in panes) and view.outer_size.height == before


async def test_ghost_bars_show_how_long_the_cancelled_downloads_would_have_taken() -> None:
    app = LoopvizApp(resolve(bundled_folder() / "13_taskgroup.py"))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunScreen)
        await wait_ended(pilot, screen)
        await pilot.press("f", "end")
        view, timeline = screen.view, screen.timeline
        ghost = view.looks.ghost(Wait.SLEEP)
        assert ghost[0] == GHOST and ghost[1].dim
        assert ghost[1].color == view.looks.cells["wait-sleep"][1].color
        for name, cut in (("mirror-a", True), ("mirror-b", False), ("mirror-c", True)):
            cells = lane_cells(screen, name)
            ended = view.column_of(timeline.task(task_id(screen, name)).ended)
            assert (ghost in cells) is cut, name
            if cut:  # from where it ended (its ⊘ mark) on, past the end of the run
                assert cells[ended + 1 :] == [ghost] * (len(cells) - ended - 1)
        y = HEADER_ROWS - 1 + next(i for i, r in enumerate(view._rows) if r.label == "mirror-a")
        drawn = [s for s in view.render_line(y) if GHOST in s.text]
        assert drawn and drawn[0].style == ghost[1]  # the strip on screen, in the ghost's look
        # Zooming out goes on past the run as far as the longest cut wait would have gone.
        [cut_c] = timeline.cut_short(task_id(screen, "mirror-c"))
        await pilot.press("Z", "Z", "Z", "Z")
        assert view.t0 + view.span >= cut_c.deadline >= S


async def test_letters_tell_the_wait_kinds_apart_without_colour(tmp_path: Path) -> None:
    app = LoopvizApp(resolve(kinds_trace(tmp_path)))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_run(pilot)

        def dominant(name: str) -> str:
            drawn = [cell[0] for cell in lane_cells(screen, name) if cell[0] != " "]
            return Counter(drawn).most_common(1)[0][0]

        assert dominant("waits-on-sleep") == CHARS["wait-sleep"]
        await pilot.press("c")
        letters = {dominant(f"waits-on-{name}") for name, _ in WAIT_GROUPS}
        assert letters == {name[0] for name, _ in WAIT_GROUPS}  # one letter per kind
        assert dominant("runs") == LETTERS["blocking"]
        legend = screen.view.looks.legend().plain
        assert all(f"{name[0]} {name}" in legend for name, _ in WAIT_GROUPS[:4])
        assert swatches(screen.view)["ready"][0] == CHARS["ready"]
        await pilot.press("c")
        assert dominant("waits-on-io") == CHARS["wait-io"]


async def test_help_explains_every_mark_on_the_timeline(tmp_path: Path) -> None:
    app = LoopvizApp(resolve(library_trace(tmp_path)))
    async with app.run_test(size=(160, 48)) as pilot:
        await open_run(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: app.screen.query("#widget-help"), "the help panel")
        text = str(app.screen.query_one("#widget-help").source)
    marks = {*CHARS.values(), *LETTERS.values(), GHOST, "▏", "▸"}
    assert [mark for mark in marks if mark not in text] == []
    for said in ("loop", "idle", "overdue", "worker", "short step", "blocks", "cut short"):
        assert said in text
    assert "start-up" in text and "asyncio and libraries" in text
    for said in ("step order", "one column per event", "event loop", "ready queue", "**F**"):
        assert said in text  # the step view, its loop panel and narration


async def test_re_run_reads_the_edited_source_again(tmp_path: Path) -> None:
    source = """\
        import asyncio


        async def main():
            await asyncio.sleep(0.01)  # the first version


        asyncio.run(main())
        """
    program = write_program(tmp_path, source)
    app = LoopvizApp(resolve(program))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunScreen)
        await wait_ended(pilot, screen)

        def code() -> str:
            return str(screen.query_one("#source Static", Static).content)

        assert "the first version" in code()
        write_program(tmp_path, source.replace("the first version", "edited since"))
        await pilot.press("r")
        await wait_ended(pilot, screen)
        await wait_for(pilot, lambda: "edited since" in code(), "the edited source")
        assert "the first version" not in code()
