"""The instrumented event loop: a stock selector loop that records what every task does.

:class:`TracingLoop` keeps the stock, C-accelerated ``asyncio.Task`` and watches it through the
points a loop subclass may override:

- ``call_soon``: the C Task schedules each step and each wake-up through it (method lookup), so
  every step is seen; its callback's ``__self__`` is the Task. Steps are wrapped to time them.
- ``call_at`` (also reached by ``call_later``): timers, to learn each wait's deadline.
- ``create_task``: the creating task, and (3.12+) eager first steps, which run inside it.
- ``run_in_executor``: executor jobs (``asyncio.to_thread`` and aiofiles come through here).
- the selector handed to the constructor: idle time in ``select()`` and I/O callbacks.
- ``call_exception_handler``: what the loop reports (an exception never retrieved...).

It must not change what the program does: callbacks are scheduled through the stock methods in
the same order, tasks are referred to by id only (never kept alive), and a finished task's
exception is read from ``_exception`` rather than ``exception()``, which would mark it retrieved
and silence asyncio's "exception was never retrieved" report. An error inside the
instrumentation turns recording off with one warning; it never breaks the program.

:class:`Recorder` is one recording session (ids, interned strings, clock origin, output); every
loop it makes writes to it. Records go to memory or, through a writer thread that batches them
off the loop's hot path, to a file or pipe.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import datetime
import functools
import heapq
import inspect
import os
import platform
import queue
import reprlib
import selectors
import sys
import sysconfig
import threading
import time
import warnings
import weakref
from asyncio import format_helpers
from collections.abc import Callable, Iterable
from pathlib import Path
from types import CoroutineType, FrameType, GeneratorType
from typing import IO, Any

from loopviz import __version__
from loopviz.trace import (
    Blocking,
    Callback,
    Cause,
    Finished,
    Header,
    Idle,
    Job,
    JobPhase,
    LoopMark,
    LoopPhase,
    Outcome,
    Problem,
    ProgramError,
    Ran,
    Ready,
    Record,
    Renamed,
    Site,
    Str,
    TaskCreated,
    Wait,
    Waited,
    encode_header,
    encode_records,
)

_now = time.monotonic_ns
_Task = asyncio.Task
_GatheringFuture = asyncio.tasks._GatheringFuture  # type: ignore[attr-defined]
# How a Task's own callbacks look (C Task on 3.11-3.13; then the pure-Python Task's methods).
_STEPS = frozenset({"TaskStepMethWrapper", "__step", "_Task__step"})
_WAKEUPS = frozenset({"task_wakeup", "__wakeup", "_Task__wakeup"})

# Enum members the hot paths use, as module constants: reading ``Cause.IO`` takes ~70 ns
# on 3.11, and a task's life reads about ten of them.
_CAUSE_CANCEL = int(Cause.CANCEL)
_CAUSE_EXECUTOR = int(Cause.EXECUTOR)
_CAUSE_FUTURE = int(Cause.FUTURE)
_CAUSE_IO = int(Cause.IO)
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
_WAIT_TASK = int(Wait.TASK)

# Records go to the writer thread in batches. Handing one over while the loop is busy costs
# two GIL switches (~1 ms each on a 2-core VM: 5% of a busy run at a batch per 50 ms), so a
# busy loop hands them over seldom, and an idle one whenever it is about to wait.
FLUSH_EVERY = 65536  # records buffered before a batch goes to the writer thread
FLUSH_AGE_NS = 250_000_000  # ... or this old, checked at each loop iteration
FLUSH_IDLE_S = 0.005  # ... or when the loop is about to wait in select() at least this long
# A loop that blocks does not flush: the watchdog does, so that a viewer sees its records and a
# killed run loses less.
WATCHDOG_FLUSH_NS = 250_000_000
WATCHDOG_MIN_SLEEP_NS = 1_000_000
REPORT_AGAIN_NS = 250_000_000  # a step still blocking is reported again: where it is now
# Plain callbacks shorter than this are not recorded one by one (timer and done-callbacks take
# a few microseconds each, too short to see; recording them would double a run's records).
# Their time still shows as the loop being busy.
CALLBACK_MIN_NS = 20_000

# Patch releases from 3.12.8 and 3.13.1 on make call_soon_threadsafe's handles locked ones.
_LOCKED_THREADSAFE_HANDLES = hasattr(asyncio.events, "_ThreadSafeHandle")
# 3.13 formats a failed callback's arguments only in debug mode.
_FORMAT_TAKES_DEBUG = (
    "debug" in inspect.signature(format_helpers._format_callback_source).parameters
)

_PACKAGE_DIR = str(Path(__file__).parent.parent) + os.sep
_SCENARIO_DIR = str(Path(__file__).parent.parent / "scenarios") + os.sep

# Library functions a task can be suspended in, by qualified name, and what they mean.
_ASYNCIO_WAITS = {
    "sleep": Wait.SLEEP,
    "Lock.acquire": Wait.LOCK,
    "Semaphore.acquire": Wait.SEMAPHORE,
    "BoundedSemaphore.acquire": Wait.SEMAPHORE,
    "Event.wait": Wait.EVENT,
    "Barrier.wait": Wait.EVENT,
    "Condition.wait": Wait.CONDITION,
    "Condition.wait_for": Wait.CONDITION,
    "Queue.get": Wait.QUEUE_GET,
    "Queue.put": Wait.QUEUE_PUT,
    "wait_for": Wait.TIMEOUT,
    "TaskGroup.__aexit__": Wait.GATHER,
    "TaskGroup._aexit": Wait.GATHER,
    "wait": Wait.FUTURE,
    "as_completed": Wait.FUTURE,
}
_IO_WORDS = ("read", "recv", "write", "send", "drain", "connect", "accept", "sendfile")


def _wait_kind_of(qualname: str, filename: str) -> int | None:
    """What being suspended inside this library function means, if it says."""
    if filename.startswith(os.path.dirname(asyncio.__file__)):
        kind = _ASYNCIO_WAITS.get(qualname)
        if kind is not None:
            return kind
    name = qualname.rsplit(".", 1)[-1].lower()
    if any(word in name for word in _IO_WORDS):
        return Wait.IO
    return None


def _library_prefixes() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {paths["stdlib"], paths["platstdlib"], paths["purelib"], paths["platlib"]}
    dirs |= {p for p in sys.path if p.endswith(("site-packages", "dist-packages"))}
    return (*(d.rstrip(os.sep) + os.sep for d in dirs if d), _PACKAGE_DIR, "<")


_short_repr = reprlib.Repr()  # results are shown, not kept: a few dozen characters will do
_short_repr.maxstring = _short_repr.maxother = 60
_PLAIN = frozenset({type(None), bool, int, float})  # their repr is short and quick


def _short_text(value: Any) -> str:
    """A result as shown: its repr, cut short (results are shown, not kept)."""
    try:
        return repr(value) if type(value) in _PLAIN else _short_repr.repr(value)
    except Exception:
        return "<unrepresentable>"


_NONE = repr(None)


def _is_step_or_wakeup(callback: Any) -> bool:
    global _step_type
    name = getattr(callback, "__name__", None)
    if name is None and type(callback).__name__ == "TaskStepMethWrapper":
        _step_type = type(callback)  # the C Task's step: from now on known by its type alone
        return True
    return name in _WAKEUPS or (name or type(callback).__name__) in _STEPS


_step_type: type | None = None


def _callable_name(func: Any) -> str:
    """A stable, readable name for a callback or job (never a repr with an address)."""
    while isinstance(func, functools.partial):
        if isinstance(getattr(func.func, "__self__", None), contextvars.Context) and func.args:
            func = func.args[0]  # asyncio.to_thread's partial(context.run, func, ...)
        else:
            func = func.func
    return getattr(func, "__qualname__", None) or type(func).__qualname__


class _CodeInfo:
    """What the recorder needs to know of one code object, computed once."""

    __slots__ = ("code", "coro", "kind", "library", "name", "sites")

    def __init__(self, code: Any, library: bool, kind: int | None) -> None:
        self.code = code
        self.library = library
        self.kind = kind  # Wait kind when a task is suspended in it (library code only)
        self.name = 0  # Str of its qualified name, once used
        self.coro: tuple[int, int] | None = None  # (Str of its name, Site of its def), once used
        # Sites by instruction offset: working out a line number is slow; few places recur.
        self.sites: dict[int, int] = {}


class Recorder:
    """One recording session: where records go, and the ids they share.

    ``Recorder()`` keeps records in memory (``records``); ``Recorder("run.trace.jsonl")`` or
    ``Recorder(stream=f)`` streams them as a trace through a writer thread. Use ``loop`` as a
    loop factory::

        with Recorder("run.trace.jsonl") as rec:
            asyncio.run(main(), loop_factory=rec.loop)        # 3.12+
            # 3.11: with asyncio.Runner(loop_factory=rec.loop) as r: r.run(main())
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        stream: IO[bytes] | None = None,
        block_threshold: float = 0.1,
        program: str = "",
        argv: Iterable[str] = (),
        user_files: Iterable[str] = (),
    ) -> None:
        self.origin = _now()
        self.block_threshold_ns = int(block_threshold * 1e9)
        self.header = Header(
            loopviz=__version__,
            python=platform.python_version(),
            program=program,
            argv=list(argv),
            started=datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds"),
            block_threshold_ns=self.block_threshold_ns,
            clock_origin_ns=self.origin,
        )
        self._library = _library_prefixes()
        # The program's own files count as its code even where libraries live.
        self._user = (*(str(Path(p).resolve()) for p in user_files), _SCENARIO_DIR)
        self._strings: dict[str, int] = {}
        self._sites: dict[tuple[str, int], int] = {}
        self._codes: dict[int, _CodeInfo] = {}  # by id(code): hashing a code object is slow
        self._intern_lock = threading.Lock()
        self._task_ids: dict[int, int] = {}  # id(task) -> task id, while the task is pending
        # Tasks registered during the running step or callback, their ids and names then:
        # ``create_task(coro, name=...)`` names a task only after creating it (3.11-3.13).
        # Parallel lists, not tuples: no new objects for the garbage collector to track.
        self._fresh: list[asyncio.Task[Any]] = []
        self._fresh_ids: list[int] = []
        self._fresh_names: list[str] = []
        # Tasks that finished in the last two loop iterations: their done-callbacks, which
        # run next iteration, still name them. Older ids are dropped, as addresses get reused.
        self._finished: dict[int, int] = {}
        self._finished_before: dict[int, int] = {}
        self._next_task = 0
        self._next_job = 0
        self._next_loop = 0
        self._loops: weakref.WeakSet[TracingLoop] = weakref.WeakSet()
        self.enabled = True
        self._watchdog: threading.Thread | None = None
        self._closed = threading.Event()

        self.records: list[Record] = []
        self._out: IO[bytes] | None = None
        self._owns_out = False
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._flush_lock = threading.Lock()
        self._last_flush = self.origin
        if path is not None:
            stream = open(path, "wb")  # noqa: SIM115 - closed by close()
            self._owns_out = True
        if stream is not None:
            self._out = stream
            stream.write(encode_header(self.header))
            stream.flush()
            self._writer = threading.Thread(target=self._write, name="loopviz-writer", daemon=True)
            self._writer.start()
        self.emit: Callable[[Record], None] = self.records.append
        me = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (r := me()) is not None and r._forked())

    # --- the session's shared state --------------------------------------------------------
    def now(self) -> int:
        return _now() - self.origin

    def intern(self, text: str) -> int:
        sid = self._strings.get(text)
        if sid is None:
            with self._intern_lock:  # worker threads intern too
                sid = self._strings.get(text)
                if sid is None:  # written before other threads can use it
                    sid = len(self._strings) + 1
                    self.emit(Str(sid, text))
                    self._strings[text] = sid
        return sid

    def name_ref(self, name: str) -> int:
        """A task name as the trace writes it: -N for asyncio's default ``Task-N``."""
        if name.startswith("Task-"):
            digits = name[5:]
            if digits.isascii() and digits.isdigit() and digits[0] != "0" and len(digits) < 19:
                return -int(digits)
        return self.intern(name)

    def site(self, filename: str, line: int) -> int:
        key = (filename, line)
        sid = self._sites.get(key)
        if sid is None:
            file = self.intern(filename)
            with self._intern_lock:
                sid = self._sites.get(key)
                if sid is None:  # written before other threads can use it
                    sid = len(self._sites) + 1
                    self.emit(Site(sid, file, line))
                    self._sites[key] = sid
        return sid

    def code(self, code: Any) -> _CodeInfo:
        info = self._codes.get(id(code))
        if info is None:
            filename = code.co_filename
            library = filename.startswith(self._library) and not filename.startswith(self._user)
            kind = _wait_kind_of(code.co_qualname, filename) if library else None
            info = self._codes[id(code)] = _CodeInfo(code, library, kind)  # keeps code alive
        return info

    def code_name(self, info: _CodeInfo) -> int:
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

    def frame_site(self, frame: FrameType, info: _CodeInfo) -> int:
        """The Site of where ``frame``, running ``info``'s code, is now."""
        lasti = frame.f_lasti
        sid = self.site(info.code.co_filename, frame.f_lineno)
        if frame.f_lasti == lasti:  # the watchdog reads a running frame: cache a steady one
            info.sites[lasti] = sid
        return sid

    def task_id(self, task: Any) -> int:
        """The id of a task that is pending or finished just now (0: not a known task)."""
        key = id(task)
        return (
            self._task_ids.get(key) or self._finished.get(key) or self._finished_before.get(key, 0)
        )

    def check_names(self) -> None:
        """Record the new names of tasks renamed since they were registered."""
        fresh, ids, names = self._fresh, self._fresh_ids, self._fresh_names
        self._fresh, self._fresh_ids, self._fresh_names = [], [], []
        try:
            for task, tid, name in zip(fresh, ids, names, strict=True):
                now = task.get_name()
                if now != name:
                    self.emit(Renamed(self.now(), tid, self.name_ref(now)))
        except Exception as exc:
            self.fail(exc)

    def next_iteration(self) -> None:
        self._finished_before, self._finished = self._finished, {}

    def new_job_id(self) -> int:
        self._next_job += 1
        return self._next_job

    # --- loops ------------------------------------------------------------------------------
    def loop(self) -> TracingLoop:
        """A new traced event loop: pass this method as ``loop_factory``."""
        loop = TracingLoop(self)
        self._loops.add(loop)
        if self._watchdog is None:
            self._watchdog = threading.Thread(
                target=self._watch, name="loopviz-watchdog", daemon=True
            )
            self._watchdog.start()
        return loop

    def policy(self) -> asyncio.AbstractEventLoopPolicy:
        """An event loop policy whose new loops are traced: unmodified ``asyncio.run()``."""
        recorder = self

        class TracingPolicy(asyncio.DefaultEventLoopPolicy):
            def new_event_loop(self) -> asyncio.AbstractEventLoop:
                return recorder.loop()

        return TracingPolicy()

    def next_loop_id(self) -> int:
        self._next_loop += 1
        return self._next_loop

    def fail(self, exc: BaseException) -> None:
        """The instrumentation itself went wrong: stop recording, say so once, carry on."""
        if not self.enabled:
            return
        self.enabled = False
        for loop in list(self._loops):
            loop._recording = False
        message = f"loopviz: recording stopped after an internal error: {exc!r}"
        try:
            self.emit(Problem(self.now(), 0, self.intern(message)))
        finally:
            warnings.warn(message, RuntimeWarning, stacklevel=2)

    # --- the program's end -------------------------------------------------------------------
    def program_error(self, exc: BaseException, traceback_text: str) -> None:
        self.emit(ProgramError(self.now(), type(exc).__name__, str(exc), traceback_text))

    # --- output --------------------------------------------------------------------------------
    def flush(self, force: bool = False) -> None:
        """Hand buffered records to the writer thread (if streaming)."""
        if self._writer is None:
            return
        with self._flush_lock:
            buffered = self.records
            n = len(buffered)
            if n and (force or n >= FLUSH_EVERY or _now() - self._last_flush > FLUSH_AGE_NS):
                batch = buffered[:n]
                del buffered[:n]  # records appended meanwhile by other threads stay
                self._last_flush = _now()
                # Encoded here, at once (~50 ns a record): the writer thread then only waits
                # on the file, without the GIL, instead of competing with the loop for it.
                self._queue.put(encode_records(batch))

    def _write(self) -> None:
        out = self._out
        assert out is not None
        while (data := self._queue.get()) is not None:
            try:
                out.write(data)
                out.flush()
            except (OSError, ValueError):  # the reader went away: nothing to tell it any more
                self.enabled = False
                return

    def close(self) -> None:
        """Write out everything recorded and stop the helper threads. Idempotent."""
        if self._closed.is_set():
            return
        self._closed.set()
        for loop in list(self._loops):
            loop._recording = False
        if self._writer is not None:
            self.flush(force=True)
            self._queue.put(None)
            self._writer.join(timeout=30)  # until the reader took it all (or went away)
            if self._owns_out and self._out is not None:
                self._out.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _forked(self) -> None:
        """In a child made by fork (a process pool worker): record nothing, write nothing."""
        self.enabled = False
        self._writer = None
        self._closed.set()
        for loop in list(self._loops):
            loop._recording = False

    # --- the watchdog: report a step while it still blocks the loop --------------------------
    def _watch(self) -> None:
        """Report steps that block, while they block. It sleeps until the running step, if
        still running then, would be blocking: each wake-up takes the GIL from the loop (a
        few percent of a busy run at one wake-up per 25 ms), so it wakes as seldom as it can."""
        threshold = self.block_threshold_ns
        # Streaming, it also flushes what a blocked loop (or a worker thread) recorded.
        longest = threshold if self._writer is None else min(threshold, WATCHDOG_FLUSH_NS)
        reported: dict[int, tuple[int, int]] = {}  # loop -> (step start, last report)
        sleep_ns = longest
        while not self._closed.wait(max(sleep_ns, WATCHDOG_MIN_SLEEP_NS) / 1e9):
            now = _now()
            sleep_ns = longest
            for loop in list(self._loops):
                since, thread = loop._activity_since, loop._thread
                if not (since and thread):
                    continue
                if now - since <= threshold:  # not blocking yet: look again when it would be
                    sleep_ns = min(sleep_ns, since + threshold - now + 1)
                    continue
                first, last = reported.get(id(loop), (0, 0))
                if first != since or now - last > REPORT_AGAIN_NS:  # new, or still on
                    reported[id(loop)] = (since, now)
                    self._report_blocking(loop, since, thread)
                    last = now
                sleep_ns = min(sleep_ns, last + REPORT_AGAIN_NS - now + 1)
            if now - self._last_flush > WATCHDOG_FLUSH_NS:
                self.flush(force=True)

    def _report_blocking(self, loop: TracingLoop, since: int, thread: int) -> None:
        try:
            site = self.user_site(sys._current_frames().get(thread))
            self.emit(Blocking(self.now(), since - self.origin, loop._activity_task, site))
            self.flush(force=True)
        except Exception as exc:  # never let the watchdog die loudly in the program
            self.fail(exc)


