"""The watchdog: a thread that reports a step while it still blocks its loop.

A loop whose step blocks cannot report anything itself, so this thread looks at each loop's
``busy_since`` (``hooks.LoopState``) from outside. Each wake-up takes the GIL from the loop, so
it sleeps until the running step, if still running then, would be blocking. Streaming, it also
flushes what a blocked loop (or a worker thread) recorded, so that a viewer sees it and a
killed run loses less.

Taking the GIL from a busy loop is dearer than it looks: the loop lets go of the GIL around
each ``select()`` and takes it straight back, so a thread woken to take it loses that race
again and again (for 10-40 ms on a 2-core machine), and each time the loop wakes it, at a
system call per iteration (3-5% of a busy run, at a wake-up per 100 ms). So a loop that is
iterating, and so not blocked, gives way instead (:meth:`Watchdog.give_way`): past the
watchdog's wake-up time, it waits, without the GIL, for the watchdog's look to end.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from loopviz.record.hooks import LoopState
from loopviz.record.sink import GIVE_WAY_S, Sink

WATCHDOG_FLUSH_NS = 250_000_000
WATCHDOG_MIN_SLEEP_NS = 1_000_000
REPORT_AGAIN_NS = 250_000_000  # a step still blocking is reported again: where it is now
NEVER = 1 << 62  # (in ``next``) the watchdog is looking, or has stopped

_now = time.monotonic_ns


class Watchdog:
    """Calls ``report(loop, since, thread)`` for each loop of ``loops()`` whose running step
    or callback started at ``since`` has blocked it for ``threshold_ns`` (again every
    :data:`REPORT_AGAIN_NS` while it still does), until ``stop`` is set."""

    def __init__(
        self,
        threshold_ns: int,
        loops: Callable[[], Iterable[LoopState]],
        report: Callable[[LoopState, int, int], None],
        sink: Sink,
        stop: threading.Event,
    ) -> None:
        self._threshold = threshold_ns
        self._loops = loops
        self._report = report
        self._sink = sink
        self._stop = stop
        # When it next looks, and a lock it holds until it has (a loop's turn to wait on).
        self.next: tuple[int, threading.Lock] = (NEVER, threading.Lock())
        self._thread = threading.Thread(target=self._watch, name="loopviz-watchdog", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        threshold, sink = self._threshold, self._sink
        longest = min(threshold, WATCHDOG_FLUSH_NS) if sink.streaming else threshold
        reported: dict[int, tuple[int, int]] = {}  # loop -> (step start, last report)
        sleep_ns = longest
        while True:
            turn = threading.Lock()
            turn.acquire()
            sleep_ns = max(sleep_ns, WATCHDOG_MIN_SLEEP_NS)
            self.next = (_now() + sleep_ns, turn)
            try:
                if self._stop.wait(sleep_ns / 1e9):
                    return
                sleep_ns = self._look(threshold, longest, reported, sink)
            finally:
                self.next = (NEVER, turn)
                turn.release()

    def _look(
        self, threshold: int, longest: int, reported: dict[int, tuple[int, int]], sink: Sink
    ) -> int:
        """Report the loops blocking now, flush if due; how long to sleep until the next look."""
        now = _now()
        sleep_ns = longest
        for loop in list(self._loops()):
            since, thread = loop.busy_since, loop.thread_id
            if not (since and thread):
                continue
            if now - since <= threshold:  # not blocking yet: look again when it would be
                sleep_ns = min(sleep_ns, since + threshold - now + 1)
                continue
            first, last = reported.get(id(loop), (0, 0))
            if first != since or now - last > REPORT_AGAIN_NS:  # new, or still on
                reported[id(loop)] = (since, now)
                self._report(loop, since, thread)
                last = now
            sleep_ns = min(sleep_ns, last + REPORT_AGAIN_NS - now + 1)
        if now - sink.last_flush > WATCHDOG_FLUSH_NS:
            sink.flush(force=True)
        return sleep_ns

    def forked(self) -> None:
        """In a child made by fork: its thread is not there, and loops must not wait for it."""
        self.next = (NEVER, threading.Lock())

    def give_way(self) -> None:
        """From a loop's thread between iterations, once the time in ``next`` has passed: let
        the watchdog look now, waiting for it without the GIL, rather than race it for the GIL
        (see above)."""
        turn = self.next[1]
        if turn.acquire(True, GIVE_WAY_S):
            turn.release()
