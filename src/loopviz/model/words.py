"""Every sentence a user reads about a run, in one place so that they agree.

The model answers in facts (intervals, moments, blocking steps, the exit); this module says
them in plain words for a learner who reads every one: the inspector, the event log, the
summary table, the JSON ``text`` fields, the exports and the command line all call it. A new
wait kind or cause is one entry in a table here (plus its record in ``trace``).
"""

from __future__ import annotations

import re
import signal
from pathlib import PurePath

from loopviz.model.facts import (
    BlockingStep,
    Interval,
    JobChange,
    LoopChange,
    Moment,
    OutputLine,
    Reported,
    Segment,
    State,
    TaskInfo,
    Totals,
)
from loopviz.model.timeline import Timeline
from loopviz.trace import (
    ARG_CHARS,
    PROCESS_POOL,
    Arg,
    Cause,
    EndReason,
    JobPhase,
    Outcome,
    Stream,
    Wait,
)
from loopviz.units import format_short, format_time

# Why a task became ready, for the causes whose sentence needs no other fact.
_BECAUSE: dict[int, str] = {
    Cause.START: "its first step is due",
    Cause.YIELD: "it yielded and is due again",
    Cause.IO: "its socket or pipe is ready",
    Cause.CANCEL: "it was cancelled",
}

# How a task it awaited ended, when that woke it: "task B finished".
_ENDED: dict[int | None, str] = {
    Outcome.RESULT: "finished",
    Outcome.ERROR: "failed",
    Outcome.CANCELLED: "ended (cancelled)",
    None: "finished",
}

# What a task waits on when the trace recorded no function name for it.
_WAITING_ON: dict[int, str] = {
    Wait.FUTURE: "a future",
    Wait.SLEEP: "sleep",
    Wait.TASK: "a task",
    Wait.GATHER: "gather",
    Wait.LOCK: "a lock",
    Wait.SEMAPHORE: "a semaphore",
    Wait.EVENT: "an event",
    Wait.CONDITION: "a condition",
    Wait.QUEUE_GET: "a queue, to get an item",
    Wait.QUEUE_PUT: "a queue, to put an item",
    Wait.IO: "a socket or pipe",
    Wait.EXECUTOR: "an executor job",
    Wait.TIMEOUT: "a timeout",
    Wait.HTTP: "an HTTP request",
    Wait.QUEUE_JOIN: "a queue join",
    Wait.TASK_GROUP: "its task group",
}

# What a wait means, said after the library function it waits in, where its name alone
# does not say it.
_MEANING: dict[int, str] = {
    Wait.QUEUE_JOIN: "until every item put is done",
}

_DEFAULT_NAME = re.compile(r"Task-[1-9][0-9]*")
_PROCESS_POOLS = frozenset({PROCESS_POOL, "process pool"})  # the latter: versions 1 and 2

UNFINISHED = "the trace ends early (the run did not finish)"

# The run view's help (``?``, Markdown): what the lanes and the summary's figures mean.
RUN_VIEW_HELP = """
One lane per task: **running** (a step runs; in red when it **blocks** the loop), **ready**
(scheduled, awaiting its turn: long ready time means starved), **waiting** (suspended in an
`await`, coloured by what on; lock also stands for semaphore, event and condition).

**Concurrency gain**: the tasks' time (from creation to end, less the time spent awaiting
other tasks) per second the loop ran: about 2 when two tasks' waits overlap, 1 when they ran
one after another.
"""


def where(file: str, line: int) -> str:
    """A site as people say it, "prog.py:12"; the full path stays in the model."""
    return f"{PurePath(file).name}:{line}"


def name(timeline: Timeline, task_id: int) -> str:
    """What a task is called everywhere: its ``label``, "B", "square(3)" (or "#7" for a task
    the trace never announced)."""
    try:
        return label(timeline.task(task_id))
    except KeyError:
        return f"#{task_id}"


def task(timeline: Timeline, task_id: int) -> str:
    """ "task B" (or "task #7" for a task the trace never announced)."""
    return f"task {name(timeline, task_id)}"


def label(info: TaskInfo) -> str:
    """What a task is called on every surface: the name the program gave it; for a task left
    with asyncio's default name ("Task-3"), its coroutine and first arguments, "square(3)",
    "main()"; for asyncio's own tasks (``asyncio.run``'s shutdown steps) what they do,
    "asyncio: shutdown_asyncgens"."""
    call = info.coro.rsplit(".", 1)[-1]
    if info.args is not None:
        call = f"{call}({', '.join(_arg(arg) for arg in info.args)})"
    if info.internal:  # what it does matters, not that it takes no arguments
        return f"asyncio: {call.removesuffix('()')}"
    return call if info.args is not None and _DEFAULT_NAME.fullmatch(info.name) else info.name


