"""How fast the timeline model loads a big trace, how much memory it keeps, and how fast it
answers the app's queries.

Writes a 1,000-task, 1,000,000-event trace (``synthetic.py``; ``--trace PATH`` keeps it, and
reuses it when it exists), then times ``Timeline.from_file`` (read + build) and the census,
measures the memory they keep (resident set growth, with the trace's records freed and
malloc's free memory given back) and the peak, and times a few queries.
Targets: 1,000,000 events read and built within 1.5 s, 10,000,000 within 15 s, at most 60
bytes an event resident (the timeline and its census). It builds with the compiled fold where
it is built (``setup.py build_ext --inplace``); LOOPVIZ_PURE_PYTHON=1 measures the Python code.

    python benchmarks/bench_model.py [--tasks 1000] [--events 1000000] [--trace PATH]
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import random
import resource
import tempfile
import time
from pathlib import Path

from synthetic import synthetic_trace

from loopviz import compiled
from loopviz.model.census import Census
from loopviz.model.columns import even_edges, loop_columns, task_columns
from loopviz.model.timeline import Timeline


def timed(label: str, repeat: int, query) -> None:
    begin = time.perf_counter()
    for i in range(repeat):
        query(i)
    print(f"{label:36s} {(time.perf_counter() - begin) * 1000 / repeat:8.3f} ms")


def resident() -> int:
    """This process's resident set now, in bytes, after giving freed memory back."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(path: Path, count: int) -> None:
    before = resident()
    begin, cpu = time.perf_counter(), time.process_time()
    timeline = Timeline.from_file(path)  # read, built and its events put in time order
    total, cpu = time.perf_counter() - begin, time.process_time() - cpu
    built = resident() - before
    begin = time.perf_counter()
    census = Census(timeline)
    counted = time.perf_counter() - begin
    kept = resident() - before
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    target = 1.5 * count / 1_000_000
    print(
        f"read + build (from_file)             {total:8.2f} s  ({count / total:,.0f} events/s;"
        f" target {target:.1f} s: {total / target:.2f} of it)"
    )
    print(f"  of which this process's CPU        {cpu:8.2f} s  (the machine may be shared)")
    used = compiled.in_use().get("loopviz.model._fold")
    print(f"  built by                           {'the compiled fold' if used else 'Python'}")
    print(f"census                               {counted:8.2f} s")
    print(f"resident: timeline                   {built / count:8.1f} bytes/event")
    print(
        f"resident: timeline + census          {kept / count:8.1f} bytes/event"
        f"  ({kept / 1e6:,.0f} MB; target 60)"
    )
    print(f"peak while building (over the start) {peak / count:8.1f} bytes/event")

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
        census.columns(edges)

    timed("first screen: 40 lanes x 160 columns", 1, screen)
    timed("screen: 40 lanes x 160 columns", 20, lambda i: screen(i + 1))
    timed("totals of every task", 1, lambda i: [timeline.totals(task) for task in ids])
    timed("blocking steps", 1, lambda i: timeline.blocking)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--trace", type=Path, help="where to keep the trace (reused if there)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.trace or Path(folder) / "big.trace.jsonl"
        if not path.exists():
            begin = time.perf_counter()
            synthetic_trace(path, args.tasks, args.events)
            print(f"wrote {path} in {time.perf_counter() - begin:.1f} s (not part of the figures)")
        with path.open("rb") as file:
            count = sum(1 for _ in file) - 1
        print(f"{count:,} events, {path.stat().st_size / 1e6:.0f} MB")
        measure(path, count)


if __name__ == "__main__":
    main()
