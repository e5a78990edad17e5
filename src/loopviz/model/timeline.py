"""The timeline model: per-task state intervals built from trace records.

Pure Python: it imports neither asyncio nor Textual. Build it from a whole trace or feed it
records as they arrive (``add``) while a program still runs; every query answers for what has
arrived so far. Times are integer nanoseconds since the start of the run.

A task's life is a run of contiguous segments (ready, running, waiting), ending when it is
done. A wait with a deadline (sleep, timeout) that ends after its deadline counts as *ready*
from the deadline on: the task was due but the loop did not get to it (starvation).

The model is five modules: ``facts`` (the data queries answer with), ``store`` (the packed
lanes), this one (folding records in, and the queries), ``analysis`` (the run as a whole) and
``words`` (every sentence about them); ``columns`` buckets lanes for the screen. This module
is longer than most (~730 lines) because folding and the queries share the lanes' invariants
(clamped starts, the overdue part of a wait, a step the watchdog reports before its record):
each record handler sits beside the queries that read what it wrote.
"""

from __future__ import annotations

import os
import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import msgspec

from loopviz.compiled import accelerator
from loopviz.model.facts import (
    BlockingStep,
    Event,
    ExitInfo,
    Interval,
    JobChange,
    JobState,
    LoopChange,
    Moment,
    OutputLine,
    Reported,
    Segment,
    Span,
    State,
    TaskInfo,
    Totals,
)
from loopviz.model.processes import LOOP_RECORDS, PROCESS_IDS, ProcessInfo, localize, on_exit
from loopviz.model.resources import RESOURCE_WAITS, Resources
from loopviz.model.store import (
    EVERY,
    KIND_MASK,
    KIND_SHIFT,
    LANE0,
    OVERDUE,
    REF_MAX,
    SITE_MAX,
    STATE_MASK,
    STATES,
    WIDE,
    Jobs,
    Lane,
    Moments,
    Series,
)
from loopviz.trace import (
    FIRST_WITH_ARGS,
    FIRST_WITH_RESOURCES,
    FORMAT_VERSION,
    Blocking,
    Callback,
    Cause,
    End,
    Exit,
    Finished,
    Gap,
    GapReason,
    Header,
    Idle,
    Job,
    JobPhase,
    LoopMark,
    LoopPhase,
    Loss,
    Lost,
    Outcome,
    Output,
    Problem,
    Process,
    ProgramError,
    Ran,
    Ready,
    Record,
    Renamed,
    Resource,
    Site,
    Source,
    Str,
    TaskCreated,
    Trace,
    TraceReader,
    Unseen,
    Untraced,
    Use,
    Wait,
    Waited,
    task_name,
)

# What a global moment refers to: ``ref = index << 3 | code``.
_M_SEGMENT, _M_BLOCK, _M_OUTPUT, _M_PROBLEM, _M_EXIT, _M_LOOP, _M_JOB = range(7)

# The loop's state over a span: none open; idle in select(); busy; open but not running (outside
# run_forever, from format 5 on); not recorded (a pause). The last two are neither busy nor idle.
_NO_LOOP, _IDLE, _BUSY, _STOPPED, _UNSEEN = -1, 0, 1, 2, 3
_RUNNING = (_IDLE, _BUSY)
# A loop opened counts as running until a mark says otherwise (a trace before format 5, or
# built by hand, has none); the recorder marks it STOPPED as it opens, RUNNING when it runs.
_LOOP_MARKS = {
    LoopPhase.OPENED: _BUSY, LoopPhase.RUNNING: _BUSY,
    LoopPhase.STOPPED: _STOPPED, LoopPhase.CLOSED: _NO_LOOP,
}  # fmt: skip
_STARTS_RUNNING = frozenset({LoopPhase.OPENED, LoopPhase.RUNNING})
_WAITING, _READY, _STEPPING, _DONE = (state.value for state in State)  # a task's states
_YIELDED = _READY | Cause.YIELD << KIND_SHIFT
_READY_CODES = {cause: _READY | cause << KIND_SHIFT for cause in Cause}  # by cause
_OUTCOMES = frozenset(Outcome)
_CAUSES = frozenset(Cause)
# Wake-ups that cancel a wait: one before its deadline leaves it cut short.
_CANCELLED = frozenset({Cause.CANCEL, Cause.GROUP_CANCEL, Cause.GROUP_FAILED, Cause.DEADLINE})
_WAITS = frozenset(Wait)
_WAIT_CODES = {kind: _WAITING | kind << KIND_SHIFT for kind in Wait}  # by kind
MAX_T = 366 * 86_400 * 1_000_000_000  # a year: a later time (or a longer step) is damage
# Characters of a string (a name, an output line, a message) kept for display: past them,
# "…". Views wrap and measure whole strings: a 50 MB task name or line would hang any of them.
MAX_TEXT = 2000
MAX_TRACEBACK = 100_000


def clip(text: str, most: int = MAX_TEXT) -> str:
    """``text``, cut to ``most`` characters and "…" if it is longer."""
    return text if len(text) <= most else text[:most] + "…"


# Waits whose ``detail`` is a number, not a Str id: the task or job awaited, how many tasks a
# gather or task group awaits, how long a sleep cut short by a deadline would have lasted.
_NUMBERED_V1 = frozenset({Wait.TASK, Wait.EXECUTOR})
_NUMBERED = _NUMBERED_V1 | {Wait.GATHER, Wait.SLEEP, Wait.TASK_GROUP}

# A timer that runs this much after it could have is late because the loop was busy, not
# because of clock and ``select`` granularity: that part of the wait counts as overdue.
OVERDUE_SLACK = 1_000_000

# Where installed packages and the standard library live (POSIX and Windows layouts).
_LIBRARY_DIR = re.compile(r"[\\/](?:site-packages|dist-packages|lib[\\/]python3\.\d+|Lib)[\\/]")
# What ``python -m package`` runs: the package's ``__main__.py``.
_PACKAGE_MAIN = ("/__main__.py", "\\__main__.py")
# asyncio's own modules, in the standard library (not a package's ``asyncio`` folder, such as
# hypercorn's: its tasks are hypercorn's).
_ASYNCIO_FILE = re.compile(r"[\\/](?:python3\.\d+t?|Lib)[\\/]asyncio[\\/][^\\/]+$")

# The compiled fold (``_fold.c``): reads a trace's common lines (steps, wake-ups, idle spans)
# and folds them as ``_add`` does, and sorts and reindexes for ``_compact``. None: the
# pure-Python code, which builds the same model (not compiled, or LOOPVIZ_PURE_PYTHON=1).
_FOLD: Any = accelerator("loopviz.model._fold")
if _FOLD is not None:
    _FOLD.configure(
        MAX_T, OVERDUE_SLACK, WIDE, SITE_MAX, KIND_SHIFT, STATE_MASK, _WAITING, _READY,
        _STEPPING, _YIELDED, OVERDUE, _NO_LOOP, _IDLE, _BUSY,
        sum(1 << kind for kind in Wait), sum(1 << cause for cause in Cause),
        sum(1 << cause for cause in _CANCELLED),
        *(kind.__struct_config__.tag for kind in (Ready, Ran, Waited, Idle)),
    )  # fmt: skip


def _at(record: Any, t: int) -> Any:
    """A record from before a ``--window``'s start read as at its start ``t`` (a step in it
    as one of no time)."""
    if hasattr(record, "dur"):
        return msgspec.structs.replace(record, t=t, dur=0)
    return msgspec.structs.replace(record, t=t)


