"""The trace format: the contract between the recorder and every viewer.

A trace is JSON Lines. The first line is a :class:`Header` object; every other line is one
event, encoded as a JSON array whose first element is the record's tag (a small integer)
followed by its fields in declaration order. Times are integer nanoseconds since the start
of the run (``Header.started`` on the wall clock). Strings that repeat (task names, file
names, wait details) are interned: a :class:`Str` record gives the id, later records refer
to it. ``docs/trace-format.md`` documents every record; this module is the one definition.

Bump :data:`FORMAT_VERSION` whenever a record changes shape; readers refuse newer versions.
"""

from __future__ import annotations

import datetime
import enum
import platform
import signal
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec

from loopviz import __version__
from loopviz.exits import LoopvizError

FORMAT = "loopviz-trace"
FORMAT_VERSION = 6  # 6: how child processes ended (docs/trace-format.md: each version's)
FIRST_WITH_ARGS = 3  # the first version whose TaskCreated records carry the task's arguments
FIRST_WITH_SOURCES = 5  # the first whose Source records say which files the program ran


class TraceError(LoopvizError):
    """A file that cannot be read as a trace; the message is one line naming file and line."""


class Cause(enum.IntEnum):
    """What made a task ready."""

    START = 0  # first step of a new task
    YIELD = 1  # the task yielded (``await asyncio.sleep(0)``) and is ready again
    TIMER = 2  # a timer it waited on fell due (sleep, timeout)
    FUTURE = 3  # a future it awaited was resolved (``ref``: the task that resolved it, or 0)
    TASK = 4  # a task it awaited finished (``ref``: that task)
    IO = 5  # a socket or pipe became readable or writable
    CANCEL = 6  # it was cancelled (``ref``: the task whose step cancelled it, or 0)
    EXECUTOR = 7  # a job it awaited in a thread or process pool finished (``ref``: the job)
    GROUP_FAILED = 8  # a task of the task group it runs failed (``ref``): the group wakes it
    GROUP_CANCEL = 9  # its task group cancelled it, as a task of the group failed (``ref``)
    DEADLINE = 10  # an ``asyncio.timeout()`` of task ``ref`` (maybe its own) fell due


class Wait(enum.IntEnum):
    """What a suspended task awaits."""

    FUTURE = 0
    SLEEP = 1
    TASK = 2  # ``detail`` is the awaited task's id rather than a string id
    GATHER = 3  # ``detail`` is the number of awaitables gathered (version 3 on)
    LOCK = 4
    SEMAPHORE = 5
    EVENT = 6
    CONDITION = 7
    QUEUE_GET = 8
    QUEUE_PUT = 9
    IO = 10
    EXECUTOR = 11  # ``detail`` is the job id rather than a string id
    TIMEOUT = 12  # ``wait_for`` up to version 2; since, a wait records what it wraps
    HTTP = 13  # an HTTP request (aiohttp); ``detail``: "METHOD /path"
    QUEUE_JOIN = 14  # ``Queue.join()``: until every item put is marked done
    TASK_GROUP = 15  # the end of ``async with TaskGroup()``; ``detail``: its tasks not done
    BARRIER = 16  # ``Barrier.wait()`` (version 4 on; before, an EVENT)


# The waits on a resource: from version 4 on, their ``Waited.detail`` is the Resource's id.
RESOURCE_WAITS: frozenset[int] = frozenset(
    {Wait.LOCK, Wait.SEMAPHORE, Wait.EVENT, Wait.CONDITION, Wait.QUEUE_GET, Wait.QUEUE_PUT,
     Wait.BARRIER}
)  # fmt: skip
FIRST_WITH_RESOURCES = 4


class Outcome(enum.IntEnum):
    RESULT = 0
    ERROR = 1
    CANCELLED = 2
    UNSEEN = 3  # it ended while recording was paused, how is not known (version 5 on)


