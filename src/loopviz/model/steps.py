"""The run as a sequence of steps: what the loop holds at each event.

The timeline answers "what is each task doing at t"; this module arranges that the way the
loop itself holds it, for the step view's loop panel and the ``steps`` transcript: the task
whose step runs, the ready queue in the order the loop will run it, the timers soonest
first, the I/O waits and the executor jobs. Events are numbered in time order
(``Timeline.moment``); at a step number the loop's state includes that event and none after
it, even when several events share one clock reading. In a run of several processes the loop
shown is the one of the process the event is about (each has its own loop, ready queue and
timers); of a child's loop the trace says only what its tasks do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from loopviz.model.facts import (
    BlockingStep,
    Interval,
    Line,
    LoopSnapshot,
    Moment,
    Parked,
    Queued,
    Segment,
    State,
)
from loopviz.model.processes import PROCESS_IDS
from loopviz.model.timeline import Timeline
from loopviz.trace import Wait

# Waits the loop watches a file descriptor for (the selector), rather than a timer.
IO_KINDS: frozenset[int] = frozenset({Wait.IO, Wait.HTTP})


@dataclass(frozen=True, slots=True)
class Step:
    """One event of the run, numbered, with the loop's state just after it."""

    index: int
    moment: Moment
    loop: LoopSnapshot


def snapshot(timeline: Timeline, index: int) -> LoopSnapshot:
    """The loop's state just after event ``index`` (-1: before the first)."""
    if index < 0:
        return _arrange(timeline, 0, [])
    t = timeline.moment_time(index)
    process = timeline.moment(index).task // PROCESS_IDS
    before = ties_after(timeline, index)
    states: list[tuple[int, Interval]] = []
    for task in dict.fromkeys([*timeline.alive_at(t), *before]):
        if task in before:
            if before[task] < 0:
                continue  # created by a later event
            interval = timeline.segment(task, before[task])
        else:
            found = timeline.state_at(task, t)
            if found is None:
                continue
            interval = found
        states.append((task, interval))
    return _arrange(timeline, t, states, process)


def ties_after(timeline: Timeline, index: int) -> dict[int, int]:
    """The tasks that events after ``index`` at its clock reading are about (they have not
    happened yet at ``index``), each with the number of its segment current just after event
    ``index`` (-1: not created yet). Other tasks are in their state at that time."""
    t = timeline.moment_time(index)
    before: dict[int, int] = {}
    j = index + 1
    while j < timeline.moment_count() and timeline.moment_time(j) == t:
        event = timeline.moment(j).event
        if isinstance(event, Segment):
            before[event.task] = min(before.get(event.task, event.index), event.index) - 1
        j += 1
    return before