class _TimedSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """Times the loop's waits in ``select()`` and marks I/O callbacks as such."""

    loop: TracingLoop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        loop = self.loop
        if not loop._recording:
            return super().select(timeout)
        rec = loop._rec
        rec.next_iteration()
        # About to sleep a while: let the writer catch up meanwhile. (Not for short sleeps: a
        # batch per millisecond timer would hand the GIL back and forth for nothing.)
        rec.flush(force=timeout is None or timeout >= FLUSH_IDLE_S)
        t0 = _now()
        ready = super().select(timeout)
        t1 = _now()
        if timeout != 0:
            wait = -1 if timeout is None else int(timeout * 1e9)
            rec.emit(Idle(t0 - rec.origin, t1 - t0, wait))
        if ready:
            ready = [(key._replace(data=loop._wrap_io(key.data)), mask) for key, mask in ready]
        return ready


class TracingLoop(asyncio.SelectorEventLoop):  # type: ignore[misc,valid-type]
    """An asyncio selector event loop that records every task's state changes.

    Usually made by :meth:`Recorder.loop`; ``TracingLoop()`` alone records to memory.
    """

    def __init__(self, recorder: Recorder | None = None) -> None:
        self._rec = rec = recorder if recorder is not None else Recorder()
        self._recording = rec.enabled
        self._current: asyncio.Task[Any] | None = None  # the task whose step is running
        self._cause = _CAUSE_IO  # why a wake-up happens now: set by whatever callback is running
        self._cause_ref: Any = 0  # a task id, or the finished task itself (resolved if used)
        self._deadline = 0.0  # earliest timer the running step set (loop.time() seconds)
        self._creating: tuple[Any, int, FrameType] | None = None  # (coro, t, caller frame)
        self._jobs: weakref.WeakKeyDictionary[asyncio.Future[Any], int] = (
            weakref.WeakKeyDictionary()
        )
        self._any_jobs = False  # checking the weak dictionary costs: only once there are jobs
        self._activity_since = 0  # monotonic start of the running step or callback
        self._activity_task = 0
        self._thread = 0
        self._loop_id = rec.next_loop_id()
        selector = _TimedSelector()
        selector.loop = self
        super().__init__(selector)
        rec.emit(LoopMark(rec.now(), self._loop_id, LoopPhase.OPENED))

    def run_forever(self) -> None:
        self._thread = threading.get_ident()
        try:
            super().run_forever()
        finally:
            self._thread = 0

    def close(self) -> None:
        if self._rec._fresh:
            self._rec.check_names()
        if not self.is_closed() and self._recording:
            self._rec.emit(LoopMark(self._rec.now(), self._loop_id, LoopPhase.CLOSED))
            self._rec.flush(force=True)
        super().close()

    # --- scheduling ----------------------------------------------------------------------------
    # The stock call_soon, call_soon_threadsafe and call_at, with timed handles of our own in
    # the loop's queues (private fields, checked on 3.11.7, 3.12.1 and 3.13.0): a call layer
    # and a wrapping tuple less per step and timer than wrapping each callback.
    def call_soon(self, callback, *args, context=None):  # type: ignore[no-untyped-def,override]
        if not self._recording:
            return super().call_soon(callback, *args, context=context)
        self._check_closed()
        if self._debug:
            self._check_thread()
            self._check_callback(callback, "call_soon")
        task = getattr(callback, "__self__", None)
        if type(callback) is _step_type:
            # A yield's own next step needs no Ready record: its Ran record says so.
            tid = self._activity_task if task is self._current else self._task_scheduled(task, args)
            handle: asyncio.Handle = _Step(callback, args, self, context)
            handle._task, handle._tid = task, tid  # type: ignore[attr-defined]
        elif isinstance(task, _Task) and (
            getattr(callback, "__name__", None) in _WAKEUPS or _is_step_or_wakeup(callback)
        ):
            handle = _Step(callback, args, self, context)
            handle._task = task  # type: ignore[attr-defined]
            handle._tid = self._task_scheduled(task, args)  # type: ignore[attr-defined]
        else:
            # A done-callback of a task (gather's, TaskGroup's) wakes others as it finished.
            first = args[0] if args else None
            handle = _Callback(callback, args, self, context)
            if isinstance(first, _Task):
                handle._cause, handle._ref = _CAUSE_TASK, first  # type: ignore[attr-defined]
            else:
                handle._cause, handle._ref = _CAUSE_FUTURE, 0  # type: ignore[attr-defined]
        if self._debug:
            handle._source_traceback = format_helpers.extract_stack(sys._getframe(1))  # type: ignore[attr-defined]
        self._ready.append(handle)
        return handle

    def call_soon_threadsafe(self, callback, *args, context=None):  # type: ignore[no-untyped-def,override]
        # Later patch releases (3.12.8, 3.13.1) lock their thread-safe handles: there, stock.
        if not self._recording or _LOCKED_THREADSAFE_HANDLES:
            return super().call_soon_threadsafe(callback, *args, context=context)
        self._check_closed()
        if self._debug:
            self._check_callback(callback, "call_soon_threadsafe")
        handle = _Callback(callback, args, self, context)
        handle._cause, handle._ref = _CAUSE_FUTURE, 0
        if self._debug:
            handle._source_traceback = format_helpers.extract_stack(sys._getframe(1))
        self._ready.append(handle)
        self._write_to_self()
        return handle

    def call_at(self, when, callback, *args, context=None):  # type: ignore[no-untyped-def,override]
        if not self._recording or when is None:
            return super().call_at(when, callback, *args, context=context)
        self._check_closed()
        if self._debug:
            self._check_thread()
            self._check_callback(callback, "call_at")
        if self._current is not None and (not self._deadline or when < self._deadline):
            self._deadline = when
        timer = _Timer(callback, args, self, context)
        timer._when, timer._scheduled = when, True
        if self._debug:
            timer._source_traceback = format_helpers.extract_stack(sys._getframe(1))
        heapq.heappush(self._scheduled, timer)
        return timer

    def create_task(self, coro, *, name=None, context=None):  # type: ignore[no-untyped-def,override]
        if not self._recording:
            return super().create_task(coro, name=name, context=context)
        # An eager first step (3.12+) runs in here, nested in the running step: give it its
        # own creation context and timer deadline, and leave the outer step's as they were.
        outer, outer_deadline, t0 = self._creating, self._deadline, _now()
        self._creating, self._deadline = (coro, t0, sys._getframe(1)), 0.0
        try:
            task = super().create_task(coro, name=name, context=context)
        finally:
            self._creating = outer
        if id(task) not in self._rec._task_ids:  # never scheduled: its first step ran eagerly
            try:
                self._step_ended(task, self._register(task, coro, t0), t0, _now())
            except Exception as exc:
                self._rec.fail(exc)
        self._deadline = outer_deadline
        return task

    def run_in_executor(self, executor, func, *args):  # type: ignore[no-untyped-def,override]
        if not self._recording:
            return super().run_in_executor(executor, func, *args)
        rec = self._rec
        job = rec.new_job_id()
        fn = rec.intern(_callable_name(func))
        current = self._current
        task = rec._task_ids.get(id(current), 0) if current is not None else 0
        rec.emit(Job(rec.now(), job, JobPhase.SUBMITTED, 0, fn, task))
        if isinstance(executor, concurrent.futures.ProcessPoolExecutor):
            # A process pool pickles ``func``: it cannot be wrapped, nor seen starting.
            future = super().run_in_executor(executor, func, *args)
            worker = rec.intern("process pool")
            rec.emit(Job(rec.now(), job, JobPhase.STARTED, worker, fn, task))
            future.add_done_callback(
                lambda _: rec.emit(Job(rec.now(), job, JobPhase.FINISHED, worker, fn, task))
            )
        else:
            future = super().run_in_executor(executor, _Job(rec, job, fn, task, func), *args)
        self._jobs[future] = job
        self._any_jobs = True
        return future

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        if self._recording:
            try:
                rec, task = self._rec, context.get("task") or context.get("future")
                exc = context.get("exception")
                message = context.get("message", "")
                if exc is not None:
                    message = f"{message}: {type(exc).__name__}: {exc}"
                tid = rec.task_id(task) if isinstance(task, _Task) else 0
                rec.emit(Problem(rec.now(), tid, rec.intern(message)))
            except Exception as err:
                self._rec.fail(err)
        super().call_exception_handler(context)

    # --- running what was scheduled --------------------------------------------------------------
    def _wrap_io(self, data: tuple[Any, Any]) -> tuple[Any, Any]:
        """Make the selector's ready handles timed I/O callbacks (private Handle fields,
        checked on 3.11.7, 3.12.1 and 3.13.0)."""
        return tuple(h if h is None or h._cancelled else _IOCallback(h, self) for h in data)  # type: ignore[return-value]

    # --- what the recorder writes -----------------------------------------------------------------
    def _task_scheduled(self, task: asyncio.Task[Any], args: tuple[Any, ...]) -> int:
        """A task's step or wake-up was scheduled: it is ready (and maybe new). Its id."""
        try:
            rec = self._rec
            tid = rec._task_ids.get(id(task))
            if args:  # a wake-up: the future it awaited is done
                if tid is None:
                    tid = self._register(task, None, _now())
                rec.emit(self._woken(_now() - rec.origin, tid, args[0]))
                return tid
            if tid is None:
                creating = self._creating
                if creating is not None and getattr(creating[0], "cr_suspended", False):
                    # 3.12+ eager start: the first step ran inside create_task and yielded.
                    tid = self._register(task, creating[0], creating[1])
                    rec.emit(Ran(creating[1] - rec.origin, tid, _now() - creating[1]))
                    return tid
                t = _now()
                tid = self._register(task, None, t)
                rec.emit(Ready(t - rec.origin, tid, _CAUSE_START, 0))
                return tid
            cause = _CAUSE_CANCEL if task._must_cancel else _CAUSE_YIELD  # type: ignore[attr-defined]
            rec.emit(Ready(_now() - rec.origin, tid, cause, 0))
            return tid
        except Exception as exc:
            self._rec.fail(exc)
            return 0

    def _woken(self, t: int, tid: int, future: asyncio.Future[Any]) -> Ready:
        """The Ready record of a task woken because ``future`` is done: by what?"""
        if future.cancelled():
            return Ready(t, tid, _CAUSE_CANCEL)
        if isinstance(future, _Task):
            return Ready(t, tid, _CAUSE_TASK, self._rec.task_id(future))
        job = self._jobs.get(future) if self._any_jobs else None
        if job is not None:
            return Ready(t, tid, _CAUSE_EXECUTOR, job)
        current = self._current
        if current is not None:  # resolved by the running step: woken by that task
            return Ready(t, tid, _CAUSE_FUTURE, self._rec._task_ids.get(id(current), 0))
        ref = self._cause_ref
        return Ready(t, tid, self._cause, ref if type(ref) is int else self._rec.task_id(ref))

    def _register(self, task: asyncio.Task[Any], coro: Any, t: int) -> int:
        rec = self._rec
        rec._next_task = tid = rec._next_task + 1
        rec._task_ids[id(task)] = tid
        name = task.get_name()
        rec._fresh.append(task)
        rec._fresh_ids.append(tid)
        rec._fresh_names.append(name)
        if coro is None:
            coro = self._creating[0] if self._creating else task.get_coro()
        code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
        if code is None:
            what = (rec.intern(type(coro).__qualname__), 0)
        else:
            info = rec._codes.get(id(code)) or rec.code(code)
            if info.coro is None:
                info.coro = (rec.code_name(info), rec.site(code.co_filename, code.co_firstlineno))
            what = info.coro
        # The creator is the task whose step is running (not asyncio.current_task(): in
        # Python on 3.11, and during an eager first step it is the new task itself).
        parent = self._activity_task if self._current is not None else 0
        caller = self._creating[2] if self._creating else sys._getframe(1)
        site = rec.user_site(caller)
        coro_name, coro_site = what
        rec.emit(
            TaskCreated(t - rec.origin, tid, rec.name_ref(name), coro_name, coro_site, parent, site)
        )
        return tid

    def _step_ended(self, task: asyncio.Task[Any], tid: int, t0: int, t1: int) -> None:
        rec = self._rec
        start, dur = t0 - rec.origin, t1 - t0
        if task.done():
            rec._finished[id(task)] = rec._task_ids.pop(id(task))
            if task.cancelled():
                rec.emit(Finished(start, tid, dur, _OUTCOME_CANCELLED, 0))
                return
            exc = task._exception  # type: ignore[attr-defined]  # not exception(): see above
            if exc is not None:
                text = f"{type(exc).__name__}: {exc}"[:200]
                rec.emit(Finished(start, tid, dur, _OUTCOME_ERROR, rec.intern(text)))
            else:
                result = task.result()
                text = _NONE if result is None else _short_text(result)  # None: most tasks
                rec.emit(Finished(start, tid, dur, _OUTCOME_RESULT, rec.intern(text)))
            return
        waiter = task._fut_waiter  # type: ignore[attr-defined]
        if waiter is None:  # yielded: ready again at once
            rec.emit(Ran(start, tid, dur))
            return
        deadline = int(self._deadline * 1e9) - t1 if self._deadline else 0
        rec.emit(self._waited(task, waiter, start, tid, dur, max(deadline, 1) if deadline else 0))

    def _waited(
        self, task: asyncio.Task[Any], waiter: Any, t: int, tid: int, dur: int, timeout: int
    ) -> Waited:
        """The Waited record of a suspended task: on what, from its chain of awaits."""
        rec = self._rec
        user = None  # the innermost coroutine (or generator) of the program's own code
        user_info: _CodeInfo | None = None
        found: _CodeInfo | None = None  # the library function it waits in
        first_library: _CodeInfo | None = None
        codes = rec._codes
        obj = task.get_coro()
        while obj is not None:
            kind = type(obj)
            if kind is CoroutineType:
                code, nxt = obj.cr_code, obj.cr_await
            elif kind is GeneratorType:
                code, nxt = obj.gi_code, obj.gi_yieldfrom
            else:
                break
            info = codes.get(id(code)) or rec.code(code)
            if not info.library:
                user, user_info, found, first_library = obj, info, None, None
            else:
                if first_library is None:
                    first_library = info
                if found is None and info.kind is not None:
                    found = info
            obj = nxt
        # Only the program's frame is asked for: each frame asked for is made into an object.
        if user_info is None:
            site = 0
        else:
            frame = user.cr_frame if type(user) is CoroutineType else user.gi_frame
            site = user_info.sites.get(frame.f_lasti) or rec.frame_site(frame, user_info)
        if isinstance(waiter, _Task):
            return Waited(t, tid, dur, _WAIT_TASK, rec.task_id(waiter), site, timeout)
        job = self._jobs.get(waiter) if self._any_jobs else None
        if job is not None:
            return Waited(t, tid, dur, _WAIT_EXECUTOR, job, site, timeout)
        if isinstance(waiter, _GatheringFuture):
            detail = rec.intern(f"gather of {len(waiter._children)}")
            return Waited(t, tid, dur, _WAIT_GATHER, detail, site, timeout)
        if found is not None:
            detail = found.name or rec.code_name(found)
            return Waited(t, tid, dur, found.kind, detail, site, timeout)  # type: ignore[arg-type]
        detail = rec.code_name(first_library) if first_library else 0
        return Waited(t, tid, dur, _WAIT_FUTURE, detail, site, timeout)


