"""The records the recorder writes stay the same, times aside, as it is made faster.

Four workloads (the benchmark's yield, gather and pipeline shapes, small, and a mixed one:
locks, events, a task group, a cancellation, a failure, a rename, a timeout, a task awaiting
another) are recorded and their records normalized: strings and sites resolved to their text,
times and durations dropped (a wait's deadline and a sleep's own length kept only as whether
there is one), records that depend on the clock alone (idle waits, slow callbacks, blocking
steps) left out. The result must equal ``fixtures/record_streams.<python>.json``, written by
the recorder before its speed work (``python tests/test_record_stream.py`` writes it again,
for a deliberate change of what is recorded, or of this file's lines: sites are lines).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import msgspec
import pytest

from loopviz.compiled import PURE_PYTHON
from loopviz.record import Recorder
from loopviz.trace import (
    Blocking,
    Callback,
    Finished,
    Idle,
    Job,
    LoopMark,
    Problem,
    Ran,
    Ready,
    Record,
    Renamed,
    Resource,
    Site,
    Str,
    TaskCreated,
    Use,
    Wait,
    Waited,
)

_PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"
FIXTURE = Path(__file__).parent / "fixtures" / f"record_streams.{_PYTHON}.json"
# Waits whose detail is a Str id (the others: a task, a job, a resource, a count, a length).
_NAMED_WAITS = {int(Wait.FUTURE), int(Wait.HTTP)}
_SLEEP = int(Wait.SLEEP)


# --- the workloads ------------------------------------------------------------------------------


async def _yielder(steps: int) -> None:
    for _ in range(steps):
        await asyncio.sleep(0)


async def yields() -> None:
    async with asyncio.TaskGroup() as group:
        for _ in range(20):
            group.create_task(_yielder(10))


async def _sleeper(n: int) -> int:
    await asyncio.sleep(0.001)
    return n


async def gather() -> None:
    await asyncio.gather(*(_sleeper(n) for n in range(50)))


async def _produce(out: asyncio.Queue[int | None], items: int) -> None:
    for i in range(items):
        await out.put(i)
    await out.put(None)


async def _stage(inbox: asyncio.Queue[int | None], out: asyncio.Queue[int | None]) -> None:
    while (item := await inbox.get()) is not None:
        await out.put(item + 1)
    await out.put(None)


async def _consume(inbox: asyncio.Queue[int | None]) -> int:
    total = 0
    while (item := await inbox.get()) is not None:
        total += item
    return total


async def pipeline() -> None:
    q1, q2, q3 = (asyncio.Queue[int | None](maxsize=5) for _ in range(3))
    async with asyncio.TaskGroup() as group:
        group.create_task(_produce(q1, 300))
        group.create_task(_stage(q1, q2))
        group.create_task(_stage(q2, q3))
        group.create_task(_consume(q3))


async def _locked(lock: asyncio.Lock, event: asyncio.Event, n: int) -> int:
    async with lock:
        await asyncio.sleep(0)
    await event.wait()
    return n


async def _fails() -> None:
    await asyncio.sleep(0)
    raise ValueError("no")


async def _forever() -> None:
    await asyncio.sleep(3600)


async def _child(n: int) -> int:
    await asyncio.sleep(0)
    return n * 2


async def _parent() -> int:
    return await asyncio.create_task(_child(4), name="child")


async def mixed() -> None:
    lock, event = asyncio.Lock(), asyncio.Event()
    loop = asyncio.get_running_loop()
    waiters = [loop.create_task(_locked(lock, event, n)) for n in range(3)]
    renamed = asyncio.create_task(_child(1))
    renamed.set_name("renamed")
    forever = asyncio.create_task(_forever())
    await asyncio.sleep(0)
    forever.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await forever
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(_fails())
            group.create_task(_forever())
    except ExceptionGroup:
        pass
    async with asyncio.timeout(3600):
        await asyncio.sleep(0.001)
    await _parent()
    await renamed
    event.set()
    await asyncio.gather(*waiters)


WORKLOADS: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {
    "yield": yields,
    "gather": gather,
    "pipeline": pipeline,
    "mixed": mixed,
}
# Whose records are compared task by task rather than in one order: timers falling due in the
# same loop iteration or not depend on the clock.
BY_TASK = {"gather"}


# --- normalizing ------------------------------------------------------------------------------


def record(main: Callable[[], Coroutine[Any, Any, None]], debug: bool = False) -> list[Record]:
    with Recorder(program="workload", argv=()) as rec:
        rec.watch_resources()
        with asyncio.Runner(loop_factory=rec.loop, debug=debug) as runner:
            runner.run(main())
    return rec.records


def normalized(records: list[Record]) -> list[list[Any]]:
    """The records as lists of their fields, names resolved, times left out."""
    text: dict[int, str] = {0: ""}
    sites: dict[int, str] = {0: ""}

    def site(sid: int) -> str:
        where = sites[sid]
        return where.rsplit("/", 1)[-1]

    first_default: list[int] = []  # asyncio numbers its default names for the whole process

    def name_of(ref: int) -> str:
        if ref >= 0:
            return text[ref]
        first_default[:] = first_default or [-ref]
        return f"Task-{-ref - first_default[0]}+"

    out: list[list[Any]] = []
    for r in records:
        match r:
            case Str():
                text[r.id] = r.text
            case Site():
                sites[r.id] = f"{text[r.file]}:{r.line}"
            case Idle() | Callback() | Blocking():
                pass
            case TaskCreated():
                args = msgspec.to_builtins(r.args)
                what = [name_of(r.name), text[r.coro], site(r.coro_site)]
                out.append(["created", r.task, *what, r.parent, site(r.site), args])
            case Ready():
                out.append(["ready", r.task, r.cause, r.ref])
            case Ran():
                out.append(["ran", r.task])
            case Waited():
                if r.kind in _NAMED_WAITS:
                    detail: Any = text[r.detail]
                elif r.kind == _SLEEP:
                    detail = (r.detail > 0) - (r.detail < 0)
                else:
                    detail = r.detail
                out.append(["waited", r.task, r.kind, detail, site(r.site), r.timeout != 0])
            case Finished():
                out.append(["finished", r.task, r.outcome, text[r.detail]])
            case Renamed():
                out.append(["renamed", r.task, text[r.name]])
            case Resource():
                out.append(["resource", r.id, r.kind, text[r.name], site(r.site), r.capacity])
            case Use():
                out.append(["use", r.resource, r.op, r.task, r.level, r.count])
            case Job():
                out.append(["job", r.job, r.phase, text[r.fn], r.task])
            case Problem():
                out.append(["problem", r.task, text[r.message]])
            case LoopMark():
                out.append(["loop", r.loop, r.phase])
            case _:
                out.append([type(r).__name__])
    return out


def by_task(stream: list[list[Any]]) -> list[list[Any]]:
    """The stream grouped by task (records of no task first), each task's in its order."""
    tasks: dict[Any, list[list[Any]]] = {}
    for item in stream:
        key = item[1] if item[0] in {"created", "ready", "ran", "waited", "finished"} else 0
        tasks.setdefault(key, []).append(item)
    return [item for key in sorted(tasks) for item in tasks[key]]


