"""The program's locks, semaphores, events, conditions, queues and barriers over time.

``Timeline`` folds the ``Resource`` and ``Use`` records in here; a task waiting on one is a
WAITING segment of its lane whose ``ref`` is the resource (trace format 4 on). This module
answers what a learner asks of a resource at a moment (its level, who holds it, who waits
in line) and over the whole run (most in use, most waiting, total wait, longest hold).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from itertools import accumulate, pairwise

from loopviz.model.facts import Holder, ResourceColumn, ResourceInfo, ResourceTotals
from loopviz.trace import RESOURCE_WAITS, Resource, ResourceKind, Use, UseOp

__all__ = ["RESOURCE_WAITS", "Resources"]  # RESOURCE_WAITS: the waits whose ``ref`` names one
# Kinds whose level counts holders (a lock, a condition's lock, a semaphore's permits).
HELD: frozenset[int] = frozenset(
    {ResourceKind.LOCK, ResourceKind.CONDITION, ResourceKind.SEMAPHORE,
     ResourceKind.BOUNDED_SEMAPHORE}
)  # fmt: skip


class _Uses:
    """One resource's uses in time order, as parallel lists."""

    __slots__ = ("counts", "info", "levels", "ops", "tasks", "times")

    def __init__(self, info: ResourceInfo) -> None:
        self.info = info
        self.times: list[int] = []
        self.ops: list[int] = []
        self.tasks: list[int] = []
        self.levels: list[int] = []
        self.counts: list[int] = []  # how many times (a queue's puts and gets come in batches)


