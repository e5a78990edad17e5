"""The synthetic trace the benchmarks share, so they measure the same mix of events.

A busy server's shape: tasks created in waves; steps that yield, wait on sleeps with
deadlines, sockets, locks, other tasks and executor jobs; a few blocking steps with watchdog
reports; loop idles; output lines. A task runs only once woken, so the trace reads clean, as a
recorded one does. Seeded, so every run writes the same trace.
"""

from __future__ import annotations

import heapq
import random
from pathlib import Path

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
    Resource,
    ResourceKind,
    Site,
    Str,
    TaskCreated,
    Wait,
    Waited,
    encode_header,
    encode_records,
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
    records += [
        Resource(0, 1, ResourceKind.LOCK, 0, 3, 0),
        Resource(0, 2, ResourceKind.QUEUE, 0, 4, 0),
    ]
    details = {Wait.LOCK: 1, Wait.QUEUE_GET: 2, Wait.IO: 7}  # a lock's, a queue's: Resource ids
    records.append(LoopMark(0, 1, 0))
    per_task = max(2, int((events - len(records)) / (tasks * 2.05)))
    header = Header(loopviz="bench", python="3", program="/srv/app.py", started="2024-01-01")
    out = path.open("wb")
    out.write(encode_header(header))
    written = 0
    t = job = 0
    ready: list[list[int]] = []  # [task, steps left]: may run now
    waiting: list[tuple[int, int, int]] = []  # (woken at, task, steps left), a heap
    created = 0
    while created < tasks or ready or waiting:
        while waiting and waiting[0][0] <= t:  # woken: a task never runs before its wake-up
            _, woken, steps = heapq.heappop(waiting)
            ready.append([woken, steps])
        if created < tasks and (not ready or rng.random() < 0.3):
            created += 1
            records.append(TaskCreated(t, created, 100 + created - 1, 2, 1, 0, 2))
            records.append(Ready(t, created, Cause.START))
            ready.append([created, per_task])
        if not ready:  # all wait: the loop idles until the first is woken
            gap = waiting[0][0] - t
            records.append(Idle(t, gap, gap))
            t += gap
            continue
        index = rng.randrange(len(ready))
        ready[index], ready[-1] = ready[-1], ready[index]
        task, left = ready.pop()
        dur = rng.randint(5_000, 200_000)
        if rng.random() < 0.0005:  # a blocking call, seen by the watchdog first
            dur = rng.randint(100, 400) * 1_000_000
            records.append(Blocking(t + 100_000_000, t, task, rng.randint(3, 80)))
        if left <= 1:
            records.append(Finished(t, task, dur, 0, 3))
        elif rng.random() < 0.2:
            records.append(Ran(t, task, dur))
            ready.append([task, left - 1])
        else:
            kind = rng.choice(WAITS)
            timeout = rng.randint(1, 50) * 1_000_000 if kind == Wait.SLEEP else 0
            others = [entry[0] for entry in ready[:8]] or [task]
            detail = rng.choice(others) if kind == Wait.TASK else 0
            if rng.random() < 0.01:
                job += 1
                kind, detail = Wait.EXECUTOR, job
                records.append(Job(t, job, JobPhase.SUBMITTED, 0, 4, task))
                records.append(Job(t + dur, job, JobPhase.STARTED, 8, 4, task))
                records.append(Job(t + dur + 3_000_000, job, JobPhase.FINISHED, 8, 4, task))
            detail = details.get(kind, detail)
            site = rng.randint(3, 80)
            records.append(Waited(t, task, dur, kind, detail, site, timeout))
            wake = t + dur + timeout + rng.randint(1, 40) * 1_000_000
            records.append(Ready(wake, task, CAUSE.get(kind, Cause.FUTURE)))
            heapq.heappush(waiting, (wake, task, left - 1))
        t += dur
        if rng.random() < 0.2:
            gap = rng.randint(10_000, 2_000_000)
            records.append(Idle(t, gap, gap))
            t += gap
        if rng.random() < 0.01:
            records.append(Output(t, 1, f"task {task} step {per_task - left}"))
        if len(records) >= 100_000:  # written as it goes: a big trace need not fit in memory
            out.write(encode_records(records))
            written += len(records)
            records.clear()
    records.append(LoopMark(t, 1, 1))
    records.append(End(t, 0, 0))
    out.write(encode_records(records))
    out.close()
    return written + len(records)