def library_code(file: str, program: str) -> bool:
    """Whether code in ``file`` is a library's (an installed package or the standard library,
    or code without a file such as ``<frozen ...>``) rather than the program's: what lies
    beside the program is its own, wherever it is installed.

    A task whose coroutine is a library's was started by asyncio or by a library (aiohttp's
    connection closer): the trace's creation site cannot say so, as it is the innermost line
    of the program's own on the stack (the ``async with`` that led to it). An installed
    package run with ``-m`` (``python -m uvicorn``: the program is its ``__main__.py``) is
    not the program's own: its tasks are the package's, as when run by its console script."""
    if not file:
        return False
    if file.startswith("<"):
        return True
    folder = os.path.dirname(program)
    if program.endswith(_PACKAGE_MAIN) and library_code(program, ""):
        folder = ""
    if folder and file.startswith(folder + os.sep):  # a virtualenv in the program's folder
        file = file[len(folder) :]  # is still a library's
    return _LIBRARY_DIR.search(file) is not None


def _gather(values: array[int], order: Sequence[int]) -> array[int]:
    """``values`` in ``order``, in an array of its exact size (no room to grow), made a
    million at a time: a list of them all would cost 40 bytes a value while it lasts."""
    out = array(values.typecode, (0,)) * len(order)  # (from bytes, it would have room)
    for i in range(0, len(order), 1 << 20):
        out[i : i + (1 << 20)] = array(
            values.typecode, [values[m] for m in order[i : i + (1 << 20)]]
        )
    return out


@dataclass(slots=True)
class _Job:
    fn: str  # the function it runs
    task: int  # the task that submitted it (0: none)
    submitted: int
    started: int | None = None
    finished: int | None = None
    worker: str = ""  # where it ran, once it started
    index: int = -1  # its span in the worker's ``Jobs``