class JobPhase(enum.IntEnum):
    SUBMITTED = 0
    STARTED = 1
    FINISHED = 2


class Stream(enum.IntEnum):
    STDOUT = 1
    STDERR = 2


class EndReason(enum.IntEnum):
    EXITED = 0  # the program ended by itself (status 0 or not)
    TIMEOUT = 1  # killed by the recorder after --timeout
    INTERRUPTED = 2  # stopped by the user (Ctrl-C, or the app's stop key)
    SIGNAL = 3  # killed by a signal from elsewhere (status is minus the signal number)


def ended_by_interrupt(status: int | None) -> bool:
    """Whether an interrupted program's exit ``status`` says the interrupt ended it (130 of
    an unhandled ``KeyboardInterrupt``, or a kill by SIGINT, or by SIGKILL when it did not
    stop in time), rather than an end of its own: 0 when it handled Ctrl-C and exited
    cleanly, or a failure of its clean-up."""
    return status in (128 + signal.SIGINT, -signal.SIGINT, -signal.SIGKILL)


class LoopPhase(enum.IntEnum):
    OPENED = 0
    CLOSED = 1
    # From version 5: a loop is marked STOPPED as it opens (it counts as running until a
    # mark says otherwise), RUNNING when ``run_forever`` begins (``run_until_complete`` and
    # ``asyncio.run`` call it) and STOPPED when it returns: then the loop does nothing.
    RUNNING = 2
    STOPPED = 3


class GapReason(enum.IntEnum):
    """Why a :class:`Gap` in the trace holds no records."""

    DROPPED = 0  # ``--window``: the records before ``until`` were dropped, their totals kept
    PAUSED = 1  # recording was paused (``--paused``, SIGUSR1) from ``t`` to ``until``


class ResourceKind(enum.IntEnum):
    """What a ``Resource`` is: the asyncio synchronisation primitive or queue it records."""

    LOCK = 0
    SEMAPHORE = 1
    BOUNDED_SEMAPHORE = 2
    EVENT = 3
    CONDITION = 4
    QUEUE = 5
    PRIORITY_QUEUE = 6
    LIFO_QUEUE = 7
    BARRIER = 8


class UseOp(enum.IntEnum):
    """What a task did to a resource (a ``Use``)."""

    ACQUIRED = 0  # took a lock, a condition's lock or one of a semaphore's permits
    RELEASED = 1  # gave it back
    SET = 2  # set an event
    CLEARED = 3  # cleared an event
    PUT = 4  # put an item into a queue
    GOT = 5  # took an item out of a queue
    ARRIVED = 6  # reached a barrier and waits there
    PASSED = 7  # the barrier filled: every party goes on
    NOTIFIED = 8  # notified a condition's waiters


class Unseen(enum.IntEnum):
    """What an :class:`Untraced` record says ran outside the trace."""

    LOOP = 0  # an event loop loopviz cannot trace ran (``what``: its class)
    REPLACED = 1  # a loop asked for (``what``: "uvloop") was given as a traced one instead
    PROCESS = 2  # a Python child process started (``what``: its pid, or ""); not followed
    CHILD = 3  # a Python child process started (``what``: its pid), followed if it can be


class Loss(enum.IntEnum):
    """Why a :class:`Lost` record's events are not in the trace."""

    KILLED = 0  # the program's process ended before it sent what it recorded last
    FAILED = 1  # recording them failed (an error inside loopviz); the rest went on


class Header(msgspec.Struct, kw_only=True):
    """First line of every trace."""

    format: str = FORMAT
    version: int = FORMAT_VERSION
    loopviz: str
    python: str
    program: str
    argv: list[str] = []
    started: str  # ISO 8601 wall-clock time of t = 0
    block_threshold_ns: int = 100_000_000
    clock_origin_ns: int = 0  # CLOCK_MONOTONIC at t = 0, to align other clocks of the machine