def _arg(arg: Arg) -> str:
    """An argument as a call shows it: 'A', 1, 2.5, None; a string cut short with "…"; of a
    value that is not shown, the parameter's name; "…" where more arguments follow."""
    if isinstance(arg, list):
        return arg[0] if arg else "…"
    if isinstance(arg, str) and len(arg) > ARG_CHARS:
        text = repr(arg[:ARG_CHARS])
        return f"{text[:-1]}…{text[-1]}"
    return repr(arg)


def created_by(timeline: Timeline, info: TaskInfo) -> str:
    """Who created a task: its parent's name, "asyncio" for asyncio's own, else "-"."""
    if info.parent:
        return name(timeline, info.parent)
    return "asyncio" if info.internal else "-"


def task_count(tasks: list[TaskInfo]) -> str:
    """ "3 tasks (+2 of asyncio)": the program's tasks, and asyncio's own beside them."""
    internal = sum(info.internal for info in tasks)
    own = len(tasks) - internal
    of_asyncio = f" (+{internal} of asyncio)" if internal else ""
    return f"{own} task{'' if own == 1 else 's'}{of_asyncio}"


def not_created(info: TaskInfo) -> str:
    return f"not created yet (it will be at {format_time(info.created)})"


def family(timeline: Timeline, info: TaskInfo, t: int, at: tuple[str, int] | None) -> list[str]:
    """Where a task is, its parent and the children it made by ``t``: the inspector's lines."""
    lines = []
    facts = [f"at {where(*at)}"] if at is not None else []
    if info.parent:
        facts.append(f"parent: {name(timeline, info.parent)}")
    if facts:
        lines.append(" · ".join(facts))
    children = [c for c in info.children if timeline.task(c).created <= t]
    if children:
        more = f" +{len(children) - 6}" if len(children) > 6 else ""
        lines.append(f"children: {', '.join(name(timeline, c) for c in children[:6])}{more}")
    return lines


def time_spent(totals: Totals) -> list[str]:
    """A task's time so far, in the words of the lanes: running, ready, waiting."""
    steps = f"{totals.steps} step{'' if totals.steps == 1 else 's'}"
    return [
        f"running {format_time(totals.running)} · {steps}",
        f"ready {format_time(totals.ready)} · waiting {format_time(totals.waiting)}",
    ]


def job(timeline: Timeline, job_id: int) -> str:
    """ "job 3: fetch", an executor job and the function it runs."""
    function = timeline.job_function(job_id)
    return f"job {job_id}: {function}" if function else f"job {job_id}"


def wait(timeline: Timeline, interval: Interval) -> str:
    """What a waiting task awaits: "sleep 1.0 s", "Lock.acquire (timeout 0.1 s)", "task B",
    "HTTP GET /delay/1", "gather of 2: a(1), a(2)"."""
    kind, timeout, ref = interval.kind, _timeout(interval), interval.ref
    if kind == Wait.SLEEP:
        if not ref:  # its own timer is the deadline
            return f"sleep {format_short(timeout)}" if timeout else "sleep"
        text = "sleep for ever" if ref < 0 else f"sleep {format_short(ref)}"
    elif kind == Wait.TASK:
        text = task(timeline, ref)
    elif kind == Wait.EXECUTOR:
        text = job(timeline, ref)
    elif kind == Wait.HTTP and interval.detail:
        text = f"HTTP {interval.detail}"
    elif kind == Wait.GATHER and ref:
        text = f"gather of {ref}{_members(timeline, interval)}"
    elif kind == Wait.TASK_GROUP:
        tasks = f"{ref} task{'' if ref == 1 else 's'}" if ref else "tasks"
        text = f"its task group's {tasks}{_members(timeline, interval)}"
    else:
        text = interval.detail or _WAITING_ON.get(kind, "something")
        meaning = _MEANING.get(kind)
        if meaning and interval.detail:
            text = f"{text}, {meaning}"
    return f"{text} (timeout {format_short(timeout)})" if timeout else text


