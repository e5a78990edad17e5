"""Every sentence a user reads about a run, in one place so that they agree.

The model answers in facts (intervals, moments, blocking steps, the exit); this module says
them in plain words for a learner who reads every one: the inspector, the event log, the
summary table, the JSON ``text`` fields, the exports and the command line all call it. A new
wait kind or cause is one entry in a table here (plus its record in ``trace``).
"""

from __future__ import annotations

import re
import signal
from collections.abc import Collection
from dataclasses import replace
from pathlib import PurePath

from loopviz.model.census import CensusColumn, Stretch
from loopviz.model.facts import (
    BlockingStep,
    Interval,
    JobChange,
    JobState,
    Line,
    LoopChange,
    LoopSnapshot,
    Moment,
    OutputLine,
    Parked,
    Queued,
    Reported,
    ResourceColumn,
    ResourceInfo,
    Segment,
    State,
    TaskInfo,
    Totals,
)
from loopviz.model.groups import Group, GroupStats, Spread
from loopviz.model.processes import ProcessInfo
from loopviz.model.resources import HELD
from loopviz.model.steps import Step, due_during
from loopviz.model.timeline import Timeline
from loopviz.trace import (
    ARG_CHARS,
    PROCESS_POOL,
    Arg,
    Cause,
    EndReason,
    JobPhase,
    Loss,
    Lost,
    Outcome,
    ResourceKind,
    Stream,
    Unseen,
    Untraced,
    UseOp,
    Wait,
    ended_by_interrupt,
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
    Outcome.UNSEEN: "ended while recording was paused",
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
    Wait.BARRIER: "a barrier",
}

# What a wait means, said after the library function it waits in, where its name alone
# does not say it.
_MEANING: dict[int, str] = {
    Wait.QUEUE_JOIN: "until every item put is done",
}

_DEFAULT_NAME = re.compile(r"Task-[1-9][0-9]*")
_PROCESS_POOLS = frozenset({PROCESS_POOL, "process pool"})  # the latter: versions 1 and 2

UNFINISHED = "the trace ends early (the run did not finish)"

# The run view's help (``?``, Markdown): every mark on the timeline, and the summary's figures.
RUN_VIEW_HELP = """
One lane per task, in the order they were created (a coroutine's many tasks are gathered in
one row: **Groups**, below): █ **running** (a step runs), in red when
it **blocks** the loop (a step that runs for the block threshold, 100 ms by default, or
longer: no other task can run meanwhile); ▓ **ready** (scheduled, awaiting its turn: long
ready time means starved; the task pane says **overdue** when it became due while another
step held the loop); ▒ **waiting** (suspended in an `await`, coloured by what on: sleep, I/O,
lock (also semaphore, event and condition), queue, task (also gather and `wait_for`),
executor job, future). ▏ a **short step**: a step ran in that column, too short to fill it.
✗ the task raised, ⊘ it was cancelled. ╌ **cut short**: faintly, where a sleep or a timeout
would have gone on had the task not been cancelled. The light column is the playhead; what
lies after it has not happened yet and is dimmed.

The **loop** lane, on top: █ busy running steps and callbacks, ░ **idle** in `select()`,
waiting for a timer or I/O. Below it one lane per **worker** thread of an executor
(`to_thread`, `run_in_executor`): █ while it runs a job.

┊ **start-up**: the time before the first event loop started (imports, code before
`asyncio.run`), folded into the first column; **u** or a click on its words shows it.
▸ **asyncio and libraries**: tasks asyncio runs itself (shutting down async generators and
the executor) and tasks a library started, folded into one dimmed lane (─ where they exist);
**g** or a click opens it.

▾ **child processes**: each Python process the program started that ran an event loop
(loopviz follows them) is a row over its tasks' lanes, drawing how many of them were alive
and, where it ended, how (✗ when it failed or was killed). Select its row (**↑**/**↓**) to
see in the inspector its command and how it ended (its exit status, the signal that killed
it, or still running when the recording stopped); **Enter** or a click folds its lanes into
the row.

▾ **resources**, under the tasks: one lane per lock, semaphore, event, condition, queue and
barrier the program made (**R** or a click on their head folds them). Its bar is as high as
how full it is: permits in use, items queued, parties arrived, a lock held, against its
capacity; it is tinted where tasks wait on it, and says who holds it and how many wait where
there is room. Select a resource's lane (**↑**/**↓** or a click) to see it in the inspector:
who holds it and who waits in line at the playhead, and its totals.

**Who woke whom**: while the selected task is ready (or runs the step that follows), the
step of the task that woke it (a release, a `set()`, a `put()`, its end) is drawn white in
that task's lane, and » marks its label.

**m** gives the whole screen to the timeline. **c** marks each kind of wait with a letter,
not only a colour: s sleep, i I/O, l lock, q queue, t task, e executor, f future, and
! a blocking step.

**Concurrency gain**: the time tasks spent on work that can overlap (their steps, and their
waits on timers, I/O and executor jobs) per second the loop ran: about 2 when two tasks'
sleeps overlap, 1 when they ran one after another. Waiting in line (for another task, a
lock, a semaphore, an event or a queue) does not count.
"""


def shorten(name: str, width: int) -> str:
    """Cut in the middle, where names that share a prefix and a number differ least:
    "blocking/…beat-1"."""
    if len(name) <= width:
        return name
    if width < 4:
        return name[:width]
    tail = (width - 1) // 2
    return name[: width - 1 - tail] + "…" + name[len(name) - tail :]


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
    """ "task B" (or "task #7" for a task the trace never announced); a child process's
    "task B in child 2" (two processes may run tasks of one name)."""
    try:
        proc = timeline.task(task_id).process
    except KeyError:
        proc = 0
    return f"task {name(timeline, task_id)}{f' in child {proc}' if proc else ''}"


def label(info: TaskInfo) -> str:
    """What a task is called on every surface: the name the program gave it; for a task left
    with asyncio's default name ("Task-3"), its coroutine and first arguments, "square(3)",
    "main()", or for a library's task the program's function it runs (uvicorn's request task
    running ``app``: "app"), else its package and coroutine ("aiohttp: _wait_for_close()");
    for asyncio's own tasks (``asyncio.run``'s shutdown steps) what they do, "asyncio:
    shutdown_asyncgens"."""
    call = info.coro.rsplit(".", 1)[-1]
    if info.args is not None:
        call = f"{call}({', '.join(_arg(arg) for arg in info.args)})"
    if info.internal:  # what it does matters, not that it takes no arguments
        return f"asyncio: {call.removesuffix('()')}"
    if not _DEFAULT_NAME.fullmatch(info.name):
        return info.name
    if info.handler:  # a library's task running the program's function: named by it
        return info.handler.rsplit(".", 1)[-1]
    said = call if info.args is not None else info.name
    package = _PACKAGE.search(info.coro_file) if info.library else None
    return f"{package.group(1)}: {said}" if package else said  # "aiohttp: _wait_for_close()"


def member_labels(infos: list[TaskInfo]) -> list[str]:
    """The labels of a coroutine's tasks under its group's row (which names the coroutine):
    their ``label``s where those tell them apart, else, for the tasks left with asyncio's
    default name, that name ("Task-1520" rather than a thousand "handle(request)")."""
    labels = [label(info) for info in infos]
    if len(set(labels)) == len(labels):
        return labels
    return [
        info.name if _DEFAULT_NAME.fullmatch(info.name) else said
        for info, said in zip(infos, labels, strict=True)
    ]


def _arg(arg: Arg) -> str:
    """An argument as a call shows it: 'A', 1, 2.5, None; a string cut short with "…"; of a
    value that is not shown, the parameter's name; "…" where more arguments follow."""
    if isinstance(arg, list):
        return arg[0] if arg else "…"
    if isinstance(arg, str) and len(arg) > ARG_CHARS:
        text = repr(arg[:ARG_CHARS])
        return f"{text[:-1]}…{text[-1]}"
    return repr(arg)


