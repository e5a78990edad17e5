"""Tasks grouped by the coroutine they run: a server's three thousand ``handle`` tasks are one
group, with how long they lived and how long they waited in the ready queue.

A group is the tasks of one coroutine function (its qualified name and where it is defined),
in the order they were created. A coroutine that made more than ``FOLD_AT`` tasks starts
folded in the timeline: its group reads as one row. Pure Python; the spreads cost
O(n log n) in the group's tasks, so the app asks for the groups it shows.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate, pairwise

from loopviz.model.facts import TaskInfo
from loopviz.model.timeline import Timeline
from loopviz.trace import Outcome

FOLD_AT = 20  # a coroutine with more tasks than this starts folded


@dataclass(slots=True)
class Group:
    """The tasks of one coroutine function, in creation order."""

    key: str  # its qualified name and where it is defined: unique per function
    coro: str
    file: str
    line: int
    library: bool  # asyncio's or a library's coroutine (its tasks sit in the folded lane)
    tasks: list[int] = field(default_factory=list)

    @property
    def folds(self) -> bool:
        """Whether it starts folded: too many tasks to read lane by lane."""
        return len(self.tasks) > FOLD_AT


def group_key(info: TaskInfo) -> str:
    return f"{info.coro}@{info.coro_file}:{info.coro_line}"


class Grouping:
    """The run's tasks by coroutine, kept up to date as tasks are created (a live run).
    ``groups`` is in the order of each group's first task."""

    def __init__(self) -> None:
        self.groups: dict[str, Group] = {}
        self.of_task: dict[int, Group] = {}
        self._seen = 0

    def update(self, timeline: Timeline) -> None:
        """Take in the tasks created since the last update."""
        tasks = timeline.tasks
        for info in tasks[self._seen :]:
            key = group_key(info)
            group = self.groups.get(key)
            if group is None:
                group = Group(key, info.coro, info.coro_file, info.coro_line, info.library)
                self.groups[key] = group
            group.tasks.append(info.id)
            self.of_task[info.id] = group
        self._seen = len(tasks)


@dataclass(frozen=True, slots=True)
class Spread:
    """How a duration spreads over a group's tasks: the median, the 99th percentile (of the
    tasks sorted by it, the one 99% of the way) and the longest, with its task."""

    p50: int
    p99: int
    longest: int
    task: int


@dataclass(frozen=True, slots=True)
class GroupStats:
    """A group over the run so far: how many tasks, how many are not done (their lifetime
    counts up to the end), how many raised or were cancelled, their lifetimes and their
    total time in the ready queue."""

    count: int
    unfinished: int
    raised: int
    cancelled: int
    lifetime: Spread
    ready: Spread


def percentile(ordered: list[int], p: float) -> int:
    """The nearest-rank percentile ``p`` (0-100) of ``ordered``, sorted ascending."""
    if not ordered:
        return 0
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def spread(values: list[tuple[int, int]]) -> Spread:
    """The spread of (duration, task) pairs."""
    if not values:
        return Spread(0, 0, 0, 0)
    ordered = sorted(values)
    durations = [duration for duration, _ in ordered]
    longest, task = max(values, key=lambda pair: pair[0])  # the first of equal longest
    return Spread(percentile(durations, 50), percentile(durations, 99), longest, task)


def stats(timeline: Timeline, group: Group) -> GroupStats:
    """The group's spreads of lifetime and ready time, over the run so far."""
    end = timeline.end
    lifetimes, ready = [], []
    unfinished = raised = cancelled = 0
    for task in group.tasks:
        info = timeline.task(task)
        if info.ended is None:
            unfinished += 1
        raised += info.outcome == Outcome.ERROR
        cancelled += info.outcome == Outcome.CANCELLED
        lifetimes.append(((info.ended if info.ended is not None else end) - info.created, task))
        ready.append((timeline.totals(task).ready, task))
    return GroupStats(
        len(group.tasks), unfinished, raised, cancelled, spread(lifetimes), spread(ready)
    )


def alive(timeline: Timeline, tasks: list[int], edges: list[int]) -> list[float]:
    """How many of ``tasks`` were alive (created and not done) in each column between
    ``edges``: the average over its time (a column of no width: just after its time)."""
    created = sorted(timeline.task(task).created for task in tasks)
    ended = sorted(e for task in tasks if (e := timeline.task(task).ended) is not None)
    created_sums = [0, *accumulate(created)]
    ended_sums = [0, *accumulate(ended)]

    def lived(x: int) -> int:
        """The tasks' time alive up to ``x``, summed."""
        n, m = bisect_right(created, x), bisect_right(ended, x)
        return x * n - created_sums[n] - (x * m - ended_sums[m])

    def count(x: int) -> int:
        return bisect_right(created, x) - bisect_right(ended, x)

    integrals = [lived(x) for x in edges]
    return [
        (integrals[c + 1] - integrals[c]) / (b - a) if b > a else float(count(a))
        for c, (a, b) in enumerate(pairwise(edges))
    ]
