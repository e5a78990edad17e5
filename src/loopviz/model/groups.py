"""Tasks grouped by the coroutine they run: a server's three thousand ``handle`` tasks are one
group, with how long they lived and how long they waited in the ready queue.

A group is the tasks of one coroutine function (its qualified name and where it is defined),
in the order they were created. A coroutine that made more than ``FOLD_AT`` tasks starts
folded in the timeline: its group reads as one row. Pure Python. What a group's row draws
(how many of its tasks were alive per column, the spreads) is kept as tasks are created and
end (:class:`Tally`), so a redraw costs the same whatever the group's size.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_right, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, islice, pairwise

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
    return ordered[_rank(len(ordered), p)]


def _rank(n: int, p: float) -> int:
    """Where the nearest-rank percentile ``p`` of ``n`` sorted values is (from 0)."""
    return max(0, math.ceil(p / 100 * n) - 1)


def kth(a: Sequence[int], b: Sequence[int], k: int) -> int:
    """The ``k``-th smallest (from 0) of sorted ``a`` and ``b`` taken together, found in
    O(log) steps: a group's many finished tasks and its few unfinished ones are not merged."""
    lo, hi = max(0, k + 1 - len(b)), min(k + 1, len(a))
    while lo < hi:  # how many to take from ``a``: the fewest after which ``b`` has no bigger
        i = (lo + hi) // 2
        if b[k - i] > a[i]:
            lo = i + 1
        else:
            hi = i
    j = k + 1 - lo
    return max(a[lo - 1] if lo else b[j - 1], b[j - 1] if j else a[lo - 1])


class _Sorted:
    """Numbers kept sorted, with the sums of their first ``i`` (made again from the first
    change on, when asked): numbers that come in order, as times mostly do, cost O(1)."""

    def __init__(self) -> None:
        self.values = array("q")
        self._sums = [0]  # Python ints: a sum of many times can pass 2^63

    def add(self, value: int) -> None:
        values = self.values
        if not values or value >= values[-1]:
            values.append(value)
            if len(self._sums) == len(values):
                self._sums.append(self._sums[-1] + value)
            return
        i = bisect_right(values, value)
        values.insert(i, value)
        del self._sums[i + 1 :]

    def sums(self) -> list[int]:
        sums, values = self._sums, self.values
        known = len(sums) - 1  # the sums of the first ``known`` values are right
        if known < len(values):
            sums.extend(islice(accumulate(values[known:], initial=sums[-1]), 1, None))
        return sums


class Lives:
    """When a set of tasks began and ended, sorted, with running sums: how many of them were
    alive per column costs O(columns x log tasks), whatever their number. Tasks are added as
    they are created (``add``), their ends taken in as they come (``update``, which looks only
    at the tasks not ended when last seen)."""

    def __init__(self) -> None:
        self.created = _Sorted()
        self.ended = _Sorted()
        self.open: list[int] = []  # tasks not ended when last seen, in creation order
        self.count = 0

    def add(self, timeline: Timeline, tasks: Iterable[int]) -> None:
        for task in tasks:
            info = timeline.task(task)
            self.created.add(info.created)
            self.count += 1
            if info.ended is None:
                self.open.append(task)
            else:
                self._ended(timeline, info)

    def update(self, timeline: Timeline) -> None:
        """Take in the ends of the tasks that were not done when last seen."""
        still = []
        for task in self.open:
            info = timeline.task(task)
            if info.ended is None:
                still.append(task)
            else:
                self._ended(timeline, info)
        self.open = still

    def _ended(self, timeline: Timeline, info: TaskInfo) -> None:
        assert info.ended is not None
        self.ended.add(info.ended)

    def alive(self, edges: list[int]) -> list[float]:
        """How many of the tasks were alive (created and not done) in each column between
        ``edges``: the average over its time (a column of no width: just after its time)."""
        created, ended = self.created.values, self.ended.values
        created_sums, ended_sums = self.created.sums(), self.ended.sums()

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


class Tally(Lives):
    """A group's tasks as its row and the inspector show them: their lives, and, kept sorted
    as each task ends, the lifetimes and ready times of those done; the few not done are
    looked at when asked (``stats``). So a redraw costs the same for 100,000 tasks as for
    3,000."""

    def __init__(self) -> None:
        super().__init__()
        self._order: dict[int, int] = {}  # task -> its place in creation order
        self._lifetimes: list[int] = []  # of the tasks done, sorted
        self._readies: list[int] = []
        self._longest = (-1, 0, 0)  # (lifetime, -place, task): the first of equal longest
        self._longest_ready = (-1, 0, 0)
        self.raised = self.cancelled = 0

    def add(self, timeline: Timeline, tasks: Iterable[int]) -> None:
        tasks = list(tasks)
        for task in tasks:
            self._order[task] = len(self._order)
        super().add(timeline, tasks)

    def _ended(self, timeline: Timeline, info: TaskInfo) -> None:
        super()._ended(timeline, info)
        assert info.ended is not None
        life, ready = info.ended - info.created, timeline.totals(info.id).ready
        insort(self._lifetimes, life)
        insort(self._readies, ready)
        place = -self._order[info.id]
        self._longest = max(self._longest, (life, place, info.id))
        self._longest_ready = max(self._longest_ready, (ready, place, info.id))
        self.raised += info.outcome == Outcome.ERROR
        self.cancelled += info.outcome == Outcome.CANCELLED

    def stats(self, timeline: Timeline) -> GroupStats:
        """The spreads over the run so far (a task not done: its lifetime up to the end)."""
        end = timeline.end
        lives, readies = [], []
        longest, longest_ready = self._longest, self._longest_ready
        for task in self.open:
            info = timeline.task(task)
            life, ready = end - info.created, timeline.totals(task).ready
            lives.append(life)
            readies.append(ready)
            place = -self._order[task]
            longest = max(longest, (life, place, task))
            longest_ready = max(longest_ready, (ready, place, task))
        return GroupStats(
            self.count,
            len(self.open),
            self.raised,
            self.cancelled,
            self._spread(self._lifetimes, sorted(lives), longest),
            self._spread(self._readies, sorted(readies), longest_ready),
        )

    def _spread(self, done: list[int], rest: list[int], longest: tuple[int, int, int]) -> Spread:
        n = len(done) + len(rest)
        if not n:
            return Spread(0, 0, 0, 0)
        p50, p99 = (kth(done, rest, _rank(n, p)) for p in (50, 99))
        return Spread(p50, p99, longest[0], longest[2])


def stats(timeline: Timeline, group: Group) -> GroupStats:
    """The group's spreads of lifetime and ready time, over the run so far."""
    tally = Tally()
    tally.add(timeline, group.tasks)
    return tally.stats(timeline)


def alive(timeline: Timeline, tasks: list[int], edges: list[int]) -> list[float]:
    """How many of ``tasks`` were alive in each column between ``edges`` (``Lives.alive``)."""
    lives = Lives()
    lives.add(timeline, tasks)
    return lives.alive(edges)
