"""How fast the app opens a big trace and draws a frame of its timeline.

Builds a synthetic 1,000-task, 1,000,000-event trace (the mix a busy server records: tasks
created in waves, steps that wait on sleeps, sockets, locks and other tasks, loop idles,
output lines), then times opening it and the frames a user causes: step, scroll, zoom, pan.
Each frame is a key press in the real app (headless ``run_test``) and the repaint it
triggers ("key→screen", which includes the pilot's own waits: compare the no-op key), and a
cold redraw of every visible timeline row with its cache dropped. Targets: open in a few
seconds, every frame under 50 ms.

    python benchmarks/bench_render.py [--tasks 1000] [--events 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from textual.geometry import Region

from loopviz.app.app import LoopvizApp
from loopviz.app.run import RunScreen
from loopviz.app.target import resolve
from loopviz.trace import (
    End,
    Finished,
    Header,
    Idle,
    LoopMark,
    Output,
    Ready,
    Site,
    Str,
    TaskCreated,
    Waited,
    encode_header,
    encode_records,
)

WAITS = (1, 1, 10, 10, 4, 2, 8)  # Wait: sleep, io, lock, task, queue_get


def synthetic_trace(path: Path, tasks: int, events: int) -> int:
    """Write a trace of ``tasks`` tasks and about ``events`` events; return the count."""
    rng = random.Random(4)
    records: list = [Str(1, "/srv/app.py"), Str(2, "handler"), Str(3, "detail")]
    records += [Site(line, 1, line) for line in range(1, 41)]
    records += [Str(10 + i, f"worker-{i}") for i in range(tasks)]
    records.append(LoopMark(0, 1, 0))
    steps_per_task = max(1, int((events - len(records)) / (tasks * 2.2)))
    t = 0
    alive: list[tuple[int, int]] = []  # (task, steps left)
    next_task = 1
    while next_task <= tasks or alive:
        if next_task <= tasks and (not alive or rng.random() < 0.3):
            records.append(TaskCreated(t, next_task, 10 + next_task - 1, 2, 1, 0, 2))
            records.append(Ready(t, next_task, 0))
            alive.append((next_task, steps_per_task))
            next_task += 1
        index = rng.randrange(len(alive))
        task, left = alive[index]
        dur = rng.randint(5_000, 200_000)
        if left <= 1:
            records.append(Finished(t, task, dur, 0, 3))
            alive.pop(index)
        else:
            kind = rng.choice(WAITS)
            timeout = rng.randint(1, 50) * 1_000_000 if kind == 1 else 0
            line = rng.randint(3, 40)
            records.append(Waited(t, task, dur, kind, 3, line, timeout))
            alive[index] = (task, left - 1)
            records.append(Ready(t + dur + rng.randint(1, 40) * 1_000_000, task, 2))
        t += dur
        if rng.random() < 0.2:
            gap = rng.randint(10_000, 2_000_000)
            records.append(Idle(t, gap, gap))
            t += gap
        if rng.random() < 0.01:
            records.append(Output(t, 1, f"task {task} step {steps_per_task - left}"))
    records.append(LoopMark(t, 1, 1))
    records.append(End(t, 0, 0))
    header = Header(loopviz="bench", python="3", program="/srv/app.py", started="2024-01-01")
    path.write_bytes(encode_header(header) + encode_records(records))
    return len(records)


async def measure(path: Path, frames: int) -> None:
    app = LoopvizApp(resolve(path))
    async with app.run_test(size=(160, 48)) as pilot:
        started = time.perf_counter()
        screen = app.screen
        assert isinstance(screen, RunScreen)
        while screen.timeline is None:
            await asyncio.sleep(0.05)
        await pilot.pause()
        print(f"open (read + build + first frame): {time.perf_counter() - started:.2f} s")
        view = screen.view
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
        ):
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
            print(
                f"{name:24s} key→screen median {statistics.median(round_trips):6.1f} ms "
                f"(max {max(round_trips):6.1f})  timeline redraw {statistics.median(draws):5.1f} ms"
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
