"""Whether the app following a long, busy run with ``--window`` keeps its memory flat.

Opens the app (headless, through Textual's pilot) on a service-like program (a gather of 20
tasks every 5 ms: about 15,000 records a second) for ``--seconds``, keeping ``--window``
seconds (0: all), and every ``--every`` seconds prints the app's resident memory, how much of
the run its model holds, and its tasks.

    python benchmarks/bench_app_window.py [--seconds 60] [--window 10] [--every 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import textwrap
import time
from pathlib import Path

from bench_window import rss_mb

from loopviz.app.app import LoopvizApp
from loopviz.app.screens.run import RunScreen
from loopviz.app.target import Run, resolve

PROGRAM = """\
    import asyncio
    import sys
    import time


    async def handle(n):
        await asyncio.sleep(0)
        return n


    async def main(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            await asyncio.gather(*(handle(i) for i in range(20)))
            await asyncio.sleep(0.005)


    asyncio.run(main(float(sys.argv[1])))
"""


async def follow(program: Path, seconds: float, window: float | None, every: float) -> None:
    app = LoopvizApp(resolve(program, Run(args=(str(seconds),), window=window)))
    async with app.run_test(size=(160, 50)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunScreen)
        print(f"{'t (s)':>6} {'app MB':>7} {'model holds (s)':>16} {'tasks':>8}")
        begin = time.monotonic()
        deadline = begin + seconds + 120
        while time.monotonic() < deadline:
            await pilot.pause(every)
            timeline = screen.timeline
            held = (timeline.end - timeline.kept_from) / 1e9 if timeline else 0
            tasks = len(timeline.tasks) if timeline else 0
            elapsed = time.monotonic() - begin
            print(f"{elapsed:6.0f} {rss_mb(os.getpid()):7.1f} {held:16.1f} {tasks:8,}")
            worker = screen.recorder_worker
            if worker is not None and worker.is_finished:
                break


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--window", type=float, default=10)
    parser.add_argument("--every", type=float, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        program = Path(folder) / "busy.py"
        program.write_text(textwrap.dedent(PROGRAM))
        asyncio.run(follow(program, args.seconds, args.window or None, args.every))


if __name__ == "__main__":
    main()