label_of = name  # ``label`` by id: what a task is called, the same everywhere


def created_by(timeline: Timeline, info: TaskInfo) -> str:
    """Who created a task: its parent's name, "asyncio" for asyncio's own, the installed
    package whose coroutine it runs for a library's task made outside any task (uvicorn's
    request tasks, made by its protocol: "uvicorn"), else "-"."""
    if info.parent:
        return name(timeline, info.parent)
    if info.internal:
        return "asyncio"
    found = _PACKAGE.search(info.coro_file) if info.library else None
    return found.group(1) if found else "-"


# An installed package's folder: what follows site-packages (or dist-packages).
_PACKAGE = re.compile(r"[\\/](?:site|dist)-packages[\\/]([A-Za-z_][\w]*)")


def task_count(tasks: list[TaskInfo]) -> str:
    """ "3 tasks (+2 of asyncio and libraries)": the program's own tasks (a library's task
    that runs the program's own function, such as uvicorn's request task running ``app``,
    among them, as on the timeline), and those that asyncio and libraries started (the
    timeline's folded lane) beside them."""
    theirs = sum(info.internal or (info.library and not info.handler) for info in tasks)
    own = len(tasks) - theirs
    of_theirs = f" (+{theirs} of asyncio and libraries)" if theirs else ""
    return f"{own} task{'' if own == 1 else 's'}{of_theirs}"


def folded_group(count: int) -> tuple[str, ...]:
    """The folded lane of asyncio's own tasks and those libraries started, in shorter and
    shorter words for narrower labels: "asyncio and libraries: 3 tasks" ... "+3 tasks"."""
    tasks = f"{count} task{'' if count == 1 else 's'}"
    return (
        f"asyncio and libraries: {tasks}",
        f"asyncio, libraries: {count}",
        f"asyncio, libs: {count}",
        f"+{tasks}",
    )


def start_up(duration: int, dropped: bool = False) -> tuple[str, ...]:
    """The program's start-up before its first event loop, folded into one column, in
    shorter and shorter words: "start-up 0.45 s", "start 0.45 s", "0.45 s"; ``dropped``:
    the start of the run that a ``--window`` did not keep, "not kept 52 s"."""
    took = format_short(duration)
    if dropped:
        return f"not kept {took}", f"dropped {took}", took
    return f"start-up {took}", f"start {took}", took


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
    """ "fetch() (job 3)", an executor job: the function it runs, and its number."""
    function = timeline.job_function(job_id)
    return f"{function}() (job {job_id})" if function else f"job {job_id}"


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
    elif kind == Wait.TASK_GROUP and ref:
        tasks = f"{ref} task{'' if ref == 1 else 's'}"
        text = f"its task group's {tasks}{_members(timeline, interval)}"
    elif kind == Wait.TASK_GROUP:  # they ended, and the group is told of it in a callback
        text = "its task group's end (its tasks are done)"
    elif interval.resource:
        text = resource_wait(timeline, interval)
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
        awaited = _awaited_many(timeline, interval)
        if awaited:  # a gather or a task group: the task named is only the last to end
            return f"{awaited} ({name(timeline, interval.ref)} was the last)"
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
    if kind == Cause.FUTURE and interval.resource:
        return woken_by_use(timeline, interval)
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


def _awaited_many(timeline: Timeline, ready: Interval) -> str:
    """ "the gather it awaited is done" when the wait before this wake-up was on several
    tasks at once (a gather, a task group), else ""."""
    before = timeline.state_at(ready.task, ready.start - 1) if ready.task else None
    if before is None or before.state is not State.WAITING:
        return ""
    if before.kind == Wait.GATHER:
        return "the gather it awaited is done"
    if before.kind == Wait.TASK_GROUP:
        return "its task group's tasks are done"
    return ""


def outcome(kind: int | None, detail: str, finished: bool = True) -> str:
    """How a task ended: "returned 'x'", "raised ValueError: boom", "cancelled"; for a task
    that did not end, "never finished" (the run ended first) or "running"."""
    if kind is None:
        return "never finished" if finished else "running"
    if kind == Outcome.RESULT:
        return f"returned {detail}" if detail else "returned"
    if kind == Outcome.ERROR:
        return f"raised {detail}" if detail else "raised an exception"
    if kind == Outcome.UNSEEN:
        return "ended while recording was paused"
    return "cancelled"


def task_outcome(timeline: Timeline, task_id: int) -> str:
    """``outcome``; for a child process's task that never finished, how its process ended
    ("never finished: child 2 was killed by signal 15 (SIGTERM)")."""
    info = timeline.task(task_id)
    said = outcome(info.outcome, info.outcome_detail, timeline.finished)
    ended = _its_process(timeline, info) if info.outcome is None else ""
    return f"{said}: {ended}" if ended else said


def _its_process(timeline: Timeline, info: TaskInfo) -> str:
    """How the child process a task ran in ended, once it did or the run is over
    ("child 2 was killed by signal 15 (SIGTERM)"); "" for the program's own."""
    if not info.process or info.process >= len(timeline.processes):
        return ""
    process_info = timeline.processes[info.process]
    if process_info.ended is None and not timeline.finished:
        return ""
    end = process_end(process_info, over=True)
    was = "was " if end.startswith(("killed", "still")) else ""
    return f"{process(process_info)} {was}{end}"


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
        stopped = "was interrupted (stopped by the user)"
        if status is None or ended_by_interrupt(status):
            return stopped
        if error or status:
            return f"{stopped}, then failed: {error or f'exit status {status}'}"
        return f"{stopped} and exited, status 0"
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


def program_name(timeline: Timeline) -> str:
    """The recorded program's file name, or its package's for ``-m package`` (its
    ``__main__.py``); "the program" when the trace does not say."""
    path = PurePath(timeline.header.program if timeline.header else "")
    if path.name == "__main__.py" and path.parent.name:
        return path.parent.name
    return path.name or "the program"


def program_end(timeline: Timeline) -> str:
    """How the recorded program ended (said after its name), or ``UNFINISHED``."""
    if not timeline.finished:
        return UNFINISHED
    exit = timeline.exit
    return ending(exit.reason, exit.status, exit.error)


def untraced_loops(whats: list[str]) -> str:
    """ "uvloop.Loop", "2 event loops (uvloop.Loop)": the loops of a process not traced."""
    kinds = ", ".join(dict.fromkeys(whats))
    return kinds if len(whats) == 1 else f"{len(whats)} event loops ({kinds})"


def outside_loops(timeline: Timeline) -> tuple[str, str]:
    """The summary's label for the time the program's traced loop was not running, and what
    to add to its figure: an event loop loopviz could not trace may have run then."""
    whats = timeline.untraced_loops.get(0)
    if not whats:
        return "no loop running", ""
    return "no traced loop", (
        f": the program ran {untraced_loops(whats)}, which loopviz cannot trace (see Warnings)"
    )


def gain(value: float) -> str:
    """The summary's concurrency gain, with what it means: "2.00 (the tasks' work and waits
    overlapped: 2.00 s of them per second of loop; 1.00 is one after another)"."""
    return (
        f"{value:.2f} (the tasks' steps, sleeps, I/O and jobs: {value:.2f} s of them per second"
        " the loop ran; 1.00 is one after another)"
    )


def no_loop_ran(timeline: Timeline) -> str | None:
    """What the summary says instead of its tables when no event loop ran (None: one did)."""
    if timeline.loops_opened or timeline.untraced_loops or timeline.tasks or timeline.resources:
        return None
    if not timeline.finished:
        return "No event loop ran before the trace ends: no task and no loop time to show."
    return "No event loop ran: the program ended without starting one, so there is no task to show."


