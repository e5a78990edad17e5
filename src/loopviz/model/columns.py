"""A timeline bucketed into screen columns: what each column of a lane looks like.

A view concern, kept apart from the model's queries it is built on and kept pure Python so
it is tested and measured without a screen. A column covers ``[edges[c], edges[c + 1])``:
the edges come from the view's axis (equal slices of a window, or a folded start-up gap
first), so these functions do not care how time maps to columns. Each costs
O(columns x log n) per lane.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
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
_ABSENT = Column(None)


def even_edges(t0: int, t1: int, columns: int) -> list[int]:
    """The edges of ``columns`` equal slices of [t0, t1)."""
    width = (t1 - t0) / columns
    return [t0 + round(width * c) for c in range(columns + 1)]


def task_columns(timeline: Timeline, task_id: int, edges: list[int]) -> list[Column]:
    """The task's look in the columns between ``edges``: each column shows the state it
    spent most time in (a blocking step wins), and ``ran`` marks columns where a step ran
    at all, so a short step stays visible when zoomed out without making a task that mostly
    waits look busy. Where the lane would be empty, a wait that a cancellation cut short
    is drawn on to its deadline (``ghost``)."""
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
        if b <= info.created or b <= a:
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
        result.append(Column(state, kind, False, x1 > x0 or n1 > n0))
    for wait in timeline.cut_short(task_id):
        _ghost(result, edges, wait.end or end, wait.deadline or end, wait.kind)
    return result


def _ghost(result: list[Column], edges: list[int], start: int, deadline: int, kind: int) -> None:
    """Mark the empty columns (the task was done) of [start, deadline) as a ghost of ``kind``."""
    first = max(0, bisect_right(edges, start) - 1)
    last = min(len(result), bisect_left(edges, deadline))
    ghost = Column(State.DONE, kind, ghost=True)
    for c in range(first, last):
        if result[c].state is State.DONE:
            result[c] = ghost


def loop_columns(timeline: Timeline, edges: list[int]) -> list[bool | None]:
    """Per column: True busy, False idle (whichever took more of it), None no loop."""
    sums = [timeline.loop_totals(x) for x in edges]
    result: list[bool | None] = []
    for c in range(len(edges) - 1):
        busy = sums[c + 1][0] - sums[c][0]
        idle = sums[c + 1][1] - sums[c][1]
        result.append(None if busy == idle == 0 else busy >= idle)
    return result
