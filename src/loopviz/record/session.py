"""One recording session: the ids and interned strings its records share, its clock origin,
and the records themselves, made from what its loops report (it implements ``hooks.py``).

Tasks are referred to by id only (never kept alive), and a finished task's exception is read
from ``Task._exception`` rather than ``exception()``, which would mark it retrieved and
silence asyncio's "exception was never retrieved" report. An error inside the recording turns
it off with one warning; it never breaks the program. An error making a record that stands
alone (a callback's, a rename, a reported problem, a blocking step) only drops that record:
they are counted in a ``Lost`` record at the end, and the rest goes on.

Over 500 lines on purpose: the records of a task's life (the second half) read the session's
task ids and interned strings on every step; split off into an object of their own they would
pay an attribute hop per lookup, and as a mixin they would only hide that they share them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from types import CodeType, CoroutineType, FrameType, GeneratorType, ModuleType
from typing import IO, Any

from loopviz.record.code import (
    WAIT_FOR,
    CodeBook,
    CodeInfo,
    arg_names,
    callable_name,
    first_args,
    frame_values,
    http_request,
    short_text,
    task_group_size,
)
from loopviz.record.cpython import (
    COROUTINE_WRAPPER,
    TIMEOUT_FIRED,
    GatheringFuture,
    Task,
    wrapped_coroutine,
)
from loopviz.record.hooks import LoopHooks, LoopState
from loopviz.record.loop import NO_DEADLINE_S, STEPS, TracingLoop
from loopviz.record.resources import QueueBooks, ResourceWatch, install, uninstall
from loopviz.record.sink import FLUSH_IDLE_S, Sink
from loopviz.record.sources import source_record
from loopviz.record.watchdog import Watchdog
from loopviz.trace import (
    PROCESS_POOL,
    RESOURCE_WAITS,
    Blocking,
    Callback,
    Cause,
    End,
    EndReason,
    Finished,
    Gap,
    GapReason,
    Idle,
    Job,
    JobPhase,
    LoopMark,
    LoopPhase,
    Loss,
    Lost,
    Outcome,
    Problem,
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
    Untraced,
    Use,
    UseOp,
    Wait,
    Waited,
    encode_header,
    new_header,
)

_now = time.monotonic_ns

# Enum members the hot paths use, as module constants: reading ``Cause.IO`` takes ~70 ns
# on 3.11, and a task's life reads about ten of them.
_CAUSE_CANCEL = int(Cause.CANCEL)
_CAUSE_DEADLINE = int(Cause.DEADLINE)
_CAUSE_EXECUTOR = int(Cause.EXECUTOR)
_CAUSE_FUTURE = int(Cause.FUTURE)
_CAUSE_GROUP_CANCEL = int(Cause.GROUP_CANCEL)
_CAUSE_GROUP_FAILED = int(Cause.GROUP_FAILED)
_CAUSE_START = int(Cause.START)
_CAUSE_TASK = int(Cause.TASK)
_CAUSE_TIMER = int(Cause.TIMER)
_CAUSE_YIELD = int(Cause.YIELD)
_OUTCOME_CANCELLED = int(Outcome.CANCELLED)
_OUTCOME_ERROR = int(Outcome.ERROR)
_OUTCOME_RESULT = int(Outcome.RESULT)
_WAIT_EXECUTOR = int(Wait.EXECUTOR)
_WAIT_FUTURE = int(Wait.FUTURE)
_WAIT_GATHER = int(Wait.GATHER)
_WAIT_HTTP = int(Wait.HTTP)
_WAIT_SLEEP = int(Wait.SLEEP)
_WAIT_TASK = int(Wait.TASK)
_WAIT_TASK_GROUP = int(Wait.TASK_GROUP)
_NONE = repr(None)
# While recording is paused: what later records may refer to, or what is said once.
# (Source, Lost: facts about the whole run.)
_KEPT_WHILE_PAUSED = (Str, Site, Resource, LoopMark, Untraced, ProgramError, Source, Lost)
MAX_STRINGS = 1 << 16  # interned strings remembered (twice that at most: see ``intern``)


def _main_script() -> str:
    """The path of the script Python was started with ("" in an interactive session)."""
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    return str(Path(main).resolve()) if main else ""


class Recorder(LoopHooks):
    """One recording session: where records go, and the ids they share.

    ``Recorder()`` keeps records in memory (``records``); ``Recorder("run.trace.jsonl")`` or
    ``Recorder(stream=f)`` streams them as a trace through a writer thread. Use ``loop`` as a
    loop factory::

        with Recorder("run.trace.jsonl") as rec:
            asyncio.run(main(), loop_factory=rec.loop)        # 3.12+
            # 3.11: with asyncio.Runner(loop_factory=rec.loop) as r: r.run(main())

    The trace names the program (default: the ``__main__`` script and its arguments) and
    ``close()`` ends it with an ``End`` record, as a recorded program's trace ends: exited,
    or failed with the exception that left the ``with`` block. ``writes_end=False`` leaves
    that to whoever reads the stream (the recording process does, for a recorded program).
    """

    # What each step reads, as slots: the compiled step path (``_steps.c``) reaches them directly.
    __slots__ = (
        "_codes",
        "_finished",
        "_fresh",
        "_held",
        "_queue_users",
        "_resource_waits",
        "_strings",
        "_task_ids",
        "emit",
        "origin",
        "wants_boundary",
    )
    max_strings = MAX_STRINGS

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        stream: IO[bytes] | None = None,
        block_threshold: float = 0.1,
        program: str | None = None,
        argv: Iterable[str] | None = None,
        user_files: Iterable[str] = (),
        writes_end: bool = True,
    ) -> None:
        self.origin = _now()
        self.block_threshold_ns = int(block_threshold * 1e9)
        if program is None:
            program, argv = _main_script(), sys.argv[1:] if argv is None else argv
        self.header = new_header(program, argv or (), self.block_threshold_ns, self.origin)
        self._writes_end = writes_end
        self._ending = (0, EndReason.EXITED)  # the status and reason its End record says
        self._code_book = CodeBook(user_files)
        self._codes = self._code_book.codes  # by id(code): hashing a code object is slow
        self._strings: dict[str, int] = {}  # see ``intern``
        self._older_strings: dict[str, int] = {}
        self._last_str = 0
        self._sites: dict[tuple[str, int], int] = {}
        self._intern_lock = threading.Lock()
        self._task_ids: dict[int, int] = {}  # id(task) -> task id, while the task is pending
        # Tasks registered during the running step or callback, their ids and names then:
        # ``create_task(coro, name=...)`` names a task only after creating it (3.11-3.13).
        # Parallel lists, not tuples: no new objects for the garbage collector to track.
        self._fresh: list[asyncio.Task[Any]] = []
        self._fresh_ids: list[int] = []
        self._fresh_names: list[str] = []
        self.wants_boundary = self._fresh  # names to check at the next step or callback's end
        # Tasks that finished in the last two loop iterations: their done-callbacks, which
        # run next iteration, still name them. Older ids are dropped, as addresses get reused.
        self._finished: dict[int, int] = {}
        self._finished_before: dict[int, int] = {}
        # Tasks woken by the running task's end, during its last step: their Ready records
        # follow its Finished record (the awaited task is done, then its waiter is ready).
        self._held: list[int] = []
        self._held_by: Any = None
        self._next_task = 0
        self._next_job = 0
        self._next_loop = 0
        self._jobs: dict[int, tuple[int, int]] = {}  # job -> (Str of its function, task)
        self._loops: weakref.WeakKeyDictionary[LoopState, int] = weakref.WeakKeyDictionary()
        # The program's locks, queues... once watch_resources() is called; the watch's tables
        # of the tasks that use queues and those waiting on one, read on every step.
        self.resources: ResourceWatch | None = None
        self._queue_users: dict[int, list[QueueBooks]] = {}
        self._resource_waits: dict[int, tuple[QueueBooks | None, int]] = {}
        self._queues: dict[int, QueueBooks] = {}
        self.enabled = True
        self.paused_at: int | None = None  # since when recording is paused (None: it is not)
        self._paused_tasks: dict[int, weakref.ref[asyncio.Task[Any]]] = {}
        self._loops_closed: set[int] = set()
        self._sourced: set[str] = set()  # files a Source record was written for
        self._dropped = 0  # records that could not be made (see ``drop``)
        self._first_drop = 0
        self._watchdog: Watchdog | None = None
        self._closed = threading.Event()

        if path is not None:
            stream = open(path, "wb")  # noqa: SIM115 - closed by close()
        if stream is not None:
            stream.write(encode_header(self.header))
            stream.flush()
        self._sink = Sink(stream, owned=path is not None, lost=self._lost)
        self.records: list[Record] = self._sink.records
        self.emit: Callable[[Record], None] = self.records.append
        me = weakref.ref(self)

        def forked() -> None:
            if (recorder := me()) is not None:
                recorder._forked()

        os.register_at_fork(after_in_child=forked)

    # --- the session's shared state --------------------------------------------------------
    def now(self) -> int:
        return _now() - self.origin

    def intern(self, text: str) -> int:
        """The Str id of ``text``. The table is bounded (a run naming each of millions of
        tasks apart would otherwise grow for ever): once ``max_strings`` are in it, it starts
        afresh, keeping the previous table for one more round; a string used in either is
        kept, one forgotten is written again under a new id when it comes back. (Ids are
        never reused: one written once stays valid to the trace's readers.)"""
        sid = self._strings.get(text)
        if sid is None:
            with self._intern_lock:  # worker threads intern too
                sid = self._strings.get(text)
                if sid is None:
                    sid = self._older_strings.get(text)
                    if sid is None:  # written before other threads can use it
                        self._last_str = sid = self._last_str + 1
                        self.emit(Str(sid, text))
                    if len(self._strings) >= self.max_strings:
                        self._older_strings, self._strings = self._strings, {}
                    self._strings[text] = sid
        return sid

    def name_ref(self, name: str) -> int:
        """A task name as the trace writes it: -N for asyncio's default ``Task-N``."""
        if name.startswith("Task-"):
            digits = name[5:]
            if digits.isascii() and digits.isdigit() and digits[0] != "0" and len(digits) < 19:
                return -int(digits)
        return self.intern(name)

    def site(self, filename: str, line: int, code: int = 0) -> int:
        """The Site of a line; ``code``: the Str of the function it is in (0: not said)."""
        key = (filename, line)
        sid = self._sites.get(key)
        if sid is None:
            file = self.intern(filename)
            with self._intern_lock:
                sid = self._sites.get(key)
                if sid is None:  # written before other threads can use it
                    sid = len(self._sites) + 1
                    self.emit(Site(sid, file, line, code))
                    self._sites[key] = sid
        return sid

    def code(self, code: CodeType) -> CodeInfo:
        return self._code_book.info(code)

    def code_name(self, info: CodeInfo) -> int:
        """The Str id of a code object's qualified name."""
        if not info.name:
            info.name = self.intern(info.code.co_qualname)
        return info.name

    def user_site(self, frame: FrameType | None) -> int:
        """The Site where the innermost frame at or above ``frame`` that is the program's own
        code is now (0: none)."""
        codes = self._codes
        while frame is not None:
            code = frame.f_code
            info = codes.get(id(code)) or self.code(code)
            if not info.library:
                return info.sites.get(frame.f_lasti) or self.frame_site(frame, info)
            frame = frame.f_back
        return 0

    def frame_site(self, frame: FrameType, info: CodeInfo) -> int:
        """The Site of where ``frame``, running ``info``'s code, is now."""
        lasti = frame.f_lasti
        sid = self.site(info.code.co_filename, frame.f_lineno, self.code_name(info))
        if frame.f_lasti == lasti:  # the watchdog reads a running frame: cache a steady one
            info.sites[lasti] = sid
        return sid

    def task_id(self, task: Any) -> int:
        """The id of a task that is pending or finished just now (0: not a known task)."""
        key = id(task)
        return (
            self._task_ids.get(key) or self._finished.get(key) or self._finished_before.get(key, 0)
        )

    def boundary(self) -> None:
        """Record the new names of tasks renamed since they were registered."""
        fresh, ids, names = self._fresh, self._fresh_ids, self._fresh_names
        self._fresh, self._fresh_ids, self._fresh_names = [], [], []
        self.wants_boundary = self._fresh
        try:
            for task, tid, name in zip(fresh, ids, names, strict=True):
                now = task.get_name()
                if now != name:
                    self.emit(Renamed(self.now(), tid, self.name_ref(now)))
        except Exception as exc:
            self.drop(exc)

    def watch_resources(self) -> None:
        """Record the locks, semaphores, events, conditions, queues and barriers the program
        makes from now on (``resources.py``), until ``close()``. The recorded process calls
        it before the program runs; it changes asyncio's classes for the whole process."""
        self.resources = watch = ResourceWatch(self)
        self._queue_users, self._resource_waits = watch.users, watch.waits
        self._queues = watch.queues
        install(watch)

    # --- loops ------------------------------------------------------------------------------
    def loop(self) -> TracingLoop:
        """A new traced event loop: pass this method as ``loop_factory``."""
        return TracingLoop(self)

    def policy(self) -> asyncio.AbstractEventLoopPolicy:
        """An event loop policy whose new loops are traced: unmodified ``asyncio.run()``."""
        recorder = self

        class TracingPolicy(asyncio.DefaultEventLoopPolicy):
            def new_event_loop(self) -> asyncio.AbstractEventLoop:
                return recorder.loop()

        return TracingPolicy()

    def loop_opened(self, loop: LoopState) -> None:
        if self._watchdog is None:  # the first loop starts it, however it was made
            loops: Callable[[], Iterable[LoopState]] = lambda: list(self._loops)  # noqa: E731
            self._watchdog = Watchdog(
                self.block_threshold_ns, loops, self._report_blocking, self._sink, self._closed
            )
        self._next_loop += 1
        self._loops[loop] = self._next_loop
        if not self.enabled or self.paused_at is not None:
            loop.stop_recording()
        t = self.now()
        self.emit(LoopMark(t, self._next_loop, LoopPhase.OPENED))
        self.emit(LoopMark(t, self._next_loop, LoopPhase.STOPPED))  # until run_forever runs it

    def loop_running(self, loop: LoopState) -> None:
        self.emit(LoopMark(self.now(), self._loops.get(loop, 0), LoopPhase.RUNNING))

    def loop_stopped(self, loop: LoopState) -> None:
        self.emit(LoopMark(self.now(), self._loops.get(loop, 0), LoopPhase.STOPPED))

    def loop_closed(self, loop: LoopState) -> None:
        if self.resources is not None:
            self.resources.close(self.now())
        number = self._loops.get(loop, 0)
        self._loops_closed.add(number)
        self.emit(LoopMark(self.now(), number, LoopPhase.CLOSED))
        self._sink.flush(force=True)

    # --- pausing (SIGUSR1) -----------------------------------------------------------------
    def toggle_pause(self) -> None:
        """Pause recording, or resume it (the recorded process's SIGUSR1 handler)."""
        if self.paused_at is None:
            self.pause()
        else:
            self.resume()

    def pause(self) -> None:
        """Record nothing more (but what later records refer to) until ``resume``: the loops
        run on as stock ones. The tasks alive now are remembered, to say which ended meanwhile."""
        if self.paused_at is not None or not self.enabled:
            return
        self.paused_at = self.now()
        loops = list(self._loops)
        for loop in loops:
            loop.stop_recording()
        ids = self._task_ids
        self._paused_tasks = {
            ids[id(task)]: weakref.ref(task)
            for loop in loops
            for task in asyncio.all_tasks(loop)  # type: ignore[arg-type]
            if id(task) in ids
        }
        keep = self.records.append
        self.emit = lambda record: keep(record) if isinstance(record, _KEPT_WHILE_PAUSED) else None

    def resume(self) -> None:
        """Record again; the pause is a ``Gap``. Tasks that ended meanwhile end now, and the
        ones that go on keep their lanes; tasks made meanwhile are recorded when next seen."""
        if self.paused_at is None:
            return
        since, self.paused_at = self.paused_at, None
        self.emit = self.records.append
        if not self.enabled:
            return
        now = self.now()
        self.emit(Gap(since, now, GapReason.PAUSED))
        by_tid = {tid: key for key, tid in self._task_ids.items()}
        for tid, ref in self._paused_tasks.items():
            task = ref()
            if task is not None and not task.done():
                continue
            self._task_ids.pop(by_tid.get(tid, 0), None)
            if task is None:  # gone: how it ended is not known
                self.emit(Finished(now, tid, 0, Outcome.UNSEEN, 0))
            else:
                self._task_ids[id(task)] = tid  # _step_ended reads and drops it
                at = now + self.origin
                self._step_ended(task.get_loop(), task, tid, at, at)  # type: ignore[arg-type]
        self._paused_tasks = {}
        for loop, number in list(self._loops.items()):
            if number in self._loops_closed:
                continue
            if getattr(loop, "is_closed", bool)():  # closed meanwhile: closed now
                self._loops_closed.add(number)
                self.emit(LoopMark(now, number, LoopPhase.CLOSED))
                continue
            loop.recording = True
            if loop.thread_id:  # in run_forever: running again, as far as the trace knows
                self.emit(LoopMark(now, number, LoopPhase.RUNNING))

    def fail(self, exc: BaseException) -> None:
        """The instrumentation itself went wrong: stop recording, say so once, carry on."""
        if not self.enabled:
            return
        self.enabled = False
        for loop in list(self._loops):
            loop.stop_recording()
        message = f"loopviz: recording stopped after an internal error: {exc!r}"
        try:
            self.emit(Problem(self.now(), 0, self.intern(message)))
        finally:
            # Not a warning: under ``-W error`` that would raise in the program. Straight to
            # the process's own stderr, past any ``sys.stderr`` the program set.
            with contextlib.suppress(Exception):
                print(message, file=sys.__stderr__, flush=True)

    def drop(self, exc: BaseException) -> None:
        """Making one record that stands alone went wrong: count it (a ``Lost`` record at the
        end says how many), say so once on stderr, and go on recording."""
        self._dropped += 1
        if self._dropped == 1:
            self._first_drop = self.now()
            message = f"loopviz: an event could not be recorded after an internal error: {exc!r}"
            with contextlib.suppress(Exception):
                print(message, file=sys.__stderr__, flush=True)

    def note_sources(self, files: Iterable[str] | None = None) -> None:
        """Write what the program's own source files are as it ran them (``sources.py``):
        ``files``, or those of its code seen so far. It reads them: not on a loop's thread."""
        if files is None:
            codes = list(self._codes.values())
            files = {info.code.co_filename for info in codes if not info.library}
        for file in sorted(set(files) - self._sourced):
            self._sourced.add(file)
            record = source_record(file)
            if record is not None:
                self.emit(record)

    # --- the program's end -------------------------------------------------------------------
    def program_error(self, exc: BaseException, traceback_text: str) -> None:
        self.emit(ProgramError(self.now(), type(exc).__name__, str(exc), traceback_text))

    # --- output --------------------------------------------------------------------------------
    def flush(self, force: bool = False) -> None:
        """Hand buffered records to the writer thread (if streaming)."""
        self._sink.flush(force)

    def close(self) -> None:
        """End the trace (``writes_end``), write out everything recorded and stop the
        helper threads. Idempotent."""
        if self._closed.is_set():
            return
        self._closed.set()
        self.resume()  # a run that ends paused: the pause lasted until now
        if self._dropped:
            self.emit(Lost(self._first_drop, self._dropped, Loss.FAILED))
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # (closed inside a running loop, it reads no files there)
            self.note_sources()
        if self._writes_end:
            status, reason = self._ending
            self.emit(End(self.now(), status, reason))
        for loop in list(self._loops):
            loop.stop_recording()
        if self.resources is not None:
            uninstall(self.resources)
        self._sink.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, KeyboardInterrupt):
            self._ending = (128 + signal.SIGINT, EndReason.INTERRUPTED)
        elif exc is not None and not isinstance(exc, SystemExit):
            self.program_error(exc, "".join(traceback.format_exception(exc)))
            self._ending = (1, EndReason.EXITED)
        self.close()

    def _lost(self) -> None:
        """The trace's reader went away: nothing to tell it any more."""
        self.enabled = False

    def _forked(self) -> None:
        """In a child made by fork (a process pool worker): record nothing, write nothing."""
        self.enabled = False
        self._sink.forget()
        if self._watchdog is not None:
            self._watchdog.forked()
        self._closed.set()
        for loop in list(self._loops):
            loop.stop_recording()

    def _report_blocking(self, loop: LoopState, since: int, thread: int) -> None:
        """From the watchdog: ``loop``'s step running since ``since`` blocks it."""
        try:
            site = self.user_site(sys._current_frames().get(thread))
            self.emit(Blocking(self.now(), since - self.origin, loop.running_tid, site))
            self._sink.flush(force=True)
        except Exception as exc:  # never let the watchdog die loudly in the program
            self.drop(exc)

    # --- what the loops report -----------------------------------------------------------------
    def before_io_wait(self, loop: LoopState, timeout: float | None) -> None:
        # A new loop iteration: ids of tasks finished two iterations ago go.
        self._finished_before, self._finished = self._finished, {}
        # Not blocked: if the watchdog is due to look, let it, rather than race it for the GIL.
        dog = self._watchdog
        if dog is not None and _now() >= dog.next[0]:
            dog.give_way()
        # About to sleep a while: let the writer catch up meanwhile. (Not for short sleeps: a
        # batch per millisecond timer would hand the GIL back and forth for nothing.)
        idle = timeout is None or timeout >= FLUSH_IDLE_S
        self._sink.flush(force=idle, busy=not idle)

    def after_io_wait(self, loop: LoopState, timeout: float | None, start: int, end: int) -> None:
        if timeout != 0:
            wait = -1 if timeout is None else int(timeout * 1e9)
            self.emit(Idle(start - self.origin, end - start, wait))

    def callback_ran(self, callback: Callable[..., Any], start: int, end: int) -> None:
        try:
            name = self.intern(callable_name(callback))
            self.emit(Callback(start - self.origin, end - start, name))
        except Exception as exc:
            self.drop(exc)

    def problem(self, loop: LoopState, context: dict[str, Any]) -> None:
        try:
            task = context.get("task") or context.get("future")
            exc = context.get("exception")
            message = context.get("message", "")
            if exc is not None:
                message = f"{message}: {type(exc).__name__}: {exc}"
            tid = self.task_id(task) if isinstance(task, Task) else 0
            self.emit(Problem(self.now(), tid, self.intern(message)))
        except Exception as exc:
            self.drop(exc)

    def job_submitted(self, loop: LoopState, func: Callable[..., Any]) -> int:
        self._next_job = job = self._next_job + 1
        fn = self.intern(callable_name(func))
        task = loop.running_tid if loop.running_task is not None else 0
        self._jobs[job] = (fn, task)
        self.emit(Job(self.now(), job, JobPhase.SUBMITTED, 0, fn, task))
        return job

    def job_started(self, job: int, worker: str) -> None:
        fn, task = self._jobs[job]
        self.emit(Job(self.now(), job, JobPhase.STARTED, self.intern(worker), fn, task))

    def job_finished(self, job: int, worker: str) -> None:
        known = self._jobs.pop(job, None)
        if known is not None:  # (a process pool's job may be said finished by its waiter)
            fn, task = known
            self.emit(Job(self.now(), job, JobPhase.FINISHED, self.intern(worker), fn, task))

    def task_scheduled(
        self, loop: LoopState, task: asyncio.Task[Any], future: asyncio.Future[Any] | None
    ) -> int:
        """A task's step or wake-up was scheduled: it is ready (and maybe new). Its id."""
        try:
            tid = self._task_ids.get(id(task))
            if future is not None:  # a wake-up: the future it awaited is done
                if tid is None:
                    tid = self._register(loop, task, None, _now())
                ready = self._woken(loop, _now() - self.origin, tid, task, future)
                if ready is not None:
                    self.emit(ready)
                return tid
            if tid is None:
                creating = loop.creating
                if creating is not None and getattr(creating[0], "cr_suspended", False):
                    # 3.12+ eager start: the first step ran inside create_task and yielded.
                    tid = self._register(loop, task, creating[0], creating[1])
                    self.emit(Ran(creating[1] - self.origin, tid, _now() - creating[1]))
                    return tid
                # Inside create_task, its clock reading is the task's creation and first ready.
                t = creating[1] if creating is not None else _now()
                tid = self._register(loop, task, None, t)
                self.emit(Ready(t - self.origin, tid, _CAUSE_START, 0))
                return tid
            if task._must_cancel:  # type: ignore[attr-defined]
                by = loop.running_tid if loop.running_task is not None else 0
                self.emit(Ready(_now() - self.origin, tid, _CAUSE_CANCEL, by))
            else:
                self.emit(Ready(_now() - self.origin, tid, _CAUSE_YIELD, 0))
            return tid
        except Exception as exc:
            self.fail(exc)
            return 0

    def task_created(
        self, loop: LoopState, task: asyncio.Task[Any], coro: Any, started: int
    ) -> None:
        if id(task) not in self._task_ids:  # never scheduled: its first step ran eagerly
            try:
                tid = self._register(loop, task, coro, started)
                self._step_ended(loop, task, tid, started, _now())
            except Exception as exc:
                self.fail(exc)

    def after_step(
        self, loop: LoopState, task: asyncio.Task[Any], tid: int, start: int, end: int
    ) -> None:
        # (Compiled, ``_steps.after_step`` takes this method's place: the same, in C.)
        if self._fresh:
            self.boundary()
        if task._fut_waiter is None and not task.done():  # type: ignore[attr-defined]
            self.emit(Ran(start - self.origin, tid, end - start))  # yielded: ready again
        else:
            self._step_ended_or_fail(loop, task, tid, start, end)
        if self._queue_users and tid in self._queue_users:
            self._stepped(tid, end, task)

    def _step_ended_or_fail(
        self, loop: LoopState, task: asyncio.Task[Any], tid: int, t0: int, t1: int
    ) -> None:
        try:
            self._step_ended(loop, task, tid, t0, t1)
        except Exception as exc:
            self.fail(exc)

    def _stepped(self, tid: int, end: int, task: asyncio.Task[Any]) -> None:
        """What the task's step just ended did to its queues."""
        self.resources.stepped(tid, end - self.origin, task.done())  # type: ignore[union-attr]

    # --- the records of a task's life -------------------------------------------------------------
    def _woken(
        self,
        loop: LoopState,
        t: int,
        tid: int,
        task: asyncio.Task[Any],
        future: asyncio.Future[Any],
    ) -> Ready | None:
        """The Ready record of a task woken because ``future`` is done: by what? None when it
        is held back until the record of the task whose end woke it."""
        current = loop.running_task
        waited = self._resource_waits.pop(tid, None) if self._resource_waits else None
        if isinstance(future, Task):  # a task it awaited ended, however it ended
            if future is current:  # in its own last step, not yet recorded as done
                self._held.append(tid)
                self._held_by = current
                return None
            return Ready(t, tid, _CAUSE_TASK, self.task_id(future))
        if future.cancelled() and task.cancelling():  # it was cancelled (not only its future)
            if current is not None:  # by the running step
                return Ready(t, tid, _CAUSE_CANCEL, loop.running_tid)
            wake = loop.wake_ref
            if loop.wake_cause == _CAUSE_GROUP_FAILED:  # by its task group: a task there failed
                failed, group = wake
                owner = getattr(group, "_parent_task", None) is task
                cause = _CAUSE_GROUP_FAILED if owner else _CAUSE_GROUP_CANCEL
                return Ready(t, tid, cause, self.task_id(failed))
            if getattr(wake, "__func__", None) is TIMEOUT_FIRED:  # by an asyncio.timeout()
                return Ready(t, tid, _CAUSE_DEADLINE, self.task_id(wake.__self__._task))
            return Ready(t, tid, _CAUSE_CANCEL, 0)
        jobs = loop.executor_jobs
        job = jobs.get(future) if jobs is not None else None
        if job is not None:
            if job in self._jobs:  # a process pool's, whose end is seen only now: first that
                self.job_finished(job, PROCESS_POOL)
            return Ready(self.now(), tid, _CAUSE_EXECUTOR, job)
        if current is not None:  # resolved by the running step: woken by that task
            by = self._task_ids.get(id(current), 0)
            if waited is not None:
                self._woken_from(waited, by, t)
            return Ready(t, tid, _CAUSE_FUTURE, by)
        if waited is not None:  # a lock, an event, a queue... let go of by a callback
            self._woken_from(waited, 0, t)
            return Ready(t, tid, _CAUSE_FUTURE, 0)
        cause = loop.wake_cause
        if cause == _CAUSE_TIMER:  # the most frequent: a sleep's timer
            return Ready(t, tid, cause, 0)
        ref = loop.wake_ref
        if cause == _CAUSE_GROUP_FAILED:  # a task group's last task ended: the owner goes on
            cause, ref = _CAUSE_TASK, ref[0]
        if type(ref) is not int:
            ref = self.task_id(ref) if isinstance(ref, Task) else 0
        return Ready(t, tid, cause, ref)

    def _woken_from(self, waited: tuple[QueueBooks | None, int], by: int, t: int) -> None:
        """A task waiting on a resource is woken by task ``by`` (0: a callback) at ``t``: for
        a queue, what ``by`` did to it comes first."""
        books, wakes = waited
        if books is not None and self.resources is not None:
            self.resources.woken(books, wakes, by, t)

    def _register(self, loop: LoopState, task: asyncio.Task[Any], coro: Any, t: int) -> int:
        self._next_task = tid = self._next_task + 1
        self._task_ids[id(task)] = tid
        name = task.get_name()
        self._fresh.append(task)
        self._fresh_ids.append(tid)
        self._fresh_names.append(name)
        creating = loop.creating
        if coro is None:
            coro = creating[0] if creating else task.get_coro()
        code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
        if code is None:
            what = (self.intern(type(coro).__qualname__), 0)
            args: tuple[Any, ...] | None = None
        else:
            info = self._codes.get(id(code)) or self.code(code)
            if info.coro is None:
                info.coro = (self.code_name(info), self.site(code.co_filename, code.co_firstlineno))
                info.args = arg_names(code)
            what = info.coro
            names, more = info.args  # type: ignore[misc]
            args = first_args(coro, names, more) if names else ()
            if self._queues:  # a queue among its arguments: it uses it
                self.resources.met(tid, coro)  # type: ignore[union-attr]
        # The creator is the task whose step is running (not asyncio.current_task(): in
        # Python on 3.11, and during an eager first step it is the new task itself).
        parent = loop.running_tid if loop.running_task is not None else 0
        caller = creating[2] if creating else sys._getframe(1)
        site = self.user_site(caller)
        coro_name, coro_site = what
        self.emit(
            TaskCreated(
                t - self.origin, tid, self.name_ref(name), coro_name, coro_site, parent, site, args
            )
        )
        return tid

    def _step_ended(
        self, loop: LoopState, task: asyncio.Task[Any], tid: int, t0: int, t1: int
    ) -> None:
        start, dur = t0 - self.origin, t1 - t0
        if task.done():
            self._finished[id(task)] = self._task_ids.pop(id(task))
            if task.cancelled():
                self.emit(Finished(start, tid, dur, _OUTCOME_CANCELLED, 0))
            elif (exc := task._exception) is not None:  # not exception(): see above
                text = f"{type(exc).__name__}: {exc}"[:200]
                self.emit(Finished(start, tid, dur, _OUTCOME_ERROR, self.intern(text)))
            else:
                result = task.result()
                text = _NONE if result is None else short_text(result)  # None: most tasks
                detail = self._strings.get(text) or self.intern(text)
                self.emit(Finished(start, tid, dur, _OUTCOME_RESULT, detail))
            if self._held and self._held_by is task:  # its waiters: ready as it ends
                end = start + dur
                for waiter in self._held:
                    self.emit(Ready(end, waiter, _CAUSE_TASK, tid))
                self._held.clear()
                self._held_by = None
            return
        waiter = task._fut_waiter  # type: ignore[attr-defined]
        if waiter is None:  # yielded: ready again at once
            self.emit(Ran(start, tid, dur))
            return
        deadline = int(loop.step_deadline * 1e9) - t1 if loop.step_deadline else 0
        self.emit(
            self._waited(loop, task, waiter, start, tid, dur, max(deadline, 1) if deadline else 0)
        )

    def _waited(
        self,
        loop: LoopState,
        task: asyncio.Task[Any],
        waiter: Any,
        t: int,
        tid: int,
        dur: int,
        timeout: int,
    ) -> Waited:
        """The Waited record of a suspended task: on what, from its chain of awaits."""
        user: Any = None  # the innermost coroutine (or generator) of the program's own code
        user_info: CodeInfo | None = None
        found: CodeInfo | None = None  # the library function it waits in, that says on what
        found_at: Any = None  # its coroutine
        first_library: CodeInfo | None = None
        wrapper: Any = None  # a wait_for it waits in: it waits on what that wraps
        codes = self._codes
        obj: Any = task.get_coro()
        while obj is not None:
            kind = type(obj)
            if kind is CoroutineType:
                code, nxt = obj.cr_code, obj.cr_await
            elif kind is GeneratorType:
                code, nxt = obj.gi_code, obj.gi_yieldfrom
            elif kind is COROUTINE_WRAPPER:  # ``await`` of an object whose __await__ is a
                obj = wrapped_coroutine(obj)  # coroutine's (aiohttp's request): that coroutine
                continue
            else:
                break
            info = codes.get(id(code)) or self.code(code)
            if not info.library:
                user, user_info, found, first_library, wrapper = obj, info, None, None, None
            else:
                if first_library is None:
                    first_library = info
                if found is None and info.kind is not None:
                    if info.kind != WAIT_FOR:
                        found, found_at = info, obj
                    elif wrapper is None:
                        wrapper = obj
            obj = nxt
        # Only the program's frame is asked for: each frame asked for is made into an object.
        if user_info is None:
            site = 0
        else:
            frame: Any = user.cr_frame if type(user) is CoroutineType else user.gi_frame
            site = user_info.sites.get(frame.f_lasti) or self.frame_site(frame, user_info)
        # A sleep's own future (the most frequent wait) is none of those _awaited knows.
        what = (
            None if found is not None and found.kind == _WAIT_SLEEP else self._awaited(loop, waiter)
        )
        if what is None and found is not None:
            wait = found.kind
            if wait == _WAIT_SLEEP:  # its own length if a nearer deadline cuts it short
                due = loop.sleep_due
                if due >= NO_DEADLINE_S:
                    what = wait, -1  # it sleeps for ever
                else:
                    own = int(due * 1e9) - self.origin - t - dur
                    what = wait, own if own > timeout else 0
            elif wait == _WAIT_HTTP:
                what = wait, self.intern(http_request(found_at, found.code.co_qualname))
            elif wait == _WAIT_TASK_GROUP:
                what = wait, task_group_size(found_at)
            elif wait in RESOURCE_WAITS:
                what = wait, self._resource(found_at, tid, wait, waiter)
            else:
                what = wait, found.name or self.code_name(found)  # type: ignore[assignment]
        if what is None and wrapper is not None:  # 3.11's wait_for: on a future of its own
            inner = frame_values(wrapper.cr_frame, ("fut",))
            if inner is not None and isinstance(inner[0], asyncio.Future):
                what = self._awaited(loop, inner[0])
        if what is None:
            what = _WAIT_FUTURE, self.code_name(first_library) if first_library else 0
        return Waited(t, tid, dur, what[0], what[1], site, timeout)

    def _resource(self, coro: Any, tid: int, wait: int, waiter: Any) -> int:
        """The id of the resource that task ``tid`` waits on in ``coro``, one of its methods,
        for ``waiter`` (0: one not recorded)."""
        watch = self.resources
        return watch.waiting(tid, wait, waiter, coro) if watch is not None else 0

    def _awaited(self, loop: LoopState, future: Any) -> tuple[int, int] | None:
        """(Wait kind, detail) of a future that says itself what it is: a task, an executor
        job, a gather; None for any other."""
        if isinstance(future, Task):
            return _WAIT_TASK, self.task_id(future)
        jobs = loop.executor_jobs
        job = jobs.get(future) if jobs is not None else None
        if job is not None:
            return _WAIT_EXECUTOR, job
        if isinstance(future, GatheringFuture):
            return _WAIT_GATHER, len(future._children)  # type: ignore[attr-defined]
        return None


def _compiled_after_step(steps: ModuleType) -> Any:
    """The compiled ``after_step`` (loop.py's ``STEPS``), told where the recorder's fields are;
    None if it cannot be (a build older than this file: the Python one runs)."""
    try:
        steps.configure_recorder(
            recorder=Recorder,
            waited=Waited,
            wait_sleep=_WAIT_SLEEP,
            wait_for=WAIT_FOR,
            no_deadline=NO_DEADLINE_S,
            coroutine_wrapper=COROUTINE_WRAPPER,
            resource_waits=RESOURCE_WAITS,
            future=asyncio.Future,
            books=QueueBooks,
            use=Use,
            put=int(UseOp.PUT),
            got=int(UseOp.GOT),
        )
    except (TypeError, AttributeError):
        return None
    return steps.after_step


if STEPS is not None and (_after_step := _compiled_after_step(STEPS)) is not None:
    setattr(Recorder, "after_step", _after_step)  # noqa: B010 - a method, replaced
