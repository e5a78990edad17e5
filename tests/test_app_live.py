"""Live runs in the app: a real child process under the recorder, its records streamed in."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import text_of, wait_for
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input
from trace_builder import MS, S

from loopviz.app.app import LoopvizApp
from loopviz.app.screens.run import DRAIN, RunScreen
from loopviz.app.target import resolve
from loopviz.app.widgets.timeline_view import TimelineView
from loopviz.model.timeline import Timeline

SHORT = """\
import asyncio


async def worker():
    await asyncio.sleep(0.05)
    print("worker done")


async def main():
    await asyncio.create_task(worker(), name="worker")


asyncio.run(main())
"""


def live_app(tmp_path: Path, source: str) -> LoopvizApp:
    """The app opened on a program: it starts recording it at once."""
    program = tmp_path / "prog.py"
    program.write_text(source)
    return LoopvizApp(resolve(program))


async def wait_ended(pilot: Pilot[None], screen: RunScreen, timeout: float = 30) -> None:
    """Until the recording's worker is done: it finishes only once the screen has shown how
    the run ended (``_run_ended`` runs on the UI thread while the worker waits)."""

    def ended() -> bool:
        worker = screen.recorder_worker
        return worker is not None and worker.is_finished

    await wait_for(pilot, ended, "the run to end", timeout)
    await pilot.pause()


async def test_live_run_ends_with_the_programs_lanes(tmp_path: Path) -> None:
    app = live_app(tmp_path, SHORT)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunScreen)
        await wait_ended(pilot, screen)
        recorded = Timeline.from_file(screen.recording.trace_path)
        view = screen.query_one(TimelineView)
        assert view.task_ids == [info.id for info in recorded.tasks if not info.library]
        coros = [info.coro for info in screen.timeline.tasks]
        assert coros[:2] == ["main", "worker"]
        assert screen.playhead == screen.timeline.end  # followed the run to its end
        assert "worker done" in text_of(screen, "#output Static")
        assert "program exited, status 0" in text_of(screen, "#summary Static")
        await pilot.press("home", "right")
        assert screen.playhead == screen.timeline.next_event(0).t


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        (
            "import asyncio\n\nasync def main():\n    await asyncio.sleep(0.01)\n"
            "    raise ValueError('boom')\n\nasyncio.run(main())\n",
            "ValueError: boom",
        ),
        ("import asyncio\n\ndef broken(:\n    pass\n", "SyntaxError"),
        ("import asyncio\nimport no_such_module_here\n", "ModuleNotFoundError"),
    ],
    ids=["raises", "syntax-error", "import-error"],
)
async def test_failing_program_shows_its_error_and_the_app_stays_up(
    tmp_path: Path, source: str, shown: str
) -> None:
    app = live_app(tmp_path, source)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunScreen)
        await wait_ended(pilot, screen)
        assert shown in text_of(screen, "#summary Static")
        assert any(shown in n.message for n in app._notifications)
        await pilot.press("home", "right")  # the controls still work
        moment = screen.timeline.next_event(0) if screen.timeline else None
        assert screen.playhead == (moment.t if moment else 0) and app.screen is screen


async def test_stop_key_ends_a_hanging_run_and_keeps_what_was_recorded(tmp_path: Path) -> None:
    source = (
        "import asyncio\n\nasync def main():\n    while True:\n"
        "        print('tick', flush=True)\n        await asyncio.sleep(0.02)\n\n"
        "asyncio.run(main())\n"
    )
    app = live_app(tmp_path, source)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunScreen)
        await wait_for(
            pilot,
            lambda: screen.timeline and screen.timeline.tasks and screen.timeline.end > 100 * MS,
            "100 ms of the run",
            timeout=30,
        )
        await pilot.press("x")
        await wait_ended(pilot, screen)
        assert "stopped" in text_of(screen, "#summary Static")
        assert screen.timeline.tasks and "tick" in text_of(screen, "#output Static")


async def test_flooding_program_keeps_the_app_responsive(tmp_path: Path) -> None:
    source = "for i in range(30000):\n    print('line', i)\n"
    app = live_app(tmp_path, source)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunScreen)
        await wait_ended(pilot, screen)
        await pilot.press("end")
        output = text_of(screen, "#output Static")
        assert "earlier lines" in output and output.rstrip().endswith("line 29999")


BLOCKS = """\
import asyncio
import time


async def main():
    await asyncio.sleep(0.05)
    time.sleep(1.5)


asyncio.run(main())
"""


async def test_live_view_grows_while_the_program_blocks_its_loop(tmp_path: Path) -> None:
    app = live_app(tmp_path, BLOCKS)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunScreen)

        def blocking() -> int:
            ongoing = [s for s in screen.timeline.blocking if s.ongoing] if screen.timeline else []
            return ongoing[0].duration if ongoing else 0

        await wait_for(pilot, blocking, "the blocking step to show", timeout=30)
        first, title = blocking(), text_of(screen, "#title")
        # No record arrives while the loop is blocked: the view grows with the clock alone.
        await wait_for(pilot, lambda: blocking() >= first + 300 * MS, "the bar to grow")
        assert text_of(screen, "#title") != title
        await wait_for(  # the summary is redrawn a few times a second
            pilot, lambda: "still blocking" in text_of(screen, "#summary Static"), "the summary"
        )
        await wait_ended(pilot, screen)


TICKS = """\
import asyncio


