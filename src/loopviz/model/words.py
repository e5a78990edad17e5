"""Every sentence a user reads about a run, in one place so that they agree.

The model answers in facts (intervals, moments, blocking steps, the exit); this module says
them in plain words for a learner who reads every one: the inspector, the event log, the
summary table, the JSON ``text`` fields, the exports and the command line all call it. A new
wait kind or cause is one entry in a table here (plus its record in ``trace``).
"""

from __future__ import annotations

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
from loopviz.trace import Cause, EndReason, JobPhase, Outcome, Stream, Wait
from loopviz.units import format_short, format_time

# Why a task became ready, for the causes whose sentence needs no other fact.
_BECAUSE: dict[int, str] = {
    Cause.START: "its first step is due",
    Cause.YIELD: "it yielded and is due again",
    Cause.IO: "its socket or pipe is ready",
    Cause.CANCEL: "it was cancelled",
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
}

UNFINISHED = "the trace ends early (the run did not finish)"

# The run view's help (``?``, Markdown): every mark on the timeline, and the summary's figures.
RUN_VIEW_HELP = """
One lane per task, in the order they were created: █ **running** (a step runs), in red when
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

**m** gives the whole screen to the timeline. **c** marks each kind of wait with a letter,
not only a colour: s sleep, i I/O, l lock, q queue, t task, e executor, f future, and
! a blocking step.

**Concurrency gain**: the tasks' time (from creation to end, less the time spent awaiting
other tasks) per second the loop ran: about 2 when two tasks' waits overlap, 1 when they ran
one after another.
"""


def where(file: str, line: int) -> str:
    """A site as people say it, "prog.py:12"; the full path stays in the model."""
    return f"{PurePath(file).name}:{line}"


def name(timeline: Timeline, task_id: int) -> str:
    """A task's name, "B" (or "#7" for a task the trace never announced)."""
    try:
        return timeline.task(task_id).name
    except KeyError:
        return f"#{task_id}"


def task(timeline: Timeline, task_id: int) -> str:
    """ "task B" (or "task #7" for a task the trace never announced)."""
    return f"task {name(timeline, task_id)}"


def label(info: TaskInfo) -> str:
    """A task's lane label: its name, or for asyncio's own tasks (``asyncio.run``'s shutdown
    steps) what they do, "asyncio: shutdown_asyncgens", rather than "Task-3"."""
    return f"asyncio: {info.coro.rsplit('.', 1)[-1]}" if info.internal else info.name


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


def start_up(duration: int) -> tuple[str, ...]:
    """The program's start-up before its first event loop, folded into one column, in
    shorter and shorter words: "start-up 0.45 s", "start 0.45 s", "0.45 s"."""
    took = format_short(duration)
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
    """ "job 3: fetch", an executor job and the function it runs."""
    function = timeline.job_function(job_id)
    return f"job {job_id}: {function}" if function else f"job {job_id}"


def wait(timeline: Timeline, interval: Interval) -> str:
    """What a waiting task awaits: "sleep 1.0 s", "Lock.acquire (timeout 0.1 s)", "task B"."""
    kind, timeout = interval.kind, _timeout(interval)
    if kind == Wait.SLEEP:
        return f"sleep {format_short(timeout)}" if timeout else "sleep"
    if kind == Wait.TASK:
        text = task(timeline, interval.ref)
    elif kind == Wait.EXECUTOR:
        text = job(timeline, interval.ref)
    else:
        text = interval.detail or _WAITING_ON.get(kind, "something")
    return f"{text} (timeout {format_short(timeout)})" if timeout else text


def cause(timeline: Timeline, interval: Interval) -> str:
    """Why a ready task is ready: "its sleep timer fired 300 ms late", "task B finished"."""
    kind = interval.kind
    if interval.overdue:  # ``kind`` is the wait whose deadline passed
        return f"its {_timer(kind)} was due but the loop was busy"
    if kind == Cause.TIMER:
        fired = f"its {_timer(interval.timer)} fired"
        return f"{fired} {format_time(interval.late)} late" if interval.late else fired
    if kind == Cause.TASK:
        return f"{task(timeline, interval.ref)} finished"
    if kind == Cause.FUTURE:
        by = f" by {task(timeline, interval.ref)}" if interval.ref else ""
        return f"a future it awaited was resolved{by}"
    if kind == Cause.EXECUTOR:
        return f"{job(timeline, interval.ref)} finished"
    return _BECAUSE.get(kind, "")


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
    return f"{what} {verb} on {change.worker}"


def _timeout(interval: Interval) -> int:
    return interval.deadline - interval.start if interval.deadline is not None else 0


def _timer(wait: int | None) -> str:
    """The timer of a wait: a sleep's own, or the deadline of anything else."""
    if wait is None:
        return "timer"
    return "sleep timer" if wait == Wait.SLEEP else "timeout"
