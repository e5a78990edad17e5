"""Every bundled scenario runs on its own, and its recorded timeline shows its lesson.

Each lesson check reads a real recording (``loopviz record`` in a child process) through the
timeline model. Tolerances are wide enough for a loaded two-core machine: lower bounds come
from the program's own sleeps, upper bounds leave room for a slow start.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from conftest import run_record
from trace_builder import S

from loopviz import catalog
from loopviz.model import words
from loopviz.model.analysis import concurrency_gain
from loopviz.model.facts import Interval, JobChange, Segment, State, TaskInfo
from loopviz.model.timeline import Timeline
from loopviz.protocol import HTTP_BASE
from loopviz.report.summary import resources_json
from loopviz.trace import Cause, JobPhase, Outcome, Wait
from loopviz.units import format_short

SCENARIOS = catalog.discover(catalog.bundled_folder())

Lesson = Callable[[Timeline], None]
LESSONS: dict[str, Lesson] = {}


def lesson(name: str) -> Callable[[Lesson], Lesson]:
    def register(check: Lesson) -> Lesson:
        LESSONS[name] = check
        return check

    return register


# --- running ---------------------------------------------------------------------------------


def own_env() -> dict[str, str]:
    """The environment without a server handed over, so a scenario starts its own."""
    return {k: v for k, v in os.environ.items() if k != HTTP_BASE}


def run_alone(path: Path) -> str:
    """What ``path`` prints run on its own, as ``python PATH``; it must end well and quietly."""
    result = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=60, env=own_env()
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "a scenario prints its progress"
    assert not result.stderr.strip(), result.stderr
    return result.stdout


def recorded(path: Path, tmp_path: Path) -> tuple[Timeline, str]:
    """The timeline of ``path`` recorded by ``loopviz record``, which must have ended well, and
    what the program printed."""
    trace = tmp_path / f"{path.stem}.trace.jsonl"
    result, _ = run_record(path, trace=trace, env=own_env(), timeout=120)
    assert result.returncode == 0, result.stderr or result.stdout
    timeline = Timeline.from_file(trace)
    assert timeline.finished
    assert timeline.exit.status == 0, timeline.exit.error
    return timeline, result.stdout


def timeless(output: str) -> list[str]:
    """Printed lines with the numbers left out: times ("in 1.2 s") and what depends on them
    ("14 beats") vary from run to run, recorded or not."""
    return [re.sub(r"\d+(\.\d+)?", "#", line) for line in output.splitlines()]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_runs_alike_alone_and_recorded_and_shows_its_lesson(
    scenario: catalog.Scenario, tmp_path: Path
) -> None:
    check = LESSONS.get(scenario.name)
    assert check is not None, f"{scenario.name} has no lesson check in this file"
    alone = run_alone(scenario.path)
    timeline, printed = recorded(scenario.path, tmp_path)
    assert timeless(printed) == timeless(alone)  # recording changes nothing it does
    check(timeline)
    assert_waiters_follow_what_they_await(timeline)


WOKEN = (Cause.TASK, Cause.GROUP_FAILED, Cause.GROUP_CANCEL)  # by another task's end


def assert_waiters_follow_what_they_await(tl: Timeline) -> None:
    """Stepping through the run, a task woken by another's end ("ready: task B finished",
    or failed in its task group) is read only after that task's own "done"; one woken by an
    executor job, after the job's "finished"."""
    done: set[int] = set()
    jobs_done: set[int] = set()
    woken = 0
    for moment in tl.events_around(-1, 0, 10**9):  # every event, in order
        event = moment.event
        if isinstance(event, JobChange) and event.phase == JobPhase.FINISHED:
            jobs_done.add(event.job)
        if not isinstance(event, Segment):
            continue
        interval = event.interval
        if interval.state is State.DONE:
            done.add(event.task)
        elif interval.state is State.READY and not interval.overdue and interval.kind in WOKEN:
            line = words.moment(tl, moment)
            assert interval.ref in done, f"{line!r} before {words.task(tl, interval.ref)} done"
            woken += 1
        elif interval.state is State.READY and interval.kind == Cause.EXECUTOR:
            line = words.moment(tl, moment)
            assert interval.ref in jobs_done, f"{line!r} before the job finished"
    if any(info.parent for info in tl.tasks):
        assert woken, "a run with tasks awaiting others has wake-ups to check"


# --- reading the timeline --------------------------------------------------------------------


def named(timeline: Timeline, name: str) -> TaskInfo:
    matches = [t for t in timeline.tasks if t.name == name]
    assert len(matches) == 1, f"expected one task named {name!r}, got {len(matches)}"
    return matches[0]