def untraced_children(untraced: dict[int, list[str]]) -> str | None:
    """The summary's line on the child processes' loops loopviz could not trace (None:
    none): "uvloop.Loop in 2 child processes (see Warnings)"."""
    others = [whats for proc, whats in untraced.items() if proc]
    if not others:
        return None
    kinds = ", ".join(dict.fromkeys(what for whats in others for what in whats))
    return f"{kinds} in {_children(len(others))} (see Warnings)"


def process_loops(traced: int, untraced: list[str]) -> str:
    """A process's loops, in the summary's table: "1", "1 untraced", "1 + 1 untraced"."""
    if not untraced:
        return str(traced)
    return f"{traced} + {len(untraced)} untraced" if traced else f"{len(untraced)} untraced"


def run_figures(timeline: Timeline, busy: int, gain: float | None) -> str:
    """The summary pane's figures: "ran 2.47 s · loop busy 41% · concurrency gain 2.13 · 7
    tasks" (``busy``: the program's loop's busy time; ``gain``: ``analysis.concurrency_gain``,
    None: not counted), and the child processes' loops apart."""
    wall = timeline.end
    figures = [f"ran {format_time(wall)}"]
    children = [p for p in timeline.processes[1:] if p.loops]
    untraced = timeline.untraced_loops
    own = timeline.loops_opened - sum(p.loops for p in timeline.processes[1:])
    if wall and untraced.get(0) and not own:
        figures.append(f"its event loop is not traced ({untraced_loops(untraced[0])})")
    elif wall:
        whose = "the program's loop" if children else "loop"
        figures.append(f"{whose} busy {100 * busy / wall:.0f}%")
        stopped = timeline.loop_stopped()
        if stopped:
            figures.append(f"open but not running {100 * stopped / wall:.0f}%")
        if gain is not None:
            figures.append(f"concurrency gain {gain:.2f}")
    if children:
        busy_children = sum(p.loop_totals(timeline.end)[0] for p in children)
        figures.append(f"loops of {_children(len(children))} busy {format_time(busy_children)}")
    others = [whats for proc, whats in untraced.items() if proc]
    if others:
        kinds = ", ".join(dict.fromkeys(what for whats in others for what in whats))
        figures.append(f"loops of {_children(len(others))} not traced ({kinds})")
    return " · ".join([*figures, task_count(timeline.tasks)])


def _children(count: int) -> str:
    return "a child process" if count == 1 else f"{count:,} child processes"


def not_kept(timeline: Timeline) -> str:
    """What a ``--window`` left out: "the first 52 s were not kept (the trace holds the last
    10 s); the totals count them, with 3,000 tasks that began and ended there"."""
    dropped = timeline.dropped
    tasks = dropped.tasks
    with_tasks = f", with {tasks:,} task{'' if tasks == 1 else 's'} that began and ended there"
    return (
        f"the first {format_time(timeline.kept_from)} were not kept (the trace holds the last "
        f"{format_time(timeline.end - timeline.kept_from)}); the loop's totals count them"
        f"{with_tasks if tasks else ''}"
    )


def paused(pauses: list[tuple[int, int]]) -> str:
    """ "recording was paused twice, 12.0 s in all (SIGUSR1): nothing is known of then"."""
    count = len(pauses)
    times = {1: "once", 2: "twice"}.get(count, f"{count} times")
    total = format_time(sum(until - start for start, until in pauses))
    return f"recording was paused {times}, {total} in all (SIGUSR1): nothing is known of then"


def pause_notice(pid: int, paused: bool) -> str:
    """How to start and stop recording with a signal (``record --paused`` / ``--pausable``)."""
    now = "recording starts paused" if paused else "recording"
    return f"{now}: 'kill -USR1 {pid}' starts or stops it (the pauses show as gaps)"


def bad_arguments(why: str) -> str:
    """Arguments typed for a program that cannot be split as a shell would ("No closing
    quotation")."""
    return f"cannot read the arguments: {why[:1].lower()}{why[1:]}"


def more_warnings(count: int) -> str:
    return f"… {count} more warning{'' if count == 1 else 's'}"


def trace_written(path: str, events: int) -> str:
    return f"trace written to {path} ({events:,} event{'' if events == 1 else 's'})"


# The app could not fold a live run's records as fast as they came.
BEHIND = (
    "this run goes faster than loopviz can show it live: it is shown as far as loopviz "
    "kept up, and whole, from its trace, once it ends"
)


def source_withheld(file: str, why: str) -> str:
    """Why the source pane does not show ``file`` (``why``: "unlisted", "too big",
    "missing", "changed", "old trace"). It shows only the files the program ran, as they were."""
    name = PurePath(file).name
    return {
        "unlisted": f"the trace does not list {name} among the files the program ran, so "
        "its source is not shown",
        "too big": f"{name} was too big to show (over 1 MB) when the program ran",
        "missing": f"cannot find {name} here, nor beside the trace",
        "changed": f"{name} here is not the file the program ran (it changed since, or is "
        "another of that name), so its source is not shown",
        "old trace": f"{name} is not shown: a trace from an older loopviz, which did not "
        "record the files the program ran, shows only a Python file of up to 1 MB",
    }[why]


def no_event_loop(program: str) -> str:
    return f"{program} never started an asyncio event loop"


def untraced(
    program: str, loops: int, notes: list[Untraced], followed: Collection[int] | None = None
) -> list[str]:
    """What ran outside the trace, one line each (``program``: its name; ``loops``: the
    traced loops it opened): a loop loopviz cannot trace and why, a loop replaced by a traced
    one, and, when no loop was traced, the Python processes it started, where its loop may
    have run. Each names who asked for it: a package, or the program itself. ``followed``:
    the pids of the child processes recorded, once the run is over (None while it runs: a
    child is heard from only a little after it starts); the others could not be followed."""
    lines = []
    processes: dict[str, list[str]] = {}
    lost: dict[str, list[str]] = {}
    for note in notes:
        asker = note.by or program
        made = f" (created from {where(note.file, note.line)})" if note.file else ""
        if note.kind == Unseen.LOOP and note.what.startswith("uvloop."):
            lines.append(
                f"{asker} asked for uvloop, which loopviz cannot trace: its event loop{made} "
                "is not in this trace; record with --no-uvloop to give it a traced asyncio "
                "loop instead"
            )
        elif note.kind == Unseen.LOOP:
            lines.append(
                f"{asker} ran an event loop loopviz does not trace, {note.what}{made}: its "
                "tasks are not in this trace (loopviz traces asyncio's own loop classes)"
            )
        elif note.kind == Unseen.REPLACED:
            at = f" at {where(note.file, note.line)}" if note.file else ""
            lines.append(
                f"{asker} asked for {note.what}{at}; --no-uvloop gave it a traced asyncio "
                "loop instead"
            )
        elif note.kind == Unseen.PROCESS and not loops:
            processes.setdefault(asker, []).append(note.what)
        elif note.kind == Unseen.CHILD and followed is not None and not _followed(note, followed):
            lost.setdefault(asker, []).append(note.what)
    for asker, pids in processes.items():
        count, ids = _processes(pids)
        lines.append(
            f"{asker} ran no event loop loopviz could trace in its own process, and started "
            f"{count}{ids} that loopviz does not follow: an event loop there is not in this "
            "trace"
        )
    for asker, pids in lost.items():
        count, ids = _processes(pids)
        lines.append(
            f"{asker} started {count}{ids} that loopviz could not follow (a Python without "
            "loopviz installed, or one started with -I, -E or -S): an event loop there is "
            "not in this trace"
        )
    return list(dict.fromkeys(lines))  # said once, however many workers did the same


