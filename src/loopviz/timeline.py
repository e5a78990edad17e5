"""The timeline model: per-task state intervals built from trace records.

Pure Python: it imports neither asyncio nor Textual. Build it from a whole trace or feed it
records as they arrive (``add``) while a program still runs; every query answers for what has
arrived so far. Times are integer nanoseconds since the start of the run.

A task's life is a run of contiguous segments (ready, running, waiting), ending when it is
done. A wait with a deadline (sleep, timeout) that ends after its deadline counts as *ready*
from the deadline on: the task was due but the loop did not get to it (starvation).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from loopviz.trace import Header, Outcome, Record, Trace, read_trace


class State(enum.IntEnum):
    """A task's state over an interval; the order is the drawing priority (higher wins)."""

    WAITING = 0
    READY = 1
    RUNNING = 2
    DONE = 3


@dataclass(frozen=True, slots=True)
class Interval:
    """One segment of a task's life. ``end`` is None while it is still open (the run goes on).

    For WAITING: ``kind`` is a ``trace.Wait``, ``detail`` a readable text ("sleep 1.0 s",
    "Lock.acquire", "task B"), ``file``/``line`` where the task's own code is suspended and
    ``deadline`` the wait's deadline (or None). For READY: ``kind`` is a ``trace.Cause``
    (what made it ready) and ``overdue`` says the ready time began at a missed deadline.
    """

    start: int
    end: int | None
    state: State
    kind: int = 0
    detail: str = ""
    file: str = ""
    line: int = 0
    deadline: int | None = None
    overdue: bool = False


@dataclass(slots=True)
class TaskInfo:
    id: int
    name: str
    coro: str  # qualified name of the coroutine
    coro_file: str
    coro_line: int
    parent: int  # 0: created outside any task
    created: int
    created_file: str = ""
    created_line: int = 0
    ended: int | None = None
    outcome: Outcome | None = None
    outcome_detail: str = ""  # result repr or "Type: message"
    children: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Totals:
    """Time a task (or all tasks) spent in each state, in ns, and how many steps it ran."""

    running: int = 0
    ready: int = 0
    waiting: int = 0
    steps: int = 0


@dataclass(frozen=True, slots=True)
class Moment:
    """One event on the timeline, for stepping and for the event log.

    ``task`` is 0 for events of the loop or the program (idle, callbacks, output, end).
    ``text`` is plain words: "task B ready: its sleep(1) timer fired".
    """

    t: int
    task: int
    text: str


@dataclass(frozen=True, slots=True)
class BlockingStep:
    """A step or callback that held the loop longer than the trace's threshold."""

    task: int  # 0: a plain callback
    start: int
    duration: int
    file: str
    line: int


@dataclass(frozen=True, slots=True)
class Span:
    """A plain interval with a label: loop busy/idle, an executor job on a worker."""

    start: int
    end: int | None
    label: str
    busy: bool = True


@dataclass(frozen=True, slots=True)
class Column:
    """What a lane shows in one screen column covering [t0, t1)."""

    state: State | None  # None: the task did not exist then
    kind: int = 0  # the Wait kind when state is WAITING
    blocking: bool = False  # a blocking step overlaps this column


@dataclass(frozen=True, slots=True)
class ExitInfo:
    status: int | None  # None while the program still runs
    reason: int | None  # trace.EndReason
    error: str = ""  # "Type: message" of an uncaught exception
    traceback: str = ""


class Timeline:
    """Everything a viewer asks of a trace. Queries cost O(log n) in the number of events."""

    def __init__(self, header: Header | None = None) -> None:
        raise NotImplementedError

    @classmethod
    def from_trace(cls, trace: Trace) -> Timeline:
        raise NotImplementedError

    @classmethod
    def from_file(cls, path: str | Path) -> Timeline:
        """Read and build; raises ``trace.TraceError``. Reading warnings go to ``warnings``."""
        trace = read_trace(path)
        return cls.from_trace(trace)

    def add(self, records: list[Record]) -> None:
        """Fold more records in (a live run); queries see them at once."""
        raise NotImplementedError

    # --- the run as a whole -------------------------------------------------------------
    header: Header | None
    warnings: list[str]  # reading problems (a truncated last line)
    tasks: list[TaskInfo]  # in creation order
    workers: list[str]  # executor worker names, in order of first use
    blocking: list[BlockingStep]
    problems: list[Moment]  # what the loop reported (exception never retrieved...)
    exit: ExitInfo
    end: int  # the last time seen (the End record's time once the run is over)
    finished: bool  # True once the End record arrived

    def task(self, task_id: int) -> TaskInfo:
        raise NotImplementedError

    def source_files(self) -> list[str]:
        """Files named by sites, program first."""
        raise NotImplementedError

    # --- per task ------------------------------------------------------------------------
    def state_at(self, task_id: int, t: int) -> Interval | None:
        """The task's interval containing t (None before it was created)."""
        raise NotImplementedError

    def intervals(self, task_id: int, t0: int = 0, t1: int | None = None) -> list[Interval]:
        """The task's intervals overlapping [t0, t1)."""
        raise NotImplementedError

    def lane(self, task_id: int, t0: int, t1: int, columns: int) -> list[Column]:
        """The task's look in ``columns`` equal slices of [t0, t1): each column shows the
        state it spent most time in, except that any running beats the rest, so a short
        step stays visible when zoomed out. O(columns x log n)."""
        raise NotImplementedError

    def totals(self, task_id: int | None = None, until: int | None = None) -> Totals:
        """Time in each state up to ``until`` (default: the end), one task or all."""
        raise NotImplementedError

    def alive_at(self, t: int) -> list[int]:
        raise NotImplementedError

    # --- the loop and the executors -------------------------------------------------------
    def loop_spans(self, t0: int = 0, t1: int | None = None) -> list[Span]:
        """Busy and idle (in ``select``) spans of the loop overlapping [t0, t1)."""
        raise NotImplementedError

    def loop_lane(self, t0: int, t1: int, columns: int) -> list[bool | None]:
        """Per column: True busy, False idle, None no loop running."""
        raise NotImplementedError

    def job_spans(self, worker: str, t0: int = 0, t1: int | None = None) -> list[Span]:
        """Jobs that ran on ``worker``, labelled with the function's name."""
        raise NotImplementedError

    # --- events ----------------------------------------------------------------------------
    def next_event(self, t: int, task_id: int | None = None) -> Moment | None:
        """The first event strictly after t (of one task, or any)."""
        raise NotImplementedError

    def prev_event(self, t: int, task_id: int | None = None) -> Moment | None:
        """The last event strictly before t."""
        raise NotImplementedError

    def events_around(self, t: int, before: int, after: int) -> list[Moment]:
        """Up to ``before`` events at or before t and ``after`` events after it, in order."""
        raise NotImplementedError

    def output_until(self, t: int) -> list[tuple[int, int, str]]:
        """(t, stream, text) of every output line written at or before t."""
        raise NotImplementedError
