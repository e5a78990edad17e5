"""``--window SECONDS``: a trace that keeps only the last stretch of a long run, in memory and
on disk, so a service can be recorded for hours.

The recording process hands each batch of lines it receives to :class:`Window`, which appends
it to the trace file as one chunk, keeping in memory only its place and totals. Once the
oldest chunk is more than half a window older than the window's start, every chunk wholly
before the start is dropped and the file is written anew (then renamed over the old one): the
header; what later records refer to (strings, sites, resources, notes); a ``Gap`` with the
totals of what was dropped; the loops still open and the tasks still alive, each by its own
records (created, renamed, its last state), at their own times; then the chunks kept, copied
from the old file. So the file holds between one and one and a half windows, and memory only
what later records refer to. Records are dropped whole, never cut.

A trace of several processes (followed children) comes in sections, each after a ``Process``
record: the window keeps what it remembers per process, and writes each process's part
after its ``Process`` record again; every ``Process`` and ``Exit`` record is kept. The
dropped part's busy and idle totals are the program's own loop's.
"""

from __future__ import annotations

import collections
import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import msgspec

from loopviz.trace import (
    Exit,
    Finished,
    Gap,
    GapReason,
    Idle,
    LoopMark,
    LoopPhase,
    Process,
    ProgramError,
    Ran,
    Ready,
    Renamed,
    Resource,
    Site,
    Str,
    TaskCreated,
    Untraced,
    Waited,
    encode_records,
)

Key = tuple[int, int]  # (process, a task's or a loop's id in it)


def _tag(record: type[msgspec.Struct]) -> int:
    tag = record.__struct_config__.tag
    assert isinstance(tag, int)
    return tag


_decode_mark = msgspec.json.Decoder(LoopMark).decode
_decode_process = msgspec.json.Decoder(Process).decode
# Referred to by later records, or said once: kept for ever.
_KEPT = frozenset(_tag(kind) for kind in (Str, Site, Resource, Untraced, ProgramError, Exit))
_STATES = frozenset(_tag(kind) for kind in (Ready, Ran, Waited))
_IDLE, _CREATED, _FINISHED = _tag(Idle), _tag(TaskCreated), _tag(Finished)
_RENAMED, _LOOP_MARK, _PROCESS = _tag(Renamed), _tag(LoopMark), _tag(Process)
COPY_BLOCK = 1 << 20


@dataclass
class _Chunk:
    seq: int
    offset: int  # where it starts in the file
    proc: int  # the process whose section it starts in
    last_t: int = 0  # the latest time of its records
    idle: int = 0  # the loop's time in select() it records
    ran_to: int = 0  # how long a loop ran, up to its latest time
    finished: int = 0  # the tasks it ends
    closed: int = 0  # the loops it closes