def _followed(note: Untraced, followed: Collection[int]) -> bool:
    return note.what.isdigit() and int(note.what) in followed


def _processes(pids: list[str]) -> tuple[str, str]:
    """ "a Python process", " (pid 41)"; "2 Python processes", " (pids 41, 42)"."""
    known = [pid for pid in pids if pid]
    ids = f" ({'pid' if len(known) == 1 else 'pids'} {', '.join(known)})" if known else ""
    count = "a Python process" if len(pids) == 1 else f"{len(pids)} Python processes"
    return count, ids


def process(info: ProcessInfo) -> str:
    """What a process of the run is called: "program" (its own), "child 2"."""
    return "program" if info.proc == 0 else f"child {info.proc}"


_PID = " · pid "


def process_row(info: ProcessInfo, tasks: int) -> str:
    """A child process's row over its lanes: "child 1 · 12 tasks · pid 4242"."""
    return f"{process(info)} · {tasks:,} task{'' if tasks == 1 else 's'}{_PID}{info.pid}"


STATUS_NOT_SEEN = (
    "exit status not seen: its parent did not wait for it while loopviz recorded the parent"
)


def process_end(info: ProcessInfo, over: bool) -> str:
    """How a child process ended: "exited with status 0", "killed by signal 9 (SIGKILL)";
    ``over``: the recording has stopped (else one not known to have ended is running)."""
    if info.status is not None:
        if info.status < 0:
            return f"killed by {_signal(-info.status)}"
        return f"exited with status {info.status}"
    if info.ended is not None:
        return "ended, exit status not seen"
    return "still running when the recording stopped" if over else "running"


# What multiprocessing's own command lines run, as a user knows them.
_MULTIPROCESSING = (
    ("multiprocessing.spawn import spawn_main", "multiprocessing (spawn)"),
    ("multiprocessing.forkserver import main", "multiprocessing fork server"),
    ("multiprocessing.resource_tracker import main", "multiprocessing resource tracker"),
)


def command(line: str) -> str:
    """A process's command line as a reader knows it: multiprocessing's own by what they
    are, others with the interpreter's folder left out ("python -c ...", "uvicorn app:app")."""
    for marker, said in _MULTIPROCESSING:
        if marker in line:
            return said
    first, _, rest = line.partition(" ")
    return " ".join(filter(None, (PurePath(first).name, rest)))


def process_facts(
    info: ProcessInfo, tasks: int, busy: int, untraced: list[str], over: bool
) -> list[str]:
    """The inspector's lines on a child process (after its row's words), each short: its
    command, who started it, when it started and ended, how it ended, its loops (``untraced``:
    the classes of those loopviz could not trace) and tasks."""
    ended = [f"ended at {format_time(info.ended)}"] if info.ended is not None else []
    not_traced = [f"not traced: {untraced_loops(untraced)}"] if untraced else []
    return [
        command(info.command),
        f"pid {info.pid} (parent {info.ppid})",
        f"started at {format_time(info.started)}",
        *ended,
        process_end(info, over),
        f"{info.loops:,} event loop{'' if info.loops == 1 else 's'}, busy {format_time(busy)}",
        *not_traced,
        f"{tasks:,} task{'' if tasks == 1 else 's'}",
    ]


def children_loops(count: int, busy: int) -> str:
    """The summary's line on the loops of the child processes, apart from the program's."""
    own = "the lines above: the program's own loop"
    return f"busy {format_time(busy)} in {_children(count)} ({own})"


def fit_process_row(label: str, width: int) -> str:
    """``process_row`` in ``width``: the pid left out rather than cut (the summary has it)."""
    return label if len(label) <= width else shorten(label.rsplit(_PID, 1)[0], width)


def held_open(program: str) -> str:
    """A process the program left running (a daemon) still holds its output open."""
    return (
        f"{program} ended but left a process running that holds its output open; "
        "the trace ends where the program ended"
    )


def lost(program: str, note: Lost) -> str:
    """Events the trace misses: the process was killed before sending them, or recording
    them failed."""
    if note.why == Loss.KILLED:
        return (
            f"{program}'s process was killed before it sent all it recorded: what it did "
            f"after {format_time(note.t)} may be missing from this trace"
        )
    count = f"{note.events:,} event{'' if note.events == 1 else 's'}"
    return (
        f"{count} from {format_time(note.t)} on could not be recorded (an error inside "
        "loopviz) and are missing from this trace; the rest was recorded"
    )


def never_finished(timeline: Timeline, task_id: int) -> str:
    """ "task B never finished, waiting: sleep 10 s", for a task pending at the end."""
    interval = timeline.state_at(task_id, timeline.end)
    doing = f", {state(timeline, interval)}" if interval is not None else ""
    ended = _its_process(timeline, timeline.task(task_id))
    return f"{task(timeline, task_id)} never finished{doing}{f'; {ended}' if ended else ''}"


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
    return f"{what} {verb} {_on(change.worker)}"


def worker(name: str) -> str:
    """An executor worker as its lane is labelled: "thread asyncio_0" (a thread named by
    its executor); "process pool" for a process pool's (which of its processes ran a job is
    not known)."""
    return "process pool" if name in _PROCESS_POOLS else f"thread {name}"


def _on(name: str) -> str:
    """ "on thread asyncio_0", "in a process pool": where a job runs."""
    return "in a process pool" if name in _PROCESS_POOLS else f"on {worker(name)}"


def _timeout(interval: Interval) -> int:
    return interval.deadline - interval.start if interval.deadline is not None else 0


def _timer(wait: int | None) -> str:
    """The timer of a wait: a sleep's own, or the deadline of anything else."""
    if wait is None:
        return "timer"
    return "sleep timer" if wait == Wait.SLEEP else "timeout"


# --- narration: one plain sentence per step, for the step view and the transcript -----------
def narrate(timeline: Timeline, step: Step) -> str:
    """What happened at a step and why, in the guide's terms, with what the loop does next:
    "toast awaits sleep 1.0 s at prog.py:14, so it gives the loop back; its timer is due at
    1.016 s. Next in the ready queue: tea."."""
    event, loop = step.moment.event, step.loop
    if isinstance(event, Segment):
        return _narrate_segment(timeline, event, loop)
    if isinstance(event, BlockingStep):
        return _narrate_block(timeline, event)
    if isinstance(event, OutputLine):
        where_to = "to stderr" if event.stream == Stream.STDERR else ""
        return f"The program prints{' ' + where_to if where_to else ''}: {event.text}"
    if isinstance(event, LoopChange):
        if event.opened:
            return (
                "An event loop opens. Once the program runs it (asyncio.run() does), it runs"
                " one step at a time."
            )
        return "The event loop closes."
    if isinstance(event, JobChange):
        return _narrate_job(timeline, step.moment.task, event)
    if isinstance(event, Reported):
        return f"The loop reports: {problem(timeline, event)}."
    return f"The program {ending(event.reason, event.status, event.error)}."


def step_kind(step: Step) -> str:
    """What kind of thing a step is, one word: "created", "ready", "running", "waiting",
    "done", "blocked", "output", "loop", "job", "problem", "exit"."""
    event = step.moment.event
    if isinstance(event, Segment):
        return "created" if event.first else event.interval.state.name.lower()
    kinds: dict[type, str] = {
        BlockingStep: "blocked",
        OutputLine: "output",
        LoopChange: "loop",
        JobChange: "job",
        Reported: "problem",
    }
    return kinds.get(type(event), "exit")


def timer_what(timeline: Timeline, interval: Interval) -> str:
    """What a timer is for, in the loop panel: "sleep 1.0 s", "timeout of task B"."""
    if interval.kind == Wait.SLEEP:
        return wait(timeline, interval)
    return f"timeout of {_bare_wait(timeline, interval)}"