def new_header(
    program: str, argv: Iterable[str], block_threshold_ns: int, clock_origin_ns: int
) -> Header:
    """The header of a trace of ``program`` recorded now by this loopviz and this Python."""
    return Header(
        loopviz=__version__,
        python=platform.python_version(),
        program=program,
        argv=list(argv),
        started=datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds"),
        block_threshold_ns=block_threshold_ns,
        clock_origin_ns=clock_origin_ns,
    )


def _record(tag: int) -> dict[str, Any]:
    """Class options shared by every event record: a compact array led by ``tag``."""
    return {"array_like": True, "tag": tag, "tag_field": "tag", "gc": False, "frozen": True}


class Str(msgspec.Struct, **_record(0)):
    """Interns ``text`` as ``id`` (ids start at 1; 0 means "none")."""

    id: int
    text: str


class Site(msgspec.Struct, **_record(1)):
    """Interns a source position: ``file`` (a Str id) and ``line``; ``code`` is the qualified
    name (a Str id; 0: not recorded) of the function the line is in (version 5 on)."""

    id: int
    file: int
    line: int
    code: int = 0


# A task's argument as recorded: a str (cut to ARG_CHARS + 1 characters), int, float, bool or
# None as itself; any other value as ``[type name]`` or ``[type name, safe repr]``; ``[]`` for
# "more arguments follow" (at most MAX_ARGS are recorded).
Arg = str | int | float | bool | None | list[str]
MAX_ARGS = 3
ARG_CHARS = 12


class TaskCreated(msgspec.Struct, **_record(2)):
    """Task ``task`` was created by ``parent`` (0: outside any task) at ``site``."""

    t: int
    task: int
    name: int  # Str id, or -N for asyncio's default name "Task-N" (see task_name)
    coro: int  # Str id of the coroutine's qualified name
    coro_site: int  # Site of the coroutine's ``def``
    parent: int
    site: int  # Site of the creating call (0 if unknown)
    args: tuple[Arg, ...] | None = ()  # its first arguments (see Arg); None: not known


def task_name(ref: int, strings: dict[int, str]) -> str:
    """The text of a task name field: asyncio's default names ``Task-N`` are written as -N,
    sparing a Str record per task (most tasks keep the default, and each one is unique)."""
    return f"Task-{-ref}" if ref < 0 else strings.get(ref, "")


class Ready(msgspec.Struct, **_record(3)):
    """The task's next step was scheduled: it waits in the loop's ready queue."""

    t: int
    task: int
    cause: int  # Cause
    ref: int = 0


class Ran(msgspec.Struct, **_record(4)):
    """A step ran from ``t`` for ``dur`` and yielded: the task is ready again."""

    t: int
    task: int
    dur: int


class Waited(msgspec.Struct, **_record(5)):
    """A step ran from ``t`` for ``dur``; then the task waits on ``kind``.

    ``site`` is where its own code is suspended; ``timeout`` is the time from the step's end
    to the wait's deadline (0: no deadline). Past the deadline the task counts as ready.
    """

    t: int
    task: int
    dur: int
    kind: int  # Wait
    # Str id; for Wait.TASK the awaited task, for Wait.EXECUTOR the job; from version 4 on,
    # for a wait on a lock, semaphore, event, condition, queue or barrier, the Resource (0:
    # one not recorded)
    detail: int
    site: int
    timeout: int = 0


class Finished(msgspec.Struct, **_record(6)):
    """The task's last step ran from ``t`` for ``dur`` and ended it."""

    t: int
    task: int
    dur: int
    outcome: int  # Outcome
    detail: int  # Str id: the result's repr, or "Type: message"


class Idle(msgspec.Struct, **_record(7)):
    """The loop waited in ``select()`` from ``t`` for ``dur``; ``timeout`` -1 means none."""

    t: int
    dur: int
    timeout: int


