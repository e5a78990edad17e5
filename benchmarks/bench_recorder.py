"""How much the recorder slows a program down: traced loop vs plain ``asyncio`` loop.

Runs three workloads on a plain ``asyncio.SelectorEventLoop`` and on ``Recorder.loop``, the
latter both recording to memory (``Recorder()``) and streaming to a trace file
(``Recorder(path)``, closed inside the timed run so that writing the file is paid for), with
the program's locks and queues recorded as a recorded program's are (``watch_resources``):

1. ``yield``: 1,000 tasks × 100 ``await asyncio.sleep(0)`` (task steps, nothing else);
2. ``gather``: a gather of 10,000 tasks each sleeping 1 ms (task creation, timers, gather),
   each called with an argument, which the recorder reads for its label (``sleeper(17)``);
3. ``pipeline``: 100,000 items through producer → stage → stage → consumer, joined by
   bounded ``asyncio.Queue(100)`` (futures resolved by other tasks, the common server shape).

Each figure is the median, over several pairs, of traced time / plain time, where each pair
is one plain run immediately followed by one traced run of the same workload. Alternating
this way, in one process, means that slow drift on a noisy machine (other processes, CPU
frequency, a cache warming up) hits both sides of a ratio alike, and the median throws out
the pairs that a burst of noise landed in. Also printed: events recorded per second of
traced run, and, for streamed runs, trace bytes per event (event lines only, header
excluded). Targets: ≤ 2.0× for ``yield`` and ``gather`` even when streaming, ≤ 1.2× for the
pipeline, ≤ 30 bytes per event.

    python benchmarks/bench_recorder.py [--pairs 7] [--quick]
    python benchmarks/bench_recorder.py --profile pipeline [--mode file|memory]

``--profile`` runs one traced workload under cProfile and prints the 25 functions with the
most time of their own (the writer thread is not profiled: it runs beside the loop).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import platform
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopviz.record import Recorder

MODES = ("memory", "file")
MAX_BYTES_PER_EVENT = 30


# --- the workloads --------------------------------------------------------------------------


async def yielder(steps: int) -> None:
    for _ in range(steps):
        await asyncio.sleep(0)


async def many_yields(scale: float) -> None:
    tasks = int(1_000 * scale)
    async with asyncio.TaskGroup() as group:
        for _ in range(tasks):
            group.create_task(yielder(100))


async def sleeper(n: int) -> None:
    await asyncio.sleep(0.001)


async def gather_sleepers(scale: float) -> None:
    await asyncio.gather(*(sleeper(n) for n in range(int(10_000 * scale))))


async def produce(out: asyncio.Queue[int | None], items: int) -> None:
    for i in range(items):
        await out.put(i)
    await out.put(None)


async def stage(inbox: asyncio.Queue[int | None], out: asyncio.Queue[int | None]) -> None:
    while (item := await inbox.get()) is not None:
        await out.put(item + 1)
    await out.put(None)


async def consume(inbox: asyncio.Queue[int | None]) -> int:
    total = 0
    while (item := await inbox.get()) is not None:
        total += item
    return total


async def pipeline(scale: float) -> None:
    q1, q2, q3 = (asyncio.Queue[int | None](maxsize=100) for _ in range(3))
    async with asyncio.TaskGroup() as group:
        group.create_task(produce(q1, int(100_000 * scale)))
        group.create_task(stage(q1, q2))
        group.create_task(stage(q2, q3))
        group.create_task(consume(q3))


@dataclass(frozen=True)
class Workload:
    name: str
    label: str
    main: Callable[[float], Coroutine[Any, Any, None]]
    target: float  # the highest acceptable traced / plain ratio


WORKLOADS = (
    Workload("yield", "1k tasks × 100 sleep(0)", many_yields, 2.0),
    Workload("gather", "gather 10k × sleep 1 ms", gather_sleepers, 2.0),
    Workload("pipeline", "3-stage queue, 100k items", pipeline, 1.2),
)


# --- timing one run --------------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    events: int = 0  # event records (the header line is not one)
    event_bytes: int = 0  # bytes of event lines on disk (file mode only)


def run_plain(workload: Workload, scale: float) -> Run:
    gc.collect()
    t0 = time.perf_counter()
    with asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) as runner:
        runner.run(workload.main(scale))
    return Run(time.perf_counter() - t0)


def run_traced(workload: Workload, scale: float, mode: str, tmp: Path) -> Run:
    gc.collect()
    path = tmp / f"{workload.name}.trace.jsonl" if mode == "file" else None
    t0 = time.perf_counter()
    rec = Recorder(path)
    rec.watch_resources()  # as a recorded program's: its locks and queues too
    with asyncio.Runner(loop_factory=rec.loop) as runner:
        runner.run(workload.main(scale))
    rec.close()  # joins the writer thread: the file is complete
    seconds = time.perf_counter() - t0
    if path is None:
        return Run(seconds, len(rec.records))
    return Run(seconds, *trace_size(path))


def trace_size(path: Path) -> tuple[int, int]:
    """(event lines, bytes of event lines) of a trace file: all but the header line."""
    data = path.read_bytes()
    header_end = data.index(b"\n") + 1
    path.unlink()
    return data.count(b"\n") - 1, len(data) - header_end


# --- measuring a workload: alternating pairs ---------------------------------------------------


@dataclass
class Result:
    workload: Workload
    mode: str
    plain: list[float]
    traced: list[Run]

    @property
    def ratios(self) -> list[float]:
        return [run.seconds / plain for plain, run in zip(self.plain, self.traced, strict=True)]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def events(self) -> int:
        return self.traced[-1].events

    @property
    def events_per_second(self) -> float:
        return self.events / statistics.median(run.seconds for run in self.traced)

    @property
    def bytes_per_event(self) -> float | None:
        last = self.traced[-1]
        return last.event_bytes / last.events if self.mode == "file" and last.events else None


def measure(workload: Workload, mode: str, pairs: int, scale: float, tmp: Path) -> Result:
    run_plain(workload, scale)  # warm-up: imports, code caches, allocator arenas
    run_traced(workload, scale, mode, tmp)
    result = Result(workload, mode, [], [])
    for _ in range(pairs):
        result.plain.append(run_plain(workload, scale).seconds)
        result.traced.append(run_traced(workload, scale, mode, tmp))
    return result


# --- the report ---------------------------------------------------------------------------------


def mark(ok: bool) -> str:
    return "ok" if ok else "FAIL"


def print_table(results: list[Result], pairs: int, scale: float) -> None:
    print(f"Python {platform.python_version()} ({sys.implementation.name}), {platform.machine()}")
    print(f"{pairs} alternating pairs per row (plain, traced, ...); scale {scale:g}")
    head = (
        f"{'workload':<27} {'mode':<6} {'plain ms':>9} {'traced ms':>10} {'ratio':>6} "
        f"{'min-max':>11} {'target':>8} {'events':>9} {'events/s':>10} {'B/event':>12}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        plain_ms = statistics.median(r.plain) * 1e3
        traced_ms = statistics.median(run.seconds for run in r.traced) * 1e3
        spread = f"{min(r.ratios):.2f}-{max(r.ratios):.2f}"
        target = f"≤{r.workload.target:.1f} {mark(r.ratio <= r.workload.target)}"
        size = r.bytes_per_event
        size_text = "" if size is None else f"{size:.1f} {mark(size <= MAX_BYTES_PER_EVENT)}"
        print(
            f"{r.workload.label:<27} {r.mode:<6} {plain_ms:>9.1f} {traced_ms:>10.1f} "
            f"{r.ratio:>5.2f}× {spread:>11} {target:>8} {r.events:>9,} "
            f"{r.events_per_second:>10,.0f} {size_text:>12}"
        )
    print(f"B/event target: ≤ {MAX_BYTES_PER_EVENT}; ratio = median of traced / plain per pair")


def profile(workload: Workload, mode: str, scale: float, tmp: Path) -> None:
    plain = run_plain(workload, scale).seconds
    profiler = cProfile.Profile()
    profiler.enable()
    traced = run_traced(workload, scale, mode, tmp)
    profiler.disable()
    print(
        f"Python {platform.python_version()}: {workload.label}, traced to {mode}: "
        f"{traced.events:,} events; plain {plain * 1e3:.0f} ms, "
        f"traced (under cProfile) {traced.seconds * 1e3:.0f} ms"
    )
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pairs", type=int, default=7, help="plain/traced pairs per row")
    parser.add_argument("--quick", action="store_true", help="workloads at 1/10 size, 3 pairs")
    parser.add_argument("--profile", choices=[w.name for w in WORKLOADS], metavar="WORKLOAD")
    parser.add_argument("--mode", choices=MODES, default="file", help="for --profile")
    args = parser.parse_args(argv)
    scale = 0.1 if args.quick else 1.0
    pairs = 3 if args.quick and args.pairs == 7 else args.pairs
    by_name = {w.name: w for w in WORKLOADS}
    with tempfile.TemporaryDirectory(prefix="loopviz-bench-") as tmp:
        if args.profile:
            profile(by_name[args.profile], args.mode, scale, Path(tmp))
            return
        results = [
            measure(workload, mode, pairs, scale, Path(tmp))
            for workload in WORKLOADS
            for mode in MODES
        ]
    print_table(results, pairs, scale)


if __name__ == "__main__":
    main()
