"""What a whole run did, and what looks wrong in it: the figures and findings that the
summary table, its JSON and the app's summary pane report.

The findings are small lint objects in the spirit of tokio-console's: each checks the
timeline and returns findings whose ``text`` (from ``words``) is one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from loopviz.model import words
from loopviz.model.facts import BlockingStep, Interval, State
from loopviz.model.timeline import Timeline
from loopviz.trace import Wait

# Waits on something a single task can hold, that the waiter waits for it to let go of (not
# a condition's ``wait()``: it let go of the lock and waits for a notify, from anyone).
_HELD_WAITS = frozenset({Wait.LOCK, Wait.SEMAPHORE})

# Waits that are only waiting in line: for other tasks (awaited, gathered, in a task group),
# or for a lock, a permit, an event, a condition or a queue that another task controls.
_IN_LINE: set[int] = {
    Wait.TASK, Wait.GATHER, Wait.LOCK, Wait.SEMAPHORE, Wait.EVENT, Wait.CONDITION,
    Wait.QUEUE_GET, Wait.QUEUE_PUT, Wait.QUEUE_JOIN, Wait.TASK_GROUP, Wait.BARRIER,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the summary's warnings (``text``), from the lint named ``lint``."""

    lint: str
    t: int
    text: str
    tasks: tuple[int, ...] = ()  # the tasks it is about, where it names several


class BlockingLint:
    """A step or callback held the loop for longer than the trace's threshold."""

    name = "blocking"

    def check(self, timeline: Timeline) -> Iterator[Finding]:
        for step in timeline.blocking:
            yield Finding(self.name, step.start, words.blocked(timeline, step))


class NeverFinishedLint:
    """A task was still pending when the program ended: it was never awaited or cancelled."""

    name = "never-finished"

    def check(self, timeline: Timeline) -> Iterator[Finding]:
        if not timeline.finished:
            return  # a run still going (or cut short): its tasks may yet finish
        for info in timeline.tasks:
            if info.ended is None:
                yield Finding(self.name, info.created, words.never_finished(timeline, info.id))


class ProblemLint:
    """What the loop itself reported, such as a task exception that was never retrieved."""

    name = "problem"

    def check(self, timeline: Timeline) -> Iterator[Finding]:
        for problem in timeline.problems:
            lint = "never-retrieved" if "never retrieved" in problem.message else self.name
            yield Finding(lint, problem.t, words.problem(timeline, problem))


class UntracedLint:
    """Part of the run is not in the trace: a loop loopviz cannot trace (uvloop), one replaced
    by a traced loop, or Python processes it does not follow where the program's loop ran."""

    name = "untraced"

    def check(self, timeline: Timeline) -> Iterator[Finding]:
        program = words.program_name(timeline)
        followed = [p.pid for p in timeline.processes] if timeline.finished else None
        lines = words.untraced(program, timeline.loops_opened, timeline.untraced, followed)
        for line in lines:
            yield Finding(self.name, 0, line)


class LostLint:
    """Events the trace misses: the recorder could not write them, or the process was killed
    before it sent them."""

    name = "lost"

    def check(self, timeline: Timeline) -> Iterator[Finding]:
        program = words.program_name(timeline)
        for note in timeline.lost:
            yield Finding(self.name, note.t, words.lost(program, note))


class DeadlockLint:
    """Tasks waiting on each other in a cycle (a task awaiting a task that awaits it; two
    tasks each holding a lock the other waits for): none of them can go on. Checked at the
    last moment seen, so a live run that hangs shows it while it hangs."""

    name = "deadlock"

    def check(self, timeline: Timeline) -> Iterator[Finding]:
        cycle = wait_cycle(timeline, timeline.end)
        if cycle:
            formed = max(interval.start for _, interval in cycle)
            tasks = tuple(task for task, _ in cycle)
            yield Finding(self.name, formed, words.deadlock(timeline, cycle), tasks)


LINTS = (
    UntracedLint(),
    LostLint(),
    BlockingLint(),
    NeverFinishedLint(),
    ProblemLint(),
    DeadlockLint(),
)


def findings(timeline: Timeline) -> list[Finding]:
    return [finding for lint in LINTS for finding in lint.check(timeline)]


def concurrency_gain(timeline: Timeline) -> float:
    """Time spent on work that can overlap (steps, sleeps, I/O, executor jobs) per second the
    loop was open: about 2 when two tasks' sleeps overlap, 1 when everything ran one after
    another. Waiting in line (on a task, a lock, a semaphore, an event, a condition or a
    queue) and waiting in the ready queue do not count."""
    busy, idle = timeline.loop_totals(timeline.end)  # what a --window kept: its tasks'
    loop_time = busy + idle or timeline.end - timeline.kept_from
    if not loop_time:
        return 0.0
    own = 0
    for info in timeline.tasks:
        totals = timeline.totals(info.id)
        own += totals.running + totals.waiting - timeline.wait_time(info.id, _IN_LINE)
    return own / loop_time


def longest_step(timeline: Timeline) -> BlockingStep | None:
    """The longest task step, placed where it blocked if the watchdog saw it, else where
    it resumed."""
    found = _longest_run(timeline)
    if found is None:
        return None
    task, step = found
    for blocked in timeline.blocking:
        if blocked.task == task and blocked.start == step.start:
            return blocked
    duration = (step.end or timeline.end) - step.start
    return BlockingStep(task, step.start, duration, step.file, step.line)


def peak_waiting(timeline: Timeline) -> tuple[int, int]:
    """(most tasks waiting at once, when it first happened)."""
    changes: list[tuple[int, int]] = []
    for info in timeline.tasks:
        for _, start, end in timeline.runs(info.id, State.WAITING):
            changes.append((start, 1))
            if end is not None:
                changes.append((end, -1))
    changes.sort()  # at equal times, ends (-1) come before starts
    peak = count = 0
    when = 0
    for t, delta in changes:
        count += delta
        if count > peak:
            peak, when = count, t
    return peak, when


def _longest_run(timeline: Timeline) -> tuple[int, Interval] | None:
    """(task, interval) of the longest finished task step; None if no step ran."""
    best: tuple[int, int, int] | None = None  # (duration, task, segment)
    for info in timeline.tasks:
        for i, start, end in timeline.runs(info.id, State.RUNNING):
            if end is not None and (best is None or end - start > best[0]):
                best = (end - start, info.id, i)
    return None if best is None else (best[1], timeline.segment(best[1], best[2]))


def wait_cycle(timeline: Timeline, t: int) -> list[tuple[int, Interval]] | None:
    """Tasks that wait on each other in a cycle at t, each with its wait, in the order each
    waits on the next; None if there is no such cycle. A task waits on another when it
    awaits that task, or a lock (a condition's lock, a semaphore) that one task alone holds."""
    resources = timeline.resources
    waits_on: dict[int, tuple[int, Interval]] = {}
    for task in timeline.alive_at(t):
        interval = timeline.state_at(task, t)
        if interval is None or interval.state is not State.WAITING:
            continue
        if interval.kind == Wait.TASK:
            waits_on[task] = (interval.ref, interval)
        elif interval.resource and interval.kind in _HELD_WAITS:
            holders = {holder.task for holder in resources.holders_at(interval.resource, t)}
            if len(holders) == 1:
                waits_on[task] = (holders.pop(), interval)
    for start in waits_on:
        path: list[int] = []
        node = start
        while node in waits_on and node not in path:
            path.append(node)
            node = waits_on[node][0]
        if node in path:
            cycle = path[path.index(node) :]
            return [(task, waits_on[task][1]) for task in cycle]
    return None