def stream_of(name: str) -> list[list[Any]]:
    stream = normalized(record(WORKLOADS[name]))
    return by_task(stream) if name in BY_TASK else stream


# --- the test: compiled and pure Python -------------------------------------------------------
# Each way runs in a process of its own (the choice is made as loopviz.record is imported):
# the compiled step path (record/_steps.c) where it is built, and the pure-Python one.

WAYS = ("compiled", "pure")


def compiled_missing() -> str | None:
    """Why the compiled recorder cannot run here (None: it can)."""
    if importlib.util.find_spec("loopviz.record._steps") is None:
        return "the compiled recorder is not built here (installed with no C compiler)"
    return None


@functools.cache
def streams_in(way: str) -> dict[str, Any]:
    """Every workload's normalized stream, recorded in a new process the given way."""
    env = {k: v for k, v in os.environ.items() if k != PURE_PYTHON}
    if way == "pure":
        env[PURE_PYTHON] = "1"
    done = subprocess.run(
        [sys.executable, __file__, "--print"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


@pytest.fixture(params=WAYS)
def way(request: pytest.FixtureRequest) -> str:
    if request.param == "compiled" and (reason := compiled_missing()):
        pytest.skip(reason)
    return str(request.param)


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_records_are_the_same_times_aside(name: str, way: str) -> None:
    if not FIXTURE.exists():
        pytest.skip(f"no recorded streams for this Python ({FIXTURE.name})")
    streams = streams_in(way)
    assert streams["compiled"] == (way == "compiled")  # the way asked for is the one that ran
    expected = json.loads(FIXTURE.read_text())[name]
    got = streams[name]
    assert len(got) == len(expected)
    for i, (mine, theirs) in enumerate(zip(got, expected, strict=True)):
        assert mine == theirs, f"record {i} differs"


def test_debug_mode_records_the_same_with_a_new_handle_per_step(way: str) -> None:
    """In debug mode a yielding step is queued on a new handle (the loop reads a handle after
    it ran there), not its own again: the records are the same."""
    if not FIXTURE.exists():
        pytest.skip(f"no recorded streams for this Python ({FIXTURE.name})")
    expected = json.loads(FIXTURE.read_text())["yield"]
    assert streams_in(way)["debug yield"] == expected


def _print_streams() -> None:
    """The child process of ``streams_in``: the streams as JSON on stdout."""
    from loopviz.record import handles  # imported by Recorder: which _run it has

    streams: dict[str, Any] = {name: stream_of(name) for name in WORKLOADS}
    streams["debug yield"] = normalized(record(yields, debug=True))
    streams["compiled"] = "compiled" in repr(handles.Step._run)
    print(json.dumps(streams))


if __name__ == "__main__":
    if sys.argv[1:] == ["--print"]:
        _print_streams()
    else:
        FIXTURE.write_text(
            json.dumps({name: stream_of(name) for name in WORKLOADS}, indent=0) + "\n"
        )
        print(f"wrote {FIXTURE}")
