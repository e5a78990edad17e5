"""How long a redraw of folded coroutine groups takes, against the number of tasks in them.

Opens a trace in the real app (headless ``run_test``, 160x48) with its big groups folded,
and times a redraw of the timeline as a zoom, a pan or a moving playhead causes it (every
visible row drawn again: the lane cache dropped, the data unchanged) and, of that, the
folded groups' rows alone. A group's row draws how many of its tasks were alive
per column and its spreads (p50 / p99 / max of lifetime and ready time): a redraw should
not cost more for a group of 100,000 tasks than for one of 3,000.

    python benchmarks/bench_groups.py [--server 3000] [--synthetic 100000] [--frames 10]

``--server N``: the server trace of the tests (N requests, ``tests/server_trace.py``);
``--synthetic N``: ``synthetic.py``'s trace with N tasks of one coroutine (0: skip).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from synthetic import synthetic_trace

from loopviz.app.app import LoopvizApp
from loopviz.app.screens.run import RunScreen
from loopviz.app.target import resolve
from loopviz.app.widgets.timeline_view import CORO

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))


async def measure(name: str, path: Path, frames: int) -> None:
    app = LoopvizApp(resolve(path))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunScreen)
        while screen.timeline is None or screen.census is None:
            await asyncio.sleep(0.01)
        await pilot.pause()
        view = screen.view
        groups = [row for row in view._rows if row.kind == CORO]
        sizes = [len(view.grouping.groups[str(row.key)].tasks) for row in groups]
        lines = range(view.size.height)
        for y in lines:  # the first: cold
            view.render_line(y)
        redraws, rows = [], []
        for _ in range(frames):
            # A redraw as a zoom, a pan or a new playhead causes it (no new data): every row
            # drawn again, the lane cache dropped.
            view._cache.clear()
            begin = time.perf_counter()
            for y in lines:
                view.render_line(y)
            redraws.append((time.perf_counter() - begin) * 1000)
            view._cache.clear()
            begin = time.perf_counter()
            for row in groups:
                view._lane(row, view.axis)
            rows.append((time.perf_counter() - begin) * 1000)
        print(
            f"{name}: {len(screen.timeline.tasks):,} tasks, folded groups of {sizes}: "
            f"redraw median {statistics.median(redraws):6.1f} ms (max {max(redraws):6.1f}), "
            f"the groups' rows {statistics.median(rows):6.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", type=int, default=3000)
    parser.add_argument("--synthetic", type=int, default=100_000)
    parser.add_argument("--frames", type=int, default=10)
    args = parser.parse_args()
    from server_trace import server_trace

    with tempfile.TemporaryDirectory() as folder:
        if args.server:
            path = server_trace(Path(folder), args.server)
            asyncio.run(measure("server", path, args.frames))
        if args.synthetic:
            path = Path(folder) / "synthetic.trace.jsonl"
            synthetic_trace(path, args.synthetic, args.synthetic * 10)
            asyncio.run(measure("synthetic", path, args.frames))


if __name__ == "__main__":
    main()
