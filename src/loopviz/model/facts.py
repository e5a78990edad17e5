"""The facts the model answers with: plain data, no prose (``words`` says them).

Times are integer nanoseconds since the start of the run.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from loopviz.trace import Arg, Outcome, ResourceKind


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
    0 unless at least the block threshold). ``resource`` is the lock, semaphore, event,
    condition or queue a WAITING task waits on, or whose use made a READY one ready (0:
    none). For DONE: ``kind`` is a ``trace.Outcome`` and ``detail`` the result's repr or
    "Type: message".
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
    resource: int = 0
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
    library: bool = False  # asyncio's own or a library's (``timeline.library_code``): folded away
    # Its coroutine's first arguments as recorded (``trace.Arg``); None: not recorded.
    args: tuple[Arg, ...] | None = None
    process: int = 0  # the process it ran in (0: the program's own; ``Timeline.processes``)
    # Of a task running a library's coroutine (uvicorn's ``run_asgi``): the program's own
    # function it runs, the innermost in its chain of awaits ("app"), once it waited in it.
    handler: str = ""


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
    """A task entered a new interval, its ``index``-th (0: it was created)."""

    task: int
    interval: Interval
    index: int

    @property
    def first(self) -> bool:
        return self.index == 0


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


@dataclass(frozen=True, slots=True)
class Queued:
    """A task in the loop's ready queue, or whose timer is overdue: ``interval`` is its
    ready (or overdue) interval, which says why it is there and since when."""

    task: int
    interval: Interval


@dataclass(frozen=True, slots=True)
class Parked:
    """A task suspended in a wait the loop watches: a timer (``interval.deadline``) or I/O."""

    task: int
    interval: Interval


@dataclass(frozen=True, slots=True)
class Line:
    """The tasks waiting on one lock, semaphore, event, condition or queue, in order."""

    resource: int
    tasks: list[int]


@dataclass(frozen=True, slots=True)
class JobState:
    """An executor job at a moment: queued (``worker`` "") or running on ``worker``."""

    job: int
    task: int  # the task that submitted it (0: none)
    worker: str
    since: int  # submitted (queued) or started (running)


@dataclass(frozen=True, slots=True)
class LoopSnapshot:
    """The loop's own state at a moment, as a learner would draw it: what runs, the ready
    queue in the order the loop will run it, the timers soonest first (``overdue``: those
    whose deadline passed while a step held the loop; asyncio moves them to the ready queue
    only when it next looks at its timers, after what is in it), the I/O waits, the
    executor jobs and the tasks in line for each resource (``lines``). ``idle_until`` is
    set while the loop sits in ``select()`` (the end of that wait, or None while it still
    waits); ``open`` is False outside any running event loop, and ``stopped`` says a loop
    is open there all the same (made, or between two ``run_until_complete``)."""

    t: int
    open: bool
    running: int  # the task whose step runs (0: none)
    running_at: tuple[str, int] | None  # the line it runs, where known
    blocking_since: int | None  # its step has held the loop past the threshold since
    ready: list[Queued]
    overdue: list[Queued]
    timers: list[Parked]
    io: list[Parked]
    jobs: list[JobState]
    idle: bool
    idle_until: int | None
    lines: list[Line]
    stopped: bool = False


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    """A lock, semaphore, event, condition, queue or barrier the program made."""

    id: int
    kind: ResourceKind
    name: str  # the name it was bound to ("printer"), or ""
    file: str
    line: int
    capacity: int  # permits, maxsize or parties (0: none, or unbounded)
    created: int
    # Its number among those of its kind, name and site (each run of a function making one):
    # 1 for the first, which alone is called by its name only.
    nth: int = 1


@dataclass(frozen=True, slots=True)
class Holder:
    """A task holding a lock (or a permit of a semaphore) since ``since``."""

    task: int
    since: int


@dataclass(frozen=True, slots=True)
class ResourceTotals:
    """A resource over the whole run: ``uses`` counts acquisitions, puts, sets or arrivals;
    ``max_in_use`` its highest level; ``max_waiters`` the most tasks waiting on it at once;
    ``wait`` the time tasks spent waiting on it; ``longest_hold`` the longest a task held it."""

    uses: int
    max_in_use: int
    max_waiters: int
    wait: int
    longest_hold: int


@dataclass(frozen=True, slots=True)
class ResourceColumn:
    """What a resource's lane shows in one screen column: its highest ``level`` there (holders,
    permits in use, items queued, parties arrived; 1 for a set event), who held it then (in
    the order they took it), and the most tasks waiting on it at once there."""

    level: int
    holders: tuple[int, ...]
    waiters: int