def _members(timeline: Timeline, interval: Interval, shown: int = 3) -> str:
    """ ": a, b, c" naming the tasks a gather or task group waits for, if they are the
    waiting task's children still running when it began to wait ("" if they are not)."""
    try:
        info = timeline.task(interval.task)
    except KeyError:
        return ""
    start = interval.start
    alive = [
        child
        for child in info.children
        if (other := timeline.task(child)).created <= start
        and (other.ended is None or other.ended > start)
    ]
    if len(alive) != interval.ref:
        return ""
    names = [name(timeline, child) for child in alive[:shown]]
    more = f" and {len(alive) - shown} more" if len(alive) > shown else ""
    return f": {', '.join(names)}{more}"


def cause(timeline: Timeline, interval: Interval) -> str:
    """Why a ready task is ready: "its sleep timer fired 300 ms late", "task B finished"."""
    kind = interval.kind
    if interval.overdue:  # ``kind`` is the wait whose deadline passed
        return f"its {_timer(kind)} was due but the loop was busy"
    if kind == Cause.TIMER:
        fired = f"its {_timer(interval.timer)} fired"
        return f"{fired} {format_time(interval.late)} late" if interval.late else fired
    if kind == Cause.TASK:
        return f"{task(timeline, interval.ref)} {_ENDED[_outcome_of(timeline, interval.ref)]}"
    if kind == Cause.CANCEL and interval.ref:
        return f"{task(timeline, interval.ref)} cancelled it"
    if kind == Cause.GROUP_FAILED:
        return f"{task(timeline, interval.ref)} in its task group failed"
    if kind == Cause.GROUP_CANCEL:
        return f"its task group cancelled it, as {task(timeline, interval.ref)} failed"
    if kind == Cause.DEADLINE:
        if interval.ref == interval.task:
            return "its timeout fell due, which cancels its await"
        return f"the timeout of {task(timeline, interval.ref)} fell due, which cancels it"
    if kind == Cause.FUTURE:
        by = f" by {task(timeline, interval.ref)}" if interval.ref else ""
        return f"a future it awaited was resolved{by}"
    if kind == Cause.EXECUTOR:
        return f"{job(timeline, interval.ref)} finished"
    return _BECAUSE.get(kind, "")


def _outcome_of(timeline: Timeline, task_id: int) -> Outcome | None:
    try:
        return timeline.task(task_id).outcome
    except KeyError:
        return None


def outcome(kind: int | None, detail: str, finished: bool = True) -> str:
    """How a task ended: "returned 'x'", "raised ValueError: boom", "cancelled"; for a task
    that did not end, "never finished" (the run ended first) or "running"."""
    if kind is None:
        return "never finished" if finished else "running"
    if kind == Outcome.RESULT:
        return f"returned {detail}" if detail else "returned"
    if kind == Outcome.ERROR:
        return f"raised {detail}" if detail else "raised an exception"
    return "cancelled"


def task_outcome(timeline: Timeline, task_id: int) -> str:
    info = timeline.task(task_id)
    return outcome(info.outcome, info.outcome_detail, timeline.finished)


def detail(timeline: Timeline, interval: Interval) -> str:
    """The words after a state's name: what it waits on, why it is ready, how it ended."""
    state = interval.state
    if state is State.WAITING:
        return wait(timeline, interval)
    if state is State.READY:
        return cause(timeline, interval)
    if state is State.DONE:
        return outcome(interval.kind, interval.detail)
    return ""


def state_name(interval: Interval) -> str:
    """ "running", "ready", "overdue" (ready since a missed deadline), "waiting", "done"."""
    return "overdue" if interval.overdue else interval.state.name.lower()


def state(timeline: Timeline, interval: Interval) -> str:
    """A task's state in plain words: "waiting: sleep 1.0 s", "ready: its timer fired"."""
    said = detail(timeline, interval)
    return f"{state_name(interval)}: {said}" if said else state_name(interval)


def blocked(timeline: Timeline, step: BlockingStep) -> str:
    """ "task main blocked the loop 1.002 s at prog.py:12"."""
    who = task(timeline, step.task) if step.task else "a callback"
    at = f" at {where(step.file, step.line)}" if step.file else ""
    if step.ongoing:
        return f"{who} is still blocking the loop, {format_time(step.duration)} so far{at}"
    return f"{who} blocked the loop {format_time(step.duration)}{at}"


def problem(timeline: Timeline, reported: Reported) -> str:
    """What the loop reported, about a task if it named one."""
    if reported.task:
        return f"{task(timeline, reported.task)}: {reported.message}"
    return reported.message


