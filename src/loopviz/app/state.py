"""The run view's state in plain Python: the playback clock, the live feed and what keeps
the garbage collector's pauses short while a run is followed.

Neither knows Textual: the run screen holds them, calls them from its keys, timer and
workers, and shows what they say; their tests drive them with real records and a given
clock. The playhead and the selected task are the screen's (the widgets are bound to them):
``Playback`` says where the playhead goes next, the screen moves it.
"""

from __future__ import annotations

import gc
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import partial

from loopviz.model.steps import next_step
from loopviz.model.timeline import Timeline
from loopviz.trace import Record

SPEEDS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)  # times real time, playing by time
PACES = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)  # steps a second, playing by steps
FRAME = 1 / 30  # playback tick, seconds


class Playback:
    """The playback clock: playing by time at a speed, or by steps at a pace (one event
    after another, however close in time), stepping event by event, or following the live
    end of a run that goes on (until the user moves the playhead)."""

    def __init__(self, *, following: bool = False) -> None:
        self.speed = 1.0
        self.pace = 1.0
        self.by_steps = False
        self.playing = False
        self.following = following
        self._last_tick = 0.0  # when the playhead last advanced, seconds

    def toggle(self, playhead: int, end: int, now: float) -> int:
        """Play or pause at ``now``; playing from the end starts over. The playhead after
        (a time, or a step number when playing by steps; ``end`` is then the last step)."""
        self.following = False
        self.playing = not self.playing
        if not self.playing:
            return playhead
        self._last_tick = now
        return 0 if playhead >= end else playhead

    def tick(self, playhead: int, end: int, now: float) -> int:
        """The playhead advanced by the time since the last tick, at the speed (or by the
        steps due at the pace); it stops at ``end``."""
        elapsed = now - self._last_tick
        if self.by_steps:
            due = int(elapsed * self.pace)
            if not due:
                return playhead
            most = math.ceil(self.pace * FRAME)  # a late frame slows the play, skips no step
            if due > most:
                due, self._last_tick = most, now
            else:
                self._last_tick += due / self.pace
            t = playhead + due
        else:
            self._last_tick = now
            t = playhead + int(elapsed * self.speed * 1e9)
        if t >= end:
            self.playing = False
            return end
        return t

    def seek(self, t: int) -> int:
        """A move of the user's: the playhead no longer follows the live end."""
        self.following = False
        return max(0, t)

    def step(self, timeline: Timeline, index: int, direction: int, task: int) -> int | None:
        """The number of the next (``direction`` > 0) or previous event, of ``task`` (0: of
        any); None when there is none that way. Stepping pauses."""
        self.playing = False
        found = next_step(timeline, index, direction, task)
        if found is not None:
            self.following = False
        return found

    def jump(self, to_end: bool, end: int, *, live: bool) -> int:
        """The start or the end; the end of a live run is followed from then on."""
        self.playing = False
        self.following = to_end and live
        return end if to_end else 0

    def change_speed(self, direction: int) -> None:
        """The next speed (or pace) up or down, from the nearest, stopping at either end."""
        choices = PACES if self.by_steps else SPEEDS
        now = self.pace if self.by_steps else self.speed
        index = min(range(len(choices)), key=lambda i: abs(choices[i] - now))
        chosen = choices[max(0, min(len(choices) - 1, index + direction))]
        if self.by_steps:
            self.pace = chosen
        else:
            self.speed = chosen


