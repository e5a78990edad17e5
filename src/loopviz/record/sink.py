"""Where a session's records go: a list in memory, handed in batches to a writer thread that
streams them to a file or pipe.

Records are appended to :attr:`Sink.records` (a bound ``list.append`` is the cheapest way to
emit one). A busy loop hands them over seldom, and an idle one whenever it is about to wait; a
blocked loop's records are flushed by the watchdog.

A busy loop that hands over a batch then waits, without the GIL, until the writer has written
it (:data:`GIVE_WAY_S` at most: a batch takes about a millisecond to write to a file): the
writer needs the GIL back after its write, and a loop that lets go of the GIL around each
``select()`` and takes it straight back makes a thread waiting for it lose that race again and
again (for 10-40 ms on a 2-core machine), waking it at a system call per iteration.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import IO

from loopviz.trace import Record, encode_records

FLUSH_EVERY = 65536  # records buffered before a batch goes to the writer thread
FLUSH_AGE_NS = 250_000_000  # ... or this old, checked at each loop iteration
FLUSH_IDLE_S = 0.005  # ... or when the loop is about to wait in select() at least this long
GIVE_WAY_S = 0.005  # the longest a busy loop waits for a helper thread (the writer, the watchdog)

_now = time.monotonic_ns


class Sink:
    """A session's records: kept in ``records`` or, given a ``stream`` that already holds the
    trace's header, streamed to it. ``lost`` is called (in the writer thread) if the reader
    goes away."""

    def __init__(self, stream: IO[bytes] | None, *, owned: bool, lost: Callable[[], None]) -> None:
        self.records: list[Record] = []
        self._out = stream
        self._owned = owned  # closed with the sink
        self._lost = lost
        # Batches, each with a lock the writer holds for it until it is written.
        self._queue: queue.SimpleQueue[tuple[bytes, threading.Lock] | None] = queue.SimpleQueue()
        # An RLock: a SIGTERM's handler (child.py) closes the sink, maybe from inside a flush
        # it interrupted on the same thread; the process then ends without going back to it.
        self._lock = threading.RLock()
        self._written: threading.Lock | None = None  # the last batch's
        self.last_flush = _now()
        self._streaming = stream is not None
        # Started with the first batch, not before: a program that forks before it prints or
        # runs a loop must fork a single-threaded process, as it would plain (3.12 warns).
        self._writer: threading.Thread | None = None
        self._writing = threading.Event()  # the writer thread runs (so it can be joined)

    @property
    def streaming(self) -> bool:
        return self._streaming

    def flush(self, force: bool = False, *, busy: bool = False) -> None:
        """Hand buffered records to the writer thread (if streaming): ``force``, or when
        enough have gathered or the oldest have waited long enough. ``busy``: from a loop that
        goes straight on running, which then waits for the batch to be written (see above)."""
        if not self._streaming:
            return
        written = None
        with self._lock:
            # The writer waits on the file, not for the GIL, while it still writes the last
            # batch (a slow reader): then waiting for this one would only slow the loop down.
            last = self._written
            writing = last is not None and last.locked()
            buffered = self.records
            n = len(buffered)
            if n and (force or n >= FLUSH_EVERY or _now() - self.last_flush > FLUSH_AGE_NS):
                batch = buffered[:n]
                del buffered[:n]  # records appended meanwhile by other threads stay
                self.last_flush = _now()
                # Encoded here, at once (~50 ns a record): the writer thread then only waits
                # on the file, without the GIL, instead of competing with the loop for it.
                written = threading.Lock()
                written.acquire()
                self._queue.put((encode_records(batch), written))
                self._written = written
                if self._writer is None:
                    self._writer = threading.Thread(
                        target=self._write, name="loopviz-writer", daemon=True
                    )
                    self._writer.start()
        writer = self._writer
        alive = writer is not None and writer.is_alive()  # (not if the reader went away)
        waits = busy and not writing and alive
        if waits and written is not None and written.acquire(True, GIVE_WAY_S):
            written.release()

    def _write(self) -> None:
        self._writing.set()
        out = self._out
        assert out is not None
        while (batch := self._queue.get()) is not None:
            data, written = batch
            try:
                out.write(data)
                out.flush()
            except (OSError, ValueError):  # the reader went away: nothing to tell it any more
                self._lost()
                return
            finally:
                written.release()

    def close(self) -> None:
        """Write out everything and stop the writer thread."""
        if not self._streaming:
            return
        self.flush(force=True)
        if self._writer is not None:
            self._queue.put(None)
            # (A signal's handler may close the sink from inside the writer's start().)
            self._writing.wait(timeout=5)
            self._writer.join(timeout=30)  # until the reader took it all (or went away)
        if self._owned and self._out is not None:
            self._out.close()

    def forget(self) -> None:
        """In a child made by fork: its writer thread is not there; write nothing."""
        self._streaming = False
        self._writer = None