def io_what(timeline: Timeline, interval: Interval) -> str:
    """What an I/O wait reads or writes, in the loop panel."""
    return _bare_wait(timeline, interval)


def job_state(worker_name: str) -> str:
    return f"running {_on(worker_name)}" if worker_name else "queued"


def loop_state(loop: LoopSnapshot) -> str:
    """The loop's own state in a few words: "running a step", "idle: nothing is ready..."."""
    if not loop.open:
        if loop.stopped:
            return "open but not running: no step runs until the program runs the loop"
        return "no event loop is running"
    if loop.running:
        return "running a step"
    if loop.idle or not (loop.ready or loop.overdue):
        until = f" until {format_time(loop.idle_until)}" if loop.idle_until is not None else ""
        return f"idle: nothing is ready, it waits for a timer or I/O{until}"
    return "between steps: the next one is about to run"


def _bare_wait(timeline: Timeline, interval: Interval) -> str:
    """A wait without its timeout: the panel says the deadline beside it."""
    return wait(timeline, replace(interval, deadline=None))


def _ordinal(n: int) -> str:
    return {1: "next", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def _names(timeline: Timeline, tasks: list[int], most: int = 3) -> str:
    """ "toast, tea and eggs" (or "toast, tea and 5 more")."""
    said = [name(timeline, t) for t in tasks[:most]]
    if len(tasks) > most:
        said.append(f"{len(tasks) - most} more")
    return said[0] if len(said) == 1 else f"{', '.join(said[:-1])} and {said[-1]}"


def _next_up(timeline: Timeline, loop: LoopSnapshot) -> str:
    """What the loop does once the current step gives it back."""
    if loop.ready:
        return f"Next in the ready queue: {name(timeline, loop.ready[0].task)}."
    if loop.overdue:
        late = loop.overdue[0]
        return (
            f"The ready queue is empty, but {name(timeline, late.task)}'s"
            f" {_timer(late.interval.kind)} is overdue (due at"
            f" {format_time(late.interval.start)}): the loop runs it next."
        )
    awaited = []
    if loop.io:
        awaited.append("I/O on a socket")
    if loop.jobs:
        awaited.append("an executor job to finish")
    if loop.timers:
        first = loop.timers[0]
        due = format_time(first.interval.deadline or 0)
        awaited.append(f"the first timer ({name(timeline, first.task)}'s, at {due})")
    if not awaited:
        return (
            "No task is ready: the loop runs the callbacks that are due, if any, or waits"
            " until something wakes it."
        )
    return f"No task is ready: the loop waits for {_either(awaited)}."


def _either(things: list[str]) -> str:
    """ "I/O on a socket, an executor job to finish or the first timer"."""
    return things[0] if len(things) == 1 else f"{', '.join(things[:-1])} or {things[-1]}"


def _place(timeline: Timeline, task_id: int, loop: LoopSnapshot) -> str:
    for n, queued in enumerate(loop.ready, 1):
        if queued.task == task_id:
            return f"it is {_ordinal(n)} in the ready queue" if n > 1 else "it is next to run"
    return "it joins the ready queue"


def _narrate_segment(timeline: Timeline, segment: Segment, loop: LoopSnapshot) -> str:
    who = name(timeline, segment.task)
    interval = segment.interval
    if segment.first:
        info = timeline.task(segment.task)
        by = f"{name(timeline, info.parent)} creates" if info.parent else "The program creates"
        made = f"task {who}"
        at = f" at {where(info.created_file, info.created_line)}" if info.created_file else ""
        if info.internal:  # asyncio.run's shutdown steps, named for what they do
            by, made = "asyncio creates", f"its own task {info.coro.rsplit('.', 1)[-1]}"
            at = f" as asyncio.run(){at} finishes"
        return f"{by} {made}{at}; {_place(timeline, segment.task, loop)}."
    state = interval.state
    if state is State.RUNNING:
        resumes = timeline.position(segment.task, interval.start)
        from_line = f" from {where(*resumes)}" if resumes else ""
        return f"The loop runs a step of {who}{from_line}."
    if state is State.WAITING:
        at = f" at {where(interval.file, interval.line)}" if interval.file else ""
        due = ""
        if interval.deadline is not None:
            due = f"; its {_timer(interval.kind)} is due at {format_time(interval.deadline)}"
        return (
            f"{who} awaits {wait(timeline, interval)}{at}, so it gives"
            f" the loop back{due}. {_next_up(timeline, loop)}"
        )
    if state is State.READY:
        place = _place(timeline, segment.task, loop)
        if interval.overdue:
            busy = f" ({name(timeline, loop.running)}'s step holds it)" if loop.running else ""
            return (
                f"{who}'s {_timer(interval.kind)} is due, but the loop is busy{busy}: {who}"
                f" is overdue, and runs only once the loop gets back to its timers."
            )
        if interval.kind == Cause.YIELD:
            return f"{who} gave the loop back but can go on at once; {place}."
        return f"{who} is ready: {cause(timeline, interval)}; {place}."
    if interval.kind == Outcome.CANCELLED:
        return f"{who} is done: it was cancelled."
    return f"{who} is done: it {outcome(interval.kind, interval.detail)}."


def _narrate_block(timeline: Timeline, step: BlockingStep) -> str:
    """ "download's step runs 1.006 s without giving the loop back (busy at prog.py:19): the
    loop is stuck; beat-1 and beat-2, due from 270 ms, must wait." The line is where the step
    was seen busy, not where it began."""
    who = f"{name(timeline, step.task)}'s step" if step.task else "A callback"
    runs = "has run" if step.ongoing else "runs"
    at = f" (busy at {where(step.file, step.line)})" if step.file else ""
    said = f"{who} {runs} {format_time(step.duration)} without giving the loop back{at}"
    due = due_during(timeline, step)
    if not due:
        return f"{said}: the loop is stuck, nothing else can run meanwhile."
    when = format_time(min(parked.interval.deadline or 0 for parked in due))
    return (
        f"{said}: the loop is stuck; {_names(timeline, [p.task for p in due])}, due from"
        f" {when}, must wait."
    )


def _narrate_job(timeline: Timeline, task_id: int, change: JobChange) -> str:
    what = job(timeline, change.job)
    if change.phase == JobPhase.SUBMITTED:
        who = name(timeline, task_id) if task_id else "The program"
        return f"{who} hands {what} to the executor, to run beside the loop."
    if change.phase == JobPhase.STARTED:
        if change.worker in _PROCESS_POOLS:  # (its start is not seen: it is handed over)
            return f"{what} goes to a process pool, to run in another process beside the loop."
        return f"{what} starts {_on(change.worker)}, beside the loop."
    return f"{what} finished {_on(change.worker)}; whoever awaits it becomes ready."


# --- the loop panel: the loop's state at the playhead, as lists a learner can read ----------
PANEL_NOTHING = "none"


def panel_heading(what: str, count: int) -> str:
    """ "ready queue (2)": one list of the loop panel and its length."""
    titles = {
        "ready": "ready queue",
        "timers": "timers",
        "io": "I/O waits",
        "jobs": "executor",
        "lines": "waiting in line",
    }
    return f"{titles[what]} ({count})"


def panel_running(timeline: Timeline, loop: LoopSnapshot) -> str:
    """The loop panel's first line: what the loop does now."""
    if not loop.running:
        return loop_state(loop)
    at = f" at {where(*loop.running_at)}" if loop.running_at else ""
    said = f"running {name(timeline, loop.running)}{at}"
    if loop.blocking_since is not None:
        said += f", blocking the loop since {format_time(loop.blocking_since)}"
    return said


def queue_entry(timeline: Timeline, queued: Queued, t: int) -> str:
    """ "eggs: its sleep timer fired · 2.0 ms in line", one entry of the ready queue."""
    interval = queued.interval
    waited = format_time(t - interval.start)
    return f"{name(timeline, queued.task)}: {cause(timeline, interval)} · {waited} in line"


def overdue_entry(timeline: Timeline, late: Queued) -> str:
    """ "beat-1: overdue since 265 ms", a timer that fell due while a step held the loop."""
    return f"{name(timeline, late.task)}: overdue since {format_time(late.interval.start)}"


def timer_entry(timeline: Timeline, parked: Parked, t: int) -> str:
    """ "tea: sleep 2.0 s · due 2.004 s, in 998 ms", one timer."""
    due = parked.interval.deadline or 0
    left = f"in {format_time(due - t)}" if due > t else "due now"
    what = timer_what(timeline, parked.interval)
    return f"{name(timeline, parked.task)}: {what} · at {format_time(due)}, {left}"


def io_entry(timeline: Timeline, parked: Parked) -> str:
    return f"{name(timeline, parked.task)}: {io_what(timeline, parked.interval)}"


def job_entry(timeline: Timeline, state: JobState) -> str:
    by = f" for {name(timeline, state.task)}" if state.task else ""
    return f"{job(timeline, state.job)}{by} · {job_state(state.worker)}"


def line_entry(timeline: Timeline, line: Line, t: int) -> str:
    """ "lock `printer`, held by clerk-1: clerk-2, clerk-3", who waits on a resource, in order."""
    holders = timeline.resources.holders_at(line.resource, t)
    held = f", held by {_names(timeline, [h.task for h in holders])}" if holders else ""
    return f"{resource(timeline, line.resource)}{held}: {_names(timeline, line.tasks)}"


def more(count: int) -> str:
    return f"+{count} more"


FIRST_STEP = "The run has not begun yet: → (or space to play) goes to its first step."


def step_caption(index: int, count: int, live: bool) -> str:
    """ "step 16 of 40", the narration's lead-in (a live run's count still grows)."""
    if index < 0:
        return "before the first step"
    return f"step {index + 1} of {count}{' so far' if live else ''}"


# --- the run view's notices ---------------------------------------------------------------------
def no_more_steps(forward: bool) -> str:
    if forward:
        return "this is the last step (Home goes back to the first)"
    return "this is the first step"


def playing_by(steps: bool) -> str:
    if steps:
        return "step view: → goes one event at a time, +/- set the pace"
    return "time view: the playhead moves with the clock, +/- set the speed"


def following(on: bool) -> str:
    if on:
        return "the selection follows the task of each step"
    return "the selection stays on the task you chose"


# --- resources: locks, semaphores, events, conditions, queues, barriers ----------------------
_RESOURCE_KINDS: dict[int, str] = {
    ResourceKind.LOCK: "lock",
    ResourceKind.SEMAPHORE: "semaphore",
    ResourceKind.BOUNDED_SEMAPHORE: "bounded semaphore",
    ResourceKind.EVENT: "event",
    ResourceKind.CONDITION: "condition",
    ResourceKind.QUEUE: "queue",
    ResourceKind.PRIORITY_QUEUE: "priority queue",
    ResourceKind.LIFO_QUEUE: "LIFO queue",
    ResourceKind.BARRIER: "barrier",
}
# What the task that woke a waiter did to the resource.
_DID: dict[int, str] = {
    UseOp.RELEASED: "released",
    UseOp.SET: "set",
    UseOp.PUT: "put an item in",
    UseOp.GOT: "took an item from",
    UseOp.NOTIFIED: "notified",
    UseOp.PASSED: "filled",
    UseOp.ARRIVED: "reached",
}


def resource_kind(kind: int) -> str:
    """ "lock", "bounded semaphore", "queue"... as the summary's ``kind`` and the panes say."""
    return _RESOURCE_KINDS.get(kind, "resource")


def resource(timeline: Timeline, resource_id: int) -> str:
    """ "lock `printer`", or "the lock made at prog.py:12" when it was bound to no name; the
    second made there, "lock `printer` #2"."""
    info = timeline.resources.get(resource_id)
    if info is None:
        return f"resource #{resource_id}"
    kind = resource_kind(info.kind)
    nth = f" #{info.nth}" if info.nth > 1 else ""
    if info.name:
        return f"{kind} `{info.name}`{nth}"
    return f"the {kind} made at {where(info.file, info.line)}{nth}" if info.file else f"a {kind}"


# A lock or semaphore let go while tasks wait is not up for grabs: the task woken takes it next.
_PROMISED = "already promised to a task woken to take it"


def resource_wait(timeline: Timeline, interval: Interval) -> str:
    """What a task waits for on a resource, as things stood when it began to wait: "lock
    `printer` (held by clerk-1 since 0.30 s; 2 ahead in line)", "a permit of semaphore `gate`
    (5 of 5 in use)", "to be notified on condition `change`"."""
    rid, t = interval.resource, interval.start
    resources = timeline.resources
    info = resources.get(rid)
    if info is None:
        return resource(timeline, rid)
    said = resource(timeline, rid)
    level = resources.level_at(rid, t)
    kind = interval.kind
    if kind == Wait.CONDITION:  # in ``wait()``: its lock let go, until a notify()
        return f"to be notified on {said}"
    if kind == Wait.LOCK:
        holders = resources.holders_at(rid, t)
        held = (
            f"held by {name(timeline, holders[0].task)} since {format_time(holders[0].since)}"
            if holders
            else f"free, but {_PROMISED}"  # asyncio hands a lock let go to the first in line
        )
        ahead = sum(since < t for _, since in timeline.waiters_at(rid, t))
        line = f"{ahead} ahead in line" if ahead else "first in line"
        return f"{said} ({held}; {line})"
    if kind == Wait.SEMAPHORE:
        return f"a permit of {said} ({level} of {info.capacity} in use)"
    if kind == Wait.EVENT:
        return f"{said} to be set"
    if kind == Wait.QUEUE_GET:
        return f"an item from {said} (empty)"
    if kind == Wait.QUEUE_PUT:
        return f"room in {said} (full: {level} of {info.capacity})"
    if kind == Wait.BARRIER:
        return f"{said} ({level} of {info.capacity} arrived)"
    return said


def woken_by_use(timeline: Timeline, interval: Interval) -> str:
    """Why a task waiting on a resource is ready: "clerk-1 released lock `printer`"."""
    rid = interval.resource
    said = resource(timeline, rid)
    found = timeline.resources.get(rid) and timeline.resources.last_use(rid, interval.start, _DID)
    did = _DID[found[1]] if found else "used"
    waker = interval.ref or (found[0] if found else 0)
    return f"{name(timeline, waker)} {did} {said}" if waker else f"{said} was {did}"


# --- resources in the timeline: their lanes and the inspector ----------------------------------
# What a resource's level counts, per kind: "5 of 5 permits in use".
_LEVEL: dict[int, str] = {
    ResourceKind.SEMAPHORE: "permits in use",
    ResourceKind.BOUNDED_SEMAPHORE: "permits in use",
    ResourceKind.QUEUE: "items queued",
    ResourceKind.PRIORITY_QUEUE: "items queued",
    ResourceKind.LIFO_QUEUE: "items queued",
    ResourceKind.BARRIER: "parties arrived",
}
# What its capacity is.
_CAPACITY: dict[int, str] = {
    ResourceKind.SEMAPHORE: "permits",
    ResourceKind.BOUNDED_SEMAPHORE: "permits",
    ResourceKind.QUEUE: "items at most",
    ResourceKind.PRIORITY_QUEUE: "items at most",
    ResourceKind.LIFO_QUEUE: "items at most",
    ResourceKind.BARRIER: "parties",
}
# What its highest level counts: "at most 5 in use".
_MOST: dict[int, str] = {
    ResourceKind.LOCK: "holding",
    ResourceKind.CONDITION: "holding",
    ResourceKind.SEMAPHORE: "in use",
    ResourceKind.BOUNDED_SEMAPHORE: "in use",
    ResourceKind.EVENT: "set",
    ResourceKind.QUEUE: "queued",
    ResourceKind.PRIORITY_QUEUE: "queued",
    ResourceKind.LIFO_QUEUE: "queued",
    ResourceKind.BARRIER: "arrived",
}
# What its totals count.
_USES: dict[int, str] = {ResourceKind.EVENT: "sets", ResourceKind.BARRIER: "arrivals"}


def resources_group(resources: list[ResourceInfo]) -> tuple[str, ...]:
    """The label of the lanes' group of resources, longest first: "1 semaphore",
    "2 locks and 1 queue", "3 resources"."""
    counts: dict[str, int] = {}
    for info in resources:
        kind = resource_kind(info.kind)
        counts[kind] = counts.get(kind, 0) + 1
    said = [f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in counts.items()]
    listed = said[0] if len(said) == 1 else f"{', '.join(said[:-1])} and {said[-1]}"
    return (listed, f"{len(resources)} resource{'' if len(resources) == 1 else 's'}")


def resource_label(info: ResourceInfo) -> str:
    """A resource's lane label: the name it was bound to, "gate"; else its kind and where it
    was made, "lock prog.py:12"; "gate #2" for the second made there."""
    if info.name:
        said = info.name
    elif info.file:
        said = f"{resource_kind(info.kind)} {where(info.file, info.line)}"
    else:
        said = resource_kind(info.kind)
    return f"{said} #{info.nth}" if info.nth > 1 else said


MIN_CUT = 4  # the fewest columns a holder's name cut in the middle is written in ("c…-1")


def resource_bar(timeline: Timeline, info: ResourceInfo, column: ResourceColumn, room: int) -> str:
    """What is written on a resource's bar where it stays the same, in ``room`` columns at
    most: its holders (or items queued, parties arrived) and how many wait, "clerk-1 · 2
    waiting", "fetch-1 +4 · 12 waiting", "2 queued", "3 waiting"; shorter where that does
    not fit ("clerk-1", "cl…-1 +4"); "" for nothing to say, or no room."""
    holders, n = column.holders, column.waiters
    more = f" +{len(holders) - 1}" if len(holders) > 1 else ""
    first = name(timeline, holders[0]) if holders else ""
    if holders:
        what = first + more
    elif info.kind in _LEVEL and column.level:
        what = f"{column.level} {_MOST[info.kind]}"
    elif info.kind == ResourceKind.EVENT and column.level:
        what = "set"
    else:
        what = ""
    waiting, wait = f"{n} waiting", f"{n} wait{'s' if n == 1 else ''}"
    if not n:
        forms = [what]
    elif what:
        forms = [f"{what} · {waiting}", f"{what} · {wait}", what]
    else:
        forms = [waiting, wait]
    said = next((form for form in forms if len(form) <= room), "")
    if not said and holders and room - len(more) >= MIN_CUT:
        said = shorten(first, room - len(more)) + more  # "cl…-1 +4"
    return said


def resource_facts(timeline: Timeline, resource_id: int, t: int) -> list[str]:
    """The inspector's lines on a resource at ``t``: where it was made, its capacity, who
    holds it and who waits in line now (its totals: ``resource_totals``)."""
    resources = timeline.resources
    info = resources.get(resource_id)
    if info is None:
        return []
    lines = [f"made at {where(info.file, info.line)}" if info.file else "made where unknown"]
    if info.capacity:
        lines.append(f"capacity: {info.capacity} {_CAPACITY.get(info.kind, '')}".rstrip())
    elif info.kind in _LEVEL:
        lines.append("capacity: no limit")
    if t < info.created:
        lines.append(f"not made yet (made at {format_time(info.created)})")
    elif info.kind in HELD:
        holders = resources.holders_at(resource_id, t)
        if not holders:
            lines.append(
                f"free now, but {_PROMISED}" if timeline.waiters_at(resource_id, t) else "free now"
            )
        elif len(holders) == 1:
            since = format_time(holders[0].since)
            lines.append(f"held by {name(timeline, holders[0].task)} since {since}")
        else:
            said = _names(timeline, [holder.task for holder in holders])
            lines.append(f"held by {said} ({len(holders)} of {info.capacity or '?'})")
    elif info.kind == ResourceKind.EVENT:
        lines.append("set now" if resources.level_at(resource_id, t) else "not set now")
    else:
        level = resources.level_at(resource_id, t)
        of = f" of {info.capacity}" if info.capacity else ""
        lines.append(f"{level}{of} {_LEVEL.get(info.kind, 'in use')} now")
    waiting = [task for task, _ in timeline.waiters_at(resource_id, t)]
    if waiting:
        lines.append(f"in line ({len(waiting)}): {_names(timeline, waiting, 5)}")
    else:
        lines.append("no one in line now")
    return lines


def resource_totals(timeline: Timeline, info: ResourceInfo) -> list[str]:
    """A resource over the whole run, a short line each: "8 acquisitions", "at most 1
    holding · 3 waiting", "waited 1.834 s in all", "longest hold 104 ms"."""
    totals = timeline.resources.totals(info.id, timeline.waits_on, timeline.end)
    most = _MOST.get(info.kind, "in use")
    lines = [
        f"{totals.uses:,} {_uses_name(info.kind)} in all",
        f"at most {totals.max_in_use} {most} · {totals.max_waiters} waiting",
        f"waited {format_time(totals.wait)} in all",
    ]
    if info.kind in HELD:
        lines.append(f"longest hold {format_time(totals.longest_hold)}")
    return lines


def _uses_name(kind: int) -> str:
    """What a resource's totals count: "acquisitions", "puts", "sets", "arrivals"."""
    if kind in HELD:
        return "acquisitions"
    return _USES.get(kind, "puts")


def deadlock(timeline: Timeline, cycle: list[tuple[int, Interval]]) -> str:
    """ "deadlock: A waits for lock `a` held by B, at prog.py:8; B waits for lock `b` held
    by A, at prog.py:14: none of them can go on"."""
    parts = []
    for n, (task_id, interval) in enumerate(cycle):
        other = name(timeline, cycle[(n + 1) % len(cycle)][0])
        at = f", at {where(interval.file, interval.line)}" if interval.file else ""
        if interval.kind == Wait.TASK:
            parts.append(f"{name(timeline, task_id)} awaits task {other}{at}")
        else:
            held = resource(timeline, interval.resource)
            parts.append(f"{name(timeline, task_id)} waits for {held} held by {other}{at}")
    return f"deadlock: {'; '.join(parts)}: none of them can go on"


# --- the step axis ------------------------------------------------------------------------------
STEP_AXIS = "step"  # what the timeline's axis counts when drawn in step order

# The run view's help (``?``) on the step view, after ``RUN_VIEW_HELP``.
STEP_VIEW_HELP = """
**a** draws the timeline in **step order**: one column per event, each as wide as any other
however long it took, so every step moves the playhead; the numbers on top count the steps
(the time of a step now and then) and a lane shows the task's state just after each event.
It plays one step at a time at a pace (**+**/**-**), and the selection follows the task each
step is about (**F** stops that). A click on a column goes to that step. asyncio's and
libraries' tasks stay folded there. The line under the timeline says what the step did and
why; the **event loop** pane shows what the loop holds just after it: the task running, the
ready queue in the order it will run, the timers soonest first, the I/O waits and the
executor's jobs.
"""


# --- navigation at scale: groups, the census, search, the worst ---------------------------------
def group_label(group: Group, count: int | None = None) -> str:
    """A coroutine's group, as its row's label: "handle ×3,000" (``count``: of its tasks
    shown, when a filter leaves fewer)."""
    return f"{group.coro.rsplit('.', 1)[-1]} ×{len(group.tasks) if count is None else count:,}"


def group_brief(stats: GroupStats) -> tuple[str, ...]:
    """A group's lifetimes and ready times on its row, in shorter and shorter words."""
    life, ready = stats.lifetime, stats.ready
    return (
        f"lived p50 {format_time(life.p50)} · p99 {format_time(life.p99)} · max"
        f" {format_time(life.longest)}; ready p50 {format_time(ready.p50)} · p99"
        f" {format_time(ready.p99)} · max {format_time(ready.longest)}",
        f"lived {_spread(life)}, ready {_spread(ready)} (p50/p99/max)",
        f"p99 lived {format_time(life.p99)}, ready {format_time(ready.p99)}",
        "",
    )


def _spread(spread: Spread) -> str:
    return f"{format_time(spread.p50)}/{format_time(spread.p99)}/{format_time(spread.longest)}"


def group_facts(timeline: Timeline, group: Group, stats: GroupStats) -> list[str]:
    """The inspector's lines on a coroutine's group, one short fact each (after its label
    and the coroutine's name)."""
    how = [
        f"{n:,} {what}"
        for n, what in ((stats.raised, "raised"), (stats.cancelled, "cancelled"))
        if n
    ]
    ended = f"{stats.count - stats.unfinished:,} done" + (f" ({', '.join(how)})" if how else "")
    unfinished = (
        [f"{stats.unfinished:,} not done yet (lifetime so far)"] if stats.unfinished else []
    )
    life, ready = stats.lifetime, stats.ready
    return [
        *([f"coroutine defined at {where(group.file, group.line)}"] if group.file else []),
        ended,
        *unfinished,
        f"lifetime: p50 {format_time(life.p50)}",
        f"  p99 {format_time(life.p99)}, max {format_time(life.longest)}",
        f"  longest: {_told_apart(timeline, life.task)}",
        f"ready: p50 {format_time(ready.p50)}",
        f"  p99 {format_time(ready.p99)}, max {format_time(ready.longest)}",
        f"  longest: {_told_apart(timeline, ready.task)}",
    ]


def _told_apart(timeline: Timeline, task_id: int) -> str:
    """A task of a group among its like: "handle(request), Task-1518" (its label, and the
    name asyncio gave it where that tells it apart)."""
    info = timeline.task(task_id)
    said = label(info)
    return (
        f"{said}, {info.name}" if said != info.name and _DEFAULT_NAME.fullmatch(info.name) else said
    )


# The census strip's rows, top to bottom: tasks running, ready and waiting, the loop's busy
# share and its lag (the longest wait in the ready queue that ended in the column).
CENSUS_ROWS = ("running", "ready", "waiting", "busy", "lag")


def census_value(row: str, column: CensusColumn | None) -> str:
    """A census row's value in one column, as its label says it: "busy 93%", "ready 14",
    "waiting 2,980", "lag 1.20 s" (averages of few tasks keep a decimal: "ready 0.4",
    "ready <0.1")."""
    if column is None:
        return row
    if row == "busy":
        return f"busy {round(column.busy * 100)}%" if column.busy is not None else "busy -"
    if row == "lag":
        return f"lag {format_time(column.lag)}" if column.lag else "lag 0"
    count = getattr(column, row)
    if 0 < count < 0.05:
        return f"{row} <0.1"
    if 0 < count < 9.95 and count != int(count):
        return f"{row} {count:.1f}"
    return f"{row} {count:,.0f}"


CENSUS_HELP = """
**The census**, on top of the lanes when a run has more than 20 tasks (**C** shows or hides
it): how many tasks were **running** (one at most: the share of the column a task's step
ran), **ready** in the ready queue and **waiting** in an `await`, on average over the column;
**busy**, the share of it the loop spent running steps and callbacks (more than running when
callbacks, such as a library's protocol, take time); **lag**, the longest a task that left
the ready queue in the column had waited there: how late the loop got to it. A full bar of
running or busy is the whole column; ready, waiting and lag are drawn to the scale of their
highest value in view (lag to the block threshold at least). Each row's label says its value
at the playhead's column. In step order a column's values are those just after its events.

**Groups.** The tasks of one coroutine are a group: a coroutine that made more than 20 tasks
is folded into one row, ▸ **handle ×3,000**, which says how long its tasks lived and how long
they waited in the ready queue (p50: half of them took less; p99: all but one in a hundred;
max: the longest), and draws how many of them were alive. **Enter** folds or unfolds the
group of the selected row, **shift+↓ / shift+↑** go to the next or previous group; the task
pane shows a selected group in full. A task the program gave no name is labelled by its
coroutine.

**/** finds tasks: words match a task's name, coroutine or file (`fetch`, `app.py`);
`name:`, `coro:`, `file:` narrow a word, `state:ready` (also `running`, `waiting`, `done`)
picks the tasks in that state at the playhead. The lanes show only the tasks that match;
**n / N** select the next and previous one, **Esc** clears the filter.

**w** jumps to the longest wait in the ready queue (the most starved task), **W** to the
longest step; pressed again, to the next longest.
"""

SEARCH_PROMPT = "find tasks"
SEARCH_PLACEHOLDER = "name, coroutine or file · state:ready · file:app.py"
SEARCH_KEYS = "enter: keep the filter · esc: clear it · n / N: next, previous match"
SEARCH_STATES: dict[str, State] = {
    "running": State.RUNNING,
    "ready": State.READY,
    "waiting": State.WAITING,
    "done": State.DONE,
}


def search_result(query: str, found: int, total: int, t: int, states: bool) -> str:
    """ "12 of 3,000 tasks match 'fetch'" (with a state: at the playhead's time)."""
    at = f" at {format_time(t) if t else '0 s'}" if states else ""
    return f"{found:,} of {total:,} task{'' if total == 1 else 's'} match '{query}'{at}"


def unknown_states(states: tuple[str, ...]) -> str:
    known = ", ".join(SEARCH_STATES)
    return f"no state {', '.join(repr(s) for s in states)}: the states are {known}"


AT_SCALE = (
    "many tasks: / finds and filters them, Enter folds or unfolds a group,"
    " w goes to the most starved task, ? says more"
)
NO_MORE_GROUPS = "no more groups that way"
NOTHING_TO_FOLD = "nothing to fold: no other task shown runs this task's coroutine"
CENSUS_COUNTING = "counting the tasks per column…"
FILTER_CLEARED = "filter cleared: every task is shown"
NO_MATCH_TO_GO_TO = "no task matches: / to search"


def worst_ready(timeline: Timeline, stretch: Stretch, rank: int) -> str:
    """ "h-17, ready to run, waited 1.20 s from 3.400 s: the longest wait for the loop"."""
    return (
        f"{label_of(timeline, stretch.task)}, ready to run, waited {format_time(stretch.length)}"
        f" from {format_time(stretch.start)}: {_longest(rank)} wait for the loop"
    )


def worst_step(timeline: Timeline, stretch: Stretch, rank: int) -> str:
    """ "h-17's step at 3.400 s ran 1.20 s: the longest step"."""
    return (
        f"{label_of(timeline, stretch.task)}'s step at {format_time(stretch.start)} ran"
        f" {format_time(stretch.length)}: {_longest(rank)} step"
    )


def _longest(rank: int) -> str:
    """ "the longest", "the 2nd longest", "the 21st longest" (``rank`` from 0)."""
    if not rank:
        return "the longest"
    n = rank + 1
    suffix = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"the {n}{suffix} longest"


NO_READY_WAIT = "no task has waited in the ready queue yet"
NO_STEP = "no step has finished yet"
