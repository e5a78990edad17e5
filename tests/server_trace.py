"""A server's trace at scale, written the way the recorder writes one: a loop that runs its
ready queue in order, sleeps in ``select`` until the next timer or socket, and records each
step when it ends (after what the step did, such as creating a task).

``main`` accepts a request every millisecond and hands it to a task of its own, ``handle``
(asyncio's default names: their lanes are labelled by the coroutine); every 250 requests it
also starts a ``fetch-N`` task; 25 tasks of a library's coroutine serve connections. Once,
at request 1,500, ``main`` blocks the loop for 300 ms, and the requests due meanwhile
starve in the ready queue. Deterministic: every run writes the same trace.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from trace_builder import MS, TraceBuilder

from loopviz.trace import (
    Cause,
    End,
    Finished,
    Idle,
    LoopMark,
    Outcome,
    Ready,
    TaskCreated,
    Wait,
    Waited,
)

US = 1_000
PROGRAM = "/srv/app.py"
LIBRARY = "/venv/lib/python3.11/site-packages/aiohttp/web_protocol.py"
BLOCK_AT = 1500  # the request after which main blocks the loop
BLOCK = 300 * MS


@dataclass
class Step:
    """What a step does: runs ``dur``, creates ``spawn`` tasks, then waits (``wait``: a
    Wait kind and how long) or finishes (``outcome``)."""

    dur: int
    spawn: tuple[str, ...] = ()
    wait: tuple[int, int] | None = None
    site: int = 0
    outcome: int = Outcome.RESULT


def handle(n: int) -> Iterator[Step]:
    yield Step(30 * US, wait=(Wait.SLEEP, (2 + n % 5) * MS), site=14)
    yield Step(50 * US, wait=(Wait.IO, MS), site=15)
    yield Step(20 * US, outcome=Outcome.ERROR if n % 500 == 7 else Outcome.RESULT)


def fetch(n: int) -> Iterator[Step]:
    yield Step(40 * US, wait=(Wait.IO, 30 * MS), site=22)
    yield Step(40 * US)


def library(n: int) -> Iterator[Step]:
    yield Step(10 * US, wait=(Wait.IO, 5 * MS))
    yield Step(10 * US)


def main(requests: int) -> Iterator[Step]:
    for n in range(requests):
        spawn = ("handle",) + (("fetch",) if n % 250 == 0 else ())
        spawn += ("library",) if n % 120 == 0 else ()
        yield Step(20 * US, spawn, (Wait.SLEEP, MS), site=44)
        if n == BLOCK_AT:
            yield Step(BLOCK, wait=(Wait.SLEEP, MS), site=46)
    yield Step(20 * US)


def server_trace(folder: Path, requests: int = 3000) -> Path:
    """Write the server's trace to ``folder``; its path."""
    b = TraceBuilder(program=PROGRAM)
    kinds = {
        "handle": (b.s("handle"), b.site(12), handle),
        "fetch": (b.s("fetch"), b.site(20), fetch),
        "library": (b.s("RequestHandler._handle_request"), b.site(567, LIBRARY), library),
    }
    ok, failed = b.s("'ok'"), b.s("ValueError: bad request")
    scripts: dict[int, Iterator[Step]] = {1: main(requests)}
    counts = {"handle": 0, "fetch": 0, "library": 0}
    b.add(LoopMark(0, 1, 0))
    b.add(TaskCreated(0, 1, -1, b.s("main"), b.site(40), 0, 0))
    ready: deque[tuple[int, int]] = deque([(1, 0)])  # (task, cause)
    timers: list[tuple[int, int, int, int]] = []  # (due, order, task, cause)
    t, order, next_id = 0, 0, 2
    while ready or timers:
        if not ready:
            due = timers[0][0]
            if due > t:
                b.add(Idle(t, due - t, due - t))
                t = due
        while timers and timers[0][0] <= t:
            _, _, task, cause = heapq.heappop(timers)
            b.add(Ready(t, task, cause))
            ready.append((task, cause))
        for _ in range(len(ready)):
            task, _ = ready.popleft()
            step = next(scripts[task])
            for kind in step.spawn:
                counts[kind] += 1
                name = b.s(f"fetch-{counts[kind]}") if kind == "fetch" else -next_id
                coro, site, script = kinds[kind]
                b.add(TaskCreated(t + US, next_id, name, coro, site, task, b.site(44)))
                scripts[next_id] = script(counts[kind])
                ready.append((next_id, Cause.START))
                next_id += 1
            if step.wait is not None:
                kind, length = step.wait
                site = b.site(step.site) if step.site else 0
                timeout = length if kind == Wait.SLEEP else 0
                b.add(Waited(t, task, step.dur, kind, 0, site, timeout))
                cause = Cause.TIMER if kind == Wait.SLEEP else Cause.IO
                order += 1
                heapq.heappush(timers, (t + step.dur + length, order, task, cause))
            else:
                detail = failed if step.outcome == Outcome.ERROR else ok
                b.add(Finished(t, task, step.dur, step.outcome, detail))
            t += step.dur
    b.add(LoopMark(t, 1, 1), End(t + MS, 0, 0))
    return b.write(folder / "server.trace.jsonl")
