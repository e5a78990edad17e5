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
excluded). Targets (issue 13), even when streaming: ≤ 1.3× for ``yield``, ≤ 1.5× for
``gather``, ≤ 1.1× for the pipeline; ≤ 30 bytes per event.

    python benchmarks/bench_recorder.py [--pairs 7] [--quick] [--instructions]
    python benchmarks/bench_recorder.py --instructions-only [--scale 0.25]
    python benchmarks/bench_recorder.py --record [--pairs 7]
    python benchmarks/bench_recorder.py --profile pipeline [--mode file|memory]

``--instructions`` also counts, under ``valgrind --tool=callgrind``, the instructions each
workload takes plain and traced, and prints their ratios beside the timed pairs: a figure
that does not swing with the machine's load, to judge progress by. Each count is one process
running one workload, less a process that does all but run it (start-up, imports); under
valgrind the recorder's time thresholds (slow callbacks, blocking steps) are raised by
``VALGRIND_SLOWDOWN`` so that it writes the records a native run writes (the record counts
are printed beside those of the timed runs).

``--record`` times ``loopviz record`` of a program of 2,000 tasks × 500 ``sleep(0)`` as a
whole process (start-up, the recording process, the trace written) against ``python`` running
it plain, in alternating pairs: target ≤ 1.35× (issue 13).

``--profile`` runs one traced workload under cProfile and prints the 25 functions with the
most time of their own (the writer thread is not profiled: it runs beside the loop).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import platform
import pstats
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopviz.record import Recorder, handles
from loopviz.record.loop import STEPS

MODES = ("memory", "file")
MAX_BYTES_PER_EVENT = 30
# How many times slower a program runs under callgrind than natively (about 40-60 times for
# these workloads): the recorder's time thresholds are multiplied by it there.
VALGRIND_SLOWDOWN = 50
BLOCK_THRESHOLD_S = 0.1  # the recorder's default


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
    Workload("yield", "1k tasks × 100 sleep(0)", many_yields, 1.3),
    Workload("gather", "gather 10k × sleep 1 ms", gather_sleepers, 1.5),
    Workload("pipeline", "3-stage queue, 100k items", pipeline, 1.1),
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


def run_traced(
    workload: Workload, scale: float, mode: str, tmp: Path, block_threshold: float = 0.1
) -> Run:
    gc.collect()
    path = tmp / f"{workload.name}.trace.jsonl" if mode == "file" else None
    t0 = time.perf_counter()
    rec = Recorder(path, block_threshold=block_threshold)
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


# --- counting instructions: one run per process, under callgrind --------------------------------

VARIANTS = ("none", "plain", *MODES)  # none: start-up only, taken off the others


def run_one(workload: Workload, variant: str, scale: float) -> None:
    """The child process of ``--instructions``: one run, under valgrind's time thresholds;
    prints its record count."""
    handles.CALLBACK_MIN_NS *= VALGRIND_SLOWDOWN
    with tempfile.TemporaryDirectory(prefix="loopviz-bench-") as tmp:
        if variant == "none":
            events = 0
        elif variant == "plain":
            events = 0
            run_plain(workload, scale)
        else:
            threshold = BLOCK_THRESHOLD_S * VALGRIND_SLOWDOWN
            events = run_traced(workload, scale, variant, Path(tmp), threshold).events
    print(f"events {events}")


@dataclass
class Count:
    instructions: int
    events: int


def count(workload: Workload, variant: str, scale: float) -> Count:
    """Instructions of one process running ``variant`` of ``workload`` under callgrind."""
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        sys.executable, __file__, "--child", workload.name, variant, "--scale", str(scale),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=os.environ)
    found = re.search(r"Collected : (\d+)", done.stderr)
    events = re.search(r"events (\d+)", done.stdout)
    if found is None or events is None:
        raise SystemExit(f"callgrind said:\n{done.stderr[-2000:]}")
    return Count(int(found.group(1)), int(events.group(1)))


@dataclass
class Instructions:
    """A workload's instruction counts, start-up taken off: plain, and traced per mode."""

    plain: int
    traced: dict[str, Count]

    def ratio(self, mode: str) -> float:
        return self.traced[mode].instructions / self.plain


def count_instructions(workload: Workload, scale: float) -> Instructions:
    counts = {variant: count(workload, variant, scale) for variant in VARIANTS}
    base = counts.pop("none").instructions
    plain = counts.pop("plain").instructions - base
    traced = {mode: Count(c.instructions - base, c.events) for mode, c in counts.items()}
    return Instructions(plain, traced)


def recorder_kind() -> str:
    """Which step path recorded: the compiled one (record/_steps.c) or the Python one."""
    return "compiled recorder" if STEPS is not None else "pure-Python recorder"


