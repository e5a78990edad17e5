"""The program's output on its way through the recording process, in the program's own order.

Everything the program writes reaches its descriptors 1 and 2, pipes to the recording
process, so what comes out of them is, byte for byte and in order, what the program wrote,
however it wrote it (``print``, ``sys.stdout.buffer``, ``os.write(1, ...)``, a subprocess, a
forked child). What it writes through ``sys.stdout`` / ``sys.stderr`` (``child.py``'s
``TimedOutput``) is also sent just before, on a pipe of its own, as a *copy*: a frame saying
when it was written (on the trace's clock), its place among the writes of both streams, and
whether recording was paused. The recording process reads what reached a descriptor, then
every copy sent before it, and matches the two (:class:`Copies`): bytes that match a copy
take its time, the others (written to the descriptor directly) the time they arrived. Each
line is recorded once, from the descriptor's bytes; a copy only places it in time, so a copy
that goes astray (the descriptor was closed or redirected as it was written) costs precision,
never a line, and nothing ever waits for one.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Sequence

from loopviz.protocol import MAX_LINE

FRAME = struct.Struct("<BQqQ")  # kind, sequence number, time (ns), length
COPY, UNRECORDED, CUT = 1, 2, 3  # a copy; a copy written while paused; a copy cut short
NEEDLE = 64  # bytes of a copy looked for in what arrived, when they do not come first
LOOK_AHEAD = 4  # copies tried where the first one's bytes were expected (it went astray)
_LAST = 1 << 64  # after every sequence number


def copy_frame(seq: int, t: int, recorded: bool, data: bytes) -> bytes:
    """The frame sent before ``data`` is written (``t``: when, on the trace's clock)."""
    return FRAME.pack(COPY if recorded else UNRECORDED, seq, t, len(data)) + data


def cut_frame(seq: int, written: int) -> bytes:
    """The frame saying that of copy ``seq`` only ``written`` bytes reached the descriptor."""
    return FRAME.pack(CUT, seq, 0, written)


class Copy:
    __slots__ = ("at", "data", "recorded", "seq", "t")

    def __init__(self, seq: int, t: int, recorded: bool, data: bytes) -> None:
        self.seq = seq
        self.t = t
        self.recorded = recorded
        self.data = data
        self.at = 0  # how many of its bytes were matched


class Piece:
    """Bytes that arrived on a descriptor, with the copy they match (None: they were written
    to the descriptor directly). (Plain classes: the recorded program imports this module.)"""

    __slots__ = ("copy", "data")

    def __init__(self, data: bytes, copy: Copy | None) -> None:
        self.data = data
        self.copy = copy


class Copies:
    """One stream's copies not yet matched, and the matching."""

    def __init__(self) -> None:
        self.pending: deque[Copy] = deque()
        self._frames = b""  # the start of a frame still to come

    def feed(self, chunk: bytes) -> None:
        """Frames as they arrive (one may come in pieces)."""
        frames = self._frames + chunk if self._frames else chunk
        size, unpack, append = FRAME.size, FRAME.unpack_from, self.pending.append
        start, total = 0, len(frames)
        while total - start >= size:
            kind, seq, t, length = unpack(frames, start)
            if kind == CUT:
                self._cut(seq, length)
                start += size
                continue
            end = start + size + length
            if total < end:
                break
            if length:
                append(Copy(seq, t, kind == COPY, frames[start + size : end]))
            start = end
        self._frames = frames[start:]

    def _cut(self, seq: int, written: int) -> None:
        for copy in self.pending:
            if copy.seq == seq:
                copy.data = copy.data[:written]
                if copy.at >= written:
                    self.pending.remove(copy)
                return

    def behind(self, seq: int) -> bool:
        """Whether a copy sent before ``seq`` has not been matched yet."""
        return bool(self.pending) and self.pending[0].seq < seq

    def match(self, data: bytes) -> list[Piece]:
        """``data``, as it arrived, in pieces that each match a copy or none."""
        pieces: list[Piece] = []
        pending = self.pending
        pos = 0
        while pos < len(data):
            if not pending:
                pieces.append(Piece(data[pos:], None))
                break
            head = pending[0]
            if not head.at and data.startswith(head.data, pos):  # (most often: whole)
                pieces.append(Piece(head.data, head))
                pending.popleft()
                pos += len(head.data)
                continue
            n = min(len(head.data) - head.at, len(data) - pos)
            if data.startswith(head.data[head.at : head.at + n], pos):
                pieces.append(Piece(data[pos : pos + n], head))
                head.at += n
                if head.at == len(head.data):
                    pending.popleft()
                pos += n
                continue
            astray = self._astray(data, pos)
            if astray:
                for _ in range(astray):
                    pending.popleft()
                continue
            found = _find(data, pos, head.data[head.at : head.at + NEEDLE])
            end = len(data) if found < 0 else found
            pieces.append(Piece(data[pos:end], None))
            pos = end
        return pieces

    def _astray(self, data: bytes, pos: int) -> int:
        """How many copies went astray: the bytes at ``pos`` start a later copy's (they were
        all written, in order, before it was sent)."""
        for i in range(1, min(LOOK_AHEAD, len(self.pending))):
            copy = self.pending[i]
            if data.startswith(copy.data[: len(data) - pos], pos):
                return i
        return 0


def _find(data: bytes, pos: int, needle: bytes) -> int:
    """Where ``needle`` starts in ``data`` from ``pos`` on, whole or cut off by the end of
    ``data`` (the rest still to come); -1: nowhere."""
    found = data.find(needle, pos)
    if found >= 0:
        return found
    for k in range(min(len(needle) - 1, len(data) - pos), 0, -1):
        if data.endswith(needle[:k]):
            return len(data) - k
    return -1


class Interleave:
    """The pieces of both streams (stdout's, stderr's) in the order the program wrote them,
    as far as the copies say, for a terminal that shows both. A piece written directly goes
    just before its stream's next copied piece; with none after it, just after the last one
    (with none at all, before the other stream's): its order among the other stream's
    writes is not known. Each stream's own order is always kept.

    A stream read further than the other (the program went on writing between the two
    reads) waits a round for the other's writes that came before: those of the copies still
    pending. Only a round, so a copy that went astray holds nothing up for longer."""

    def __init__(self) -> None:
        self._held: tuple[list[Piece], list[Piece]] = ([], [])

    def order(
        self, streams: Sequence[list[Piece]], pending: Sequence[Copies]
    ) -> list[tuple[int, bytes]]:
        """What to pass on now, in order: (stream, bytes), consecutive pieces joined."""
        out, err = (held + pieces for held, pieces in zip(self._held, streams, strict=True))
        if not (out and err) and not pending[1 if out else 0].pending:
            self._held = ([], [])  # one stream alone (most often): nothing to wait for
            alone = out or err
            return [(0 if out else 1, b"".join([p.data for p in alone]))] if alone else []
        out_keys, err_keys = _keys(out), _keys(err)
        ends = []
        for stream, keys, other in ((0, out_keys, pending[1]), (1, err_keys, pending[0])):
            limit = other.pending[0].seq if other.pending else _LAST
            now = len(self._held[stream])  # held once already: passed on now whatever
            while now < len(keys) and keys[now] < limit:
                now += 1
            ends.append(now)
        self._held = (out[ends[0] :], err[ends[1] :])
        order: list[tuple[int, bytes]] = []
        i = j = 0
        while i < ends[0] or j < ends[1]:
            if j == ends[1] or (i < ends[0] and out_keys[i] <= err_keys[j]):
                stream, data, i = 0, out[i].data, i + 1
            else:
                stream, data, j = 1, err[j].data, j + 1
            if order and order[-1][0] == stream:
                order[-1] = (stream, order[-1][1] + data)
            else:
                order.append((stream, data))
        return order

    @property
    def held(self) -> bool:
        return bool(self._held[0] or self._held[1])

    def rest(self) -> list[tuple[int, bytes]]:
        """What was held, at the end."""
        held, self._held = self._held, ([], [])
        return [(stream, b"".join(p.data for p in pieces)) for stream, pieces in enumerate(held)]


def _keys(pieces: list[Piece]) -> list[int]:
    """Where each piece goes among the other stream's: its copy's sequence number, else the
    next copied piece's, else the last one's (-1: none)."""
    keys, key = [0] * len(pieces), -1
    for i, piece in enumerate(pieces):
        if piece.copy is not None:
            key = piece.copy.seq
        keys[i] = key
    key = -1
    for i in range(len(pieces) - 1, -1, -1):
        copy = pieces[i].copy
        if copy is not None:
            key = copy.seq
        elif key >= 0:
            keys[i] = key
    return keys


class Lines:
    """One stream's lines as its pieces arrive: each with its time (its copy's, or when it
    arrived), never before the stream's line before it, and whether to record it (not if it
    was written while recording was paused). A long line comes in lines of ``MAX_LINE``."""

    def __init__(self) -> None:
        self._partial = b""
        self._last = 0  # the time of the last line
        self._recorded = True

    def add(self, pieces: list[Piece], arrived: int) -> list[tuple[int, bytes]]:
        """(time, line without its newline) of the lines these pieces complete, to record."""
        lines: list[tuple[int, bytes]] = []
        for piece, t in zip(pieces, _times(pieces, arrived), strict=True):
            copy = piece.copy
            t = self._last = max(self._last, t)
            self._recorded = copy is None or copy.recorded
            data = piece.data
            if data[-1:] == b"\n" and data.count(b"\n") == 1:  # (most often: a line's end)
                line = self._partial + data[:-1] if self._partial else data[:-1]
                self._partial = b""
                if self._recorded:
                    lines.extend([(t, line)] if len(line) <= MAX_LINE else _timed(t, line))
                continue
            *whole, rest = data.split(b"\n")
            if whole:
                whole[0] = self._partial + whole[0]
                self._partial = rest
                if self._recorded:
                    for line in whole:
                        lines.extend(_timed(t, line))
            else:
                self._partial += rest
            if len(self._partial) > MAX_LINE:  # keeps up to MAX_LINE: a line's last piece
                keep = (len(self._partial) - 1) % MAX_LINE + 1
                cuts, self._partial = self._partial[:-keep], self._partial[-keep:]
                if self._recorded:
                    lines.extend(_timed(t, cuts))
        return lines

    def finish(self) -> list[tuple[int, bytes]]:
        """The last line, if it has no newline."""
        partial, self._partial = self._partial, b""
        return [(self._last, partial)] if partial and self._recorded else []


def _times(pieces: list[Piece], arrived: int) -> list[int]:
    """When each piece was written: its copy's time; for one written directly, when it
    arrived, but no later than the next copied piece (it was written before it)."""
    times = [0] * len(pieces)
    t = arrived
    for i in range(len(pieces) - 1, -1, -1):
        copy = pieces[i].copy
        t = copy.t if copy is not None else min(t, arrived)
        times[i] = t
    return times


def _timed(t: int, line: bytes) -> list[tuple[int, bytes]]:
    """A line in lines of at most ``MAX_LINE`` bytes (an empty line stays one), at ``t``."""
    if len(line) <= MAX_LINE:
        return [(t, line)]
    return [(t, line[start : start + MAX_LINE]) for start in range(0, len(line), MAX_LINE)]