async def tick(n):
    while True:
        await asyncio.sleep(0.01)


async def main():
    await asyncio.gather(*(asyncio.create_task(tick(i), name=f"tick-{i}") for i in range(3)))


asyncio.run(main())
"""


async def test_rerun_during_a_live_run_shows_only_the_new_run(tmp_path: Path) -> None:
    app = live_app(tmp_path, TICKS)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunScreen)

        def started() -> bool:
            return screen.timeline is not None and len(screen.timeline.tasks) >= 4

        await wait_for(pilot, started, "the run's tasks", timeout=30)
        old = screen.recording
        old_worker = screen.recorder_worker
        assert old_worker is not None
        await pilot.press("r")
        assert screen.recording is not old
        await wait_for(pilot, started, "the new run's tasks", timeout=30)
        await wait_for(pilot, lambda: old_worker.is_finished, "the old run's end")
        await pilot.pause(2 * DRAIN)  # a batch of the old run, had it been kept, is drawn now
        names = [info.name for info in screen.timeline.tasks if not info.internal]
        assert names == ["Task-1", "tick-0", "tick-1", "tick-2"]
        assert screen.timeline.header.clock_origin_ns == screen.recording.header.clock_origin_ns
        marked = [
            y for y in range(screen.view.size.height) if "▶" in screen.view.render_line(y).text
        ]
        assert len(marked) == 1
        await pilot.press("x")
        await wait_ended(pilot, screen)


def shown_seconds(text: str) -> float:
    """The wall time a summary pane shows, in seconds."""
    found = re.search(r"ran ([0-9.]+) (s|ms|µs)", text)
    assert found, text
    return float(found[1]) * {"s": 1, "ms": 1e-3, "µs": 1e-6}[found[2]]


async def test_a_live_runs_summary_keeps_up_with_the_run(tmp_path: Path) -> None:
    app = live_app(tmp_path, TICKS)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunScreen)
        shown = []
        for _ in range(3):
            later = (screen.timeline.end if screen.timeline else 0) + 600 * MS
            await wait_for(
                pilot,
                lambda later=later: screen.timeline and screen.timeline.end > later,
                "0.6 s more of the run",
            )
            wall = shown_seconds(text_of(screen, "#summary Static"))
            assert screen.timeline.end / S - wall < 0.45  # never more than a redraw behind
            shown.append(wall)
        assert shown == sorted(shown) and shown[-1] > shown[0] + 0.6
        assert text_of(screen, "#title").lstrip().startswith("● live, following")
        await pilot.press("left")  # a step back: no longer following
        title = text_of(screen, "#title").lstrip()
        assert title.startswith("‖ paused 1×") and "● live" in title
        await pilot.press("x")
        await wait_ended(pilot, screen)


async def test_a_wheel_zoom_during_a_live_run_stops_following(tmp_path: Path) -> None:
    """Ctrl+wheel zooms at the pointer; while a live run is followed, the next refresh must
    not fit the window back over it: the window is the user's now."""
    app = live_app(tmp_path, TICKS)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunScreen)
        await wait_for(pilot, lambda: screen.timeline is not None, "the run to start")
        assert screen.playback.following
        view = screen.view
        x = view.label_width + view.columns // 2
        view.post_message(events.MouseScrollDown(view, x, 5, 0, 1, 0, False, False, True))
        await wait_for(pilot, lambda: not screen.playback.following, "following to stop")
        zoomed = view.span
        await pilot.pause(2 * DRAIN)  # two live refreshes, which fit the window while following
        assert view.span == zoomed
        assert text_of(screen, "#title").lstrip().startswith("‖ paused")
        await pilot.press("x")
        await wait_ended(pilot, screen)


async def test_a_runs_temporary_trace_goes_when_the_app_closes_unless_saved(
    tmp_path: Path,
) -> None:
    app = live_app(tmp_path, SHORT)
    kept = tmp_path / "kept.trace.jsonl"
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunScreen)
        await wait_ended(pilot, screen)
        first = screen.recording.trace_path
        assert first.exists()
        await pilot.press("r")  # a re-run: the first run's trace is not kept
        await wait_ended(pilot, screen)
        second = screen.recording.trace_path
        assert not first.exists() and second.exists() and second != first
        await pilot.press("s")
        app.screen.query_one(Input).value = str(kept)
        await pilot.press("enter")
        await pilot.pause()
    assert not second.exists()  # gone with the app
    assert Timeline.from_file(kept).finished  # what the user saved stays


DEADLOCK = """\
import asyncio


async def left(a, b):
    async with a:
        await asyncio.sleep(0.05)
        async with b:
            pass


async def right(a, b):
    async with b:
        await asyncio.sleep(0.05)
        async with a:
            pass


async def main():
    first = asyncio.Lock()
    second = asyncio.Lock()
    await asyncio.gather(left(first, second), right(first, second))


asyncio.run(main())
"""


async def test_a_deadlock_is_reported_while_the_program_still_hangs(tmp_path: Path) -> None:
    app = live_app(tmp_path, DEADLOCK)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunScreen)

        def reported() -> bool:
            return "deadlock:" in text_of(screen, "#summary Static")

        await wait_for(pilot, reported, "the deadlock finding", timeout=20)
        assert screen.recording is not None and screen.recording.running  # it still hangs
        said = text_of(screen, "#summary Static")
        assert "lock `first`" in said and "lock `second`" in said
        await pilot.press("x")
        await wait_ended(pilot, screen)
