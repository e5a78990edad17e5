"""The program's locks, semaphores, events, conditions, queues and barriers, recorded from real
programs: what the trace says of them, deadlocks found in a hanging program, and nothing the
program does changed (CPython's own tests of them pass under the traced loop).

The bundled scenarios' lessons (``test_scenarios.py``) check a semaphore around twenty
fetches, a queue between a producer and three workers and a lock taken in turns."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from conftest import line_of, write_program

from loopviz import exits
from loopviz.model import words
from loopviz.model.facts import State
from loopviz.model.timeline import Timeline
from loopviz.record import Recorder
from loopviz.record.resources import bound_name
from loopviz.report.summary import resources_json
from loopviz.trace import Resource, ResourceKind, Use, UseOp, read_trace

# --- deadlocks, in programs that hang until --timeout ------------------------------------------

OPPOSITE_ORDER = """
import asyncio

async def left(first, second):
    async with first:
        await asyncio.sleep(0.05)
        async with second:  # left waits here
            pass

async def right(first, second):
    async with second:
        await asyncio.sleep(0.05)
        async with first:  # right waits here
            pass

async def main():
    first = asyncio.Lock()
    second = asyncio.Lock()
    await asyncio.gather(
        asyncio.create_task(left(first, second), name="left"),
        asyncio.create_task(right(first, second), name="right"),
    )

asyncio.run(main())
"""

AWAIT_EACH_OTHER = """
import asyncio

tasks = {}

async def chase(other):
    await asyncio.sleep(0.05)
    await tasks[other]