class Timeline:
    """Everything a viewer asks of a trace. Queries cost O(log n) in the number of events."""

    header: Header | None
    warnings: list[str]  # reading problems (a truncated last line)
    tasks: list[TaskInfo]  # in creation order
    workers: list[str]  # executor worker names, in order of first use
    problems: list[Reported]  # what the loop reported (exception never retrieved...)
    exit: ExitInfo
    end: int  # the last time seen (the End record's time once the run is over)
    finished: bool  # True once the End record arrived

    def __init__(self, header: Header | None = None) -> None:
        self.header = header
        version = header.version if header is not None else FORMAT_VERSION
        self._threshold = header.block_threshold_ns if header is not None else 100_000_000
        self._numbered = _NUMBERED if version >= FIRST_WITH_ARGS else _NUMBERED_V1
        self._with_args = version >= FIRST_WITH_ARGS
        self.warnings = []
        self.tasks = []
        self.workers = []
        self.problems = []
        self.exit = ExitInfo(None, None)
        self.end = 0
        self.finished = False
        self.loops_opened = 0  # event loops the program opened (0: it never used asyncio)
        self.untraced: list[Untraced] = []  # what ran outside the trace (loops, processes)
        # The classes of the event loops loopviz could not trace, by process (0: the program's).
        self.untraced_loops: dict[int, list[str]] = {}
        # The program's process and the children followed, once a child is (``processes``).
        self.processes: list[ProcessInfo] = []
        self._proc = 0  # the process whose records come now
        self.lost: list[Lost] = []  # events the recorder could not write
        self.sources: dict[str, Source] = {}  # the program's files as it ran them, by path
        self._active_until = 0  # end of the last step or callback seen: the loop was busy
        self._strs: dict[int, str] = {0: ""}
        self._sites: dict[int, tuple[str, int]] = {0: ("", 0)}
        self._site_code: dict[int, int] = {}  # site -> Str of the function it is in
        self._lanes: dict[int, Lane] = {}
        self._lane_list: list[Lane] = []  # by number (creation order)
        self._created = array("q")  # creation time of self.tasks[i], for alive_at
        self._created_sorted = True
        # Global moments, in arrival order, and their time order built lazily.
        self._ev = Moments()
        # The arrays every segment is appended to, at hand for the fold.
        self._times, self._numbers, self._codes = self._ev.times, self._ev.lanes, self._ev.codes
        self._timing: dict[type, int] = {}  # per record type: 2 with t and dur, 1 with t only
        # Per kind of other event: their indices in ``_ev``, sorted, and in their own list.
        self._kinds: list[array[int]] = [array("i") for _ in range(_M_JOB + 1)]
        self._kind_at: list[array[int]] = [array("i") for _ in range(_M_JOB + 1)]
        self._order = array("i")
        self._in_order = 0  # the first events, stored in time order (``_compact``)
        self._reordered: list[int] = []  # per late arrival: the first order index it moved
        self._blocks: list[BlockingStep] = []  # finished blocking steps, in arrival order
        self._pending: dict[int, Blocking] = {}  # task (0: callback) -> last watchdog report
        self._cut: dict[int, list[int]] = {}  # task -> its waits cut short (segment indices)
        self.cut_until = 0  # the latest deadline of a wait cut short
        self._loop = Series()
        self._loop_state = array("b")
        self._loop_cum = (array("q"), array("q"))  # idle, busy before span c * EVERY
        self._worker_spans: dict[str, Jobs] = {}
        self._jobs: dict[int, _Job] = {}
        self._job_events: list[tuple[int, int]] = []  # (job, phase) for moments
        self._out: list[tuple[int, int, str]] = []  # arrival order
        self._out_sorted: list[tuple[int, int, str]] = []
        self._out_t: list[int] = []
        self._error: ProgramError | None = None
        self._damage_said = False
        self.resources = Resources(self._strs, self._sites)
        # From format 4 on, a wait on a lock, semaphore, event, condition or queue names it.
        self._resource_refs = version >= FIRST_WITH_RESOURCES
        # ``--window``: the records before ``kept_from`` were dropped (0: none were); what
        # later records still refer to comes at its own time, read as at ``kept_from``.
        self.kept_from = 0
        self.dropped = Gap(0, 0, GapReason.DROPPED)  # the totals of what was dropped
        self.pauses: list[tuple[int, int]] = []  # (from, until) while recording was paused

    def _handlers(self) -> dict[type, Callable[[Any], None]]:
        """Each record type's fold, bound anew for each ``add``: held by the timeline, the
        bound methods would make it a reference cycle, freed only by the garbage collector's
        rare full passes (a live ``--window`` run drops a whole model at each renewal)."""
        return {
            Str: self._on_str,
            Site: self._on_site,
            TaskCreated: self._on_created,
            Ready: self._on_ready,
            Ran: self._on_ran,
            Waited: self._on_waited,
            Finished: self._on_finished,
            Idle: self._on_idle,
            Callback: self._on_callback,
            Blocking: self._on_blocking,
            Job: self._on_job,
            Output: self._on_output,
            Problem: self._on_problem,
            LoopMark: self._on_loop_mark,
            ProgramError: self._on_program_error,
            End: self._on_end,
            Renamed: self._on_renamed,
            Resource: self.resources.on_resource,
            Use: self.resources.on_use,
            Untraced: self._on_untraced,
            Process: self._on_process,
            Gap: self._on_gap,
            Lost: self._on_lost,
            Source: self._on_source,
            Exit: partial(on_exit, self.processes),
        }

    @classmethod
    def from_trace(cls, trace: Trace) -> Timeline:
        timeline = cls(trace.header)
        timeline.warnings = list(trace.warnings)
        timeline.add(trace.records)
        return timeline

    @classmethod
    def from_file(cls, path: str | Path, max_block_ns: int | None = None) -> Timeline:
        """Read and build, a batch of records at a time (a big trace is never whole in
        memory); raises ``trace.TraceError``. Reading warnings go to ``warnings``, first.
        Steps from ``max_block_ns`` on count as blocking, if the trace's threshold is higher
        (found from the steps' recorded lengths)."""
        reader = TraceReader(path)
        header = reader.header
        if max_block_ns is not None and header.block_threshold_ns > max_block_ns:
            header.block_threshold_ns = max_block_ns
        timeline = cls(header)
        if _FOLD is None:
            for batch in reader.batches():
                timeline.add(batch)
        else:
            timeline._add_lines(reader)
        timeline.warnings[:0] = reader.warnings
        timeline._compact()
        return timeline

    def _add_lines(self, reader: TraceReader) -> None:
        """Fold a trace file's records in with the compiled fold: it folds the common lines
        straight from the bytes and stops at any other line, which is read here and folded
        by ``_add``; the same model as ``add`` of every record (and the same errors)."""
        handlers, blank, fold_lines = self._handlers(), 0, _FOLD.fold_lines
        for body, number in reader.bodies():
            if not body.endswith(b"\n"):  # a last line cut short
                self._add(reader.last_line(body, number, number - 2 - blank), handlers)
                continue
            size, pos = len(body), 0
            while (pos := fold_lines(self, body, pos)) < size:
                cut = body.index(b"\n", pos) + 1
                record = reader.line(body, pos, cut, number)
                if record is None:
                    blank += 1
                else:
                    self._add([record], handlers)
                pos = cut

    def add(self, records: list[Record]) -> None:
        """Fold more records in (a live run); queries see them at once. A record whose time
        is negative or past any real run is left out (the reading warnings say so).

        Nearly every record is a step (``Ran``, ``Waited``) or a wake-up (``Ready``) of a
        task in its usual course: those are folded here, with the arrays, the run's end and
        the loop's busy time at hand. Anything else (damage, a step that blocks, a timed
        wait's wake-up, a child's records, a ``--window``) goes to ``_fold``, in order."""
        self._add(records, self._handlers())

    def _add(self, records: list[Record], handlers: dict[type, Callable[[Any], None]]) -> None:
        lanes, pending = self._lanes, self._pending
        ready_codes, wait_codes = _READY_CODES, _WAIT_CODES
        threshold = min(self._threshold, MAX_T)  # a step as long blocks: not folded here
        times, numbers, codes = self._times, self._numbers, self._codes
        starts, loop_state = self._loop.starts, self._loop_state
        end, active = self.end, self._active_until
        usual = not self._proc and not self.kept_from  # the program's own, all kept
        record: Any
        for record in records:
            kind = type(record)
            if usual and (kind is Ran or kind is Waited):
                t, dur = record.t, record.dur
                lane = lanes.get(record.task)
                if (
                    lane is not None
                    and lane.last <= t <= MAX_T
                    and 0 <= dur < threshold
                    and (not pending or record.task not in pending)  # (no report on it)
                    and lane.info.ended is None
                ):
                    ids = lane.ids
                    if kind is Ran:
                        after = _YIELDED
                    else:
                        after = wait_codes.get(record.kind, -1)
                        detail, site, timeout = record.detail, record.site, record.timeout
                        if not (
                            after >= 0
                            and -REF_MAX <= detail <= REF_MAX
                            and 0 <= site <= SITE_MAX
                            and -REF_MAX <= timeout <= REF_MAX
                        ):
                            after = -1
                        elif (
                            WIDE < detail <= SITE_MAX and not timeout
                        ):  # (the wait's rank: after the step)
                            lane.wait_at.append(len(ids) + 1)
                            lane.wait_ref.append(detail)
                            lane.wait_site.append(site)
                        else:
                            lane.add_wait(len(ids) + 1, detail, site, timeout)
                    if after >= 0:
                        stop = t + dur
                        n = len(times)
                        ids.append(n)
                        ids.append(n + 1)
                        times.append(t)
                        times.append(stop)
                        tag = lane.tag
                        numbers.append(tag)
                        numbers.append(tag)
                        codes.append(_STEPPING)
                        codes.append(after)
                        lane.last = stop
                        if stop > active:
                            active = stop
                        if stop > end:
                            end = stop
                        if after != _YIELDED:
                            info = lane.info
                            if info.library and site and not info.handler:
                                self._handler(info, site)
                        continue
            elif usual and kind is Ready:
                t, ref = record.t, record.ref
                lane = lanes.get(record.task)
                new = ready_codes.get(record.cause, 0)
                if (
                    lane is not None
                    and new
                    and lane.last <= t <= MAX_T
                    and -REF_MAX <= ref <= REF_MAX
                ):
                    ids = lane.ids
                    if codes[ids[-1]] & STATE_MASK == _WAITING:
                        if lane.last_timeout():  # (a timed wait: maybe overdue, cut short)
                            self.end = end
                            self._woken(lane, t, new, record.cause, ref)
                            end = self.end
                            continue
                        if ref:
                            lane.set_ref(len(ids), ref)
                        ids.append(len(times))
                        times.append(t)
                        numbers.append(lane.tag)
                        codes.append(new)
                        lane.last = t
                        if t > end:
                            end = t
                        continue
            elif usual and kind is Idle:
                t, stop = record.t, record.t + record.dur
                if (
                    starts
                    and starts[-1] <= t <= stop <= t + MAX_T
                    and t <= MAX_T
                    and loop_state[-1] != _NO_LOOP  # (opened, closed: ``_loop_push``)
                ):
                    starts.append(t)
                    starts.append(stop)
                    loop_state.append(_IDLE)
                    loop_state.append(_BUSY)
                    if stop > end:
                        end = stop
                    continue
            self.end, self._active_until = end, active
            self._fold(record, handlers)
            end, active = self.end, self._active_until
            times, numbers, codes = self._times, self._numbers, self._codes
            usual = not self._proc and not self.kept_from
        self.end, self._active_until = end, active

    def _fold(self, record: Any, handlers: dict[type, Callable[[Any], None]]) -> None:
        """Fold one record in, whatever it is."""
        kind = type(record)
        timed = self._timing.get(kind)
        if timed is None:
            fields = kind.__struct_fields__
            timed = self._timing[kind] = ("t" in fields) + ("dur" in fields)
        if timed and not (0 <= record.t <= MAX_T and (timed == 1 or 0 <= record.dur <= MAX_T)):
            self._damaged(f"a {kind.__name__} record has an impossible time")
            return
        if self._proc:  # a child process's record: in its own id space
            record = self._of_child(record)
            if record is None:
                return
        if timed and record.t < self.kept_from:  # kept from before the window
            record = _at(record, self.kept_from)
        handlers[type(record)](record)

    @property
    def block_threshold(self) -> int:
        return self._threshold

    # --- building --------------------------------------------------------------------------
    def _moment(self, t: int, kind: int, index: int) -> None:
        """An event other than a segment's: its ``kind`` (``_M_BLOCK`` on) and its
        ``index`` in that kind's list."""
        ev = self._ev
        self._kinds[kind].append(len(ev.times))
        self._kind_at[kind].append(index)
        ev.times.append(t)
        ev.lanes.append(kind)
        ev.codes.append(0)

    def _lane(self, task: int) -> Lane:
        """The task's lane; a task never announced (a trace cut at the start) gets one."""
        lane = self._lanes.get(task)
        if lane is None:
            created = self.end
            self._on_created(TaskCreated(created, task, 0, 0, 0, 0, 0))
            lane = self._lanes[task]
            lane.info.name = f"#{task}"
        return lane

    def _push(self, lane: Lane, t: int, code: int, ref: int = 0) -> None:
        """Start a segment at t, never before the previous one: a task's records come in its
        order, so one that does not is damage, repaired by moving it to the lane's end. A
        wait's detail, site and deadline are the caller's to add (``_wait``); a step's site
        is where the wait before it was."""
        if t < lane.last:  # repaired: moved to where the task's lane is
            self._out_of_order(lane)
            t = lane.last
        lane.last = t
        times = self._times
        if ref:
            lane.set_ref(len(lane.ids), ref)
        lane.ids.append(len(times))
        times.append(t)
        self._numbers.append(lane.tag)
        self._codes.append(code)
        if t > self.end:
            self.end = t

    def _on_process(self, r: Process) -> None:
        """The records that follow are process ``r.proc``'s (the first time: a new one)."""
        processes = self.processes
        if not processes:  # the records before were the program's own
            processes.append(ProcessInfo(0, 0, 0, "", 0, self.loops_opened))
        if r.proc == len(processes):
            processes.append(ProcessInfo(r.proc, r.pid, r.ppid, r.command, r.t))
        elif not 0 <= r.proc < len(processes):
            self._damaged(f"process {r.proc} is named before process {len(processes)}")
            return
        if r.proc == 0 and not processes[0].pid:
            processes[0].pid, processes[0].ppid, processes[0].command = r.pid, r.ppid, r.command
        self._proc = r.proc

    def _of_child(self, record: Record) -> Record | None:
        """A child process's record, as folded in: ids in its space; its loop's own records
        counted (not drawn in the program's loop lane)."""
        if type(record) in LOOP_RECORDS:
            process = self.processes[self._proc]
            if isinstance(record, Idle):
                process.idle += record.dur
            elif isinstance(record, LoopMark) and record.phase in _STARTS_RUNNING:
                if record.phase == LoopPhase.OPENED:
                    process.loops += 1
                    self.loops_opened += 1
                if process.open_since is None:  # running (an older trace: while open)
                    process.open_since = record.t
            elif isinstance(record, LoopMark) and process.open_since is not None:
                process.looped += record.t - process.open_since
                process.open_since = None
            self.end = max(self.end, getattr(record, "t", 0))
            return None
        moved = localize(record, self._proc)
        if moved is None:
            self._damaged(f"process {self._proc} numbers something past {PROCESS_IDS - 1:,}")
        return moved

    def _on_str(self, r: Str) -> None:
        self._strs[r.id] = clip(r.text)

    def _on_site(self, r: Site) -> None:
        file = self._strs.get(r.file, "")
        self._sites[r.id] = (file, r.line)
        if r.code:
            self._site_code[r.id] = r.code

    def _on_created(self, r: TaskCreated) -> None:
        if r.task in self._lanes:  # a damaged trace announcing a task twice: keep the first
            self._damaged(f"task {r.task} is announced twice")
            return
        strs = self._strs
        coro_file, coro_line = self._sites.get(r.coro_site, ("", 0))
        file, line = self._sites.get(r.site, ("", 0))
        info = TaskInfo(
            r.task, task_name(r.name, strs), strs.get(r.coro, ""), coro_file, coro_line,
            r.parent, r.t, file, line,
        )  # fmt: skip
        info.internal = _ASYNCIO_FILE.search(coro_file) is not None
        info.process = self._proc
        program = self.header.program if self.header else ""
        info.library = info.internal or library_code(coro_file, program)
        if self._with_args:
            info.args = r.args
        lane = Lane(info, len(self._lane_list), self._ev)
        self._ev.widen(len(self._lane_list) + 1)
        self._numbers = self._ev.lanes
        self._lanes[r.task] = lane
        self._lane_list.append(lane)
        self.tasks.append(info)
        if self._created and r.t < self._created[-1]:
            self._created_sorted = False
        self._created.append(r.t)
        parent = self._lanes.get(r.parent)
        if parent is not None:
            parent.info.children.append(r.task)
        self._push(lane, r.t, State.READY | Cause.START << KIND_SHIFT)

    def _on_untraced(self, r: Untraced) -> None:
        what = clip(r.what)
        self.untraced.append(Untraced(r.t, r.kind, what, clip(r.file), r.line, clip(r.by)))
        if r.kind == Unseen.LOOP:
            self.untraced_loops.setdefault(self._proc, []).append(what)

    def _on_source(self, r: Source) -> None:
        if r.size < 0:
            self._damaged("a Source record says what cannot be")
            return
        self.sources[r.file] = r

    def _on_lost(self, r: Lost) -> None:
        if r.why not in Loss._value2member_map_ or r.events < -1:
            self._damaged("a Lost record says what cannot be")
            return
        self.lost.append(r)

    def _out_of_order(self, lane: Lane) -> None:
        """A task's record before the one that came earlier: repaired by moving it later."""
        self._damaged(f"records of task {lane.info.id} are out of time order")

    def _damaged(self, what: str) -> None:
        """A record that contradicts the ones before it (a damaged or hand-edited trace): it is
        left out, and the reading warnings say so once."""
        if not self._damage_said:
            self._damage_said = True
            self.warnings.append(f"the trace is damaged ({what}); such records were left out")

    def _on_renamed(self, r: Renamed) -> None:
        self._lane(r.task).info.name = task_name(r.name, self._strs)

    def _on_ready(self, r: Ready) -> None:
        if r.cause not in _CAUSES:
            self._damaged(f"task {r.task} became ready for an unknown reason, {r.cause}")
            return
        if not -REF_MAX <= r.ref <= REF_MAX:
            self._damaged(f"task {r.task} became ready because of {r.ref}, which is no task")
            return
        lane = self._lanes.get(r.task) or self._lane(r.task)
        ids = lane.ids
        code = self._codes[ids[-1]]
        state = code & STATE_MASK
        new = _READY | r.cause << KIND_SHIFT
        if state == _READY and not code & OVERDUE:
            # Already ready (created, or yielded): the record names the cause.
            self._codes[ids[-1]] = new
            lane.set_ref(len(ids) - 1, r.ref)
            return
        if state == _DONE:
            return
        if state == _WAITING:
            self._woken(lane, r.t, new, r.cause, r.ref)
        else:
            self._push(lane, r.t, new, r.ref)

    def _woken(self, lane: Lane, t: int, new: int, cause: int, ref: int) -> None:
        """A waiting task is ready from t (``new``: its code; ``ref``: what woke it). Past
        its wait's deadline, it was due from then (overdue); woken before by a cancellation,
        its wait was cut short."""
        timeout = lane.last_timeout()
        if timeout:
            ids = lane.ids
            deadline = lane.last + timeout
            if cause in _CANCELLED and t < deadline:
                self._cut.setdefault(lane.info.id, []).append(len(ids) - 1)
                self.cut_until = max(self.cut_until, deadline)
            due = self._due_from(deadline)
            if t - due > OVERDUE_SLACK:
                code = self._codes[ids[-1]]
                self._push(lane, due, code & ~STATE_MASK | _READY | OVERDUE)
        self._push(lane, t, new, ref)

    def _due_from(self, deadline: int) -> int:
        """When a timer falling due at ``deadline`` could first have run: if the loop sat in
        ``select`` then (the OS woke it a little late), only once it woke up."""
        starts = self._loop.starts
        i = bisect_right(starts, deadline) - 1
        if i >= 0 and self._loop_state[i] == _IDLE and i + 1 < len(starts):
            return starts[i + 1]
        return deadline

    def _step(self, lane: Lane, t: int, dur: int, site: int, after: int, ref: int = 0) -> None:
        """A step record: the RUNNING segment from t, its blocking check, and the segment
        that begins as it ends (``after``: ready again, a wait, done; its ``ref``). The
        fold's hot path, so it appends to the arrays itself rather than call ``_push``."""
        start = t
        if t < lane.last:  # repaired: moved to where the task's lane is
            self._out_of_order(lane)
            start = lane.last
        ids, times, numbers, codes = lane.ids, self._times, self._numbers, self._codes
        tag = lane.tag
        ids.append(len(times))
        times.append(start)
        numbers.append(tag)
        codes.append(_STEPPING)
        end = t + dur
        if end > self._active_until:
            self._active_until = end
        if self._pending or dur >= self._threshold:
            self._blocked(lane, t, dur, site)
        if end < start:  # a step moved later (damage, said above) ends no earlier
            end = start
        lane.last = end
        if ref:
            lane.set_ref(len(ids), ref)
        ids.append(len(times))
        times.append(end)
        numbers.append(tag)
        codes.append(after)
        if end > self.end:
            self.end = end

    def _blocked(self, lane: Lane, t: int, dur: int, site: int) -> None:
        """Whether the step just begun blocked the loop: long enough, or the watchdog saw it."""
        task = lane.info.id
        report = self._pending.get(task)
        if report is not None and report.since <= t + dur:
            del self._pending[task]
            if report.since != t:
                report = None  # a report about an earlier step whose record went missing
        if dur >= self._threshold or report is not None:
            if report is not None and report.site:
                site = report.site
                if lane.sites is None:
                    lane.sites = {}
                lane.sites[len(lane.ids) - 1] = site  # the step's: the line that blocked
                self._handler(lane.info, site)
            if site:
                file, line = self._sites.get(site, ("", 0))
            else:
                file, line = lane.info.coro_file, lane.info.coro_line
            self._add_block(BlockingStep(task, t, dur, file, line))
            if lane.blocks is None:
                lane.blocks = []
            lane.blocks.append((t, t + dur))

    def _handler(self, info: TaskInfo, site: int) -> None:
        """A library's task is in the program's code at ``site`` (where it waits, or blocks
        the loop): the innermost function of the program's that it runs names it."""
        if info.library and site and not info.handler:
            info.handler = self._strs.get(self._site_code.get(site, 0), "")

    def _add_block(self, step: BlockingStep) -> None:
        self._moment(step.start, _M_BLOCK, len(self._blocks))
        self._blocks.append(step)

    def _after_done(self, lane: Lane) -> bool:
        """A step of a task that already ended: damage, left out."""
        if lane.info.ended is None:
            return False
        self._damaged(f"task {lane.info.id} runs after it ended")
        return True

    def _on_ran(self, r: Ran) -> None:
        lane = self._lanes.get(r.task) or self._lane(r.task)
        if lane.info.ended is not None:
            self._after_done(lane)
            return
        self._step(lane, r.t, r.dur, 0, _YIELDED)

    def _on_waited(self, r: Waited) -> None:
        if r.kind not in _WAITS:
            self._damaged(f"task {r.task} waits on an unknown kind of thing, {r.kind}")
            return
        if not (
            -REF_MAX <= r.detail <= REF_MAX
            and 0 <= r.site <= SITE_MAX
            and -REF_MAX <= r.timeout <= REF_MAX
        ):
            self._damaged(f"a wait of task {r.task} has an impossible detail, line or deadline")
            return
        lane = self._lanes.get(r.task) or self._lane(r.task)
        if lane.info.ended is not None:
            self._after_done(lane)
            return
        lane.add_wait(len(lane.ids) + 1, r.detail, r.site, r.timeout)  # after the step's
        self._step(lane, r.t, r.dur, r.site, _WAITING | r.kind << KIND_SHIFT)
        self._handler(lane.info, r.site)

    def _on_finished(self, r: Finished) -> None:
        if r.outcome not in _OUTCOMES:
            self._damaged(f"task {r.task} ended in an unknown way, {r.outcome}")
            return
        if not -REF_MAX <= r.detail <= REF_MAX:
            self._damaged(f"task {r.task} ended with {r.detail}, which is no text")
            return
        lane = self._lane(r.task)
        if self._after_done(lane):
            return
        self._step(lane, r.t, r.dur, 0, _DONE | r.outcome << KIND_SHIFT, r.detail)
        info = lane.info
        info.ended = lane.last  # ``end``, unless a damaged trace made it earlier
        info.outcome = Outcome(r.outcome)
        info.outcome_detail = self._strs.get(r.detail, "")

    def _loop_push(self, t: int, state: int) -> None:
        loop = self._loop
        if loop.starts and t < loop.starts[-1]:
            t = loop.starts[-1]
        was_open = bool(loop.starts) and self._loop_state[-1] != _NO_LOOP
        if (state == _NO_LOOP) == was_open:
            self._moment(t, _M_LOOP, len(loop.starts))  # opened or closed
        loop.starts.append(t)
        self._loop_state.append(state)
        if t > self.end:
            self.end = t

    def _on_idle(self, r: Idle) -> None:
        self._loop_push(r.t, _IDLE)
        self._loop_push(r.t + r.dur, _BUSY)

    def _on_callback(self, r: Callback) -> None:
        report = self._pending.pop(0, None)
        if report is not None and report.since != r.t:
            report = None
        end = r.t + r.dur
        self.end = max(self.end, end)
        self._active_until = max(self._active_until, end)
        if r.dur >= self.block_threshold or report is not None:
            file, line = self._sites.get(report.site if report else 0, ("", 0))
            self._add_block(BlockingStep(0, r.t, r.dur, file, line))

    def _on_blocking(self, r: Blocking) -> None:
        self._pending[r.task] = r
        self.end = max(self.end, r.t)

    def _on_job(self, r: Job) -> None:
        job = self._jobs.get(r.job)
        if job is None:
            job = self._jobs[r.job] = _Job(self._strs.get(r.fn, ""), r.task, r.t)
        if r.phase == JobPhase.STARTED:
            job.started = r.t
            worker = self._strs.get(r.worker, "") or "worker"
            spans = self._worker_spans.get(worker)
            if spans is None:
                spans = self._worker_spans[worker] = Jobs()
                self.workers.append(worker)
            job.worker, job.index = worker, len(spans.starts)
            spans.starts.append(r.t)
            spans.ends.append(None)
            spans.labels.append(job.fn)
        elif r.phase == JobPhase.FINISHED:
            job.finished = r.t
            if job.index >= 0:
                self._worker_spans[job.worker].ends[job.index] = r.t
        self._moment(r.t, _M_JOB, len(self._job_events))
        self._job_events.append((r.job, r.phase))
        self.end = max(self.end, r.t)

    def _on_output(self, r: Output) -> None:
        self._moment(r.t, _M_OUTPUT, len(self._out))
        self._out.append((r.t, r.stream, clip(r.text)))
        self.end = max(self.end, r.t)

    def _on_problem(self, r: Problem) -> None:
        self._moment(r.t, _M_PROBLEM, len(self.problems))
        self.problems.append(Reported(r.t, r.task, self._strs.get(r.message, "")))
        self.end = max(self.end, r.t)

    def _on_loop_mark(self, r: LoopMark) -> None:
        self.loops_opened += r.phase == LoopPhase.OPENED
        if self.processes:
            self.processes[0].loops += r.phase == LoopPhase.OPENED
        state = _LOOP_MARKS.get(r.phase)  # type: ignore[call-overload]
        if state is not None:
            self._loop_push(r.t, state)

    def _on_gap(self, r: Gap) -> None:
        if r.reason == GapReason.DROPPED:
            self.kept_from = max(self.kept_from, r.until)
            self.dropped = r
            self.loops_opened += r.loops
            self.end = max(self.end, r.until)
        elif r.reason == GapReason.PAUSED:
            self.pauses.append((r.t, r.until))
            states = self._loop_state
            if states and states[-1] != _NO_LOOP:  # unseen meanwhile; after, marks say
                self._loop_push(r.t, _UNSEEN)  # whether it runs (the recorder's RUNNING)
                self._loop_push(r.until, _STOPPED)
            self.end = max(self.end, r.until)

    def _on_program_error(self, r: ProgramError) -> None:
        self._error = ProgramError(
            r.t, clip(r.type), clip(r.message), clip(r.traceback, MAX_TRACEBACK)
        )
        self.end = max(self.end, r.t)

    def _on_end(self, r: End) -> None:
        error = self._error
        self.exit = ExitInfo(r.status, r.reason, f"{error.type}: {error.message}" if error else "")
        self.finished = True
        self.end = max(self.end, r.t)
        if self._loop_state and self._loop_state[-1] != _NO_LOOP:  # killed, its loop open
            tail = self._idle_since()
            if tail is not None and tail < self.end:
                self._loop_push(tail, _IDLE)
            self._loop_push(self.end, _NO_LOOP)
        self._moment(r.t, _M_EXIT, 0)

    # --- the run as a whole -------------------------------------------------------------
    @property
    def blocking(self) -> list[BlockingStep]:
        """Blocking steps by start, with any step still blocking now (``ongoing``)."""
        steps = list(self._blocks)
        for report in self._pending.values():
            file, line = self._sites.get(report.site, ("", 0))
            if not file and report.task in self._lanes:
                info = self._lanes[report.task].info
                file, line = info.coro_file, info.coro_line
            duration = max(self.end - report.since, 0)
            steps.append(BlockingStep(report.task, report.since, duration, file, line, True))
        steps.sort(key=lambda step: step.start)
        return steps

    def task(self, task_id: int) -> TaskInfo:
        return self._lanes[task_id].info

    def advance_to(self, t: int) -> None:
        """A live run has reached t with nothing new to say: open intervals and a step that
        is still blocking reach t too (the viewer calls this with the clock while it runs).
        While a step blocks, timed waits whose deadline has passed turn ready (overdue) now."""
        if self.finished:
            return
        self.end = max(self.end, t)
        if self._pending:  # a step still blocks the loop: deadlines passing now are missed
            for lane in self._lane_list:  # rare, and at most a few times a second
                timeout = lane.last_timeout()
                if not timeout:
                    continue  # not in a timed wait
                due = self._due_from(lane.last + timeout)
                if t - due > OVERDUE_SLACK:  # as its Ready record will say, once it comes
                    code = lane.code(len(lane.ids) - 1)
                    self._push(lane, due, code & ~STATE_MASK | _READY | OVERDUE)

    def _idle_since(self) -> int | None:
        """Where the open end of the loop's record really turns idle: after its last step or
        callback the loop is back in ``select()`` (whose record comes only when it returns),
        unless a step is still blocking it. None when the last span is not an open busy one."""
        states = self._loop_state
        if not states or states[-1] != _BUSY or self._pending:
            return None
        return max(self._loop.starts[-1], self._active_until)

    def loop_totals(self, until: int | None = None) -> tuple[int, int]:
        """(busy, idle) time of the loop up to ``until``; by default, of the whole run, what
        a ``--window`` dropped included."""
        if until is None:
            kept_busy, kept_idle = self.loop_totals(self.end)
            return kept_busy + self.dropped.busy, kept_idle + self.dropped.idle
        x = until
        starts, states = self._loop.starts, self._loop_state
        idle, busy = self._loop_cum
        if len(starts) > len(idle) * EVERY:  # checkpoints for the spans that came since
            if not idle:
                idle.append(0)
                busy.append(0)
            wait, run = idle[-1], busy[-1]
            for i in range(len(idle) * EVERY - EVERY + 1, len(starts)):
                d, state = starts[i] - starts[i - 1], states[i - 1]
                if state == _IDLE:
                    wait += d
                elif state == _BUSY:
                    run += d
                if not i % EVERY:
                    idle.append(wait)
                    busy.append(run)
        i = bisect_right(starts, x) - 1
        if i < 0:
            return 0, 0
        c = i // EVERY
        wait, run = idle[c], busy[c]
        for j in range(c * EVERY, i):  # the spans since the checkpoint
            if states[j] == _IDLE:
                wait += starts[j + 1] - starts[j]
            elif states[j] == _BUSY:
                run += starts[j + 1] - starts[j]
        extra = x - starts[i]
        tail = self._idle_since() if i == len(starts) - 1 else None
        quiet = max(x - tail, 0) if tail is not None else 0
        return (
            run + (extra - quiet if states[i] == _BUSY else 0),
            wait + (extra if states[i] == _IDLE else quiet),
        )

    def runs(self, task_id: int, state: State) -> Iterator[tuple[int, int, int | None]]:
        """(index, start, end) of the task's segments in ``state``; end None: still open."""
        lane = self._lanes[task_id]
        times, codes = self._ev.times, self._ev.codes
        ids = lane.ids
        last = len(ids) - 1
        for i, m in enumerate(ids):
            if codes[m] & STATE_MASK == state:
                yield i, times[m], times[ids[i + 1]] if i < last else None

    def segment(self, task_id: int, index: int) -> Interval:
        """The task's ``index``-th interval (as ``runs`` numbers them)."""
        return self._interval(self._lanes[task_id], index)

    def wait_time(self, task_id: int, kinds: set[int], until: int | None = None) -> int:
        """Time the task spent waiting on one of ``kinds`` (``trace.Wait``) up to ``until``."""
        lane = self._lanes[task_id]
        x = self.end if until is None else until
        times, codes, ids = self._ev.times, self._ev.codes, lane.ids
        total = 0
        for i in lane.wait_at[: bisect_right(lane.wait_at, lane.index_at(x))]:
            code = codes[ids[i]]
            if code >> KIND_SHIFT & KIND_MASK in kinds:
                end = times[ids[i + 1]] if i + 1 < len(ids) else x
                total += min(end, x) - times[ids[i]]
        return total

    # --- per task ------------------------------------------------------------------------
    def _interval(self, lane: Lane, i: int) -> Interval:
        code = lane.code(i)
        state = STATES[code & STATE_MASK]
        kind = code >> KIND_SHIFT & KIND_MASK
        start = lane.start(i)
        end = lane.end(i)
        file, line = self._sites.get(lane.site(i), ("", 0))
        ref = lane.ref(i)
        detail = ""
        deadline = None
        timer = None
        late = 0
        resource = 0
        if state == State.WAITING:
            timeout = lane.timeout(i)
            if timeout:
                deadline = start + timeout
            if kind in RESOURCE_WAITS and self._resource_refs:
                resource = ref
            elif kind not in self._numbered:
                detail = self._strs.get(ref, "")
                ref = 0
        elif state == State.DONE:
            detail = self._strs.get(ref, "")
            ref = 0
        elif state == State.READY and kind == Cause.TIMER and not code & OVERDUE:
            j = i - 1  # the wait whose timer fired, before any overdue part of it
            while j > 0 and lane.code(j) & OVERDUE:
                j -= 1
            if j >= 0 and lane.code(j) & STATE_MASK == State.WAITING:
                timer = lane.code(j) >> KIND_SHIFT & KIND_MASK
                if timer == Wait.SLEEP and lane.ref(j) and Wait.SLEEP in self._numbered:
                    timer = Wait.TIMEOUT  # a sleep cut short: its deadline's timer fired
                timeout = lane.timeout(j)
                if timeout:
                    overshoot = start - lane.start(j) - timeout
                    late = overshoot if overshoot >= self.block_threshold else 0
        elif state == State.READY and kind == Cause.FUTURE and i and self._resource_refs:
            before = lane.code(i - 1)  # a wake-up from a wait on a resource: which one
            if before & STATE_MASK == State.WAITING and before >> KIND_SHIFT & KIND_MASK in (
                RESOURCE_WAITS
            ):
                resource = lane.ref(i - 1)
        return Interval(
            start, end, state, kind, detail, file, line, deadline, bool(code & OVERDUE), ref,
            timer, late, resource, lane.info.id,
        )  # fmt: skip

    def job_function(self, job: int) -> str:
        """The name of the function an executor job ran ("" if unknown)."""
        info = self._jobs.get(job)
        return info.fn if info else ""

    def state_at(self, task_id: int, t: int) -> Interval | None:
        """The task's interval containing t (None before it was created). The last interval
        has ``end`` None: it lasts to the end of the run (DONE lasts for ever)."""
        lane = self._lanes.get(task_id)
        if lane is None:
            return None
        i = lane.index_at(t)
        report = self._pending.get(task_id)
        if report is not None and i == len(lane.ids) - 1 and t >= report.since:
            # A step still blocking the loop: its record comes when it ends, the watchdog
            # already said where it is.
            file, line = self._sites.get(report.site, ("", 0))
            return Interval(report.since, None, State.RUNNING, file=file, line=line, task=task_id)
        return self._interval(lane, i) if i >= 0 else None

    def position(self, task_id: int, t: int) -> tuple[str, int] | None:
        """Where the task's own code is at ``t``: the line it runs or is suspended at."""
        interval = self.state_at(task_id, t)
        if interval is None or interval.state is State.DONE:
            return None
        # Ready intervals (overdue, then woken) have no line: it is where the task was suspended.
        while interval.state is State.READY and not interval.line and interval.start > 0:
            before = self.state_at(task_id, interval.start - 1)
            if before is None or before.state is State.DONE:
                break
            interval = before
        if interval.line:
            return interval.file, interval.line
        info = self.task(task_id)
        return (info.coro_file, info.coro_line) if info.coro_line else None

    def intervals(self, task_id: int, t0: int = 0, t1: int | None = None) -> list[Interval]:
        """The task's intervals overlapping [t0, t1), leaving out empty ones."""
        lane = self._lanes[task_id]
        i0 = max(lane.index_at(t0), 0)
        i1 = len(lane.ids) if t1 is None else lane.index_before(t1) + 1
        starts = lane.starts(i0, i1 + 1)
        last = len(lane.ids) - 1
        return [
            self._interval(lane, i)
            for i in range(i0, i1)
            if i == last or starts[i + 1 - i0] > max(starts[i - i0], t0)
        ]

    def sums(self, task_id: int, times: list[int]) -> list[tuple[int, int, int, int]]:
        """(waiting, ready, running) time up to each of ``times`` and steps begun by then:
        ``totals`` for many moments at once, as bucketing for the screen needs them."""
        return self._lanes[task_id].sums_many(times)

    def blocks_of(self, task_id: int) -> list[tuple[int, int]]:
        """(start, end) of the task's finished blocking steps, by start."""
        return self._lanes[task_id].blocks or []

    def blocking_since(self, task_id: int) -> int | None:
        """When the task's step that still blocks the loop began (None: none does)."""
        report = self._pending.get(task_id)
        return None if report is None else report.since

    def cut_short(self, task_id: int) -> list[Interval]:
        """The task's waits with a deadline that a cancellation ended before it (a sleep
        cancelled, or a timeout's): each ``end`` is before its ``deadline``."""
        lane = self._lanes[task_id]
        return [self._interval(lane, i) for i in self._cut.get(task_id, ())]

    def wait_kind_in(self, task_id: int, t0: int, t1: int) -> int:
        """The ``trace.Wait`` kind the task waits on in [t0, t1): that of the wait at its
        middle, else of the last segment begun before t1."""
        lane = self._lanes[task_id]
        i = lane.index_at((t0 + t1) // 2)
        if lane.code(i) & STATE_MASK != State.WAITING:
            i = lane.index_before(t1)
        return lane.code(i) >> KIND_SHIFT & KIND_MASK

    def totals(self, task_id: int | None = None, until: int | None = None) -> Totals:
        """Time in each state up to ``until`` (default: the end), one task or all."""
        x = self.end if until is None else until
        lanes = self._lanes.values() if task_id is None else [self._lanes[task_id]]
        waiting = ready = running = steps = 0
        for lane in lanes:
            w, r, run, n = lane.sums_at(x)
            waiting += w
            ready += r
            running += run
            steps += n
        return Totals(running, ready, waiting, steps)

    def alive_at(self, t: int) -> list[int]:
        """Tasks created at or before t and not done by then, in creation order."""
        n = bisect_right(self._created, t) if self._created_sorted else len(self.tasks)
        return [
            info.id
            for info in self.tasks[:n]
            if info.created <= t and (info.ended is None or info.ended > t)
        ]

    # --- the loop and the executors -------------------------------------------------------
    @property
    def loop_start(self) -> int:
        """When the first event loop started (0 before any did): what comes before it is the
        program starting up (imports, code before ``asyncio.run``)."""
        starts = self._loop.starts
        return starts[0] if starts else 0

    def loop_stopped(self) -> int:
        """How long a loop was open but not running (between ``run_forever`` calls, or after
        the last one, the loop not closed): time neither busy nor idle."""
        starts, states = self._loop.starts, self._loop_state
        edges = [*starts[1:], self.end]
        return sum(
            max(edges[i] - starts[i], 0) for i, state in enumerate(states) if state == _STOPPED
        )

    def loop_spans(self, t0: int = 0, t1: int | None = None) -> list[Span]:
        """Busy and idle (in ``select``) spans of the loop overlapping [t0, t1)."""
        starts, states = self._loop.starts, self._loop_state
        spans = []
        for i in self._loop.overlapping(t0, t1):
            if states[i] not in _RUNNING:  # no loop, or one not running: a gap
                continue
            end = starts[i + 1] if i + 1 < len(starts) else None
            if end is not None and (end <= t0 or end == starts[i]):
                continue
            busy = states[i] == _BUSY
            tail = self._idle_since() if end is None else None
            if tail is not None:  # the open end: busy until its last step, then in select()
                if tail > starts[i]:
                    spans.append(Span(starts[i], tail, "busy", True))
                spans.append(Span(tail, None, "idle", False))
                continue
            spans.append(Span(starts[i], end, "busy" if busy else "idle", busy))
        return spans

    def job_spans(self, worker: str, t0: int = 0, t1: int | None = None) -> list[Span]:
        """Jobs that ran on ``worker``, labelled with the function's name."""
        flat = self._worker_spans.get(worker)
        if flat is None:
            return []
        ends = flat.ends
        return [
            Span(flat.starts[i], end, flat.labels[i])
            for i in flat.overlapping(t0, t1)
            if (end := ends[i]) is None or end > t0
        ]

    # --- events ----------------------------------------------------------------------------
    def _ordered(self) -> Sequence[int]:
        """Moment indices in time order (ties keep arrival order). Late arrivals re-sort only
        the events from the earliest of them on."""
        times, order = self._ev.times, self._order
        if self._in_order:  # stored in time order: no array needed, unless more came
            if self._in_order == len(times):
                return range(self._in_order)
            order.extend(range(self._in_order))
            self._in_order = 0
        n = len(order)
        if n < len(times):
            key = times.__getitem__
            new = sorted(range(n, len(times)), key=key)
            if n and times[new[0]] < times[order[-1]]:
                first = bisect_right(order, times[new[0]], key=key)
                self._reordered.append(first)
                tail = sorted([*order[first:], *new], key=key)  # stable: the old ones first
                del order[first:]
                order.extend(tail)
            else:
                order.extend(new)
        return order

    def _compact(self) -> None:
        """Store the events in time order (a whole trace, read), so that the order takes no
        array of its own: 4 bytes an event less, and searches by time go straight."""
        compiled = _FOLD is not None and not self._order and not self._in_order
        order = _FOLD.order(self._ev.times) if compiled else self._ordered()
        count = len(order)
        if self._in_order == count:
            return
        gather = _FOLD.gather if compiled else _gather
        ev = self._ev
        ev.times, ev.lanes, ev.codes = (
            gather(ev.times, order),
            gather(ev.lanes, order),
            gather(ev.codes, order),
        )
        self._times, self._numbers, self._codes = ev.times, ev.lanes, ev.codes
        if compiled:
            where = _FOLD.inverse(order)
        else:
            where = array("i", bytes(4 * count))  # where each event moved
            for k, index in enumerate(order):
                where[index] = k
        for lane in self._lane_list:  # a lane's events keep their order
            lane.ids = gather(where, lane.ids)
        for kind, ids in enumerate(self._kinds):
            moved = sorted(zip(map(where.__getitem__, ids), self._kind_at[kind], strict=True))
            self._kinds[kind] = array("i", (index for index, _ in moved))
            self._kind_at[kind] = array("i", (i for _, i in moved))
        self._order = array("i")
        self._in_order = count

    def _make_moment(self, index: int) -> Moment:
        ev = self._ev
        t, kind = ev.times[index], ev.lanes[index]
        if kind >= LANE0:
            lane = self._lane_list[kind - LANE0]
            return self._segment_moment(lane, bisect_left(lane.ids, index))
        i = self._kind_at[kind][bisect_left(self._kinds[kind], index)]
        event: Event
        task = 0
        if kind == _M_BLOCK:
            event = self._blocks[i]
            task = event.task
        elif kind == _M_OUTPUT:
            _, stream, text = self._out[i]
            event = OutputLine(stream, text)
        elif kind == _M_PROBLEM:
            event = self.problems[i]
            task = event.task
        elif kind == _M_LOOP:
            event = LoopChange(self._loop_state[i] != _NO_LOOP)
        elif kind == _M_JOB:
            job, phase = self._job_events[i]
            info = self._jobs[job]
            event = JobChange(job, phase, info.worker)
            task = info.task
        else:
            event = self.exit
        return Moment(t, task, event)

    def _segment_moment(self, lane: Lane, i: int) -> Moment:
        task = lane.info.id
        return Moment(lane.start(i), task, Segment(task, self._interval(lane, i), i))

    def next_event(self, t: int, task_id: int | None = None) -> Moment | None:
        """The first event strictly after t (of one task, or any)."""
        if task_id is not None:
            lane = self._lanes[task_id]
            i = lane.index_at(t) + 1
            return self._segment_moment(lane, i) if i < len(lane.ids) else None
        order = self._ordered()
        j = bisect_right(order, t, key=self._ev.times.__getitem__)
        return self._make_moment(order[j]) if j < len(order) else None

    def prev_event(self, t: int, task_id: int | None = None) -> Moment | None:
        """The last event strictly before t."""
        if task_id is not None:
            lane = self._lanes[task_id]
            i = lane.index_before(t)
            return self._segment_moment(lane, i) if i >= 0 else None
        order = self._ordered()
        j = bisect_left(order, t, key=self._ev.times.__getitem__) - 1
        return self._make_moment(order[j]) if j >= 0 else None

    def events_around(self, t: int, before: int, after: int) -> list[Moment]:
        """Up to ``before`` events at or before t and ``after`` events after it, in order."""
        order = self._ordered()
        j = bisect_right(order, t, key=self._ev.times.__getitem__)
        return [self._make_moment(i) for i in order[max(j - before, 0) : j + after]]

    def output_until(self, t: int) -> list[tuple[int, int, str]]:
        """(t, stream, text) of every output line written at or before t."""
        if len(self._out_sorted) != len(self._out):
            self._out_sorted = sorted(self._out, key=lambda line: line[0])
            self._out_t = [line[0] for line in self._out_sorted]
        return self._out_sorted[: bisect_right(self._out_t, t)]

    # --- the run as a sequence of events (the step axis) ----------------------------------
    def moment_count(self) -> int:
        return len(self._ev.times)

    def moment(self, index: int) -> Moment:
        """The ``index``-th event in time order (ties keep the order records came in)."""
        return self._make_moment(self._ordered()[index])

    def moment_index(self, t: int) -> int:
        """The index of the last event at or before t (-1: none yet)."""
        return bisect_right(self._ordered(), t, key=self._ev.times.__getitem__) - 1

    def moment_time(self, index: int) -> int:
        return self._ev.times[self._ordered()[index]]

    def moment_times(self, start: int, stop: int) -> list[int]:
        """The times of events ``start`` to ``stop`` (excluded), in time order."""
        times = self._ev.times
        return [times[i] for i in self._ordered()[start:stop]]

    def reordered_since(self, seen: int) -> tuple[int, int | None]:
        """For a reader that keeps something per event in time order (``census``): how many
        times late records have changed that order so far, and the first event index they
        changed since the reader's ``seen``-th time (None: nothing before the new events).
        In a live run records come nearly in time order: a step's record comes when it ends,
        after those of what it woke, so only the last few events move."""
        self._ordered()
        changed = self._reordered[seen:]
        return len(self._reordered), min(changed) if changed else None

    def changes(self, start: int = 0) -> Iterator[tuple[int, int, int, int, int]]:
        """Per event from the ``start``-th in time order on: (time, task, state before,
        state after, since). An event that begins a task's segment changes its state
        (-1: none, before it was created); ``since`` is when the state it leaves began (for
        READY, the whole time in the ready queue: overdue, then woken). Other events change
        no task's: (time, 0, -1, -1, time)."""
        order = self._ordered()
        times, numbers, codes = self._ev.times, self._ev.lanes, self._ev.codes
        lanes = self._lane_list
        # Each lane's events come in its own order: where the walk is in each lane.
        at: dict[int, int] = {}
        ready, mask = State.READY, STATE_MASK
        for k in range(start, len(order)):  # indexed: a slice would copy the rest each call
            index = order[k]
            t = times[index]
            number = numbers[index] - LANE0
            if number < 0:  # not a segment's
                yield t, 0, -1, -1, t
                continue
            ids = lanes[number].ids
            i = at.get(number)
            i = bisect_left(ids, index) if i is None else i + 1
            at[number] = i
            task = lanes[number].info.id
            if not i:
                yield t, task, -1, codes[index] & mask, t
                continue
            j = i - 1
            before = codes[ids[j]] & mask
            if before == ready:
                while j and codes[ids[j - 1]] & mask == ready:
                    j -= 1
            yield t, task, before, codes[index] & mask, times[ids[j]]

    def jobs_at(self, t: int) -> list[JobState]:
        """Executor jobs queued or running at t, queued ones first, each in order of time."""
        queued, running = [], []
        for job_id, job in self._jobs.items():
            if job.submitted > t or (job.finished is not None and job.finished <= t):
                continue
            if job.started is None or job.started > t:
                queued.append(JobState(job_id, job.task, "", job.submitted))
            else:
                running.append(JobState(job_id, job.task, job.worker, job.started))
        return queued + running

    def loop_at(self, t: int) -> tuple[bool, bool, int | None]:
        """(a loop is open, it sits idle in ``select()``, until when: None while it still
        does) at t."""
        starts, states = self._loop.starts, self._loop_state
        i = bisect_right(starts, t) - 1
        if i < 0 or states[i] not in _RUNNING:
            return False, False, None
        if i == len(starts) - 1:
            tail = self._idle_since()
            return True, tail is not None and t >= tail, None
        return True, states[i] == _IDLE, starts[i + 1] if states[i] == _IDLE else None

    def loop_stopped_at(self, t: int) -> bool:
        """A loop is open at t but not running: the program has not started it yet, or it
        returned from one ``run_until_complete`` and has not called the next."""
        i = bisect_right(self._loop.starts, t) - 1
        return i >= 0 and self._loop_state[i] == _STOPPED

    # --- resources ---------------------------------------------------------------------
    def waits_on(self, resource: int) -> list[tuple[int, int]]:
        """(start, end) of every wait on ``resource`` (an open one ends at the end)."""
        spans = []
        for lane in self._lane_list:
            for k, ref in enumerate(lane.wait_ref):
                if ref == resource or (ref == WIDE and lane.wide and lane.wide[k] == resource):
                    i = lane.wait_at[k]
                    if lane.code(i) >> KIND_SHIFT & KIND_MASK in RESOURCE_WAITS:
                        end = lane.end(i)
                        spans.append((lane.start(i), self.end if end is None else end))
        return spans

    def waiters_at(self, resource: int, t: int) -> list[tuple[int, int]]:
        """(task, since) of the tasks waiting on ``resource`` at t, in the order they came."""
        waiting = []
        for task in self.alive_at(t):
            interval = self.state_at(task, t)
            if (
                interval is not None
                and interval.state is State.WAITING
                and interval.kind in RESOURCE_WAITS
                and interval.ref == resource
            ):
                waiting.append((task, interval.start))
        return sorted(waiting, key=lambda waiter: waiter[1])