def steps(timeline: Timeline) -> Iterator[Step]:
    """Every event with the loop's state after it, walked once through the run (the
    transcript): each event updates the one task it is about."""
    now: dict[int, Interval] = {}
    count = timeline.moment_count()
    for i in range(count):
        moment = timeline.moment(i)
        event = moment.event
        if isinstance(event, Segment):
            if event.interval.state is State.DONE:
                now.pop(event.task, None)
            else:
                now[event.task] = event.interval
        if i + 1 < count and timeline.moment_time(i + 1) == moment.t:
            loop = snapshot(timeline, i)  # a tie: the next event shares this clock reading
        else:
            loop = _arrange(timeline, moment.t, now.items(), moment.task // PROCESS_IDS)
        yield Step(i, moment, loop)


def due_during(timeline: Timeline, step: BlockingStep) -> list[Parked]:
    """The tasks whose timers fell due while ``step`` held the loop: they had to wait."""
    end = step.start + step.duration
    due = []
    for task in timeline.alive_at(step.start):
        interval = timeline.state_at(task, step.start)
        if interval is not None and interval.state is State.WAITING:
            deadline = interval.deadline
            if deadline is not None and step.start <= deadline < end:
                due.append(Parked(task, interval))
    return sorted(due, key=lambda parked: parked.interval.deadline or 0)


def _arrange(
    timeline: Timeline, t: int, states: Iterable[tuple[int, Interval]], process: int = 0
) -> LoopSnapshot:
    """The loop of ``process`` (0: the program's own) given its tasks' ``states`` (the other
    processes' are left out)."""
    running = 0
    running_at: tuple[str, int] | None = None
    ready: list[Queued] = []
    overdue: list[Queued] = []
    timers: list[Parked] = []
    io: list[Parked] = []
    in_line: dict[int, list[tuple[int, int]]] = {}
    alive = False  # a task of the process is (its loop is open)
    for task, interval in states:
        if task // PROCESS_IDS != process:
            continue
        alive = True
        state = interval.state
        if state is State.RUNNING:
            running = task
            running_at = (interval.file, interval.line) if interval.line else None
            running_at = running_at or timeline.position(task, t)
        elif state is State.READY:
            (overdue if interval.overdue else ready).append(Queued(task, interval))
        elif state is State.WAITING:
            if interval.kind in IO_KINDS:
                io.append(Parked(task, interval))
            if interval.resource:
                in_line.setdefault(interval.resource, []).append((interval.start, task))
            if interval.deadline is not None:
                timers.append(Parked(task, interval))
    # The loop runs its ready queue first in, first out. A timer that fell due while a step
    # held the loop joins the queue only when the loop next looks at its timers: after
    # everything already in it, in the order of the deadlines.
    ready.sort(key=lambda queued: (queued.interval.start, queued.task))
    overdue.sort(key=lambda queued: (queued.interval.start, queued.task))
    timers.sort(key=lambda parked: (parked.interval.deadline or 0, parked.task))
    jobs = [job for job in timeline.jobs_at(t) if job.job // PROCESS_IDS == process]
    stopped = False
    if process:  # a child's loop: open while it has tasks, in select() while none can run
        is_open, idle, idle_until = alive or bool(jobs), not ready, None
    else:
        is_open, idle, idle_until = timeline.loop_at(t)
        stopped = not is_open and timeline.loop_stopped_at(t)
    return LoopSnapshot(
        t, is_open, running, running_at, _blocking_since(timeline, running, t), ready, overdue,
        timers, io, jobs, idle and not running, idle_until,
        [Line(rid, [task for _, task in sorted(line)]) for rid, line in sorted(in_line.items())],
        stopped,
    )  # fmt: skip


def _blocking_since(timeline: Timeline, task: int, t: int) -> int | None:
    """When the running task's step began, if that step held the loop past the threshold."""
    if not task:
        return None
    since = timeline.blocking_since(task)
    if since is not None and since <= t:
        return since
    for start, end in timeline.blocks_of(task):
        if start <= t < end:
            return start
    return None


def next_step(timeline: Timeline, index: int, direction: int, task: int = 0) -> int | None:
    """The number of the next (``direction`` > 0) or previous event from ``index``: of any
    task, or about ``task`` only (its state changes and its blocking steps); None when there
    is none that way."""
    count = timeline.moment_count()
    if not task:
        beside = index + direction
        return beside if 0 <= beside < count else None
    if 0 <= index < count:
        t = timeline.moment_time(index)
    else:
        t = -1 if direction > 0 else timeline.end + 1
    while True:
        found = _among_ties(timeline, index, direction, task, t)
        if found is not None:
            return found
        # A task's events are few among many: jump to the time of its next one.
        if direction > 0:
            moment = timeline.next_event(t, task)
            times = [s for s, _ in timeline.blocks_of(task) if s > t][:1]
        else:
            moment = timeline.prev_event(t, task)
            times = [s for s, _ in timeline.blocks_of(task) if s < t][-1:]
        times += [moment.t] if moment is not None else []
        if not times:
            return None
        t = min(times) if direction > 0 else max(times)
        index = -1 if direction > 0 else count


def _among_ties(timeline: Timeline, index: int, direction: int, task: int, t: int) -> int | None:
    """The first event about ``task`` at time ``t`` beyond ``index`` in ``direction``."""
    first, last = timeline.moment_index(t - 1) + 1, timeline.moment_index(t)
    span = range(first, last + 1) if direction > 0 else range(last, first - 1, -1)
    for i in span:
        if (i > index if direction > 0 else i < index) and timeline.moment(i).task == task:
            return i
    return None