class Callback(msgspec.Struct, **_record(8)):
    """A plain callback (not a task step) ran from ``t`` for ``dur``."""

    t: int
    dur: int
    name: int  # Str id


class Blocking(msgspec.Struct, **_record(9)):
    """Seen at ``t`` by the watchdog: a step or callback running since ``since`` blocks the loop.

    ``task`` is 0 for a plain callback; ``site`` is where the loop thread is right now.
    """

    t: int
    since: int
    task: int
    site: int


PROCESS_POOL = "ProcessPoolExecutor"  # the worker of a process pool's jobs (unknown which)


class Job(msgspec.Struct, **_record(10)):
    """An executor job changed phase (JobPhase) on ``worker`` (a Str id)."""

    t: int
    job: int
    phase: int
    worker: int
    fn: int  # Str id of the function's name
    task: int  # the task that submitted it (0: none)


class Output(msgspec.Struct, **_record(11)):
    """One line the program wrote (without its newline)."""

    t: int
    stream: int  # Stream
    text: str


class Problem(msgspec.Struct, **_record(12)):
    """Something the loop reported (an exception never retrieved...) or the recorder's own error."""

    t: int
    task: int
    message: int  # Str id


class LoopMark(msgspec.Struct, **_record(13)):
    """An event loop was opened or closed (a program may run several, one after another)."""

    t: int
    loop: int
    phase: int  # LoopPhase


class ProgramError(msgspec.Struct, **_record(14)):
    """The program ended with an uncaught exception."""

    t: int
    type: str
    message: str
    traceback: str


class End(msgspec.Struct, **_record(15)):
    """The last record: how the program's process ended."""

    t: int
    status: int  # exit status; minus the signal number when killed by one
    reason: int  # EndReason


class Renamed(msgspec.Struct, **_record(16)):
    """The task's name changed (``create_task(name=...)`` names a task after creating it)."""

    t: int
    task: int
    name: int  # Str id


class Resource(msgspec.Struct, **_record(17)):
    """The program made a lock, semaphore, event, condition, queue or barrier (``kind``, a
    ``ResourceKind``) at ``site``, bound to the name ``name`` where known (a Str id; 0: none).
    ``capacity`` is a semaphore's permits, a queue's ``maxsize`` or a barrier's parties (0:
    none, or an unbounded queue)."""

    t: int
    id: int
    kind: int
    name: int
    site: int
    capacity: int


class Use(msgspec.Struct, **_record(18)):
    """``task`` (0: outside any task) did ``op`` (a ``UseOp``) to ``resource``; ``level`` is
    its level after: holders of a lock or condition, permits in use, items queued, parties
    waiting at a barrier, 1 for a set event (0 cleared). ``count``: how many times, the last
    at ``t`` (a queue's puts and gets are seen a step at a time)."""

    t: int
    resource: int
    op: int
    task: int
    level: int
    count: int = 1


class Untraced(msgspec.Struct, **_record(19)):
    """Something ran whose inside the trace does not show (``kind``: :class:`Unseen`).

    ``file`` and ``line`` say where the program's own code made it ("" and 0: unknown);
    ``by`` is the package that asked for it ("": the program itself). Strings are inline, as
    the recording process reads these records without the run's interned strings.
    """

    t: int
    kind: int  # Unseen
    what: str
    file: str
    line: int
    by: str


class Process(msgspec.Struct, **_record(23)):
    """The records after this one, up to the next ``Process`` record, are process ``proc``'s
    (0: the program's own; 1, 2, ...: the Python child processes followed, in the order they
    were first heard from). Each process numbers its own tasks, strings, sites, resources,
    jobs and loops; its times count from the trace's start like every other's. ``pid`` and
    ``ppid`` are the operating system's ids of it and of the process that started it;
    ``command`` its command line (inline)."""

    t: int
    proc: int
    pid: int
    ppid: int
    command: str