def with_prefix(timeline: Timeline, prefix: str) -> list[TaskInfo]:
    return [t for t in timeline.tasks if t.name.startswith(prefix)]


def running(timeline: Timeline, coro: str) -> TaskInfo:
    """The first task running coroutine ``coro`` (``main`` under ``asyncio.run``)."""
    return next(t for t in timeline.tasks if t.coro.rsplit(".", 1)[-1] == coro)


def life(task: TaskInfo) -> float:
    assert task.ended is not None, f"{task.name} never ended"
    return (task.ended - task.created) / S


def waits(timeline: Timeline, task: TaskInfo, kind: Wait) -> list[Interval]:
    return [
        iv for iv in timeline.intervals(task.id) if iv.state == State.WAITING and iv.kind == kind
    ]


def ready_seconds(timeline: Timeline, task: TaskInfo) -> float:
    return timeline.totals(task.id).ready / S


def output(timeline: Timeline) -> list[tuple[int, str]]:
    return [(t, text) for t, _, text in timeline.output_until(timeline.end)]


def printed_before(timeline: Timeline, line: str, prefix: str) -> bool:
    """Whether ``line`` was printed before the first line starting with ``prefix``."""
    texts = [text for _, text in output(timeline)]
    return texts.index(line) < next(i for i, text in enumerate(texts) if text.startswith(prefix))


def lines_with(timeline: Timeline, word: str) -> list[tuple[int, str]]:
    return [(t, text) for t, text in output(timeline) if word in text]


def resource_named(timeline: Timeline, name: str) -> dict[str, Any]:
    """The summary's entry of the one resource bound to ``name``."""
    (found,) = [r for r in resources_json(timeline) if r["name"] == name]
    return found


def wake_ups(timeline: Timeline, task: TaskInfo, kind: Wait) -> list[Interval]:
    """The task's ready intervals right after a wait of ``kind``."""
    intervals = timeline.intervals(task.id)
    return [
        after
        for before, after in pairwise(intervals)
        if before.state == State.WAITING and before.kind == kind and after.state == State.READY
    ]


def holders_in_turn(timeline: Timeline, resource: int) -> list[int]:
    """The tasks that held ``resource``, in the order they took it."""
    times, _ = timeline.resources.levels(resource)
    holders: list[int] = []
    before: list[int] = []
    for t in times:
        now = [h.task for h in timeline.resources.holders_at(resource, t)]
        if len(now) > len(before):
            holders.append(now[-1])
        before = now
    return holders


def blocking_seconds(timeline: Timeline, task: TaskInfo) -> float:
    return sum(b.duration for b in timeline.blocking if b.task == task.id) / S


# --- the lessons -----------------------------------------------------------------------------


@lesson("01_hello")
def _(tl: Timeline) -> None:
    task = running(tl, "welcome")
    (sleep,) = waits(tl, task, Wait.SLEEP)
    assert 0.95 <= (sleep.end - sleep.start) / S < 1.5
    (hello, t_hello), (bye, t_bye) = [(text, t) for t, text in output(tl)]
    assert hello.startswith("Welcome") and bye.startswith("See you")
    assert 0.95 <= (t_bye - t_hello) / S < 1.5


@lesson("02_sequential")
def _(tl: Timeline) -> None:
    arrivals = [t for t, _ in lines_with(tl, "arrived")]
    assert len(arrivals) == 5
    gaps = [(b - a) / S for a, b in pairwise(arrivals)]
    assert all(gap >= 0.95 for gap in gaps), gaps  # each fetch waits for the previous one
    assert 5.0 <= life(running(tl, "main")) < 7.0
    idle = sum((s.end or tl.end) - s.start for s in tl.loop_spans() if not s.busy) / S
    assert idle >= 4.0  # the loop has nothing to do while it waits


@lesson("03_gather")
def _(tl: Timeline) -> None:
    main = running(tl, "main")
    assert 2.0 <= life(main) <= 2.6
    assert life(main) < 4.0  # not the sum of the delays
    assert 1.7 < concurrency_gain(tl) < 2.1  # 4 s of sleeping in 2 s
    toast, tea, eggs = (named(tl, n) for n in ("toast", "tea", "eggs"))
    for short in (toast, eggs):
        assert 1.0 <= life(short) < 1.5
    assert 2.0 <= life(tea) < 2.6
    middle = max(t.created for t in (toast, tea, eggs)) + S // 2
    assert {toast.id, tea.id, eggs.id} <= set(tl.alive_at(middle))  # side by side
    assert all(t.outcome == Outcome.RESULT for t in (toast, tea, eggs))