def _report_error(handle: asyncio.Handle, exc: BaseException) -> None:
    """Report a callback that raised as the stock ``Handle._run`` does. (The handles here run
    their callbacks themselves, as it does: a Python call less for every step.)"""
    loop: TracingLoop = handle._loop  # type: ignore[attr-defined]
    debug = {"debug": loop.get_debug()} if _FORMAT_TAKES_DEBUG else {}  # 3.13+
    callback = format_helpers._format_callback_source(handle._callback, handle._args, **debug)  # type: ignore[attr-defined]
    context = {"message": f"Exception in callback {callback}", "exception": exc, "handle": handle}
    if handle._source_traceback:  # type: ignore[attr-defined]
        context["source_traceback"] = handle._source_traceback  # type: ignore[attr-defined]
    loop.call_exception_handler(context)


def _handle_init(
    self: asyncio.Handle,
    callback: Callable[..., Any],
    args: tuple[Any, ...],
    loop: TracingLoop,
    context: contextvars.Context | None = None,
) -> None:
    """The stock ``Handle.__init__`` less its debug check, which costs a call per handle: the
    loop's methods take the source traceback themselves in debug mode (fields checked on
    3.11.7, 3.12.1 and 3.13.0)."""
    self._context = contextvars.copy_context() if context is None else context  # type: ignore[attr-defined]
    self._loop = loop  # type: ignore[attr-defined]
    self._callback = callback  # type: ignore[attr-defined]
    self._args = args  # type: ignore[attr-defined]
    self._cancelled = False  # type: ignore[attr-defined]
    self._repr = None  # type: ignore[attr-defined]
    self._source_traceback = None  # type: ignore[attr-defined]


