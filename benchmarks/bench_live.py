"""A fast program followed live by the app for minutes: the app's memory, its longest frame
and a key press's answer, and the recorded process's memory, every ten seconds.

The program starts tasks in gathers of 200 as fast as it can, each with a name of its own
(the recorder interns each name: its table of strings must stay bounded), for
``--seconds``. The app (headless ``run_test``) follows it; a probe task on the app's loop
wakes every 5 ms and keeps the longest gap (the longest frame: a fold, a redraw); every
second a key (down or up: the selection moves) is sent and timed until its handler ran.
Each drain of the live feed (its fold, a slice at a time) is timed, wall and its own CPU.
Targets: the app's and the recorded process's memory flat, every frame under 50 ms, key
presses under 100 ms; a run too fast to follow is said to be behind.

    python benchmarks/bench_live.py [--seconds 120] [--every 10]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import tempfile
import textwrap
import time
from pathlib import Path

from textual import events

from loopviz.app.app import LoopvizApp
from loopviz.app.screens.run import RunScreen
from loopviz.app.target import Run, resolve

PROGRAM = """\
import asyncio, sys, time

async def job(i):
    await asyncio.sleep(0)
    return i

async def main(seconds):
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        await asyncio.gather(*(
            asyncio.create_task(job(n + k), name=f"job-{n + k}") for k in range(200)
        ))
        n += 200
    print(f"{n} tasks")

asyncio.run(main(float(sys.argv[1])))
"""


def rss_mb(pid: int | str = "self") -> float:
    """A process's resident memory, MB (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    return kb / 1024


async def press(app: LoopvizApp, screen: RunScreen, key: str) -> tuple[float, float]:
    """Seconds from a key's event sent until its handler moved the selection, and the UI
    thread's own CPU time meanwhile (the rest: waiting for the interpreter's lock, which the
    recording's reading thread holds by turns, or for a core). (The pilot's own ``press``
    waits for the whole process to be idle, which a busy run never is.)"""
    before = (screen.selected, screen.group)
    sent, cpu = time.perf_counter(), time.thread_time()
    assert app._driver is not None
    app._driver.send_message(events.Key(key, None))
    while (screen.selected, screen.group) == before and time.perf_counter() - sent < 10:
        await asyncio.sleep(0.001)
    return time.perf_counter() - sent, time.thread_time() - cpu


async def measure(seconds: float, every: int = 10) -> None:
    folder = Path(tempfile.mkdtemp())
    program = folder / "flood.py"
    program.write_text(PROGRAM)
    app = LoopvizApp(resolve(program, Run(args=(str(seconds),))))
    longest = [0.0]

    async def probe() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            longest[0] = max(longest[0], now - last - 0.005)
            last = now

    # The garbage collector's passes: since when (wall, CPU), the longest (wall, its CPU).
    collecting = [0.0, 0.0, 0.0, 0.0]

    def collector(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collecting[0], collecting[1] = time.perf_counter(), time.thread_time()
        elif time.perf_counter() - collecting[0] > collecting[2]:
            collecting[2] = time.perf_counter() - collecting[0]
            collecting[3] = time.thread_time() - collecting[1]

    gc.callbacks.append(collector)
    async with app.run_test(size=(160, 48)):
        screen = app.screen
        assert isinstance(screen, RunScreen)
        prober = asyncio.create_task(probe())
        drains: list[float] = []
        cpu: list[float] = []  # the UI thread's own CPU time in each (the rest: waiting)
        drain = screen._drain

        def timed_drain() -> None:  # the fold of live records, timed (the frame's own work)
            t0, c0 = time.perf_counter(), time.thread_time()
            drain()
            drains.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)

        screen._drainer._callback = timed_drain
        started = time.monotonic()
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(
            " time  app MB  child MB  longest drain (cpu)  longest gap  longest gc (cpu)"
            "  key press (cpu)  backlog  events  behind"
        )
        presses: list[tuple[float, float]] = []
        frames: list[float] = []
        keys = ["down", "up"]
        while screen.recording is None or screen.recording._proc is None:
            await asyncio.sleep(0.01)
        child = screen.recording._proc.pid
        last_row, longest_gc = 0.0, (0.0, 0.0)
        while time.monotonic() - started < seconds + 5:
            await asyncio.sleep(1.0)
            presses.append(await press(app, screen, keys[len(presses) % 2]))
            frames.append(longest[0])
            longest[0] = 0.0
            now = time.monotonic() - started
            if now - last_row >= every:
                last_row = now
                longest_gc = max(longest_gc, (collecting[2], collecting[3]))
                timeline = screen.timeline
                events = timeline.moment_count() if timeline else 0
                key = max(presses[-every:])
                print(
                    f"{now:5.0f}  {rss_mb():6.0f}  {rss_mb(child):8.0f}  "
                    f"{max(drains[-100:], default=0) * 1000:10.0f} ms"
                    f" ({max(cpu[-100:], default=0) * 1000:3.0f})"
                    f"  {max(frames[-every:]) * 1000:8.0f} ms"
                    f"  {collecting[2] * 1000:7.0f} ms ({collecting[3] * 1000:3.0f})"
                    f"  {key[0] * 1000:6.0f} ms ({key[1] * 1000:3.0f})"
                    f"  {screen.feed.backlog:7,}  {events:6,}  {screen.feed.behind}"
                )
                collecting[2] = collecting[3] = 0.0
            if screen.recording is not None and not screen.recording.running and now > 3:
                break
        prober.cancel()
        worst = max(presses)
        longest_gc = max(longest_gc, (collecting[2], collecting[3]))
        print(
            f"worst drain {max(drains) * 1000:.0f} ms (its own cpu at most "
            f"{max(cpu) * 1000:.0f} ms), worst gap {max(frames) * 1000:.0f} ms, "
            f"longest garbage collection {longest_gc[0] * 1000:.0f} ms "
            f"(cpu {longest_gc[1] * 1000:.0f}), worst key press {worst[0] * 1000:.0f} ms "
            f"(cpu {worst[1] * 1000:.0f}) over {len(presses)} presses, median "
            f"{sorted(presses)[len(presses) // 2][0] * 1000:.0f} ms; "
            f"dropped {screen.feed.dropped:,} records (behind: {screen.feed.behind}); "
            f"load average {os.getloadavg()[0]:.1f}"
        )
    os.remove(program)


def main() -> None:
    parser = argparse.ArgumentParser(description=textwrap.dedent(__doc__ or ""))
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--every", type=int, default=10, help="seconds between rows")
    arguments = parser.parse_args()
    asyncio.run(measure(arguments.seconds, arguments.every))


if __name__ == "__main__":
    main()
