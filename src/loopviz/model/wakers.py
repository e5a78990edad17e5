"""Who woke whom: the task whose step made another ready, and that step.

A READY segment says what made the task ready (``Interval.kind``, a ``trace.Cause``) and,
for a wake-up a task's step did (a release, a ``set()``, a ``put()``, a future's result, a
task's end, a cancellation), that task (``ref``). The timeline marks the waker's step at the
selected task's wake-up; the inspector and the narration say it (``words.cause``).
"""

from __future__ import annotations

from dataclasses import dataclass

from loopviz.model.facts import Interval, State
from loopviz.model.timeline import Timeline
from loopviz.trace import Cause, UseOp

# The causes whose ``ref`` is the task whose step woke the task.
_BY_A_TASK = frozenset(
    {Cause.FUTURE, Cause.TASK, Cause.CANCEL, Cause.GROUP_FAILED, Cause.GROUP_CANCEL}
)
# What a task does to a resource that wakes a task waiting on it.
_WAKING_USES = (UseOp.RELEASED, UseOp.SET, UseOp.PUT, UseOp.GOT, UseOp.NOTIFIED, UseOp.PASSED)


@dataclass(frozen=True, slots=True)
class Wake:
    """``woken`` (its READY segment) was made ready by ``waker``'s step [start, end)."""

    woken: Interval
    waker: int
    start: int
    end: int


def wake_at(timeline: Timeline, task_id: int, t: int) -> Wake | None:
    """The wake-up of ``task_id`` at ``t``, while it is ready or runs the step that wake-up
    led to, if another task's step woke it (None: a timer, I/O, an executor job, or no
    wake-up then)."""
    interval = timeline.state_at(task_id, t)
    if interval is not None and interval.state is State.RUNNING and interval.start:
        interval = timeline.state_at(task_id, interval.start - 1)
    if interval is None or interval.state is not State.READY or interval.overdue:
        return None
    if interval.kind not in _BY_A_TASK:
        return None
    waker = interval.ref
    if not waker and interval.resource:
        used = timeline.resources.last_use(interval.resource, interval.start, _WAKING_USES)
        waker = used[0] if used else 0
    if not waker or waker == task_id:
        return None
    step = _step_of(timeline, waker, interval.start)
    if step is None:
        return None
    return Wake(interval, waker, step.start, timeline.end if step.end is None else step.end)


def _step_of(timeline: Timeline, task_id: int, t: int) -> Interval | None:
    """The step of ``task_id`` running at ``t`` (or ending there: a task's last step)."""
    try:
        for at in (t, t - 1):
            interval = timeline.state_at(task_id, at)
            if interval is not None and interval.state is State.RUNNING:
                return interval
    except KeyError:  # a task the trace never announced
        return None
    return None