def print_instructions(found: dict[str, Instructions], scale: float) -> None:
    print(
        f"Python {platform.python_version()}, {recorder_kind()}: instructions (callgrind, "
        f"start-up taken off; scale {scale:g}):"
    )
    head = f"{'workload':<27} {'plain Minstr':>13} " + " ".join(
        f"{mode + ' ratio':>12} {'events':>9}" for mode in MODES
    )
    print(head)
    print("-" * len(head))
    for workload in WORKLOADS:
        if (i := found.get(workload.name)) is None:
            continue
        cells = " ".join(f"{i.ratio(mode):>11.3f}× {i.traced[mode].events:>9,}" for mode in MODES)
        print(f"{workload.label:<27} {i.plain / 1e6:>13.1f} {cells}")


# --- a whole recorded process against a plain one --------------------------------------------

RECORD_TARGET = 1.35
PROGRAM = """\
import asyncio

async def yielder(steps):
    for _ in range(steps):
        await asyncio.sleep(0)

async def main():
    await asyncio.gather(*(yielder(500) for _ in range(2_000)))

asyncio.run(main())
"""


def time_process(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of it and its children) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def measure_record(pairs: int, tmp: Path) -> None:
    """``loopviz record`` of PROGRAM against ``python`` alone, whole processes in pairs. The
    CPU time (both processes of a recording) is printed too: on a loaded machine it swings
    less than the wall time, and it says what a recording costs a machine with no core free."""
    program = tmp / "yields.py"
    program.write_text(PROGRAM)
    trace = tmp / "yields.trace.jsonl"
    plain = [sys.executable, str(program)]
    traced = [sys.executable, "-m", "loopviz", "record", str(program), "-o", str(trace)]
    traced += ["--timeout", "0"]
    time_process(plain)  # warm-up: the page cache, .pyc files
    time_process(traced)
    runs: list[tuple[tuple[float, float], tuple[float, float]]] = []
    for _ in range(pairs):
        runs.append((time_process(plain), time_process(traced)))
    events = trace.read_bytes().count(b"\n") - 1
    print(
        f"Python {platform.python_version()}, {recorder_kind()}: loopviz record of 2,000 "
        "tasks × 500 sleep(0)"
    )
    print(f"{pairs} alternating pairs; {events:,} events; target ≤{RECORD_TARGET} (wall)")
    for i, what in enumerate(("wall", "CPU")):
        ratios = [traced[i] / plain[i] for plain, traced in runs]
        ratio = statistics.median(ratios)
        print(
            f"  {what:<4} plain {statistics.median(p[i] for p, _ in runs):.2f} s, recorded "
            f"{statistics.median(t[i] for _, t in runs):.2f} s, ratio {ratio:.2f}× "
            f"({min(ratios):.2f}-{max(ratios):.2f})"
            + (f" {mark(ratio <= RECORD_TARGET)}" if what == "wall" else "")
        )


# --- the report ---------------------------------------------------------------------------------


def mark(ok: bool) -> str:
    return "ok" if ok else "FAIL"


def print_table(results: list[Result], pairs: int, scale: float) -> None:
    print(
        f"Python {platform.python_version()} ({sys.implementation.name}), {platform.machine()}, "
        f"{recorder_kind()}"
    )
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
    parser.add_argument(
        "--instructions", action="store_true", help="also count instructions (callgrind)"
    )
    parser.add_argument(
        "--instructions-only", action="store_true", help="count instructions, no timed pairs"
    )
    parser.add_argument(
        "--record", action="store_true", help="loopviz record of a program vs python alone"
    )
    parser.add_argument("--scale", type=float, help="workload size (default 1; 0.1 --quick)")
    parser.add_argument("--only", choices=[w.name for w in WORKLOADS], action="append")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    scale = args.scale or (0.1 if args.quick else 1.0)
    pairs = 3 if args.quick and args.pairs == 7 else args.pairs
    by_name = {w.name: w for w in WORKLOADS}
    chosen = [by_name[name] for name in args.only] if args.only else list(WORKLOADS)
    if args.child:
        run_one(by_name[args.child[0]], args.child[1], scale)
        return
    if args.record:
        with tempfile.TemporaryDirectory(prefix="loopviz-bench-") as tmp:
            measure_record(pairs, Path(tmp))
        return
    if args.instructions or args.instructions_only:
        if shutil.which("valgrind") is None:
            raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
        counted = {w.name: count_instructions(w, scale) for w in chosen}
        print_instructions(counted, scale)
        if args.instructions_only:
            return
        print()
    with tempfile.TemporaryDirectory(prefix="loopviz-bench-") as tmp:
        if args.profile:
            profile(by_name[args.profile], args.mode, scale, Path(tmp))
            return
        results = [
            measure(workload, mode, pairs, scale, Path(tmp))
            for workload in chosen
            for mode in MODES
        ]
    print_table(results, pairs, scale)


if __name__ == "__main__":
    main()
