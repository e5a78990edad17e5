"""How fast the timeline model loads a big trace and answers the app's queries.

Writes a 1,000-task, 1,000,000-event trace (``synthetic.py``), then times ``read_trace``
plus ``Timeline.from_trace`` and a few queries. Target: read + build within 5 s.

    python benchmarks/bench_model.py [--tasks 1000] [--events 1000000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from synthetic import synthetic_trace

from loopviz.model.columns import even_edges, loop_columns, task_columns
from loopviz.model.timeline import Timeline
from loopviz.trace import read_trace


def timed(label: str, repeat: int, query) -> None:
    begin = time.perf_counter()
    for i in range(repeat):
        query(i)
    print(f"{label:36s} {(time.perf_counter() - begin) * 1000 / repeat:8.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.trace.jsonl"
        begin = time.perf_counter()
        count = synthetic_trace(path, args.tasks, args.events)
        size = path.stat().st_size / 1e6
        print(f"wrote {count:,} events, {args.tasks:,} tasks, {size:.0f} MB")
        print(f"  in {time.perf_counter() - begin:.1f} s (not part of the figures)")

        begin = time.perf_counter()
        trace = read_trace(path)
        read = time.perf_counter() - begin
        timeline = Timeline.from_trace(trace)
        total = time.perf_counter() - begin
    print(f"read_trace                           {read:8.2f} s")
    print(f"Timeline.from_trace                  {total - read:8.2f} s")
    print(
        f"read + build                         {total:8.2f} s  ({count / total:,.0f} events/s; "
        f"target 5 s: {total / 5:.2f} of it)"
    )

    rng = random.Random(1)
    end = timeline.end
    ids = [info.id for info in timeline.tasks]
    moments = [rng.randrange(end) for _ in range(1000)]
    timed("first next_event (sorts moments)", 1, lambda i: timeline.next_event(end // 2))
    timed("state_at", 1000, lambda i: timeline.state_at(ids[i % len(ids)], moments[i]))
    timed("next_event (all tasks)", 1000, lambda i: timeline.next_event(moments[i]))
    timed("next_event (one task)", 1000, lambda i: timeline.next_event(moments[i], ids[i]))
    timed("prev_event (all tasks)", 1000, lambda i: timeline.prev_event(moments[i]))
    timed("events_around (20 + 20)", 100, lambda i: timeline.events_around(moments[i], 20, 20))
    timed("alive_at", 100, lambda i: timeline.alive_at(moments[i]))

    def screen(i: int) -> None:
        t0 = moments[i]
        edges = even_edges(t0, t0 + end // 50, 160)
        for task in ids[i : i + 40]:
            task_columns(timeline, task, edges)
        loop_columns(timeline, edges)

    timed("first screen: 40 lanes x 160 columns", 1, screen)
    timed("screen: 40 lanes x 160 columns", 20, lambda i: screen(i + 1))
    timed("totals of every task", 1, lambda i: [timeline.totals(task) for task in ids])
    timed("blocking steps", 1, lambda i: timeline.blocking)


if __name__ == "__main__":
    main()
