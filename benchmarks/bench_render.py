"""How fast the app opens a big trace and draws a frame of its timeline.

Builds a 1,000-task, 1,000,000-event trace (``synthetic.py``: the mix a busy server
records), then times opening it and the frames a user causes: step, scroll, zoom, pan.
Each frame is a key press in the real app (headless ``run_test``) and the repaint it
triggers ("key→screen", which includes the pilot's own waits: compare the no-op key), and a
cold redraw of every visible timeline row with its cache dropped (the census of the columns
kept: it is counted again only when the axis or the run changes, timed apart as "census").
The tasks' group is unfolded first, so a screenful of lanes is drawn.
Targets: open in a few seconds, every redraw under 30 ms.

    python benchmarks/bench_render.py [--tasks 1000] [--events 1000000] [--frames 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from synthetic import synthetic_trace
from textual.geometry import Region

from loopviz.app.app import LoopvizApp
from loopviz.app.axis import StepAxis
from loopviz.app.screens.run import RunScreen
from loopviz.app.target import resolve


async def measure(path: Path, frames: int) -> None:
    app = LoopvizApp(resolve(path))
    async with app.run_test(size=(160, 48)) as pilot:
        started = time.perf_counter()
        screen = app.screen
        assert isinstance(screen, RunScreen)
        while screen.timeline is None:
            await asyncio.sleep(0.01)
        print(f"open (read + build, shown): {time.perf_counter() - started:.2f} s")
        # The census is counted beside the screen meanwhile; the pilot's pause waits for
        # the process to be idle, so it is awaited first.
        while screen.census is None:
            await asyncio.sleep(0.01)
        print(f"census counted: {time.perf_counter() - started:.2f} s after opening")
        await pilot.pause()
        view, census = screen.view, screen.census
        # The synthetic tasks share one coroutine: their group starts folded (and selected).
        # Unfold it, so that the frames draw a screenful of lanes as before.
        await pilot.press("enter")
        await pilot.pause()
        print(f"rows: {len(view._rows)} (census shown: {view.census_shown})")
        for name, keys in (
            ("no-op key (pilot cost)", ["ctrl+y"]),
            ("step next", ["right"]),
            ("task step", ["right_square_bracket"]),
            ("select / scroll lanes", ["down"]),
            ("page lanes", ["pagedown"]),
            ("zoom in", ["z"]),
            ("pan", ["l"]),
            ("zoom out", ["Z"]),
            ("fit all", ["f"]),
            ("step view: next step", ["right"]),  # playing by steps (key a)
            ("step view: task step", ["right_square_bracket"]),
            ("step view: zoom in", ["z"]),
            ("step view: zoom out", ["Z"]),
            ("step view: pan", ["l"]),
            ("step view: fit all", ["f"]),
            ("switch axis (a, a)", ["a", "a"]),
            ("fold / unfold (enter x2)", ["enter", "enter"]),
            ("census off / on (C x2)", ["C", "C"]),
            ("most starved (w)", ["w"]),
            ("longest step (W)", ["W"]),
            ("filter, clear (/conn-1⏎ esc)", ["slash", "ctrl+u", *"conn-1", "enter", "escape"]),
        ):
            if name.startswith("step view") and not screen.playback.by_steps:
                await pilot.press("a")
            round_trips, draws = [], []
            for _ in range(frames):
                begin = time.perf_counter()
                await pilot.press(*keys)
                await pilot.pause()
                round_trips.append((time.perf_counter() - begin) * 1000)
                view.data_changed()  # drop the lane cache: time a cold redraw of every row
                begin = time.perf_counter()
                view.render_lines(Region(0, 0, view.size.width, view.size.height))
                draws.append((time.perf_counter() - begin) * 1000)
            counts = []  # the census of the columns, counted when the axis or the run changes
            for _ in range(frames):
                axis = view.axis
                steps = axis.steps if isinstance(axis, StepAxis) else None
                begin = time.perf_counter()
                census.columns(axis.edges, steps)
                counts.append((time.perf_counter() - begin) * 1000)
            panes = []
            for _ in range(frames):  # the panes below the timeline: inspector, loop panel...
                begin = time.perf_counter()
                screen._refresh_panes()
                panes.append((time.perf_counter() - begin) * 1000)
            print(
                f"{name:28s} panes {statistics.median(panes):5.1f} ms  "
                f"key→screen median {statistics.median(round_trips):6.1f} ms "
                f"(max {max(round_trips):6.1f})  timeline redraw {statistics.median(draws):5.1f} ms"
                f"  census {statistics.median(counts):4.1f} ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--frames", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.trace.jsonl"
        begin = time.perf_counter()
        count = synthetic_trace(path, args.tasks, args.events)
        print(
            f"wrote {count:,} events, {args.tasks:,} tasks, "
            f"{path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - begin:.1f} s"
        )
        asyncio.run(measure(path, args.frames))


if __name__ == "__main__":
    main()
