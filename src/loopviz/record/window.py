"""``--window SECONDS``: a trace that keeps only the last stretch of a long run, in memory and
on disk, so a service can be recorded for hours.

The recording process hands each batch of lines it receives to :class:`Window`, which appends
them to the trace file and keeps them as one chunk. Once the oldest chunk is more than half a
window older than the window's start, every chunk wholly before the start is dropped and the
file is written anew (then renamed over the old one): the header; what later records refer to
(strings, sites, resources, notes); a ``Gap`` with the totals of what was dropped; the loops
still open and the tasks still alive, each by its own records (created, renamed, its last
state), at their own times; then the chunks kept. So the file holds between one and one and a
half windows, and so does memory. Records are dropped whole, never cut.
"""

from __future__ import annotations

import collections
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import msgspec

from loopviz.trace import (
    Finished,
    Gap,
    GapReason,
    Idle,
    LoopMark,
    LoopPhase,
    ProgramError,
    Ran,
    Ready,
    Record,
    Renamed,
    Resource,
    Site,
    Str,
    TaskCreated,
    Untraced,
    Waited,
    encode_records,
)

_decode = msgspec.json.Decoder(Record).decode
_KEPT = (Str, Site, Resource, Untraced, ProgramError)  # referred to later, or said once
_STATES = (Ready, Ran, Waited)


@dataclass
class _Chunk:
    seq: int
    data: bytes
    last_t: int = 0  # the latest time of its records
    idle: int = 0  # the loop's time in select() it records
    ran_to: int = 0  # how long a loop ran, up to its latest time
    finished: list[int] = field(default_factory=list)  # the tasks it ends
    closed: list[int] = field(default_factory=list)  # the loops it closes


@dataclass
class _Alive:
    lines: list[bytes]  # its TaskCreated and Renamed lines
    since: int  # the chunk of its TaskCreated
    state: bytes = b""  # its latest Ready, Ran or Waited line
    state_in: int = 0  # ... in this chunk


class Window:
    """The trace file at ``path`` (``file``: open on it, the header written) keeping the last
    ``seconds`` of the run. ``write`` every batch of event lines, in arrival order."""

    def __init__(self, path: Path, file: IO[bytes], header: bytes, seconds: float) -> None:
        self.path = path
        self.file = file
        self.span = int(seconds * 1e9)
        self._header = header
        self._chunks: collections.deque[_Chunk] = collections.deque()
        self._seq = 0
        self._dropped_seq = 0  # chunks up to this one are dropped
        self._kept: list[bytes] = []
        self._alive: dict[int, _Alive] = {}
        # Loops not closed in what is dropped: (chunk, line) of their OPENED, of their last mark.
        self._loops: dict[int, list[tuple[int, bytes]]] = {}
        self._last_t = 0
        self._running = 0  # loops running now
        self._running_since = 0
        self._running_total = 0  # time a loop ran up to _running_since
        self.dropped = Gap(0, 0, GapReason.DROPPED)

    @property
    def held(self) -> int:
        """Bytes of event lines held in memory (the chunks kept, the lines referred to)."""
        return sum(len(c.data) for c in self._chunks) + sum(map(len, self._kept))

    def write(self, data: bytes) -> None:
        """Append ``data`` (whole event lines) to the trace, dropping what the window left."""
        self._seq += 1
        chunk = _Chunk(self._seq, data)
        for line in data.splitlines():
            self._note(chunk, line)
        chunk.ran_to = self._ran_until(chunk.last_t)
        self._chunks.append(chunk)
        self.file.write(data)
        self.file.flush()
        start = self._last_t - self.span
        if self._chunks[0].last_t < start - self.span // 2:
            self._drop_before(start)

    def _note(self, chunk: _Chunk, line: bytes) -> None:
        """What the window must know of one line: its time, and whether later lines refer to
        it (kept for ever), say a task is alive or a loop is open."""
        try:
            record = _decode(line)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            return
        t = getattr(record, "t", 0)
        if t > chunk.last_t:
            chunk.last_t = t
            self._last_t = max(self._last_t, t)
        if isinstance(record, _STATES):
            alive = self._alive.get(record.task)
            if alive is not None:
                alive.state, alive.state_in = line, chunk.seq
        elif isinstance(record, Idle):
            chunk.idle += record.dur
        elif isinstance(record, TaskCreated):
            self._alive[record.task] = _Alive([line], chunk.seq)
        elif isinstance(record, Finished):
            chunk.finished.append(record.task)
        elif isinstance(record, Renamed):
            alive = self._alive.get(record.task)
            if alive is not None:
                alive.lines.append(line)
        elif isinstance(record, LoopMark):
            self._loop_mark(record, line, chunk)
        elif isinstance(record, _KEPT):
            self._kept.append(line)

    def _loop_mark(self, mark: LoopMark, line: bytes, chunk: _Chunk) -> None:
        if mark.phase == LoopPhase.OPENED:
            self._loops[mark.loop] = [(chunk.seq, line)]
        elif mark.phase == LoopPhase.CLOSED:
            chunk.closed.append(mark.loop)
        elif mark.loop in self._loops:
            self._loops[mark.loop][1:] = [(chunk.seq, line)]
        running = mark.phase == LoopPhase.RUNNING
        if running or (mark.phase == LoopPhase.STOPPED and self._running):
            self._running_total = self._ran_until(mark.t)
            self._running_since = mark.t
            self._running += 1 if running else -1

    def _ran_until(self, t: int) -> int:
        """How long a loop ran (outside ``select()`` or in it) up to ``t``."""
        return self._running_total + (max(t - self._running_since, 0) if self._running else 0)

    def _drop_before(self, start: int) -> None:
        chunks, dropped = self._chunks, self.dropped
        idle, tasks, loops = dropped.idle, dropped.tasks, dropped.loops
        until, ran = dropped.until, dropped.busy + dropped.idle
        while chunks and chunks[0].last_t < start:
            chunk = chunks.popleft()
            self._dropped_seq = chunk.seq
            idle += chunk.idle
            until, ran = max(until, chunk.last_t), max(ran, chunk.ran_to)
            # What ends here began in what is dropped too, or was carried until now.
            for task in chunk.finished:
                self._alive.pop(task, None)
                tasks += 1
            for loop in chunk.closed:
                loops += self._loops.pop(loop, None) is not None
        busy = max(ran - idle, 0)
        self.dropped = Gap(0, until, GapReason.DROPPED, busy, idle, tasks, loops)
        self._rewrite()

    def _rewrite(self) -> None:
        """Write the file anew: what is kept, then rename it over the old one."""
        done = self._dropped_seq
        carried = [line for marks in self._loops.values() for seq, line in marks if seq <= done]
        for alive in self._alive.values():
            if alive.since <= done:
                carried += alive.lines
                if alive.state and alive.state_in <= done:
                    carried.append(alive.state)
        fresh = self.path.with_name(self.path.name + ".part")
        with fresh.open("wb") as out:
            out.write(self._header)
            out.write(b"\n".join(self._kept) + b"\n" if self._kept else b"")
            out.write(encode_records([self.dropped]))
            out.write(b"\n".join(carried) + b"\n" if carried else b"")
            for chunk in self._chunks:
                out.write(chunk.data)
        os.replace(fresh, self.path)
        self.file.close()
        self.file = self.path.open("ab")
