"""The packed storage of a timeline: one task's segments as flat parallel lists of ints.

A trace can hold a million events: an object per segment would cost four times the memory
and time, so a segment's state, its kind (``Wait``, ``Cause`` or ``Outcome``) and the overdue
flag are packed in one int (``pack``), and its other facts sit in parallel lists.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from loopviz.model.facts import State, TaskInfo

# A segment's state, its kind (Wait, Cause or Outcome) and the overdue flag, packed in one int
# so a lane is a handful of flat parallel lists rather than an object per event.
KIND_SHIFT = 2
OVERDUE = 1 << 7
STATE_MASK = 3
STATES = tuple(State)  # by value: indexing is ten times quicker than calling State()
KIND_MASK = 31


class Lane:
    """One task's segments as parallel lists; ``starts`` is sorted, each segment ends where
    the next begins. Prefix sums (time per state, steps) are extended lazily by queries."""

    __slots__ = (
        "blocks",
        "codes",
        "info",
        "nrun",
        "ready",
        "refs",
        "resume_site",
        "running",
        "sites",
        "starts",
        "timeouts",
    )

    def __init__(self, info: TaskInfo) -> None:
        self.info = info
        self.starts: list[int] = []
        self.codes: list[int] = []
        self.refs: list[int] = []  # WAITING: detail; READY: cause ref; DONE: detail Str id
        self.sites: list[int] = []  # WAITING: where suspended; RUNNING: where it resumed
        self.timeouts: list[int] = []  # WAITING: time to the deadline (0: none)
        self.ready: list[int] = []  # time ready before segment i
        self.running: list[int] = []  # time running before segment i
        self.nrun: list[int] = []  # steps before segment i
        self.resume_site = 0
        self.blocks: list[tuple[int, int]] = []  # (start, end) of its blocking steps

    def ensure_sums(self) -> None:
        """Extend the prefix sums to every segment (one pass over the new ones only)."""
        starts, codes, ready, running, nrun = (
            self.starts, self.codes, self.ready, self.running, self.nrun,
        )  # fmt: skip
        done, n = len(nrun), len(starts)
        if done == n:
            return
        if done == 0:
            ready.append(0)
            running.append(0)
            nrun.append(0)
            done = 1
        r, x, k = ready[-1], running[-1], nrun[-1]
        prev = starts[done - 1]
        state = codes[done - 1] & STATE_MASK
        for i in range(done, n):
            t = starts[i]
            if state == State.READY:
                r += t - prev
            elif state == State.RUNNING:
                x += t - prev
                k += 1
            ready.append(r)
            running.append(x)
            nrun.append(k)
            prev = t
            state = codes[i] & STATE_MASK

    def sums_at(self, x: int) -> tuple[int, int, int, int]:
        """(waiting, ready, running) time up to x and steps begun at or before x; the task's
        segments are contiguous, so waiting is what remains of its life before it was done."""
        i = bisect_right(self.starts, x) - 1
        if i < 0:
            return 0, 0, 0, 0
        ready, running, steps = self.ready[i], self.running[i], self.nrun[i]
        state = self.codes[i] & STATE_MASK
        if state == State.READY:
            ready += x - self.starts[i]
        elif state == State.RUNNING:
            running += x - self.starts[i]
            steps += 1
        ended = self.info.ended
        life = (x if ended is None else min(x, ended)) - self.starts[0]
        return life - ready - running, ready, running, steps


class Series:
    """Spans that follow one another, sorted by start (the loop's busy and idle spans: each
    ends where the next starts)."""

    __slots__ = ("starts",)

    def __init__(self) -> None:
        self.starts: list[int] = []

    def overlapping(self, t0: int, t1: int | None) -> range:
        """Indices of the spans that may overlap [t0, t1)."""
        i0 = max(bisect_right(self.starts, t0) - 1, 0)
        i1 = len(self.starts) if t1 is None else bisect_left(self.starts, t1)
        return range(i0, i1)


class Jobs(Series):
    """One executor worker's jobs: each has its own end (None while it runs) and label."""

    __slots__ = ("ends", "labels")

    def __init__(self) -> None:
        super().__init__()
        self.ends: list[int | None] = []
        self.labels: list[str] = []
