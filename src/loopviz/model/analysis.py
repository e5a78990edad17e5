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

# Waiting on other tasks is not a task's own work: a parent awaiting a gather of its
# children would otherwise count the children's time twice in the concurrency gain.
_DELEGATING: set[int] = {Wait.TASK, Wait.GATHER, Wait.TASK_GROUP}


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the summary's warnings (``text``), from the lint named ``lint``."""

    lint: str
    t: int
    text: str


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


LINTS = (BlockingLint(), NeverFinishedLint(), ProblemLint())


def findings(timeline: Timeline) -> list[Finding]:
    return [finding for lint in LINTS for finding in lint.check(timeline)]


def concurrency_gain(timeline: Timeline) -> float:
    """Task time (lifetimes, less time spent awaiting other tasks) per second of loop time:
    about 2 when two tasks' sleeps overlap, 1 when everything ran one after another."""
    busy, idle = timeline.loop_totals()
    loop_time = busy + idle or timeline.end
    if not loop_time:
        return 0.0
    own = 0
    for info in timeline.tasks:
        end = timeline.end if info.ended is None else info.ended
        own += end - info.created - timeline.wait_time(info.id, _DELEGATING)
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