class _Step(asyncio.Handle):
    """A task's step in the ready queue: the stock Handle, timed and recorded. (A subclass
    rather than a wrapping callback: one tuple less per step for the garbage collector.)"""

    __slots__ = ("_task", "_tid")
    __init__ = _handle_init

    def _run(self) -> None:
        loop: TracingLoop = self._loop  # type: ignore[assignment]
        task, tid, rec = self._task, self._tid, loop._rec
        # For the watchdog, the step's timer deadlines, and the causes of the wake-ups it makes:
        loop._current, loop._deadline, loop._activity_task = task, 0.0, tid
        loop._activity_since = t0 = _now()
        if rec._fresh:
            rec.check_names()
        try:
            self._context.run(self._callback, *self._args)  # type: ignore[attr-defined]
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            _report_error(self, exc)
        finally:
            t1 = _now()
            loop._current = None
            loop._activity_since = 0
            if rec._fresh:
                rec.check_names()
            if loop._recording:
                if task._fut_waiter is None and not task.done():  # type: ignore[attr-defined]
                    rec.emit(Ran(t0 - rec.origin, tid, t1 - t0))  # yielded: ready again
                else:
                    try:
                        loop._step_ended(task, tid, t0, t1)
                    except Exception as exc:
                        rec.fail(exc)


