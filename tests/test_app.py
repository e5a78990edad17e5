"""The real app driven by Textual's pilot: every control does what its key says."""

from __future__ import annotations

import colorsys
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import open_run, text_of, wait_for
from rich.style import Style
from textual.command import CommandList
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static
from textual.widgets._footer import FooterKey
from trace_builder import MS, TraceBuilder

from loopviz import cli, exits
from loopviz.app.app import LoopvizApp
from loopviz.app.palette import WAIT_GROUPS
from loopviz.app.screens.run import RunScreen
from loopviz.app.state import SPEEDS
from loopviz.app.target import resolve
from loopviz.app.widgets.timeline_view import GROUP, HEADER_ROWS, TimelineView, shorten
from loopviz.catalog import bundled_folder, discover
from loopviz.model import words
from loopviz.model.facts import State
from loopviz.model.timeline import Timeline
from loopviz.trace import (
    Cause,
    End,
    Finished,
    Idle,
    LoopMark,
    Outcome,
    Output,
    Ran,
    Ready,
    TaskCreated,
    Wait,
    Waited,
)

PROGRAM = """\
import asyncio


async def job(name, delay):
    print(f"{name} started")
    await asyncio.sleep(delay)
    print(f"{name} finished")


async def main():
    await asyncio.gather(job("A", 0.1), job("B", 0.2), job("C", 0.1))


asyncio.run(main())
"""