class LiveFeed:
    """Records a recording delivers on its own thread, queued until the UI thread takes
    them a slice at a time, so a flooding program cannot starve the screen. Each run has an
    id: batches of a run that a re-run replaced (still shutting down) are dropped.

    Past ``max_backlog`` records waiting, the app has fallen behind the run for good: the
    feed drops what waits and all that comes after (``behind``, ``dropped`` counts them), so
    the app's memory stays bounded; the run is then shown from its trace once it ends.
    (``dropped`` counts the records it was handed, not those it declined after.)

    Each batch waits as a tuple: a tuple of records (which the collector does not track)
    is itself untracked at the next young collection, so a backlog of hundreds of thousands
    costs the collector's full passes nothing; held in a list, each record was visited on
    every full pass (a 500,000-record backlog made each one take over 100 ms)."""

    MAX_BACKLOG = 500_000

    def __init__(self, max_backlog: int = MAX_BACKLOG) -> None:
        self._lock = threading.Lock()
        self._pending: deque[tuple[Record, ...]] = deque()
        self._first = 0  # how many of the first batch were taken already
        self._waiting = 0  # records waiting, in all
        self._run_id = 0
        self.received = 0  # records of this run received (read under the recording's lock)
        self.taken = 0  # ... and taken: the index of the next batch's first
        self.max_backlog = max_backlog
        self.behind = False
        self.dropped = 0

    def new_run(self) -> Callable[[list[Record]], bool]:
        """Forget what is queued; the callback to give the new recording (``on_records``)."""
        with self._lock:
            self._run_id += 1
            self._drop()
            self.received = self.taken = 0
            self.behind, self.dropped = False, 0
            return partial(self._receive, self._run_id)

    def _receive(self, run_id: int, records: list[Record]) -> bool:
        """On the recorder's thread: queue only. False: no more (a replaced run's records, or
        all once behind: the recording then stops decoding them)."""
        with self._lock:
            if run_id != self._run_id:
                return False
            self.received += len(records)
            if self.behind:
                self.dropped += len(records)
                return False
            self._pending.append(tuple(records))
            self._waiting += len(records)
            if self._waiting > self.max_backlog:
                self.behind = True
                self.dropped += self._waiting
                self._drop()
            return not self.behind

    def _drop(self) -> None:
        """With the lock held: forget what waits."""
        self._pending.clear()
        self._first = self._waiting = 0

    def skip_to(self, index: int) -> None:
        """Drop what waits up to the run's record ``index``: a model built anew from the
        trace (``--window``) already holds it."""
        with self._lock:
            skipped = min(max(index - self.taken, 0), self._waiting)
        if skipped:  # (records come only at the end: the first ones are still these)
            self.take(skipped)

    @property
    def backlog(self) -> int:
        """Records waiting to be taken."""
        return self._waiting

    def take(self, most: int | None = None) -> list[Record]:
        """What is queued, in order: everything, or the first ``most`` records."""
        with self._lock:
            want = self._waiting if most is None else min(most, self._waiting)
            batch: list[Record] = []
            while len(batch) < want:
                first = self._pending[0]
                end = min(len(first), self._first + want - len(batch))
                batch.extend(first[self._first : end])
                if end == len(first):
                    self._pending.popleft()
                    self._first = 0
                else:
                    self._first = end
            self._waiting -= want
            self.taken += want
        return batch


class Pacer:
    """How often a costly redraw (the summary walks every task) may run: as often as it
    costs at most ``share`` of the time, and at most once per ``min_gap`` seconds."""

    def __init__(self, share: float = 0.1, min_gap: float = 0.2) -> None:
        self.share = share
        self.min_gap = min_gap
        self._next = 0.0

    def due(self, now: float) -> bool:
        return now >= self._next

    def ran(self, started: float, finished: float) -> None:
        """The redraw ran from ``started`` to ``finished`` (seconds)."""
        self._next = started + max(self.min_gap, (finished - started) / self.share)


class Freezer:
    """Keeps a live run's model out of the garbage collector's full passes.

    A followed run adds tens of thousands of objects a second to the model (a lane, a task's
    info, their columns), all long-lived. CPython (3.11-3.13) stops everything for a full
    pass, which walks every object tracked: 200,000 of them took 30-40 ms, over 100 ms with
    the recording's thread taking its turns, and key presses waited. So now and then,
    paced to take at most ``share`` of the time, ``settle`` collects (a full pass over what
    came since the last one only) and freezes what is left (``gc.freeze``: full passes skip
    it from then on). Collecting first leaves no garbage frozen. Frozen objects are still
    freed when no longer used (the model holds no reference cycles); ``thaw`` gives what was
    frozen back to the collector, for a cycle among it to be freed (a run dropped)."""

    def __init__(
        self, share: float = 0.05, min_gap: float = 0.5, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._pace = Pacer(share, min_gap)
        self._clock = clock

    def tick(self) -> None:
        """Settle if it is due (called as a run is folded)."""
        now = self._clock()
        if self._pace.due(now):
            self.settle()
            self._pace.ran(now, self._clock())

    def settle(self) -> None:
        gc.collect()
        gc.freeze()

    def thaw(self) -> None:
        gc.unfreeze()
