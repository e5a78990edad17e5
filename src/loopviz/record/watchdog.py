"""The watchdog: a thread that reports a step while it still blocks its loop.

A loop whose step blocks cannot report anything itself, so this thread looks at each loop's
``busy_since`` (``hooks.LoopState``) from outside. Each wake-up takes the GIL from the loop (a
few percent of a busy run at one wake-up per 25 ms), so it sleeps until the running step, if
still running then, would be blocking. Streaming, it also flushes what a blocked loop (or a
worker thread) recorded, so that a viewer sees it and a killed run loses less.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from loopviz.record.hooks import LoopState
from loopviz.record.sink import Sink

WATCHDOG_FLUSH_NS = 250_000_000
WATCHDOG_MIN_SLEEP_NS = 1_000_000
REPORT_AGAIN_NS = 250_000_000  # a step still blocking is reported again: where it is now

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
        self._thread = threading.Thread(target=self._watch, name="loopviz-watchdog", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        threshold, sink = self._threshold, self._sink
        longest = min(threshold, WATCHDOG_FLUSH_NS) if sink.streaming else threshold
        reported: dict[int, tuple[int, int]] = {}  # loop -> (step start, last report)
        sleep_ns = longest
        while not self._stop.wait(max(sleep_ns, WATCHDOG_MIN_SLEEP_NS) / 1e9):
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