@lesson("04_create_task")
def _(tl: Timeline) -> None:
    main = running(tl, "main")
    first_own_work = min(iv.end for iv in waits(tl, main, Wait.SLEEP))
    for name in ("square-3", "square-4"):
        task = named(tl, name)
        started = next(iv for iv in tl.intervals(task.id) if iv.state == State.RUNNING)
        assert started.start < first_own_work  # running while main still does its own work
        assert 1.0 <= life(task) < 1.5
    assert 1.0 <= life(main) < 2.0  # about one second, not 2.45 in turn
    assert printed_before(tl, "main: step 1 of its own work done", "results")


@lesson("05_aiohttp_gather")
def _(tl: Timeline) -> None:
    fetches = with_prefix(tl, "fetch-")
    assert len(fetches) == 5
    for fetch in fetches:  # the request the program made, not aiohttp's insides
        requests = waits(tl, fetch, Wait.HTTP)
        assert requests, f"{fetch.name} never waits on its request"
        assert {iv.detail for iv in requests} == {"GET /delay/1"}
        assert words.wait(tl, requests[0]).startswith("HTTP GET /delay/1")
    assert all(1.0 <= life(f) < 2.0 for f in fetches)
    middle = max(f.created for f in fetches) + S // 2
    assert {f.id for f in fetches} <= set(tl.alive_at(middle))  # all five in flight together
    assert 1.0 <= life(running(tl, "main")) < 2.0  # five pages in about the time of one


@lesson("06_aiofiles")
def _(tl: Timeline) -> None:
    reader = running(tl, "read_tides")
    file_waits = waits(tl, reader, Wait.EXECUTOR)
    assert len(file_waits) >= 12  # one round trip to a thread per line, at least
    jobs = [span for worker in tl.workers for span in tl.job_spans(worker)]
    assert len(jobs) >= 12
    assert not tl.blocking  # the loop never touched the disk
    assert lines_with(tl, "read 12 rows")


def assert_cut_at_two_seconds(tl: Timeline) -> None:
    slow = named(tl, "slow-report")
    main = running(tl, "main")
    # main waits on the task it wraps (as any wait on a task looks), under a 2 s deadline.
    first = next(iv for iv in tl.intervals(main.id) if iv.state == State.WAITING)
    assert (first.kind, first.ref) == (Wait.TASK, slow.id)
    assert first.deadline is not None and 1.9 <= (first.deadline - first.start) / S <= 2.0
    deadline = format_short(first.deadline - first.start)  # "2.0 s", less the step's own time
    assert words.wait(tl, first) == f"task slow-report (timeout {deadline})"
    assert not any(
        iv.kind == Wait.TIMEOUT for info in tl.tasks for iv in waits(tl, info, Wait.TIMEOUT)
    )
    assert slow.outcome == Outcome.CANCELLED
    assert 2.0 <= life(slow) < 2.5
    assert lines_with(tl, "gave up after")
    assert lines_with(tl, "cancelled: True")
    assert life(running(tl, "main")) < 3.0  # nobody waited the full ten seconds


LESSONS["07_wait_for"] = assert_cut_at_two_seconds
LESSONS["08_timeout"] = assert_cut_at_two_seconds


@lesson("09_semaphore")
def _(tl: Timeline) -> None:
    fetches = with_prefix(tl, "fetch-")
    assert len(fetches) == 20
    assert 4 < concurrency_gain(tl) < 6  # five at a time: waiting for a permit is not work

    def acquired(task: TaskInfo) -> int:
        """The start of the first step after its last semaphore wait: it holds the permit."""
        intervals = tl.intervals(task.id)
        last = max(
            (
                i
                for i, iv in enumerate(intervals)
                if iv.state == State.WAITING and iv.kind == Wait.SEMAPHORE
            ),
            default=-1,
        )
        return next(iv.start for iv in intervals[last + 1 :] if iv.state == State.RUNNING)

    holding = [(acquired(f), f.ended) for f in fetches]
    instants = sorted({iv.start for f in fetches for iv in tl.intervals(f.id)})
    in_flight = [sum(1 for a, e in holding if a <= t < e) for t in instants]
    assert max(in_flight) == 5
    waited = [f for f in fetches if waits(tl, f, Wait.SEMAPHORE)]
    assert len(waited) >= 15
    assert max(sum(iv.end - iv.start for iv in waits(tl, f, Wait.SEMAPHORE)) for f in waited) >= (
        0.5 * S
    )  # the last wave waited through the earlier ones
    # The semaphore itself: its five permits, the tasks in line for one, who holds them.
    gate = resource_named(tl, "gate")
    assert (gate["kind"], gate["capacity"], gate["max_in_use"]) == ("semaphore", 5, 5)
    assert gate["max_waiters"] >= 10 and gate["acquisitions"] == 20
    for fetch in waited:
        for wait in waits(tl, fetch, Wait.SEMAPHORE):
            assert wait.resource == gate["id"]
            assert words.wait(tl, wait).startswith("a permit of semaphore `gate` (5 of 5 in use")
    times, _ = tl.resources.levels(gate["id"])
    assert max(len(tl.resources.holders_at(gate["id"], t)) for t in times) == 5