class Exit(msgspec.Struct, **_record(24)):
    """Process ``pid``, a Python child process loopviz followed, ended at ``t``. Written by
    the process that waited for it (in that one's section), by the process itself as it
    called ``os._exit``, or by the recording process as its connection closed (``known``
    False: that it ended is all that is known). ``status``: its exit status; minus the
    signal number when killed by one."""

    t: int
    pid: int
    status: int
    known: bool = True


class Gap(msgspec.Struct, **_record(20)):
    """Nothing was recorded from ``t`` to ``until`` (``reason``: :class:`GapReason`).

    DROPPED (``--window``): ``t`` is 0 and the trace keeps only what came after ``until``,
    with, before this record, what later records refer to (strings, sites, resources, the
    loops still open, the tasks still alive: each at its own time); ``busy`` and ``idle``
    are the loop's time dropped, ``tasks`` the tasks that began and ended there, ``loops``
    the loops opened there. PAUSED: the program ran on unrecorded; the totals are 0.
    """

    t: int
    until: int
    reason: int  # GapReason
    busy: int = 0
    idle: int = 0
    tasks: int = 0
    loops: int = 0


class Lost(msgspec.Struct, **_record(21)):
    """Events the trace misses, and how many (``events`` -1: not known). ``t``: the first
    one's time, or for ``Loss.KILLED`` the time of the last record received, after which
    what the program did may be missing."""

    t: int
    events: int
    why: int  # Loss


class Source(msgspec.Struct, **_record(22)):
    """A source file of the program's own that it ran, as it was: its size in bytes and
    the SHA-256 of its content ("" when it was past :data:`MAX_SOURCE` bytes, or unreadable).
    A viewer shows a file's source only when a file it finds has this size and hash."""

    file: str
    size: int
    sha256: str


MAX_SOURCE = 1_000_000  # bytes: a longer source file is not hashed, nor shown


Record = (
    Str
    | Site
    | TaskCreated
    | Ready
    | Ran
    | Waited
    | Finished
    | Idle
    | Callback
    | Blocking
    | Job
    | Output
    | Problem
    | LoopMark
    | ProgramError
    | End
    | Renamed
    | Resource
    | Use
    | Untraced
    | Process
    | Gap
    | Lost
    | Source
    | Exit
)

_encoder = msgspec.json.Encoder()
_header_decoder = msgspec.json.Decoder(Header)
_record_decoder = msgspec.json.Decoder(Record)


def encode_header(header: Header) -> bytes:
    return _encoder.encode(header) + b"\n"


def encode_records(records: Sequence[Record]) -> bytes:
    """Encode records as JSON lines (one per record, each ending in a newline)."""
    return _encoder.encode_lines(records)


def _line_start(record: type[msgspec.Struct]) -> bytes:
    """How an event line of this record type starts: its tag, as encoded."""
    tag = record.__struct_config__.tag
    assert isinstance(tag, int)
    return b"[%d," % tag


_LOOP_MARK = _line_start(LoopMark)
_OPENED = b",%d]" % LoopPhase.OPENED  # how a LoopMark OPENED line ends (phase is its last field)
# What the recording process tells its user, read without decoding the rest.
_NOTES = (_line_start(ProgramError), _line_start(Untraced))
_TENS = b"[1"  # how the lines of the records tagged 10 to 19 start: those above among them
_NEXT_TENS = b"\n" + _TENS
PROCESS_LINE = _line_start(Process)  # how a Process record's line starts


def read_notes(data: bytes) -> tuple[int, list[Record]]:
    """In event lines (``data``, each line ending in a newline): how many are ``LoopMark``
    OPENED records, and the ``ProgramError`` and ``Untraced`` records, found by a bytes search
    without decoding the rest (a recording process counts the loops of a run and tells its
    user these notes, but does not otherwise read it)."""
    loops = 0
    notes: list[Record] = []
    start = 0 if data.startswith(_TENS) else _after(data.find(_NEXT_TENS))
    while start >= 0:
        end = data.find(b"\n", start)
        line = data[start:end] if end >= 0 else data[start:]
        if line.startswith(_LOOP_MARK):
            loops += line.endswith(_OPENED)
        elif line.startswith(_NOTES):
            notes += decode_lines([line])
        start = _after(data.find(_NEXT_TENS, end)) if end >= 0 else -1
    return loops, notes