class Resources:
    """Every resource of a run, by id, in the order the program made them."""

    def __init__(self, strings: dict[int, str], sites: dict[int, tuple[str, int]]) -> None:
        self._strs = strings
        self._sites = sites
        self._uses: dict[int, _Uses] = {}
        self._made: dict[tuple[int, int, int], int] = {}  # (kind, name, site): how many

    def on_resource(self, r: Resource) -> None:
        file, line = self._sites.get(r.site, ("", 0))
        try:
            kind = ResourceKind(r.kind)
        except ValueError:  # a kind a newer recorder knows: shown as the simplest
            kind = ResourceKind.LOCK
        same = (kind, r.name, r.site)
        self._made[same] = nth = self._made.get(same, 0) + 1
        name = self._strs.get(r.name, "")
        info = ResourceInfo(r.id, kind, name, file, line, r.capacity, r.t, nth)
        self._uses[r.id] = _Uses(info)

    def on_use(self, r: Use) -> None:
        uses = self._uses.get(r.resource)
        if uses is None:  # a trace cut at the start: an unknown resource
            self.on_resource(Resource(r.t, r.resource, ResourceKind.LOCK, 0, 0, 0))
            uses = self._uses[r.resource]
        uses.times.append(r.t)
        uses.ops.append(r.op)
        uses.tasks.append(r.task)
        uses.levels.append(r.level)
        uses.counts.append(r.count)

    def _of(self, resource: int) -> _Uses:
        """The uses of ``resource``: none of one never announced (a damaged trace's wait
        may name one), asked about as a lock."""
        uses = self._uses.get(resource)
        if uses is None:
            return _Uses(ResourceInfo(resource, ResourceKind.LOCK, "", "", 0, 0, 0))
        return uses

    def __len__(self) -> int:
        return len(self._uses)

    @property
    def all(self) -> list[ResourceInfo]:
        return [uses.info for uses in self._uses.values()]

    def get(self, resource: int) -> ResourceInfo | None:
        uses = self._uses.get(resource)
        return uses.info if uses else None

    def level_at(self, resource: int, t: int) -> int:
        """Holders, permits in use, items queued or parties arrived at t (1: a set event)."""
        uses = self._of(resource)
        i = bisect_right(uses.times, t) - 1
        return uses.levels[i] if i >= 0 else 0

    def levels(self, resource: int) -> tuple[list[int], list[int]]:
        """(times, levels): the level from each time on, for drawing it."""
        uses = self._of(resource)
        return uses.times, uses.levels

    def holders_at(self, resource: int, t: int) -> list[Holder]:
        """Who holds a lock, a condition's lock or a semaphore's permits at t, in the order
        they took it (a task holding two permits is listed twice)."""
        uses = self._of(resource)
        if uses.info.kind not in HELD:
            return []
        holding: list[Holder] = []
        for i in range(bisect_right(uses.times, t)):
            op = uses.ops[i]
            if op == UseOp.ACQUIRED:
                holding.append(Holder(uses.tasks[i], uses.times[i]))
            elif op == UseOp.RELEASED and holding:
                # A semaphore may be released by another task than took it: the oldest goes.
                task = uses.tasks[i]
                k = next((k for k, h in enumerate(holding) if h.task == task), 0)
                del holding[k]
        return holding

    def last_use(self, resource: int, t: int, ops: Iterable[int]) -> tuple[int, int] | None:
        """(task, op) of the last use of one of ``ops`` at or before t."""
        uses = self._of(resource)
        wanted = set(ops)
        for i in range(bisect_right(uses.times, t) - 1, -1, -1):
            if uses.ops[i] in wanted:
                return uses.tasks[i], uses.ops[i]
        return None

    def totals(
        self, resource: int, waits: Callable[[int], list[tuple[int, int]]], end: int
    ) -> ResourceTotals:
        """The run as a whole for one resource; ``waits(resource)`` gives the (start, end)
        of every wait on it (the timeline has them in its lanes)."""
        uses = self._of(resource)
        kind = uses.info.kind
        counted = {
            ResourceKind.EVENT: UseOp.SET,
            ResourceKind.BARRIER: UseOp.ARRIVED,
        }.get(kind, UseOp.PUT if kind >= ResourceKind.QUEUE else UseOp.ACQUIRED)
        uses_count = sum(n for op, n in zip(uses.ops, uses.counts, strict=True) if op == counted)
        longest = 0
        if kind in HELD:
            taken: dict[int, list[int]] = {}
            for t, op, task in zip(uses.times, uses.ops, uses.tasks, strict=True):
                if op == UseOp.ACQUIRED:
                    taken.setdefault(task, []).append(t)
                elif op == UseOp.RELEASED:
                    since = taken.get(task) or next((v for v in taken.values() if v), None)
                    if since:
                        longest = max(longest, t - since.pop(0))
        spans = waits(resource)
        changes = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
        most = count = 0
        for _, delta in changes:  # at equal times ends come first
            count += delta
            most = max(most, count)
        return ResourceTotals(
            uses_count, max(uses.levels, default=0), most, sum(e - s for s, e in spans), longest
        )

    def peak(self, resource: int) -> int:
        """The top of its lane's bars: its capacity, else its highest level (at least 1)."""
        uses = self._uses[resource]
        return uses.info.capacity or max(1, max(uses.levels, default=0))

    def columns(
        self, resource: int, edges: list[int], waits: list[tuple[int, int]], end: int
    ) -> list[ResourceColumn | None]:
        """The resource in the columns between ``edges`` (None: not made yet, or after
        ``end``, the run's end so far). A column of no width (events in step order sharing a
        clock reading) shows it just after them. ``waits``: the (start, end) of each wait on
        it. One pass over its uses and waits: O(uses + waits + columns)."""
        uses = self._uses[resource]
        held = uses.info.kind in HELD
        times, levels, ops, tasks = uses.times, uses.levels, uses.ops, uses.tasks
        # How many wait, after each change (at equal times the ends first: no false peak).
        changes = sorted([(s, 1) for s, _ in waits] + [(e, -1) for _, e in waits])
        wait_times = [t for t, _ in changes]
        counts = list(accumulate(delta for _, delta in changes))
        acquired, released = int(UseOp.ACQUIRED), int(UseOp.RELEASED)
        holding: list[int] = []
        i, n, created = 0, len(times), uses.info.created
        found: list[ResourceColumn | None] = []
        for lo, hi in pairwise(edges):
            if held:  # who holds it: every use from the first, in order
                while i < n and times[i] <= lo:
                    if ops[i] == acquired:
                        holding.append(tasks[i])
                    elif ops[i] == released and holding:  # as ``holders_at``
                        task = tasks[i]
                        holding.pop(holding.index(task) if task in holding else 0)
                    i += 1
            else:
                i = bisect_right(times, lo, i)
            if (hi <= created and lo < hi) or lo > end or (lo == end and lo < hi):
                found.append(None)
                continue
            most, who = levels[i - 1] if i else 0, tuple(holding)
            if held:
                while i < n and times[i] < hi:
                    if ops[i] == acquired:
                        holding.append(tasks[i])
                    elif ops[i] == released and holding:
                        task = tasks[i]
                        holding.pop(holding.index(task) if task in holding else 0)
                    if levels[i] > most:
                        most, who = levels[i], tuple(holding)
                    i += 1
            else:
                k = bisect_left(times, hi, i)
                most = max(most, max(levels[i:k], default=0))
                i = k
            a = bisect_right(wait_times, lo)
            b = bisect_left(wait_times, hi, a)
            waiting = max(counts[a - 1] if a else 0, max(counts[a:b], default=0))
            found.append(ResourceColumn(most, who, waiting))
        return found