class _TimedRun:
    """Runs a plain callback as the stock Handle does, timed, noting what it means for the
    tasks it wakes (``_cause``; ``_ref``: the finished task it reports on, or 0)."""

    __slots__ = ()
    _cause: int
    _ref: Any
    _loop: TracingLoop
    _callback: Callable[..., Any]
    _args: tuple[Any, ...]
    _context: contextvars.Context

    def _run(self) -> None:
        loop = self._loop
        # Tasks it wakes are woken by ``_cause`` (``_ref``: a task id, or a task resolved if used).
        loop._cause, loop._cause_ref, loop._activity_task = self._cause, self._ref, 0
        loop._activity_since = t0 = _now()
        try:
            self._context.run(self._callback, *self._args)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            _report_error(self, exc)  # type: ignore[arg-type]
        finally:
            t1 = _now()
            rec = loop._rec
            loop._activity_since = 0
            loop._cause, loop._cause_ref = _CAUSE_IO, 0  # outside any callback: the selector's
            if rec._fresh:
                rec.check_names()
            if loop._recording and t1 - t0 >= CALLBACK_MIN_NS:
                try:
                    name = rec.intern(_callable_name(self._callback))
                    rec.emit(Callback(t0 - rec.origin, t1 - t0, name))
                except Exception as exc:
                    rec.fail(exc)


