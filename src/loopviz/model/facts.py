"""The facts the model answers with: plain data, no prose (``words`` says them).

Times are integer nanoseconds since the start of the run.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from loopviz.trace import Arg, Outcome


class State(enum.IntEnum):
    """A task's state over an interval; the order is the drawing priority (higher wins)."""

    WAITING = 0
    READY = 1
    RUNNING = 2
    DONE = 3


@dataclass(slots=True)  # not frozen: made by the million in exports, and frozen costs 4x
class Interval:
    """One segment of a task's life. ``end`` is None while it is still open (the run goes on).

    Plain facts, no prose (``words`` says them). ``task`` is the task whose interval it is.
    For WAITING: ``kind`` is a ``trace.Wait``, ``ref`` the awaited task (``Wait.TASK``) or
    executor job (``Wait.EXECUTOR``), how many tasks a gather or task group awaits
    (``GATHER``, ``TASK_GROUP``), the length in ns of a sleep cut short by a nearer
    deadline (``SLEEP``; -1: for ever, 0: the deadline is its own); ``detail`` the library
    function awaited as recorded ("Lock.acquire"; "GET /path" for ``HTTP``),
    ``file``/``line`` where the task's own code is suspended and ``deadline`` the wait's
    deadline (or None). For READY: ``kind`` is a ``trace.Cause`` (what made it ready), ``ref``
    the task or job behind it; when ``overdue`` the ready time began at a missed deadline and
    ``kind`` is the ``trace.Wait`` that missed it. A ``Cause.TIMER`` wake-up names the wait
    whose timer fired (``timer``, a ``trace.Wait``, or None) and how late it fired (``late``,
    0 unless at least the block threshold). For DONE: ``kind`` is a ``trace.Outcome`` and
    ``detail`` the result's repr or "Type: message".
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
    ref: int = 0
    timer: int | None = None
    late: int = 0
    task: int = 0


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
    internal: bool = False  # asyncio's own task (asyncio.run's shutdown steps), not the program's
    # Its coroutine's first arguments as recorded (``trace.Arg``); None: not recorded.
    args: tuple[Arg, ...] | None = None


@dataclass(frozen=True, slots=True)
class Totals:
    """Time a task (or all tasks) spent in each state, in ns, and how many steps it ran."""

    running: int = 0
    ready: int = 0
    waiting: int = 0
    steps: int = 0


@dataclass(frozen=True, slots=True)
class BlockingStep:
    """A step or callback that held the loop longer than the trace's threshold."""

    task: int  # 0: a plain callback
    start: int
    duration: int
    file: str
    line: int
    ongoing: bool = False  # still running: ``duration`` is up to the last time seen


@dataclass(frozen=True, slots=True)
class Span:
    """A plain interval with a label: loop busy/idle, an executor job on a worker."""

    start: int
    end: int | None
    label: str
    busy: bool = True


@dataclass(frozen=True, slots=True)
class ExitInfo:
    status: int | None  # None while the program still runs
    reason: int | None  # trace.EndReason
    error: str = ""  # "Type: message" of an uncaught exception


@dataclass(frozen=True, slots=True)
class Segment:
    """A task entered a new interval (``first``: it was created)."""

    task: int
    interval: Interval
    first: bool


@dataclass(frozen=True, slots=True)
class OutputLine:
    stream: int  # trace.Stream
    text: str


@dataclass(frozen=True, slots=True)
class Reported:
    """Something the loop reported, such as a task exception that was never retrieved."""

    t: int
    task: int  # 0: not about a task
    message: str


@dataclass(frozen=True, slots=True)
class LoopChange:
    opened: bool  # an event loop started (else: it closed)


@dataclass(frozen=True, slots=True)
class JobChange:
    """An executor job was submitted, started or finished on a worker."""

    job: int
    phase: int  # trace.JobPhase
    worker: str  # "" until it started


Event = Segment | BlockingStep | OutputLine | Reported | LoopChange | JobChange | ExitInfo


@dataclass(frozen=True, slots=True)
class Moment:
    """One event on the timeline, for stepping and for the event log: ``words.moment`` says
    it. ``task`` is 0 for events of the loop or the program (idle, callbacks, output, end)."""

    t: int
    task: int
    event: Event