def _after(newline: int) -> int:
    return newline + 1 if newline >= 0 else -1


def decode_lines(lines: Iterable[bytes]) -> list[Record]:
    """The records of event lines, skipping lines that do not decode."""
    records: list[Record] = []
    for line in lines:
        try:
            records.append(_record_decoder.decode(line))
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            continue
    return records


def last_time(lines: Sequence[bytes]) -> int | None:
    """The time of the last of these event lines that has one (None: none has)."""
    for line in reversed(lines):
        for record in decode_lines([line]):
            t = getattr(record, "t", None)
            if isinstance(t, int):
                return t
    return None


def parse_header(line: bytes, where: str) -> Header:
    """Check and decode a trace's first line; ``where`` names the file in errors."""
    try:
        raw = msgspec.json.decode(line)
    except (msgspec.DecodeError, RecursionError):
        raw = None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise TraceError(f"{where}:1: not a loopviz trace")
    version = raw.get("version")
    if type(version) is not int or version < 1:
        raise TraceError(f"{where}:1: bad trace header: {version!r} is not a format version")
    if version > FORMAT_VERSION:
        raise TraceError(
            f"{where}:1: trace format version {version} is newer than this loopviz "
            f"reads ({FORMAT_VERSION}); upgrade loopviz"
        )
    try:
        return _header_decoder.decode(line)
    except msgspec.ValidationError as exc:
        raise TraceError(f"{where}:1: bad trace header: {exc}") from None


@dataclass
class Trace:
    """A trace read from a file: its header, its records, and what went wrong reading it."""

    header: Header
    records: list[Record] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def iter_records(lines: Iterator[bytes], where: str, first: int = 2) -> Iterator[Record]:
    """Decode event lines, raising :class:`TraceError` naming ``where`` and the line (the
    first being line ``first``: line 1 is the header)."""
    for number, line in enumerate(lines, first):
        if not line.strip():
            continue
        try:
            yield _record_decoder.decode(line)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
            raise _malformed(where, number, exc) from None


def _malformed(where: str, number: int, exc: Exception) -> TraceError:
    return TraceError(f"{where}:{number}: malformed event: {exc}")


BATCH_BYTES = 1 << 22  # read at a time: a big trace is decoded and folded a slice at a time