class _Callback(_TimedRun, asyncio.Handle):
    """A plain or I/O callback in the ready queue. (Subclasses rather than wrapping
    callbacks: one tuple less each for the garbage collector.)"""

    __slots__ = ("_cause", "_ref")  # set by whoever makes one
    __init__ = _handle_init


class _IOCallback(_Callback):
    """A timed copy of the selector's handle for an I/O callback, queued in its place. A
    callback run before it may still cancel the original (``remove_reader()``): the copy's
    ``_cancelled`` is the original's, so the loop skips it as it would have the original."""

    __slots__ = ("_original",)

    def __init__(self, original: asyncio.Handle, loop: TracingLoop) -> None:
        self._original = original
        _handle_init(self, original._callback, original._args, loop, original._context)  # type: ignore[attr-defined]
        self._source_traceback = original._source_traceback  # type: ignore[attr-defined]
        self._cause, self._ref = _CAUSE_IO, 0

    @property  # type: ignore[override]
    def _cancelled(self) -> bool:
        return self._original._cancelled  # type: ignore[attr-defined]

    @_cancelled.setter
    def _cancelled(self, value: bool) -> None:
        self._original._cancelled = value  # type: ignore[attr-defined]


class _Timer(_TimedRun, asyncio.TimerHandle):
    """A timer (a sleep's, a timeout's) in the loop's heap."""

    __slots__ = ()
    __init__ = _handle_init  # then call_at sets ``_when`` and ``_scheduled``
    _cause = _CAUSE_TIMER  # type: ignore[assignment]
    _ref = 0


class _Job:
    """Runs an executor job in its worker thread, recording when it starts and ends."""

    __slots__ = ("fn", "func", "job", "rec", "task")

    def __init__(self, rec: Recorder, job: int, fn: int, task: int, func: Callable[..., Any]):
        self.rec, self.job, self.fn, self.task, self.func = rec, job, fn, task, func

    def __call__(self, *args: Any) -> Any:
        rec = self.rec
        worker = rec.intern(threading.current_thread().name)
        rec.emit(Job(rec.now(), self.job, JobPhase.STARTED, worker, self.fn, self.task))
        try:
            return self.func(*args)
        finally:
            rec.emit(Job(rec.now(), self.job, JobPhase.FINISHED, worker, self.fn, self.task))
