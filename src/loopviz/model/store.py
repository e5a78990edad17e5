"""The columnar storage of a timeline: every event in flat ``array``s, not Python objects.

A service's trace holds tens of millions of events. A Python int costs 28 bytes and its slot
in a list 8 more, so the model keeps each fact in an ``array`` of machine numbers instead:
per event its time (8 bytes), its lane (4) and its packed state (1), in the order records
came (``Moments``); per task the indices of its events (4, ``Lane``); what only some
segments have (a wait's detail, site and deadline, a wake-up's cause) in short side arrays;
and prefix sums only every ``EVERY`` segments. About 30 bytes an event in all.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from itertools import pairwise

from loopviz.model.facts import State, TaskInfo

# A segment's state, its kind (Wait, Cause or Outcome) and the overdue flag, packed in a byte.
KIND_SHIFT = 2
OVERDUE = 1 << 7
STATE_MASK = 3
STATES = tuple(State)  # by value: indexing is ten times quicker than calling State()
KIND_MASK = 31
WAITING, READY, RUNNING = State.WAITING.value, State.READY.value, State.RUNNING.value

EVERY = 16  # segments between a lane's prefix sums: a query walks at most this many
# The widest values the side arrays hold (a damaged trace's wider ones are left out).
REF_MAX = 2**63 - 1
SITE_MAX = 2**31 - 1
WIDE = -(2**31)  # a wait's detail too wide for its array: found in ``Lane.wide``
LANE0 = 8  # in ``Moments.lanes``, a segment's lane is its number plus this; below, a kind


class Moments:
    """Every event in the order its record came: its time, the lane whose segment it begins
    (its number plus ``LANE0``; for other events, their kind) and the segment's packed
    state. Lanes take 2 bytes an event until there are 65,528 of them, then 4."""

    __slots__ = ("codes", "lanes", "times")

    def __init__(self) -> None:
        self.times = array("q")
        self.lanes = array("H")
        self.codes = array("B")

    def widen(self, lanes: int) -> None:
        """Make room for ``lanes`` lanes."""
        if lanes + LANE0 > 0xFFFF and self.lanes.typecode == "H":
            self.lanes = array("I", self.lanes)


class Lane:
    """One task's segments: ``ids`` are its events' indices in ``Moments`` (their times are
    sorted: each segment ends where the next begins). A wait's detail, site and deadline
    sit in the ``wait_*`` arrays, by the wait's rank, and its deadline in ``timed_*`` if it
    has one; another segment's ``ref`` (a wake-up's cause, a result) in ``ref_*``, if not
    0. A step resumes where the last wait was."""

    __slots__ = (
        "blocks",
        "ids",
        "info",
        "last",
        "moments",
        "number",
        "ref_at",
        "ref_of",
        "sites",
        "sums",
        "tag",
        "timed_at",
        "timeouts",
        "wait_at",
        "wait_ref",
        "wait_site",
        "wide",
    )

    def __init__(self, info: TaskInfo, number: int, moments: Moments) -> None:
        self.info = info
        self.number = number  # its index in the timeline's lanes
        self.tag = number + LANE0  # how ``Moments.lanes`` names it
        self.moments = moments
        self.ids = array("i")
        self.last = 0  # the start of its last segment
        self.wait_at = array("i")  # the segment index of each wait
        self.wait_ref = array("i")  # its detail (a Str id, task, job, count or resource)
        self.wide: dict[int, int] | None = None  # by rank: a detail that is WIDE above
        self.wait_site = array("i")  # where its own code is suspended
        # What few lanes have is made when first needed (a service runs many short tasks):
        self.timed_at: array[int] | None = None  # the segment index of each timed wait
        self.timeouts: array[int] | None = None  # the time to its deadline
        self.ref_at: array[int] | None = None  # segments but waits with a ref (cause, result)
        self.ref_of: array[int] | None = None
        self.sites: dict[int, int] | None = None  # a blocking step: the line that blocked
        self.blocks: list[tuple[int, int]] | None = None  # (start, end) of blocking steps
        # Per EVERY segments from the EVERY-th: time ready and running and steps begun before.
        self.sums: array[int] | None = None

    def start(self, i: int) -> int:
        return self.moments.times[self.ids[i]]

    def end(self, i: int) -> int | None:
        """When segment i ends (None: the last one, still open)."""
        ids = self.ids
        return self.moments.times[ids[i + 1]] if i + 1 < len(ids) else None

    def code(self, i: int) -> int:
        return self.moments.codes[self.ids[i]]

    def set_code(self, i: int, code: int) -> None:
        self.moments.codes[self.ids[i]] = code

    def index_at(self, t: int) -> int:
        """The segment containing t (-1: before the first)."""
        return bisect_right(self.ids, t, key=self.moments.times.__getitem__) - 1

    def index_before(self, t: int) -> int:
        """The last segment starting strictly before t (-1: none)."""
        return bisect_left(self.ids, t, key=self.moments.times.__getitem__) - 1

    def starts(self, i0: int = 0, i1: int | None = None) -> list[int]:
        times = self.moments.times
        return [times[m] for m in self.ids[i0:i1]]

    def _wait(self, i: int) -> int:
        """The rank of wait segment i in the ``wait_*`` arrays."""
        return bisect_left(self.wait_at, i)

    def ref(self, i: int) -> int:
        if self.code(i) & STATE_MASK == WAITING:
            k = self._wait(i)
            ref = self.wait_ref[k]
            return self.wide[k] if ref == WIDE and self.wide else ref
        ref_at, ref_of = self.ref_at, self.ref_of
        if ref_at is None or ref_of is None:
            return 0
        j = bisect_left(ref_at, i)
        return ref_of[j] if j < len(ref_at) and ref_at[j] == i else 0

    def set_ref(self, i: int, ref: int) -> None:
        """Give segment i (not a wait; the last one, or the one to come) its ref."""
        ref_at, ref_of = self.ref_at, self.ref_of
        if ref_at and ref_of and ref_at[-1] == i:
            ref_of[-1] = ref
        elif ref:
            if ref_at is None or ref_of is None:
                ref_at, ref_of = self.ref_at, self.ref_of = array("i"), array("q")
            ref_at.append(i)
            ref_of.append(ref)

    def site(self, i: int) -> int:
        state = self.code(i) & STATE_MASK
        if state == WAITING:
            return self.wait_site[self._wait(i)]
        if state != RUNNING:
            return 0
        site = self.sites.get(i) if self.sites else None
        if site is not None:
            return site
        k = self._wait(i) - 1  # the wait it resumes from
        return self.wait_site[k] if k >= 0 else 0

    def timeout(self, i: int) -> int:
        """Segment i's time to its deadline (0: none, or not a wait)."""
        timed_at, timeouts = self.timed_at, self.timeouts
        if timed_at is None or timeouts is None:
            return 0
        k = bisect_left(timed_at, i)
        return timeouts[k] if k < len(timed_at) and timed_at[k] == i else 0

    def last_timeout(self) -> int:
        """The time to the deadline of the last segment, if it is a wait (0: none)."""
        timed_at, timeouts = self.timed_at, self.timeouts
        if timed_at and timeouts and timed_at[-1] == len(self.ids) - 1:
            return timeouts[-1]
        return 0

    def add_wait(self, i: int, detail: int, site: int, timeout: int) -> None:
        """Segment i (to come) is a wait: its detail, site and deadline."""
        if not WIDE < detail <= SITE_MAX:
            if self.wide is None:
                self.wide = {}
            self.wide[len(self.wait_at)] = detail
            detail = WIDE
        self.wait_at.append(i)
        self.wait_ref.append(detail)
        self.wait_site.append(site)
        if timeout:
            if self.timed_at is None or self.timeouts is None:
                self.timed_at, self.timeouts = array("i"), array("q")
            self.timed_at.append(i)
            self.timeouts.append(timeout)

    def ensure_sums(self) -> None:
        """Extend the prefix sums to every segment that has ended (one pass over the new)."""
        ids = self.ids
        # Checkpoint c holds the sums before segment c * EVERY, once that segment exists:
        # time ready, time running and steps begun, at 3 * c (checkpoint 0: all 0).
        want = (len(ids) - 1) // EVERY + 1 if ids else 0
        if want <= 1:
            return
        if self.sums is None:
            self.sums = array("q", (0, 0, 0))
        sums = self.sums
        have = len(sums) // 3
        if have >= want:
            return
        r, x, k = sums[-3:]
        self._walk((have - 1) * EVERY, (want - 1) * EVERY, r, x, k, sums)

    def _walk(
        self,
        i: int,
        stop: int,
        ready: int,
        running: int,
        steps: int,
        checkpoints: array[int] | None = None,
    ) -> tuple[int, int, int, int, int]:
        """From segment i (with the sums before it) to segment ``stop``: the sums before
        ``stop``, its start and its state; each checkpoint passed is added to ``checkpoints``
        (the lane's ``sums``), if given. One loop for both, as it is the queries' hot path."""
        ids, times, codes = self.ids, self.moments.times, self.moments.codes
        prev, state = times[ids[i]], codes[ids[i]] & STATE_MASK
        while i < stop:
            i += 1
            m = ids[i]
            t = times[m]
            if state == READY:
                ready += t - prev
            elif state == RUNNING:
                running += t - prev
                steps += 1
            prev, state = t, codes[m] & STATE_MASK
            if checkpoints is not None and not i % EVERY:
                checkpoints.extend((ready, running, steps))
        return ready, running, steps, prev, state

    def sums_at(self, x: int) -> tuple[int, int, int, int]:
        """(waiting, ready, running) time up to x and steps begun at or before x; the task's
        segments are contiguous, so waiting is what remains of its life before it was done."""
        i = self.index_at(x)
        if i < 0:
            return 0, 0, 0, 0
        self.ensure_sums()
        c = i // EVERY
        ready = running = steps = 0
        if c and self.sums is not None:
            ready, running, steps = self.sums[3 * c : 3 * c + 3]
        ready, running, steps, prev, state = self._walk(c * EVERY, i, ready, running, steps)
        if state == READY:
            ready += x - prev
        elif state == RUNNING:
            running += x - prev
            steps += 1
        ended = self.info.ended
        life = (x if ended is None else min(x, ended)) - self.moments.times[self.ids[0]]
        return life - ready - running, ready, running, steps

    def sums_many(self, xs: list[int]) -> list[tuple[int, int, int, int]]:
        """``sums_at`` each of ``xs``. Ascending ones (a screen's column edges) are one walk
        along the lane, jumping to a checkpoint past a long stretch: a screenful of lanes
        costs about one step per edge, not a search and up to EVERY steps each."""
        ids = self.ids
        n = len(ids)
        if not n or any(b < a for a, b in pairwise(xs)):
            return [self.sums_at(x) for x in xs]
        self.ensure_sums()
        sums, times, codes = self.sums, self.moments.times, self.moments.codes
        first, ended = times[ids[0]], self.info.ended
        result = []
        i = ready = running = steps = 0  # the sums before segment i
        for x in xs:
            if x < first:
                result.append((0, 0, 0, 0))
                continue
            walked = 0
            while i + 1 < n and times[ids[i + 1]] <= x:  # on to the segment holding x
                if walked == EVERY:  # a long way: from the checkpoint before it
                    c = self.index_at(x) // EVERY
                    if c * EVERY > i and sums is not None:
                        i = c * EVERY
                        ready, running, steps = sums[3 * c : 3 * c + 3]
                    walked = -n
                    continue
                state = codes[ids[i]] & STATE_MASK
                if state == READY:
                    ready += times[ids[i + 1]] - times[ids[i]]
                elif state == RUNNING:
                    running += times[ids[i + 1]] - times[ids[i]]
                    steps += 1
                i += 1
                walked += 1
            r, run, k = ready, running, steps
            state = codes[ids[i]] & STATE_MASK
            if state == READY:
                r += x - times[ids[i]]
            elif state == RUNNING:
                run += x - times[ids[i]]
                k += 1
            life = (x if ended is None else min(x, ended)) - first
            result.append((life - r - run, r, run, k))
        return result


class Series:
    """Spans that follow one another, sorted by start (the loop's busy and idle spans: each
    ends where the next starts)."""

    __slots__ = ("starts",)

    def __init__(self) -> None:
        self.starts = array("q")

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