def gather_trace(folder: Path) -> Path:
    """A gather of three sleeps (0.1, 0.2, 0.1 s), as the recorder writes it."""
    program = folder / "prog.py"
    program.write_text(PROGRAM)
    b = TraceBuilder(program=str(program))
    b.source(program)
    b.add(LoopMark(0, 1, 0))
    b.task(0, 1, "main")
    b.add(Ready(0, 1, Cause.START))
    for task, name in ((2, "A"), (3, "B"), (4, "C")):
        b.task(1 * MS, task, name, parent=1, line=11)
        b.add(Ready(1 * MS, task, Cause.START))
    b.add(Waited(MS // 2, 1, MS // 2, Wait.GATHER, 3, b.site(11)))  # a gather of 3
    for task, name, start, delay in ((2, "A", 2, 100), (3, "B", 3, 200), (4, "C", 4, 100)):
        b.add(Waited(start * MS, task, MS // 2, Wait.SLEEP, 0, b.site(6), delay * MS))
        b.add(Output(start * MS + MS // 4, 1, f"{name} started"))
    b.add(Idle(5 * MS, 97 * MS, 97 * MS))
    for task, name, start in ((2, "A", 103), (4, "C", 105), (3, "B", 204)):
        b.add(Ready(start * MS - MS // 2, task, Cause.TIMER))
        b.add(Finished(start * MS, task, MS // 2, 0, b.s("None")))
        b.add(Output(start * MS + MS // 4, 1, f"{name} finished"))
        if name == "C":
            b.add(Idle(106 * MS, 97 * MS, 97 * MS))
    b.add(Ready(205 * MS, 1, Cause.FUTURE))
    b.add(Finished(206 * MS, 1, MS // 2, 0, b.s("None")))
    b.add(LoopMark(207 * MS, 1, 1))
    b.add(End(208 * MS, 0, 0))
    return b.write(folder / "gather.trace.jsonl")


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    return gather_trace(tmp_path)


def task_id(screen: RunScreen, name: str) -> int:
    return next(info.id for info in screen.timeline.tasks if info.name == name)


async def select(pilot: Pilot[None], screen: RunScreen, name: str) -> None:
    for _ in screen.timeline.tasks:
        if screen.timeline.task(screen.selected).name == name:
            return
        await pilot.press("down")
    pytest.fail(f"no task {name} to select")


async def test_step_next_and_previous_event(trace: Path) -> None:
    """Each → is one event, even where events share a clock reading; ← goes back one."""
    app = LoopvizApp(resolve(trace))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot)
        model = Timeline.from_file(trace)
        start = model.moment_index(0)
        assert screen.step == start
        expected = [(i, model.moment_time(i)) for i in range(start + 1, start + 5)]
        seen = []
        for _ in range(4):
            await pilot.press("right")
            seen.append((screen.step, screen.playhead))
        assert seen == expected
        await pilot.press("left")
        assert (screen.step, screen.playhead) == expected[2]
        await pilot.pause()
        current = model.moment(expected[2][0])
        assert words.moment(model, current) in text_of(app, "#events")
        assert screen.query_one("#narration", Static).content


async def test_task_step_inspector_and_source(trace: Path) -> None:
    app = LoopvizApp(resolve(trace))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot)
        await select(pilot, screen, "B")
        b = task_id(screen, "B")
        model = Timeline.from_file(trace)
        t = 0
        for _ in range(10):  # B's own events up to its sleep
            interval = model.state_at(b, t)
            if interval is not None and interval.state is State.WAITING:
                break
            await pilot.press("right_square_bracket")
            assert screen.playhead == model.next_event(t, b).t
            t = screen.playhead
        inspector = text_of(app, "#inspector")
        assert inspector.startswith("B")
        assert "waiting: sleep" in inspector
        assert "prog.py:6" in inspector
        assert "parent: main" in inspector
        source = str(app.screen.query_one("#source Static", Static).content).splitlines()
        assert source[5].split()[:2] == ["▶", "6"] and "await asyncio.sleep(delay)" in source[5]
        # B's next own event is its timer firing at 203.5 ms, past A's and C's events.
        await pilot.press("right_square_bracket")
        assert screen.playhead == model.next_event(t, b).t == 203_500_000
        assert "ready: its sleep timer fired" in text_of(app, "#inspector")


async def test_jump_speed_zoom_fit(trace: Path) -> None:
    app = LoopvizApp(resolve(trace))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot)
        end = screen.timeline.end
        await pilot.press("end")
        assert screen.playhead == end
        await pilot.press("home")
        assert screen.playhead == 0
        for _ in range(len(SPEEDS) + 2):
            await pilot.press("plus")
        assert screen.playback.speed == 10.0
        for _ in range(len(SPEEDS) + 2):
            await pilot.press("minus")
        assert screen.playback.speed == 0.1
        view = screen.query_one(TimelineView)
        fitted = view.span
        assert fitted >= end
        await pilot.press("z")
        assert view.span == fitted // 2
        await pilot.press("Z", "Z", "Z")
        assert (view.t0, view.span) == (0, fitted)  # no further out than the whole run
        await pilot.press("z", "z", "right")
        await pilot.press("f")
        assert (view.t0, view.span) == (0, fitted)


async def test_play_pause_advances_playhead(trace: Path) -> None:
    app = LoopvizApp(resolve(trace))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot)
        await pilot.press("minus", "minus", "minus")  # 0.1×: the 208 ms run lasts 2 s
        await pilot.press("space")
        await wait_for(pilot, lambda: screen.playhead > 0, "the playhead to move")
        await pilot.press("space")
        stopped = screen.playhead
        assert 0 < stopped < screen.timeline.end
        await pilot.pause(0.1)  # paused: time passes, the playhead stays
        assert screen.playhead == stopped
        await pilot.press("plus", "plus", "plus", "space")  # plays on to the end, stops there
        await wait_for(pilot, lambda: not screen.playback.playing, "the playback to stop")
        assert screen.playhead == screen.timeline.end


async def test_output_pane_follows_playhead(trace: Path) -> None:
    app = LoopvizApp(resolve(trace))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot)
        for _ in range(20):
            if "C started" in text_of(app, "#output Static"):
                break
            await pilot.press("right")
        assert screen.playhead == 4 * MS + MS // 4
        assert "finished" not in text_of(app, "#output Static")
        await pilot.press("end")
        output = text_of(app, "#output Static")
        assert output.index("A finished") < output.index("C finished") < output.index("B finished")


async def test_select_with_arrows_and_click(trace: Path) -> None:
    app = LoopvizApp(resolve(trace))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot)
        names = [info.name for info in screen.timeline.tasks]
        assert screen.timeline.task(screen.selected).name == names[0]
        await pilot.press("down", "down")
        assert screen.timeline.task(screen.selected).name == names[2]
        await pilot.press("up")
        assert screen.timeline.task(screen.selected).name == names[1]
        view = screen.query_one(TimelineView)
        c = task_id(screen, "C")
        c_row = next(y for y in range(view.size.height) if view.task_at_y(y) == c)
        assert c_row >= HEADER_ROWS
        # +1 for the border around the lanes
        await pilot.click(TimelineView, offset=(view.label_width + 5, c_row + 1))
        assert screen.timeline.task(screen.selected).name == "C"
        assert view.selected == screen.selected  # the view shows the screen's, bound


async def test_command_palette_runs_controls(trace: Path) -> None:
    app = LoopvizApp(resolve(trace))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot)
        await pilot.press("ctrl+p")
        before = screen.step
        await pilot.press(*"next step")
        found = app.screen.query_one(CommandList)
        await wait_for(pilot, lambda: found.option_count > 0, "the palette to find the command")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen, "the palette to close")
        assert screen.step == before + 1


async def test_tiny_sizes_and_resize_keep_the_controls_working(trace: Path) -> None:
    app = LoopvizApp(resolve(trace))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_run(pilot)
        view = screen.view
        for size in ((40, 12), (12, 5), (1, 1), (200, 50), (80, 24)):
            before = screen.step
            await pilot.resize_terminal(*size)
            await pilot.press("right", "z", "down")
            await pilot.pause()
            assert app.screen is screen and screen.step == before + 1
            width = view.size.width
            assert all(view.render_line(y).cell_length == width for y in range(view.size.height))
        assert len(screen.view.render_line(2).text.strip()) > 0  # lanes drawn again at 80x24


async def test_picker_lists_scenarios_and_shows_the_highlighted_one() -> None:
    scenarios = discover(bundled_folder())
    app = LoopvizApp(resolve(bundled_folder()))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        assert options.option_count == len(scenarios)
        await pilot.press("down")
        assert scenarios[1].title in text_of(app, "#description")
        assert scenarios[1].source.splitlines()[0] in str(
            app.screen.query_one("#listing", Static).content.code
        )


async def test_open_file_prompt_reports_bad_paths(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    app = LoopvizApp(resolve(bundled_folder()))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("o")
        await pilot.press(*str(tmp_path / "notes.txt"), "enter")
        await pilot.pause()
        assert any("not a loopviz trace" in n.message for n in app._notifications)
        assert app.screen.__class__.__name__ == "PickerScreen"


def test_the_app_rejects_missing_and_non_trace_files(tmp_path: Path, capsys) -> None:
    assert cli.main([str(tmp_path / "missing.trace.jsonl")]) == exits.USAGE
    (tmp_path / "notes.txt").write_text("hello\n")
    assert cli.main([str(tmp_path / "notes.txt")]) == exits.USAGE
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"loopviz: {tmp_path / 'missing.trace.jsonl'}: no such file or folder",
        f"loopviz: {tmp_path / 'notes.txt'}:1: not a loopviz trace",
    ]


def test_the_app_without_a_terminal_says_so() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loopviz"], stdin=subprocess.DEVNULL, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        "loopviz: the app needs a terminal; without one, see loopviz --help"
    ]


async def test_save_copies_the_trace(trace: Path, tmp_path: Path) -> None:
    target = tmp_path / "saved" / "copy.trace.jsonl"
    target.parent.mkdir()
    app = LoopvizApp(resolve(trace))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_run(pilot)
        await pilot.press("s")
        prompt = app.screen.query_one(Input)
        assert prompt.value == "gather.trace.jsonl"  # the default: the trace's own name
        prompt.value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        assert target.read_bytes() == trace.read_bytes()
        target.write_text("mine\n")
        await pilot.press("s")
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        assert target.read_text() == "mine\n"  # not yet: it asks first
        assert str(app.screen.query_one(Input).value) == str(target)
        await pilot.press("enter")  # confirmed
        await pilot.pause()
    assert target.read_bytes() == trace.read_bytes()


def kinds_trace(folder: Path) -> Path:
    """One task per look a lane can have, a task that raised, one cancelled, asyncio's own
    shutdown task, and no End record (a trace cut short)."""
    b = TraceBuilder(program=str(folder / "prog.py"))
    b.add(LoopMark(0, 1, 0))
    task = 1
    for name, kinds in WAIT_GROUPS:  # each waits 100 ms, with a short step halfway
        b.task(0, task, f"waits-on-{name}")
        b.add(Waited(MS, task, MS // 2, kinds[0], b.s(name), b.site(5)))
        b.add(Ready(52 * MS - MS // 10, task, Cause.FUTURE))
        b.add(Waited(52 * MS, task, MS // 5, kinds[0], b.s(name), b.site(5)))
        b.add(Ready(102 * MS, task, Cause.FUTURE))
        b.add(Finished(103 * MS, task, MS // 2, Outcome.RESULT, b.s("None")))
        task += 1
    b.task(0, task, "readies")  # ready (overdue) most of the time
    b.add(Finished(150 * MS, task, MS // 2, Outcome.RESULT, b.s("None")))
    b.task(0, task + 1, "runs")
    b.add(Ready(0, task + 1, Cause.START))
    b.add(Ran(10 * MS, task + 1, 150 * MS))  # over the 100 ms threshold: blocking
    b.task(0, task + 2, "raises")
    b.add(Finished(60 * MS, task + 2, MS, Outcome.ERROR, b.s("ValueError: boom")))
    b.task(0, task + 3, "is-cancelled")
    b.add(Finished(70 * MS, task + 3, MS, Outcome.CANCELLED, 0))
    coro_site = b.site(600, "/usr/lib/python3.11/asyncio/base_events.py")
    b.add(
        TaskCreated(200 * MS, task + 4, b.s("Task-9"), b.s("shutdown_asyncgens"), coro_site, 0, 0)
    )
    b.add(Output(250 * MS, 1, "still going"))
    return b.write(folder / "kinds.trace.jsonl")


def swatches(view: TimelineView) -> dict[str, tuple[str, Style]]:
    """The legend's swatch for each name, read back from the legend text."""
    text = view.looks.legend()
    found = {}
    for span in text.spans:
        name = text.plain[span.end :].split(" ", 1)[0]
        found[name] = (text.plain[span.start : span.end], span.style)
    return found


def lane_cells(screen: RunScreen, name: str) -> list:
    view = screen.view
    row = next(r for r in view._rows if r.kind == "task" and r.key == task_id(screen, name))
    return view._cells(row, view.axis)


async def test_legend_swatches_are_the_lanes_own_cells(tmp_path: Path) -> None:
    app = LoopvizApp(resolve(kinds_trace(tmp_path)))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_run(pilot)
        legend_of = swatches(screen.view)
        assert (
            screen.view.border_subtitle == Content.from_rich_text(screen.view.looks.legend()).markup
        )
        expected = {f"waits-on-{name}": name for name, _ in WAIT_GROUPS}
        expected |= {"readies": "ready", "runs": "blocking"}
        for task, look in expected.items():
            cells = [cell for cell in lane_cells(screen, task) if cell[0] != " "]
            dominant = Counter(cells).most_common(1)[0][0]
            assert dominant == legend_of[look], task
        worker = lane_cells(screen, "waits-on-sleep")
        assert legend_of["short"] in worker  # the short step inside the wait: a tick
        assert legend_of["raised"] in lane_cells(screen, "raises")
        assert legend_of["cancelled"] in lane_cells(screen, "is-cancelled")
        returned = lane_cells(screen, "waits-on-io")
        assert legend_of["raised"] not in returned and legend_of["cancelled"] not in returned


async def test_lane_colours_are_distinct_and_only_blocking_is_red(trace: Path) -> None:
    app = LoopvizApp(resolve(trace))
    async with app.run_test(size=(160, 48)) as pilot:
        legend_of = swatches((await open_run(pilot)).view)
    fills = {name: cell for name, cell in legend_of.items() if cell[0] in "█▓▒"}
    colours = [cell[1].color.triplet.hex for cell in fills.values()]
    assert len(set(colours)) == len(colours)

    def red(style: Style) -> bool:
        h, _, s = colorsys.rgb_to_hls(*(c / 255 for c in style.color.triplet))
        return s > 0.5 and (h < 0.05 or h > 0.9)

    assert [name for name, cell in fills.items() if red(cell[1])] == ["blocking"]


async def test_internal_tasks_early_end_and_title_at_80x24(tmp_path: Path) -> None:
    app = LoopvizApp(resolve(kinds_trace(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_run(pilot)
        view = screen.view
        assert view._rows[-1].kind == GROUP  # asyncio's task folded, at the bottom
        await pilot.press("g")
        last = view._rows[-1]
        assert (last.label, last.dim) == ("asyncio: shutdown_asyncgens", True)
        assert view._longest < len(last.label)  # it does not widen the label column
        summary = text_of(app, "#summary Static")
        assert "the trace ends early (the run did not finish)" in summary
        assert "running…" not in summary
        own = len(screen.timeline.tasks) - 1
        assert f"{own} tasks (+1 of asyncio and libraries)" in summary
        await pilot.press("home")
        title = text_of(app, "#title")
        assert title.lstrip().startswith("‖ paused 1×  0 s / ")
        assert title.index("0 s /") < title.index("kinds.trace.jsonl")
        lines = [view.render_line(y).text for y in range(view.size.height)]
        assert any("waits-on-s…p" in line or "waits-on-sleep" in line for line in lines)


def test_labels_are_cut_in_the_middle() -> None:
    cut = [shorten(f"blocking/heartbeat-{i}", 14) for i in (1, 2)]
    assert cut[0] != cut[1] and all(len(c) == 14 and "…" in c for c in cut)
    assert shorten("main", 14) == "main"


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_footer_keys_fit_and_inspector_shows_every_line(trace: Path, size) -> None:
    app = LoopvizApp(resolve(trace))
    async with app.run_test(size=size) as pilot:
        screen = await open_run(pilot)
        await pilot.press("right", "right", "right")  # main waits on the gather at prog.py:11
        shown = {key.key: key.region for key in screen.query(FooterKey) if key.region.width}
        for key in ("space", "right", "q", "z", "f", "m", "question_mark"):
            assert key in shown and shown[key].right <= size[0], key
        assert "x" not in shown and "r" not in shown  # a saved trace: nothing to stop or re-run
        inspector = screen.query_one("#inspector", Static)
        lines = str(inspector.content).splitlines()
        assert "prog.py:11" in lines[2] and lines[3].startswith("children: A, B, C")
        assert inspector.content_region.height == len(lines)
        await pilot.press("home")  # before they were created: no children yet
        assert "children" not in str(inspector.content)
        await pilot.press("right", "right", "right")
        assert inspector.region.bottom <= screen.query_one("#summary").region.y
        events = screen.query_one("#events", Static)
        rows = [events.render_line(y).text for y in range(events.size.height)]
        assert len(rows) == 3 and all(re.search(r"\d (s|ms|µs|ns)  task ", row) for row in rows)


async def test_picker_empty_folder_title_only_bold_and_enter_in_footer(tmp_path: Path) -> None:
    app = LoopvizApp(resolve(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        assert options.option_count == 1
        assert "no scenarios in this folder" in str(options.get_option_at_index(0).prompt)
    (tmp_path / "plain.py").write_text("import asyncio\n")  # no docstring: no title to repeat
    app = LoopvizApp(resolve(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert str(app.screen.query_one(OptionList).get_option_at_index(0).prompt) == "plain"
    app = LoopvizApp(resolve(bundled_folder()))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        description = app.screen.query_one("#description", Static).content
        title = discover(bundled_folder())[0].title
        bold = [s for s in description.spans if "bold" in str(s.style)]
        assert [description.plain[s.start : s.end].strip() for s in bold] == [title]
        assert "enter" in {key.key for key in app.screen.query(FooterKey) if key.region.width}


def test_a_late_woken_task_is_placed_where_it_was_suspended(tmp_path: Path) -> None:
    b = TraceBuilder()
    b.task(0, 1, "late", line=2)
    b.add(
        Waited(0, 1, 10 * MS, Wait.SLEEP, 0, b.site(7), timeout=100 * MS),
        Ready(600 * MS, 1, Cause.TIMER),  # overdue from 110 ms, then woken
        Ran(650 * MS, 1, MS),
    )
    timeline = Timeline.from_file(b.write(tmp_path / "t.jsonl"))
    for t in (50 * MS, 300 * MS, 620 * MS):  # waiting, overdue, woken
        assert timeline.position(1, t)[1] == 7


@pytest.mark.parametrize("size", [(160, 48), (100, 30)])
async def test_the_legend_fits_the_timeline_border(tmp_path: Path, size: tuple[int, int]) -> None:
    app = LoopvizApp(resolve(kinds_trace(tmp_path)))
    async with app.run_test(size=size) as pilot:
        screen = await open_run(pilot)
        shown = Content.from_markup(screen.view.border_subtitle).plain
        assert len(shown) <= screen.view.outer_size.width - 4
        assert "✗raise" in shown and "⊘cancel" in shown  # the end marks, last but the loop's
        assert ("waiting: " in shown) == (size[0] >= 160)


async def test_help_explains_the_states_and_the_gain(trace: Path) -> None:
    app = LoopvizApp(resolve(trace))
    async with app.run_test(size=(160, 48)) as pilot:
        await open_run(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: app.screen.query("#widget-help"), "the help panel")
        text = str(app.screen.query_one("#widget-help").source)
        assert "**ready**" in text and "Concurrency gain" in text


async def test_q_goes_back_to_the_picker_or_quits_and_the_footer_says_which(
    trace: Path,
) -> None:
    def footer_q(app: LoopvizApp) -> str:
        keys = [k for k in app.screen.query(FooterKey) if k.key == "q" and k.region.width]
        return keys[0].description

    app = LoopvizApp(resolve(bundled_folder()))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        picker = app.screen
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), "the run view")
        await pilot.pause()
        assert footer_q(app) == "Back"
        await pilot.press("x", "q")
        await wait_for(pilot, lambda: app.screen is picker, "the picker again")
    app = LoopvizApp(resolve(trace))
    async with app.run_test(size=(160, 48)) as pilot:
        await open_run(pilot)
        assert footer_q(app) == "Quit"
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0 and not app.is_running


async def test_what_lies_after_the_playhead_is_dimmed(trace: Path) -> None:
    app = LoopvizApp(resolve(trace))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot)
        view = screen.view
        screen.playhead = screen.timeline.end // 2
        await pilot.pause()
        column = view.column_of(screen.playhead)
        y = HEADER_ROWS - 1 + next(i for i, r in enumerate(view._rows) if r.label == "B")
        line, at = view.render_line(y), view.label_width + column
        past, future = line.crop(view.label_width, at), line.crop(at + 1, line.cell_length)
        assert not any(s.style and s.style.dim for s in past if s.text.strip())
        assert all(s.style and s.style.dim for s in future if s.text.strip())
        assert any(s.text.strip() for s in future)  # B still sleeps after the playhead
