"""A timeline bucketed into screen columns: what each column of a lane looks like.

A view concern, kept apart from the model's queries it is built on and kept pure Python so
it is tested and measured without a screen. A column covers ``[edges[c], edges[c + 1])``:
the edges come from the view's axis (equal slices of a window, a folded start-up gap first,
or the times of events drawn one per column), so these functions do not care how time maps
to columns. A column of no width is one or more events sharing a clock reading, drawn in
step order: it shows the state just after its last event (``ties`` says which tasks change
again at that reading after it). Each costs O(columns x log n) per lane.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass

from loopviz.model.facts import State
from loopviz.model.timeline import Timeline


@dataclass(frozen=True, slots=True)
class Column:
    """What a lane shows in one screen column covering [t0, t1)."""

    state: State | None  # None: the task did not exist then
    kind: int = 0  # the Wait kind when state is WAITING (or ``ghost``)
    blocking: bool = False  # a blocking step overlaps this column
    ran: bool = False  # some step ran in this column, even if another state took longer
    ghost: bool = False  # nothing else here, but a wait cut short would have gone on


_BLOCKED = Column(State.RUNNING, 0, True, True)
_RUNNING = Column(State.RUNNING, 0, False, True)
_READY = Column(State.READY)
_DONE = Column(State.DONE)
_ABSENT = Column(None)

# Per column of no width: the tasks that change again at its clock reading after its last
# event, each with its segment current just after it (``steps.ties_after``).
Ties = Mapping[int, Mapping[int, int]]


def even_edges(t0: int, t1: int, columns: int) -> list[int]:
    """The edges of ``columns`` equal slices of [t0, t1)."""
    width = (t1 - t0) / columns
    return [t0 + round(width * c) for c in range(columns + 1)]


def task_columns(
    timeline: Timeline, task_id: int, edges: list[int], ties: Ties | None = None
) -> list[Column]:
    """The task's look in the columns between ``edges``: each column shows the state it
    spent most time in (a blocking step wins), and ``ran`` marks columns where a step ran
    at all, so a short step stays visible when zoomed out without making a task that mostly
    waits look busy. A column of no width (events in step order) shows the state after its
    last event. Drawn in time, where the lane would be empty a wait that a cancellation cut
    short is drawn on to its deadline (``ghost``); in step order (``ties`` given) it is not:
    a wait that never happened has no events."""
    info = timeline.task(task_id)
    columns = len(edges) - 1
    sums = timeline.sums(task_id, edges)
    blocks = timeline.blocks_of(task_id)
    block_starts = [start for start, _ in blocks]
    since = timeline.blocking_since(task_id)  # still blocking: running since then
    end = timeline.end
    result: list[Column] = []
    for c in range(columns):
        a, b = edges[c], edges[c + 1]
        if b <= a:
            tied = ties.get(c) if ties is not None else None
            result.append(_after(timeline, task_id, a, tied, block_starts, since))
            continue
        if b <= info.created:
            result.append(_ABSENT)
            continue
        if since is not None and b > since and a <= end:
            result.append(_BLOCKED)
            continue
        (w0, r0, x0, n0), (w1, r1, x1, n1) = sums[c], sums[c + 1]
        k = bisect_left(block_starts, b) - 1
        if k >= 0 and blocks[k][1] > a:
            result.append(_BLOCKED)
            continue
        done = max(b - max(a, info.ended), 0) if info.ended is not None else 0
        best = max(
            (x1 - x0, State.RUNNING), (done, State.DONE), (r1 - r0, State.READY),
            (w1 - w0, State.WAITING),
            key=lambda pair: pair[0],
        )  # fmt: skip
        state = best[1]
        kind = timeline.wait_kind_in(task_id, a, b) if state == State.WAITING else 0
        # Steps begun by b count one that begins at b: in time a hair, in step order the
        # next column's (its own event), where running time alone says whether one ran.
        ran = x1 > x0 or (n1 > n0 and ties is None)
        result.append(Column(state, kind, False, ran))
    if ties is None:
        for wait in timeline.cut_short(task_id):
            _ghost(result, edges, wait.end or end, wait.deadline or end, wait.kind)
    return result


def _after(
    timeline: Timeline,
    task_id: int,
    t: int,
    tied: Mapping[int, int] | None,
    block_starts: list[int],
    since: int | None,
) -> Column:
    """The task's look just after an event at ``t`` (a column of no width)."""
    info = timeline.task(task_id)
    if tied is not None and task_id in tied:
        index = tied[task_id]
        if index < 0:
            return _ABSENT
        interval = timeline.segment(task_id, index)
    elif t < info.created:
        return _ABSENT
    elif info.ended is not None and t >= info.ended:
        return _DONE
    else:
        found = timeline.state_at(task_id, t)
        if found is None:
            return _ABSENT
        interval = found
    state = interval.state
    if state is State.RUNNING:
        k = bisect_right(block_starts, t) - 1
        blocking = k >= 0 and timeline.blocks_of(task_id)[k][1] > t
        return _BLOCKED if blocking or (since is not None and since <= t) else _RUNNING
    if state is State.WAITING:
        return Column(State.WAITING, interval.kind)
    return _READY if state is State.READY else _DONE


def _ghost(result: list[Column], edges: list[int], start: int, deadline: int, kind: int) -> None:
    """Mark the empty columns (the task was done) of [start, deadline) as a ghost of ``kind``."""
    first = max(0, bisect_right(edges, start) - 1)
    last = min(len(result), bisect_left(edges, deadline))
    ghost = Column(State.DONE, kind, ghost=True)
    for c in range(first, last):
        if result[c].state is State.DONE:
            result[c] = ghost


def loop_columns(timeline: Timeline, edges: list[int]) -> list[bool | None]:
    """Per column: True busy, False idle (whichever took more of it; a column of no width:
    the loop just then), None no loop."""
    sums = [timeline.loop_totals(x) for x in edges]
    result: list[bool | None] = []
    for c in range(len(edges) - 1):
        if edges[c + 1] <= edges[c]:
            is_open, idle, _ = timeline.loop_at(edges[c])
            result.append(not idle if is_open else None)
            continue
        busy = sums[c + 1][0] - sums[c][0]
        idle_time = sums[c + 1][1] - sums[c][1]
        result.append(None if busy == idle_time == 0 else busy >= idle_time)
    return result