async def main():
    tasks["ping"] = asyncio.create_task(chase("pong"), name="ping")
    tasks["pong"] = asyncio.create_task(chase("ping"), name="pong")
    await asyncio.gather(*tasks.values())

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def hanging(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, dict[str, Any]]]:
    """``loopviz summary PROG --json --timeout 2`` of both hanging programs, run side by side:
    each one's exit status and summary."""
    folder = tmp_path_factory.mktemp("hanging")
    runs = {}
    for name, source in (("locks", OPPOSITE_ORDER), ("tasks", AWAIT_EACH_OTHER)):
        program = write_program(folder, source, f"{name}.py")
        command = [sys.executable, "-m", "loopviz", "summary", str(program), "--json"]
        runs[name] = subprocess.Popen(
            [*command, "--timeout", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    done = {}
    for name, run in runs.items():
        out, err = run.communicate(timeout=60)
        assert out, err
        done[name] = run.returncode, json.loads(out)
    return done


def deadlock_of(summary: dict[str, Any]) -> dict[str, Any]:
    (found,) = [w for w in summary["warnings"] if w["lint"] == "deadlock"]
    return found


def test_two_locks_taken_in_opposite_order_are_a_deadlock(
    hanging: dict[str, tuple[int, dict[str, Any]]],
) -> None:
    status, summary = hanging["locks"]
    assert status == exits.TIMEOUT
    found = deadlock_of(summary)
    assert sorted(found["tasks"]) == ["left", "right"]
    text, program = found["text"], Path(summary["program"])
    left, right = (line_of(program, f"{name} waits here") for name in ("left", "right"))
    assert f"left waits for lock `second` held by right, at locks.py:{left}" in text
    assert f"right waits for lock `first` held by left, at locks.py:{right}" in text
    assert {(r["kind"], r["name"], r["max_in_use"]) for r in summary["resources"]} == {
        ("lock", "first", 1),
        ("lock", "second", 1),
    }


def test_a_task_awaiting_a_task_that_awaits_it_is_a_deadlock(
    hanging: dict[str, tuple[int, dict[str, Any]]],
) -> None:
    status, summary = hanging["tasks"]
    assert status == exits.TIMEOUT
    found = deadlock_of(summary)
    assert sorted(found["tasks"]) == ["ping", "pong"]
    line = line_of(Path(summary["program"]), "await tasks[other]")
    assert f"ping awaits task pong, at tasks.py:{line}" in found["text"]
    assert f"pong awaits task ping, at tasks.py:{line}" in found["text"]


# --- what the records say -------------------------------------------------------------------


async def every_kind(log: list[str]) -> None:
    """Each kind of resource, used the ways programs use them, with the order things happen
    in logged; a few misuses raise as asyncio says they do."""
    printer = asyncio.Lock()
    gate = asyncio.Semaphore(2)
    pass_ = asyncio.BoundedSemaphore(1)
    ready = asyncio.Event()
    change = asyncio.Condition()
    shared = asyncio.Condition(printer)
    urgent: asyncio.PriorityQueue[int] = asyncio.PriorityQueue()
    stack: asyncio.LifoQueue[int] = asyncio.LifoQueue(maxsize=1)
    meet = asyncio.Barrier(3)

    async def user(n: int) -> None:
        async with gate:
            log.append(f"gate {n}")
            await asyncio.sleep(0.002)
        async with printer:
            log.append(f"printer {n}")
            await asyncio.sleep(0)
        await ready.wait()
        log.append(f"ready {n}")
        async with change:
            await change.wait()
            log.append(f"changed {n}")
        log.append(f"met {n} as {await meet.wait()}")

    async def lead() -> None:
        await asyncio.sleep(0.01)
        ready.set()
        await asyncio.sleep(0.002)
        async with change:
            change.notify(1)
            change.notify_all()
        await stack.put(1)
        for n in (3, 1, 2):
            urgent.put_nowait(n)
        await asyncio.sleep(0)  # a queue's level is seen as each step ends
        log.append(f"urgent {[urgent.get_nowait() for _ in range(3)]}")
        log.append(f"met lead as {await meet.wait()}")

    users = [asyncio.create_task(user(n), name=f"user-{n}") for n in (1, 2)]
    await asyncio.gather(lead(), *users)
    ready.clear()
    log.append(f"stack {await stack.get()}, {shared.locked()}")
    waiter = asyncio.create_task(printer.acquire())
    async with printer:
        await asyncio.sleep(0)
        waiter.cancel()  # a lock's waiter cancelled: it never holds it
    log.append(f"cancelled {waiter.cancelled()}, locked {printer.locked()}")
    for misuse in (printer.release, pass_.release, lambda: change.notify()):
        try:
            misuse()
        except (RuntimeError, ValueError) as exc:
            frames = [f.filename for f in traceback.extract_tb(exc.__traceback__)]
            log.append(f"{type(exc).__name__}: {exc}: {frames[-1]}, {len(frames)} frames")
    log.append(" ".join(repr(r).split(" at ")[0] for r in (printer, gate, ready, stack)))
    log.append(f"{type(printer) is asyncio.Lock} {isinstance(urgent, asyncio.Queue)}")


LOCK_INIT = asyncio.Lock.__dict__["__init__"]


def run(log: list[str], recorder: Recorder | None = None) -> None:
    factory = recorder.loop if recorder is not None else asyncio.SelectorEventLoop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(every_kind(log))


@pytest.fixture(scope="module")
def watched() -> Iterator[tuple[list[str], Timeline]]:
    """``every_kind`` run with its resources watched: what it logged, and its timeline."""
    log: list[str] = []
    recorder = Recorder()
    recorder.watch_resources()
    try:
        run(log, recorder)
    finally:
        recorder.close()
    timeline = Timeline(recorder.header)
    timeline.add(recorder.records)
    yield log, timeline


def test_watching_changes_nothing_the_program_does(watched: tuple[list[str], Timeline]) -> None:
    log, _ = watched
    plain: list[str] = []
    run(plain)
    assert log == plain
    assert any(line.startswith("RuntimeError: Lock is not acquired.") for line in plain)
    assert all("loopviz" not in line for line in plain)  # not a frame of its hooks
    assert asyncio.Lock.__dict__["__init__"] is LOCK_INIT  # asyncio's own, given back at close()


def test_each_resource_is_named_as_its_line_binds_it(watched: tuple[list[str], Timeline]) -> None:
    _, tl = watched
    made = {(words.resource_kind(r.kind), r.name, r.capacity) for r in tl.resources.all}
    assert made == {
        ("lock", "printer", 0),
        ("semaphore", "gate", 2),
        ("bounded semaphore", "pass_", 1),
        ("event", "ready", 0),
        ("condition", "change", 0),
        ("condition", "shared", 0),
        ("priority queue", "urgent", 0),
        ("LIFO queue", "stack", 1),
        ("barrier", "meet", 3),
    }  # and none of asyncio's own (a queue's event, a condition's or a barrier's lock)
    here = Path(__file__).name
    assert {r.file.rsplit("/", 1)[-1] for r in tl.resources.all} == {here}


def resource(tl: Timeline, name: str) -> int:
    (found,) = [r.id for r in tl.resources.all if r.name == name]
    return found


def test_waits_and_wake_ups_name_the_resource_and_who_let_go(
    watched: tuple[list[str], Timeline],
) -> None:
    _, tl = watched

    def said(name: str) -> list[tuple[str, str]]:
        """What a task waited on a resource for, and how it was woken."""
        (task,) = [t.id for t in tl.tasks if t.name == name]
        intervals = tl.intervals(task)
        return [
            (words.state(tl, iv), words.state(tl, after))
            for iv, after in pairwise(intervals)
            if iv.state == State.WAITING and iv.resource
        ]

    assert said("user-1") == [
        ("waiting: event `ready` to be set", "ready: lead() set event `ready`"),
        (
            "waiting: to be notified on condition `change`",
            "ready: lead() notified condition `change`",
        ),
        ("waiting: barrier `meet` (1 of 3 arrived)", "ready: lead() filled barrier `meet`"),
    ]
    (printer, *_) = said("user-2")
    assert printer[0].startswith("waiting: lock `printer` (held by user-1 since ")
    assert printer[1] == "ready: user-1 released lock `printer`"


def test_levels_follow_what_the_program_did(watched: tuple[list[str], Timeline]) -> None:
    _, tl = watched
    totals = {r["name"]: r for r in resources_json(tl)}
    assert (totals["gate"]["max_in_use"], totals["gate"]["acquisitions"]) == (2, 2)
    assert (totals["urgent"]["max_in_use"], totals["urgent"]["acquisitions"]) == (3, 3)
    assert totals["stack"]["acquisitions"] == 1
    assert totals["ready"]["acquisitions"] == 1  # set once (and cleared)
    assert totals["meet"]["max_in_use"] == 3
    printer = resource(tl, "printer")
    assert not tl.resources.holders_at(printer, tl.end)  # the cancelled waiter never held it


@dataclass
class Account:
    balance: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class Pair:
    left: asyncio.Lock = field(default_factory=asyncio.Lock)
    right: asyncio.Lock = field(default_factory=asyncio.Lock)


async def pay_twice() -> None:
    account = Account()  # makes account.lock
    Pair()  # makes two locks, of fields it cannot tell apart

    async def pay(n: int) -> None:
        async with account.lock:
            await asyncio.sleep(0.001)
            account.balance += n

    await asyncio.gather(pay(1), pay(2))


def test_a_lock_a_dataclass_field_makes_is_the_programs_made_where_its_instance_is() -> None:
    recorder = Recorder()
    recorder.watch_resources()
    try:
        with asyncio.Runner(loop_factory=recorder.loop) as runner:
            runner.run(pay_twice())
    finally:
        recorder.close()
    tl = Timeline(recorder.header)
    tl.add(recorder.records)
    here = Path(__file__)
    made = [(r.name, Path(r.file).name, r.line) for r in tl.resources.all]
    account, pair = line_of(here, "makes account.lock"), line_of(here, "makes two locks")
    assert made == [
        ("account.lock", here.name, account),
        ("", here.name, pair),
        ("", here.name, pair),
    ]
    lock = tl.resources.all[0].id
    assert tl.resources.totals(lock, tl.waits_on, tl.end).uses == 2
    assert [r.id for r in tl.resources.all if tl.waits_on(r.id)] == [lock]


def test_bound_names() -> None:
    assert bound_name("    gate = asyncio.Semaphore(5)\n", asyncio.Semaphore) == "gate"
    assert bound_name("self.gate = Semaphore(5)", asyncio.Semaphore) == "self.gate"
    assert bound_name("q: asyncio.Queue[int | None] = asyncio.Queue(2)", asyncio.Queue) == "q"
    assert bound_name("q = asyncio.Queue[int](maxsize=2)", asyncio.Queue) == "q"
    for line in (
        "gates = [asyncio.Semaphore(2) for _ in range(3)]",  # many: no one name
        "return asyncio.Lock()",
        "lock = make_lock(asyncio.Lock())",
        "if lock == asyncio.Lock():",
        "async with asyncio.Lock():",
    ):
        assert bound_name(line, asyncio.Lock) == "", line


# --- CPython's own tests of them, under the traced loop ----------------------------------------

STDLIB_TESTS = importlib.util.find_spec("test.test_asyncio")


@pytest.mark.skipif(STDLIB_TESTS is None, reason="this Python has no test.test_asyncio")
def test_cpython_lock_and_queue_tests_pass_as_plain(tmp_path: Path) -> None:
    """``test_locks`` and ``test_queues`` of this Python's own test suite, copied out of the
    standard library so that their locks and queues count as the program's (recorded):
    ``python -m loopviz record -m unittest -- test_locks test_queues`` run in that folder."""
    assert STDLIB_TESTS is not None and STDLIB_TESTS.origin is not None
    suite = Path(STDLIB_TESTS.origin).parent
    for name in ("test_locks.py", "test_queues.py"):
        shutil.copy(suite / name, tmp_path / name)
    tests = ["test_locks", "test_queues"]
    plain = subprocess.run(
        [sys.executable, "-m", "unittest", *tests],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    trace = tmp_path / "tests.trace.jsonl"
    record = [sys.executable, "-m", "loopviz", "record", "-m", "unittest", "-o", str(trace)]
    done = subprocess.run(
        [*record, "--", *tests],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert plain.returncode == 0, plain.stderr
    assert done.returncode == 0, done.stderr
    ran = re.compile(r"Ran \d+ tests")
    assert ran.findall(done.stderr) == ran.findall(plain.stderr)
    records = read_trace(trace).records
    kinds = {ResourceKind(r.kind) for r in records if isinstance(r, Resource)}
    assert kinds == set(ResourceKind)  # every kind was made, and recorded
    assert {UseOp(r.op) for r in records if isinstance(r, Use)} == set(UseOp)
