"""How fast the timeline model loads a big trace and answers the app's queries.

Writes a synthetic 1,000-task, 1,000,000-event trace (tasks created in waves; steps that
yield, wait on sleeps with deadlines, sockets, locks, other tasks and executor jobs; a few
blocking steps with watchdog reports; loop idles; output lines), then times ``read_trace``
plus ``Timeline.from_trace`` and a few queries. Target: read + build within 5 s.

    python benchmarks/bench_model.py [--tasks 1000] [--events 1000000]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from loopviz.timeline import Timeline
from loopviz.trace import (
    Blocking,
    Cause,
    End,
    Finished,
    Header,
    Idle,
    Job,
    JobPhase,
    LoopMark,
    Output,
    Ran,
    Ready,
    Site,
    Str,
    TaskCreated,
    Wait,
    Waited,
    encode_header,
    encode_records,
    read_trace,
)

WAITS = (Wait.SLEEP, Wait.SLEEP, Wait.IO, Wait.IO, Wait.LOCK, Wait.TASK, Wait.QUEUE_GET)
CAUSE = {Wait.SLEEP: Cause.TIMER, Wait.IO: Cause.IO, Wait.TASK: Cause.TASK}


def synthetic_trace(path: Path, tasks: int, events: int) -> int:
    """Write a trace of ``tasks`` tasks and about ``events`` events; return the count."""
    rng = random.Random(7)
    records: list = [Str(1, "/srv/app.py"), Str(2, "handle"), Str(3, "'ok'"), Str(4, "fetch")]
    records += [Str(5, "Lock.acquire"), Str(6, "Queue.get"), Str(7, "sock.recv"), Str(8, "pool")]
    records += [Site(line, 1, line) for line in range(1, 81)]
    records += [Str(100 + i, f"conn-{i}") for i in range(tasks)]
    details = {Wait.LOCK: 5, Wait.QUEUE_GET: 6, Wait.IO: 7}
    records.append(LoopMark(0, 1, 0))
    per_task = max(2, int((events - len(records)) / (tasks * 2.05)))
    t = job = 0
    alive: list[list[int]] = []  # [task, steps left]
    created = 0
    while created < tasks or alive:
        if created < tasks and (not alive or rng.random() < 0.3):
            created += 1
            records.append(TaskCreated(t, created, 100 + created - 1, 2, 1, 0, 2))
            records.append(Ready(t, created, Cause.START))
            alive.append([created, per_task])
        index = rng.randrange(len(alive))
        task, left = alive[index]
        dur = rng.randint(5_000, 200_000)
        if rng.random() < 0.0005:  # a blocking call, seen by the watchdog first
            dur = rng.randint(100, 400) * 1_000_000
            records.append(Blocking(t + 100_000_000, t, task, rng.randint(3, 80)))
        if left <= 1:
            records.append(Finished(t, task, dur, 0, 3))
            alive.pop(index)
        elif rng.random() < 0.2:
            records.append(Ran(t, task, dur))
            alive[index][1] -= 1
        else:
            kind = rng.choice(WAITS)
            timeout = rng.randint(1, 50) * 1_000_000 if kind == Wait.SLEEP else 0
            detail = alive[rng.randrange(len(alive))][0] if kind == Wait.TASK else 0
            if rng.random() < 0.01:
                job += 1
                kind, detail = Wait.EXECUTOR, job
                records.append(Job(t, job, JobPhase.SUBMITTED, 0, 4, task))
                records.append(Job(t + dur, job, JobPhase.STARTED, 8, 4, task))
                records.append(Job(t + dur + 3_000_000, job, JobPhase.FINISHED, 8, 4, task))
            detail = details.get(kind, detail)
            site = rng.randint(3, 80)
            records.append(Waited(t, task, dur, kind, detail, site, timeout))
            alive[index][1] -= 1
            wake = t + dur + timeout + rng.randint(1, 40) * 1_000_000
            records.append(Ready(wake, task, CAUSE.get(kind, Cause.FUTURE)))
        t += dur
        if rng.random() < 0.2:
            gap = rng.randint(10_000, 2_000_000)
            records.append(Idle(t, gap, gap))
            t += gap
        if rng.random() < 0.01:
            records.append(Output(t, 1, f"task {task} step {per_task - left}"))
    records.append(LoopMark(t, 1, 1))
    records.append(End(t, 0, 0))
    header = Header(loopviz="bench", python="3", program="/srv/app.py", started="2024-01-01")
    path.write_bytes(encode_header(header) + encode_records(records))
    return len(records)


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
        for task in ids[i : i + 40]:
            timeline.lane(task, t0, t0 + end // 50, 160)
        timeline.loop_lane(t0, t0 + end // 50, 160)

    timed("first screen: 40 lanes x 160 columns", 1, screen)
    timed("screen: 40 lanes x 160 columns", 20, lambda i: screen(i + 1))
    timed("totals of every task", 1, lambda i: [timeline.totals(task) for task in ids])
    timed("blocking steps", 1, lambda i: timeline.blocking)


if __name__ == "__main__":
    main()