def ending(
    reason: int | None, status: int | None, error: str = "", *, timeout: float | None = None
) -> str:
    """How a program ended, said after its name: "exited, status 0", "failed: ValueError:
    boom", "timed out after 60 s and was killed" (``timeout`` in seconds, if known)."""
    if reason == EndReason.TIMEOUT:
        after = f" after {timeout:g} s" if timeout is not None else ""
        return f"timed out{after} and was killed"
    if reason == EndReason.INTERRUPTED:
        return "was interrupted (stopped by the user)"
    if reason == EndReason.SIGNAL:
        return f"was killed by {_signal(-status)}" if status else "was killed by a signal"
    if error:
        return f"failed: {error}"
    if status:
        return f"failed: exit status {status}"
    return "ended" if status is None else f"exited, status {status}"


def _signal(number: int) -> str:
    """ "signal 15 (SIGTERM)": the number a user may look up, and the name they know."""
    try:
        return f"signal {number} ({signal.Signals(number).name})"
    except ValueError:
        return f"signal {number}"


def program_end(timeline: Timeline) -> str:
    """How the recorded program ended (said after its name), or ``UNFINISHED``."""
    if not timeline.finished:
        return UNFINISHED
    exit = timeline.exit
    return ending(exit.reason, exit.status, exit.error)


def trace_written(path: str, events: int) -> str:
    return f"trace written to {path} ({events:,} event{'' if events == 1 else 's'})"


def no_event_loop(program: str) -> str:
    return f"{program} never started an asyncio event loop"


def held_open(program: str) -> str:
    """A process the program left running (a daemon) still holds its output open."""
    return (
        f"{program} ended but left a process running that holds its output open; "
        "the trace ends where the program ended"
    )


def never_finished(timeline: Timeline, task_id: int) -> str:
    """ "task B never finished, waiting: sleep 10 s", for a task pending at the end."""
    interval = timeline.state_at(task_id, timeline.end)
    doing = f", {state(timeline, interval)}" if interval is not None else ""
    return f"{task(timeline, task_id)} never finished{doing}"


def moment(timeline: Timeline, moment: Moment) -> str:
    """One line of the event log: "task B ready: its sleep timer fired"."""
    event = moment.event
    if isinstance(event, Segment):
        return _segment(timeline, event)
    if isinstance(event, BlockingStep):
        return blocked(timeline, event)
    if isinstance(event, OutputLine):
        return f"{'stderr' if event.stream == Stream.STDERR else 'stdout'}: {event.text}"
    if isinstance(event, Reported):
        return problem(timeline, event)
    if isinstance(event, LoopChange):
        return "event loop started" if event.opened else "event loop closed"
    if isinstance(event, JobChange):
        return _job_change(timeline, moment.task, event)
    return f"program {ending(event.reason, event.status, event.error)}"


def _segment(timeline: Timeline, segment: Segment) -> str:
    info = timeline.task(segment.task)
    who = task(timeline, segment.task)
    interval = segment.interval
    if segment.first:
        by = f" by {name(timeline, info.parent)}" if info.parent else ""
        at = f" at {where(info.created_file, info.created_line)}" if info.created_file else ""
        return f"{who} created{by}{at}"
    at = ""
    if interval.state is State.WAITING and interval.file:
        at = f" at {where(interval.file, interval.line)}"
    return f"{who} {state(timeline, interval)}{at}"


def _job_change(timeline: Timeline, task_id: int, change: JobChange) -> str:
    what = job(timeline, change.job)
    if change.phase == JobPhase.SUBMITTED:
        who = task(timeline, task_id) if task_id else "the program"
        return f"{who} submitted {what}"
    verb = "started" if change.phase == JobPhase.STARTED else "finished"
    if change.worker in _PROCESS_POOLS:
        return f"{what} {verb} in a process pool"
    return f"{what} {verb} on {worker(change.worker)}"


def worker(name: str) -> str:
    """An executor worker as its lane is labelled: a thread's name, "asyncio_0"; "process
    pool" for a process pool's (which of its processes ran a job is not known)."""
    return "process pool" if name in _PROCESS_POOLS else name


def _timeout(interval: Interval) -> int:
    return interval.deadline - interval.start if interval.deadline is not None else 0


def _timer(wait: int | None) -> str:
    """The timer of a wait: a sleep's own, or the deadline of anything else."""
    if wait is None:
        return "timer"
    return "sleep timer" if wait == Wait.SLEEP else "timeout"