@lesson("10_blocking_call")
def _(tl: Timeline) -> None:
    for n in (1, 2):
        starved = ready_seconds(tl, named(tl, f"blocking/beat-{n}"))
        assert starved >= 0.9, f"blocking/beat-{n} ready for only {starved:.3f} s"
        free = ready_seconds(tl, named(tl, f"fixed/beat-{n}"))
        assert free < 0.1, f"fixed/beat-{n} ready for {free:.3f} s"
    blocker = named(tl, "blocking/download")
    assert blocking_seconds(tl, blocker) >= 0.9
    assert blocking_seconds(tl, named(tl, "fixed/download")) == 0
    # while it blocks, it is where the watchdog saw the loop thread: in download()
    (block,) = [b for b in tl.blocking if b.task == blocker.id]
    at = tl.position(blocker.id, block.start + block.duration // 2)
    assert at is not None and at[1] in range(19, 21), at  # download()'s body
    fixed = named(tl, "fixed/download")
    assert waits(tl, fixed, Wait.EXECUTOR)  # the call went to a worker thread


@lesson("11_cpu_bound")
def _(tl: Timeline) -> None:
    in_loop = named(tl, "in-loop/compute")
    held = blocking_seconds(tl, in_loop)
    assert held >= 0.1
    assert ready_seconds(tl, named(tl, "in-loop/beat")) >= 0.5 * held
    in_process = named(tl, "in-process/compute")
    assert blocking_seconds(tl, in_process) == 0
    assert waits(tl, in_process, Wait.EXECUTOR)
    jobs = [span for worker in tl.workers for span in tl.job_spans(worker)]
    assert any("series" in span.label for span in jobs)
    assert ready_seconds(tl, named(tl, "in-process/beat")) < 0.1


@lesson("12_threads_vs_asyncio")
def _(tl: Timeline) -> None:
    threads, aio = named(tl, "threads"), named(tl, "aiohttp")
    jobs = {
        worker: [s for s in tl.job_spans(worker) if threads.created <= s.start < threads.ended]
        for worker in tl.workers
    }
    busy = [spans for spans in jobs.values() if spans]
    assert len(busy) == 5  # one download per worker thread
    latest_start = max(s.start for spans in busy for s in spans)
    assert all(s.end is not None and s.end > latest_start for spans in busy for s in spans)
    during_aio = [s for w in tl.workers for s in tl.job_spans(w) if s.start >= aio.created]
    assert not during_aio  # aiohttp needs no threads
    for phase in (threads, aio):
        assert 1.0 <= life(phase) < 2.0  # the same I/O, about the same time


@lesson("13_taskgroup")
def _(tl: Timeline) -> None:
    failed = named(tl, "mirror-b")
    assert failed.outcome == Outcome.ERROR
    assert "ConnectionError" in failed.outcome_detail
    for name in ("mirror-a", "mirror-c"):
        sibling = named(tl, name)
        assert sibling.outcome == Outcome.CANCELLED
        assert sibling.ended - failed.ended < S // 10  # cancelled at once, not at 1 or 1.5 s
    main = running(tl, "main")
    assert main.outcome == Outcome.RESULT  # caught by except*
    assert lines_with(tl, "the group failed: ConnectionError")
    # main waits for its group's three tasks, by name, and wakes as one of them failed.
    exit_wait, again = waits(tl, main, Wait.TASK_GROUP)
    assert exit_wait.ref == 3
    assert words.wait(tl, exit_wait) == "its task group's 3 tasks: mirror-a, mirror-b, mirror-c"
    # Woken, it waits again: its tasks are done (the siblings ran first), the group not yet.
    assert words.wait(tl, again) == "its task group's end (its tasks are done)"
    readies = [iv for iv in tl.intervals(main.id) if iv.state == State.READY]
    assert [(iv.kind, iv.ref) for iv in readies[1:2]] == [(Cause.GROUP_FAILED, failed.id)]
    assert words.cause(tl, readies[1]) == "task mirror-b in its task group failed"
    assert not any(iv.kind == Cause.CANCEL for iv in readies)  # main itself was not cancelled
    for name in ("mirror-a", "mirror-c"):
        (cut,) = (
            iv
            for iv in tl.intervals(named(tl, name).id)
            if iv.state == State.READY and iv.kind == Cause.GROUP_CANCEL
        )
        assert cut.ref == failed.id


@lesson("14_queue")
def _(tl: Timeline) -> None:
    served = lines_with(tl, "served order")
    assert len(served) == 12
    for n in (1, 2, 3):
        worker = named(tl, f"worker-{n}")
        assert sum(f"worker-{n} " in text for _, text in served) >= 2  # the work is shared
        assert waits(tl, worker, Wait.QUEUE_GET)
        assert worker.outcome == Outcome.RESULT
        for woken in wake_ups(tl, worker, Wait.QUEUE_GET):  # by an order put on the queue
            assert words.cause(tl, woken) == "producer put an item in queue `orders`"
    orders = resource_named(tl, "orders")
    assert (orders["kind"], orders["capacity"], orders["max_in_use"]) == ("queue", 2, 2)
    assert orders["acquisitions"] == 15  # twelve orders, three None
    producer = named(tl, "producer")
    full = waits(tl, producer, Wait.QUEUE_PUT)  # the full queue paces it
    assert full
    for wait in full:
        assert wait.resource == orders["id"]
        assert words.wait(tl, wait) == "room in queue `orders` (full: 2 of 2)"


@lesson("15_lock")
def _(tl: Timeline) -> None:
    turns = [(t, text.split()) for t, text in output(tl)]
    assert len(turns) == 16
    assert concurrency_gain(tl) < 1.5  # one at a time, however long each waits for the lock
    for (_, took), (_, left) in zip(turns[::2], turns[1::2], strict=True):
        assert (took[1], left[1]) == ("takes", "leaves") and took[0] == left[0]
    clerks = with_prefix(tl, "clerk-")
    assert sum(1 for c in clerks if waits(tl, c, Wait.LOCK)) >= 3
    assert life(running(tl, "main")) >= 0.8  # eight turns of 0.1 s, never overlapping
    # The lock: taken in the order the clerks say they take it; each one waiting in line is
    # woken by the clerk that last left it.
    printer = resource_named(tl, "printer")
    assert (printer["kind"], printer["max_in_use"], printer["acquisitions"]) == ("lock", 1, 8)
    takers = [tl.task(task).name for task in holders_in_turn(tl, printer["id"])]
    assert takers == [took[0] for _, took in turns[::2]]
    for clerk in clerks:
        for woken in wake_ups(tl, clerk, Wait.LOCK):
            left = [text.split()[0] for t, text in output(tl) if t <= woken.start]
            assert words.cause(tl, woken) == f"{left[-1]} released lock `printer`"


@lesson("16_cancel")
def _(tl: Timeline) -> None:
    backup = named(tl, "backup")
    cancelled = [
        iv for iv in tl.intervals(backup.id) if iv.state == State.READY and iv.kind == Cause.CANCEL
    ]
    assert len(cancelled) == 1
    at = (cancelled[0].start - backup.created) / S
    assert 0.5 <= at < 1.0  # cut mid-sleep, long before its five seconds
    assert backup.outcome == Outcome.CANCELLED
    assert (backup.ended - cancelled[0].start) / S >= 0.1  # the finally block awaited
    assert printed_before(tl, "backup: tidy again", "main: the backup was cancelled")
    main = running(tl, "main")
    assert cancelled[0].ref == main.id  # main cancelled it...
    assert words.cause(tl, cancelled[0]) == "task main() cancelled it"
    # ...and main itself was not: it wakes as the task it awaited ended, cancelled.
    main_ready = [iv for iv in tl.intervals(main.id) if iv.state == State.READY]
    assert not any(iv.kind == Cause.CANCEL for iv in main_ready)
    woken = main_ready[-1]
    assert (woken.kind, woken.ref) == (Cause.TASK, backup.id)
    assert woken.start >= backup.ended
    assert words.state(tl, woken) == "ready: task backup ended (cancelled)"


@lesson("17_thousand_tasks")
def _(tl: Timeline) -> None:
    pings = with_prefix(tl, "ping-")
    assert len(pings) == 1000
    assert all(p.outcome == Outcome.RESULT for p in pings)
    assert len(tl.alive_at(max(p.created for p in pings) + S // 20)) >= 1000
    assert life(running(tl, "main")) < 3.0  # the waits overlap: 300 s of sleeping in under 3
