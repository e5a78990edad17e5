"""The step view in the real app, driven by its pilot: playing step by step at a pace, the
loop panel and the narration at chosen steps, the selection following each step's task."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from conftest import open_run, text_of, wait_for
from textual.pilot import Pilot
from textual.widgets import Static

from loopviz.app.app import LoopvizApp
from loopviz.app.screens.run import RunScreen
from loopviz.app.state import PACES
from loopviz.app.target import resolve
from loopviz.model import words
from loopviz.model.facts import Segment, State
from loopviz.model.steps import Step, snapshot
from loopviz.model.timeline import Timeline

GATHER = Path(__file__).parent / "fixtures" / "gather.trace.jsonl"


def panel(screen: RunScreen) -> list[str]:
    return str(screen.query_one("#loop", Static).content).splitlines()


async def go_to(pilot: Pilot[None], screen: RunScreen, index: int) -> None:
    await pilot.press("home")
    while screen.step < index:
        await pilot.press("right")
    await pilot.pause()


async def test_the_axis_key_plays_one_step_at_a_time_at_the_pace() -> None:
    app = LoopvizApp(resolve(GATHER))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_run(pilot)
        await pilot.press("a")
        assert screen.playback.by_steps and screen.has_class("-steps")
        assert "1 step/s" in text_of(app, "#title")
        for _ in range(PACES.index(20.0) - PACES.index(1.0)):
            await pilot.press("plus")
        assert screen.playback.pace == 20.0 and "20 step/s" in text_of(app, "#title")
        seen = [screen.step]
        screen.watch(
            screen, "step", lambda step: seen.append(step), init=False
        )  # every step the screen shows
        await pilot.press("space")
        await wait_for(pilot, lambda: screen.step >= 6, "six steps", timeout=10)
        moves = {b - a for a, b in pairwise(seen)}
        assert moves == {1}, seen  # one event at a time, even when a frame comes late
        assert screen.playback.playing
        await pilot.press("space")
        await pilot.press("a")  # back to playing by time, at its own speed
        assert not screen.playback.by_steps and not screen.has_class("-steps")
        assert "1×" in text_of(app, "#title")


async def test_the_loop_panel_and_the_narration_at_chosen_steps() -> None:
    model = Timeline.from_file(GATHER)
    app = LoopvizApp(resolve(GATHER))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_run(pilot)
        # When A's timer fires (C is about to follow), and when B runs its first step.
        fired = next(
            i
            for i in range(model.moment_count())
            if isinstance(event := model.moment(i).event, Segment)
            and event.interval.state is State.READY
            and model.task(event.task).name == "A"
            and not event.first
        )
        b_runs = next(
            i
            for i in range(model.moment_count())
            if isinstance(event := model.moment(i).event, Segment)
            and event.interval.state is State.RUNNING
            and model.task(event.task).name == "B"
        )
        for index in (b_runs, fired):
            await go_to(pilot, screen, index)
            loop = snapshot(model, index)
            lines = panel(screen)
            assert lines[0] == words.panel_running(model, loop)
            heading = lines.index(words.panel_heading("ready", len(loop.ready)))
            ready = lines[heading + 1 : heading + 1 + len(loop.ready)]
            assert ready == [f" {words.queue_entry(model, q, loop.t)}" for q in loop.ready]
            timers = lines.index(words.panel_heading("timers", len(loop.timers)))
            assert lines[timers + 1 :][: len(loop.timers)] == [
                f" {words.timer_entry(model, p, loop.t)}" for p in loop.timers
            ]
            said = words.narrate(model, Step(index, model.moment(index), loop))
            narration = str(screen.query_one("#narration", Static).content)
            assert narration == f"step {index + 1} of {model.moment_count()}  {said}"
        # at B's first step: B runs, C is next, A waits on its timer
        loop = snapshot(model, b_runs)
        assert words.name(model, loop.running) == "B"
        assert [words.name(model, q.task) for q in loop.ready] == ["C"]
        assert [words.name(model, p.task) for p in loop.timers] == ["A"]
        await pilot.press("home")  # back before the first step: what to press is said
        narration = str(screen.query_one("#narration", Static).content)
        assert narration == f"before the first step  {words.FIRST_STEP}"


async def test_the_selection_follows_each_step_when_playing_by_steps() -> None:
    model = Timeline.from_file(GATHER)
    app = LoopvizApp(resolve(GATHER))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_run(pilot)
        await pilot.press("right")
        chosen = screen.selected  # by time, stepping leaves the selection alone
        for _ in range(6):
            await pilot.press("right")
            assert screen.selected == chosen
        await pilot.press("a")
        followed = 0
        for _ in range(12):
            await pilot.press("right")
            task = model.moment(screen.step).task
            if task:
                assert screen.selected == task
                followed += 1
        assert followed >= 6
        await pilot.press("F")  # stop following
        kept = screen.selected
        for _ in range(6):
            await pilot.press("right")
        assert screen.selected == kept


async def test_a_small_screen_playing_by_steps_keeps_task_loop_and_narration() -> None:
    app = LoopvizApp(resolve(GATHER))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_run(pilot)
        assert not screen.query_one("#loop").display  # by time, a small screen has no room
        await pilot.press("a", "right", "right", "right", "right")
        await pilot.pause()
        for pane in ("#inspector", "#loop", "#narration", "#timeline"):
            widget = screen.query_one(pane)
            assert widget.display and widget.region.height >= 1, pane
            assert widget.region.right <= 80 and widget.region.bottom <= 24, pane
        for pane in ("#source", "#summary", "#events"):
            assert not screen.query_one(pane).display, pane
        assert panel(screen)[0]