class TraceReader:
    """A trace file read a batch of records at a time (``batches``), so that a big one is
    never whole in memory, as lines or as records. ``header`` is read at once; ``warnings``
    (a last line cut short) once the batches are through. Raises :class:`TraceError`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.where = where = str(path)
        self.warnings: list[str] = []
        try:
            with self.path.open("rb") as file:
                first = file.readline()
                if not first.strip() and not file.read().strip():
                    raise TraceError(f"{where}: empty file, not a loopviz trace")
        except OSError as exc:
            raise TraceError(f"{where}: cannot read: {exc.strerror or exc}") from None
        self.header = parse_header(first.removesuffix(b"\n"), where)
        self._start = len(first)

    def bodies(self) -> Iterator[tuple[bytes, int]]:
        """The file's event lines, a few megabytes at a time, each body with the number of
        its first line; last, a line cut short (no newline: the recorder was killed
        mid-write), if the file ends in one."""
        number, tail = 2, b""  # number: the next line's
        try:
            with self.path.open("rb") as file:
                file.seek(self._start)
                while chunk := file.read(BATCH_BYTES):
                    data = tail + chunk
                    cut = data.rfind(b"\n") + 1
                    body, tail = data[:cut], data[cut:]
                    if body:
                        yield body, number
                        number += body.count(b"\n")
        except OSError as exc:
            raise TraceError(f"{self.where}: cannot read: {exc.strerror or exc}") from None
        if tail:
            yield tail, number

    def batches(self) -> Iterator[list[Record]]:
        """The records, a few megabytes of the file at a time."""
        count = 0
        for body, number in self.bodies():
            if body.endswith(b"\n"):
                records = self._decode(body, number)
            else:
                records = self.last_line(body, number, count)
            count += len(records)
            yield records

    def _decode(self, body: bytes, number: int) -> list[Record]:
        """The records of whole lines, the first being line ``number``: all at once, or
        line by line to name the line that does not decode (or a blank one)."""
        try:
            records = _record_decoder.decode_lines(body)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            records = []
        if len(records) == body.count(b"\n"):
            return records
        return list(iter_records(iter(body.split(b"\n")[:-1]), self.where, number))

    def line(self, body: bytes, start: int, stop: int, first: int) -> Record | None:
        """The record of the whole line ``body[start:stop]`` (None: a blank line), the body's
        first line being line ``first`` (counted only to name a line that does not read)."""
        line = body[start:stop]
        if not line.strip():
            return None
        try:
            return _record_decoder.decode(line)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
            number = first + body.count(b"\n", 0, start)
            raise _malformed(self.where, number, exc) from None

    def last_line(self, tail: bytes, number: int, count: int) -> list[Record]:
        """The record of a last line without its newline (``bodies``), line ``number``, after
        ``count`` records; if it does not decode, none, and the warning says so."""
        try:
            return [_record_decoder.decode(tail)]
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            self.warnings.append(
                f"{self.where}:{number}: last line is incomplete (the trace was cut short); "
                f"loaded the {count} events before it"
            )
            return []


def read_trace(path: str | Path) -> Trace:
    """Read a whole trace file.

    A last line cut short (the recorder was killed mid-write) is dropped with a warning,
    so everything complete still loads; any other bad line is a :class:`TraceError`.
    """
    reader = TraceReader(path)
    trace = Trace(reader.header)
    for batch in reader.batches():
        trace.records += batch
    trace.warnings = reader.warnings
    return trace


def is_trace(path: str | Path) -> bool:
    """Whether the file starts with a trace header (files are known by content, not name)."""
    try:
        with Path(path).open("rb") as file:
            parse_header(file.readline(4096), str(path))
    except (OSError, TraceError):
        return False
    return True


_PIP_SH_LAUNCHER = b"'''exec' "  # pip's second line, after #!/bin/sh


def is_python_script(path: Path) -> bool:
    """Whether ``path`` is a Python program: a ``.py`` file, or a script whose ``#!`` line
    names Python (a console script such as ``pytest`` or ``uvicorn``). pip starts a script
    whose interpreter's path is too long for ``#!`` with ``#!/bin/sh`` and runs Python from
    its second line, which is a string to Python."""
    if path.suffix == ".py":
        return True
    try:
        with path.open("rb") as file:
            first, second = file.readline(4096), file.readline(4096)
    except OSError:
        return False
    return first.startswith(b"#!") and (
        b"python" in first or (second.startswith(_PIP_SH_LAUNCHER) and b"python" in second)
    )


def file_kind(path: Path) -> Literal["trace", "program"]:
    """What a file is, by its content: a trace starts with its header, whatever its name
    (a ``.py`` file holding a trace is never run); else a Python program (``is_python_script``)
    is a program. Raises ``TraceError`` for anything else, saying why it is not a trace."""
    try:
        with path.open("rb") as file:
            first = file.readline(4096)
    except OSError as exc:
        raise TraceError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        parse_header(first, str(path))
    except TraceError:
        if is_python_script(path):
            return "program"
        if not first.strip():
            raise TraceError(f"{path}: empty file, not a loopviz trace") from None
        raise
    return "trace"