class Window:
    """The trace file at ``path`` (``file``: open on it, the header written) keeping the last
    ``seconds`` of the run. ``write`` every batch of event lines, in arrival order.

    Where the next cut falls is chosen ahead (half a window after the last one), so that only
    the tasks alive as the records pass it need be remembered beyond their end: the tasks and
    loops alive now are known by their lines, the ones alive at the cut by a copy of those."""

    def __init__(self, path: Path, file: IO[bytes], header: bytes, seconds: float) -> None:
        self.path = path
        self.file = file
        self.span = int(seconds * 1e9)
        self._header = header
        self._size = len(header)  # the file's
        self._chunks: collections.deque[_Chunk] = collections.deque()
        self._seq = 0
        self._kept: dict[int, list[bytes]] = {0: []}  # per process
        self._processes: dict[int, bytes] = {}  # each one's Process line
        self._proc = 0  # whose section the lines are in now
        # Tasks alive: their TaskCreated and Renamed lines, and their latest state's line.
        self._alive: dict[Key, list[bytes]] = {}
        self._state: dict[Key, bytes] = {}
        self._loops: dict[Key, list[bytes]] = {}  # loops open: OPENED, then their last mark
        self._next_cut = self.span // 2  # the time the next cut follows
        self._cut: _Chunk | None = None  # the chunk that passed it: the last one dropped
        self._carried: dict[int, list[bytes]] = {}  # what was alive at the end of it
        self._last_t = 0
        self._running = 0  # loops running now
        self._running_since = 0
        self._running_total = 0  # time a loop ran up to _running_since
        self.dropped = Gap(0, 0, GapReason.DROPPED)
        self.cuts = 0  # how many times the file was written anew

    def write(self, data: bytes) -> None:
        """Append ``data`` (whole event lines) to the trace, dropping what the window left."""
        self._seq += 1
        chunk = _Chunk(self._seq, self._size, self._proc)
        self._size += len(data)
        for line in data.splitlines():
            self._note(chunk, line)
        chunk.ran_to = self._ran_until(chunk.last_t)
        self._chunks.append(chunk)
        self.file.write(data)
        self.file.flush()
        if self._cut is None and chunk.last_t >= self._next_cut:
            self._cut = chunk
            carried: dict[int, list[bytes]] = {}
            for (proc, _), lines in self._loops.items():
                carried.setdefault(proc, []).extend(lines)
            for key, lines in self._alive.items():
                carried.setdefault(key[0], []).extend(lines)
                if key in self._state:
                    carried[key[0]].append(self._state[key])
            self._carried = carried
        elif self._cut is not None and self._last_t >= self._cut.last_t + self.span:
            self._drop()

    def _note(self, chunk: _Chunk, line: bytes) -> None:
        """What the window must know of one line: its time, and whether later lines refer to
        it (kept for ever), say a task is alive or a loop is open. Read from its first fields
        (``[tag,t,task,...``) without decoding it: the window keeps up with a busy program."""
        fields = line.split(b",", 3)
        try:
            tag = int(fields[0][1:])
            if tag in _KEPT:
                self._kept.setdefault(self._proc, []).append(line)
                return
            if tag == _PROCESS:
                self._switch(line)
                return
            t = int(fields[1])
            ref = int(fields[2].rstrip(b"]"))  # the task, a loop, an Idle's duration
        except (ValueError, IndexError):
            return
        if t > chunk.last_t:
            chunk.last_t = t
            self._last_t = max(self._last_t, t)
        key = (self._proc, ref)
        if tag in _STATES:
            if key in self._alive:
                self._state[key] = line
        elif tag == _IDLE:
            if not self._proc:  # (a child's loop is its own, not the program's)
                chunk.idle += ref
        elif tag == _CREATED:
            self._alive[key] = [line]
        elif tag == _FINISHED:
            chunk.finished += 1
            self._alive.pop(key, None)
            self._state.pop(key, None)
        elif tag == _RENAMED:
            if key in self._alive:
                self._alive[key].append(line)
        elif tag == _LOOP_MARK:
            with contextlib.suppress(msgspec.DecodeError, msgspec.ValidationError):
                self._loop_mark(_decode_mark(line), line, chunk)

    def _switch(self, line: bytes) -> None:
        """A ``Process`` line: the lines after it are that process's."""
        with contextlib.suppress(msgspec.DecodeError, msgspec.ValidationError):
            proc = _decode_process(line).proc
            self._processes.setdefault(proc, line)
            self._proc = proc

    def _loop_mark(self, mark: LoopMark, line: bytes, chunk: _Chunk) -> None:
        key = (self._proc, mark.loop)
        if mark.phase == LoopPhase.OPENED:
            self._loops[key] = [line]
        elif mark.phase == LoopPhase.CLOSED:
            chunk.closed += 1
            self._loops.pop(key, None)
        elif key in self._loops:
            self._loops[key][1:] = [line]
        if self._proc:  # the busy and idle totals are the program's own loop's
            return
        running = mark.phase == LoopPhase.RUNNING
        if running or (mark.phase == LoopPhase.STOPPED and self._running):
            self._running_total = self._ran_until(mark.t)
            self._running_since = mark.t
            self._running += 1 if running else -1

    def _ran_until(self, t: int) -> int:
        """How long a loop ran (outside ``select()`` or in it) up to ``t``."""
        return self._running_total + (max(t - self._running_since, 0) if self._running else 0)

    def _drop(self) -> None:
        """Drop the chunks up to the cut, then write the file anew."""
        cut, chunks, dropped = self._cut, self._chunks, self.dropped
        assert cut is not None
        idle, tasks, loops = dropped.idle, dropped.tasks, dropped.loops
        while chunks and chunks[0].seq <= cut.seq:
            chunk = chunks.popleft()
            idle += chunk.idle
            tasks += chunk.finished  # began in what is dropped too, or was carried so far
            loops += chunk.closed
        busy = max(cut.ran_to - idle, 0)
        self.dropped = Gap(0, cut.last_t, GapReason.DROPPED, busy, idle, tasks, loops)
        self._next_cut = cut.last_t + self.span // 2
        self._cut = None
        self._rewrite()

    def _process(self, proc: int) -> bytes:
        """The ``Process`` line starting ``proc``'s section (the program's may not have been
        written yet: one that names no pid, which the model then learns from a later one)."""
        line = self._processes.get(proc)
        return line if line is not None else encode_records([Process(0, proc, 0, 0, "")])[:-1]

    def _rewrite(self) -> None:
        """Write the file anew, then rename it over the old one."""
        fresh = self.path.with_name(self.path.name + ".part")
        old_start = self._chunks[0].offset if self._chunks else self._size
        first = self._chunks[0].proc if self._chunks else self._proc
        with fresh.open("wb") as out, self.path.open("rb") as old:
            out.write(self._header)
            # Every child's Process record (an Exit names a child by its pid); what later
            # records refer to, each process's after its Process record; the Gap, in the
            # program's section; what was alive, the same way; then the chunks, in the
            # section they start in.
            children = sorted(self._processes.keys() - {0})
            parts = [[self._processes[proc] for proc in children]]
            for proc in children:
                parts += [[self._processes[proc]], self._kept.get(proc, [])]
            parts += [[self._process(0)], self._kept.get(0, [])]
            parts.append(encode_records([self.dropped]).splitlines())
            parts.append(self._carried.get(0, []))
            last = 0
            for proc, lines in sorted(self._carried.items()):
                if proc and lines:
                    parts += [[self._process(proc)], lines]
                    last = proc
            if first != last:
                parts.append([self._process(first)])
            out.write(b"".join(line + b"\n" for part in parts for line in part))
            shift = out.tell() - old_start
            old.seek(old_start)
            shutil.copyfileobj(old, out, COPY_BLOCK)  # the chunks kept, from the file
            self._size = out.tell()
        self._carried = {}
        for chunk in self._chunks:
            chunk.offset += shift
        os.replace(fresh, self.path)
        self.file.close()
        self.file = self.path.open("ab")
        self.cuts += 1
