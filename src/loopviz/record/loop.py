"""The instrumented event loop: a stock selector loop that reports what every task does.

:class:`TracingLoop` keeps the stock, C-accelerated ``asyncio.Task`` and watches it through the
points a loop subclass may override, reporting to its hooks (``hooks.py``):

- ``call_soon``: the C Task schedules each step and each wake-up through it (method lookup), so
  every step is seen; its callback's ``__self__`` is the Task. Steps are queued as timed handles.
- ``call_at`` (also reached by ``call_later``): timers, to learn each wait's deadline.
- ``create_task``: the creating task, and (3.12+) eager first steps, which run inside it.
- ``run_in_executor``: executor jobs (``asyncio.to_thread`` and aiofiles come through here).
- the selector handed to the constructor: idle time in ``select()`` and I/O callbacks.
- ``call_exception_handler``: what the loop reports (an exception never retrieved...).

It must not change what the program does: callbacks are scheduled through the stock methods'
code in the same order, with the stock fields filled in (``cpython.py`` lists them).
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import heapq
import selectors
import sys
import threading
import time
import weakref
from collections.abc import Callable, Coroutine, Generator
from types import FrameType, MethodType
from typing import TYPE_CHECKING, Any, TypeVar

from loopviz.compiled import accelerator
from loopviz.record import handles
from loopviz.record.cpython import (
    C_STEP,
    GROUP_TASK_DONE,
    LOCKED_THREADSAFE_HANDLES,
    SLEEP_TIMER,
    WAKEUPS,
    Task,
    is_step,
    program_context,
    program_frames,
    report_error,
    source_traceback,
)
from loopviz.record.handles import Callback, IOCallback, Step, Timer, _TimedRun
from loopviz.record.hooks import LoopHooks
from loopviz.trace import PROCESS_POOL, Cause, Finished, Outcome, Ran, Ready

_now = time.monotonic_ns
_new_handle = object.__new__
# The stock create_task (no selector loop class overrides it), called directly: ``super()``
# makes an object per task. (Not ``asyncio.SelectorEventLoop``'s: adopt.py replaces that.)
_stock_create_task = asyncio.BaseEventLoop.create_task
_copy_context = contextvars.copy_context
_T = TypeVar("_T")
_CAUSE_FUTURE = int(Cause.FUTURE)
_CAUSE_GROUP_FAILED = int(Cause.GROUP_FAILED)
_CAUSE_IO = int(Cause.IO)
_CAUSE_TASK = int(Cause.TASK)

# The C Task's step callback type (cpython.C_STEP), known from its first step on: then a step
# is recognised by its type alone.
_step_type: type | None = None
# ``loop.time()`` seconds from which a timer counts as no deadline: about 31 years of uptime,
# so that the time left to it always fits a trace's 64-bit nanoseconds.
NO_DEADLINE_S = 1e9
# Timers a library sets during a step for its own upkeep, not as a deadline of what the step
# then waits on (by their function's module and name): aiohttp's clean-up of idle kept-alive
# connections (``helpers.weakref_handle``), set as a response is released.
UPKEEP_TIMERS = frozenset({("aiohttp.helpers", "_weakref_handle")})


def upkeep(callback: Any) -> bool:
    """Whether ``callback``, a timer's, is one of :data:`UPKEEP_TIMERS`."""
    module = getattr(callback, "__module__", None)
    return module is not None and (module, getattr(callback, "__qualname__", "")) in UPKEEP_TIMERS


class _Timing(selectors.BaseSelector):
    """Reports the loop's waits in ``select()`` and marks I/O callbacks as such: mixed into
    the loop's selector class (``timed_selector``)."""

    traced_loop: TracingLoop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        loop = self.traced_loop
        if not loop.recording:
            return super().select(timeout)
        hooks = loop.hooks
        hooks.before_io_wait(loop, timeout)
        t0 = _now()
        ready = super().select(timeout)
        hooks.after_io_wait(loop, timeout, t0, _now())
        if ready:
            ready = [(key._replace(data=self._timed(key.data)), mask) for key, mask in ready]
        return ready

    def _timed(self, data: tuple[Any, Any]) -> tuple[Any, Any]:
        """The selector's ready (reader, writer) handles as timed I/O callbacks (a cancelled
        one as it is: ``Handle._cancelled``, cpython.py)."""
        loop = self.traced_loop
        return tuple(h if h is None or h._cancelled else IOCallback(h, loop) for h in data)  # type: ignore[return-value]


_timed_classes: dict[type[selectors.BaseSelector], type[selectors.BaseSelector]] = {}


def timed_selector(
    loop: TracingLoop, selector: selectors.BaseSelector | None
) -> selectors.BaseSelector:
    """``selector`` (default: a new ``DefaultSelector``) reporting to ``loop``: its class
    becomes a subclass of its own with the timing mixed in, named as its own, so that what
    the program sees of it (asyncio's debug log: "Using selector: EpollSelector") is unchanged.
    A selector whose class cannot be changed so is left untimed: its waits are not recorded."""
    if selector is None:
        selector = selectors.DefaultSelector()
    base = type(selector)
    timed = _timed_classes.get(base)
    if timed is None:
        names = {"__module__": base.__module__, "__qualname__": base.__qualname__}
        timed = _timed_classes[base] = type(base.__name__, (_Timing, base), names)
    try:
        selector.__class__ = timed
    except TypeError:
        return selector
    selector.traced_loop = loop  # type: ignore[attr-defined]
    return selector


class _Job:
    """Runs an executor job in its worker thread, reporting when it starts and ends."""

    __slots__ = ("func", "hooks", "job")

    def __init__(self, hooks: LoopHooks, job: int, func: Callable[..., Any]) -> None:
        self.hooks, self.job, self.func = hooks, job, func

    def __call__(self, *args: Any) -> Any:
        worker = threading.current_thread().name
        self.hooks.job_started(self.job, worker)
        try:
            return self.func(*args)
        finally:
            self.hooks.job_finished(self.job, worker)


class TracingLoop(asyncio.SelectorEventLoop):
    """An asyncio selector event loop that reports every task's state changes to ``hooks``.

    Usually made by :meth:`Recorder.loop <loopviz.record.Recorder.loop>` (which also starts
    the session's watchdog); ``TracingLoop(hooks)`` reports to any ``LoopHooks``. Its public
    attributes are the ones :class:`~loopviz.record.hooks.LoopState` documents.
    """

    # Slots for what each step reads and sets, and the stock loop's own fields the scheduling
    # methods read (cpython.py): the compiled step path (``_steps.c``) reaches them directly.
    __slots__ = (
        "_closed",
        "_debug",
        "_ready",
        "_scheduled",
        "busy_since",
        "creating",
        "executor_jobs",
        "hooks",
        "recording",
        "running_step",
        "running_task",
        "running_tid",
        "sleep_due",
        "step_deadline",
        "wake_cause",
        "wake_ref",
    )

    if TYPE_CHECKING:  # the stock loop's private parts it uses (cpython.py), for the checker
        _ready: collections.deque[asyncio.Handle]
        _scheduled: list[asyncio.TimerHandle]
        _debug: bool
        _closed: bool

        def _check_closed(self) -> None: ...
        def _check_thread(self) -> None: ...
        def _check_callback(self, callback: Callable[..., Any], method: str) -> None: ...
        def _write_to_self(self) -> None: ...

    def __init__(self, hooks: LoopHooks, selector: selectors.BaseSelector | None = None) -> None:
        self.hooks = hooks
        self.recording = True
        self.running_task: asyncio.Task[Any] | None = None
        self.running_tid = 0
        self.running_step: Step = None  # type: ignore[assignment]  # set with running_task
        self.wake_cause = _CAUSE_IO  # set by whatever callback runs; outside one, the selector's
        self.wake_ref: Any = 0  # what the running callback reports on (LoopState.wake_ref)
        self.step_deadline = 0.0
        self.sleep_due = 0.0
        self.creating: tuple[Any, int, FrameType] | None = None
        self.executor_jobs: weakref.WeakKeyDictionary[asyncio.Future[Any], int] | None = None
        self.busy_since = 0
        self.thread_id = 0
        super().__init__(timed_selector(self, selector))
        hooks.loop_opened(self)

    def stop_recording(self) -> None:
        self.recording = False

    def run_forever(self) -> None:
        if self.is_running() or self.is_closed():  # asyncio refuses it: nothing changes
            super().run_forever()
            return
        self.thread_id = threading.get_ident()
        if self.recording:
            self.hooks.loop_running(self)
        try:
            super().run_forever()
        finally:
            self.thread_id = 0
            if self.recording:
                self.hooks.loop_stopped(self)

    def close(self) -> None:
        hooks = self.hooks
        if hooks.wants_boundary:
            hooks.boundary()
        if not self.is_closed() and self.recording:
            hooks.loop_closed(self)
        super().close()

    # --- scheduling ----------------------------------------------------------------------------
    # The stock call_soon, call_soon_threadsafe and call_at, with timed handles of our own in
    # the loop's queues (private fields: cpython.py): a call layer and a wrapping tuple less
    # per step and timer than wrapping each callback.
    def call_soon(self, callback, *args, context=None):  # type: ignore[no-untyped-def,override]
        if not self.recording:
            return super().call_soon(callback, *args, context=context)
        self._check_closed()
        if self._debug:
            self._check_thread()
            self._check_callback(callback, "call_soon")
        try:  # (free in 3.11+ when nothing is raised)
            task: Any = getattr(callback, "__self__", None)
        except Exception:  # a callable object whose __getattr__ raises: not a task's
            task = None
        if type(callback) is _step_type:
            # A yield's own next step needs no report: after_step says it yielded.
            if task is self.running_task:
                if not self._debug:
                    # Nor a new handle: the running step's own is queued again, as the loop
                    # is done with it once it runs and the task ignores what call_soon
                    # returns (cpython.py). Not in debug mode: there the loop reads a handle
                    # after it ran, and each has its own source traceback.
                    again: Any = self.running_step
                    again._callback, again._args = callback, args
                    again._context = _copy_context() if context is None else context
                    self._ready.append(again)
                    return again
                tid = self.running_tid
            else:
                tid = self.hooks.task_scheduled(self, task, None)
            handle: Any = _new_handle(Step)
            handle._task, handle._tid = task, tid
        elif isinstance(task, Task) and (
            getattr(callback, "__name__", None) in WAKEUPS or _is_step(callback)
        ):
            handle = _new_handle(Step)
            handle._task = task
            handle._tid = self.hooks.task_scheduled(self, task, args[0] if args else None)
        else:
            # A done-callback of a task (gather's, TaskGroup's) wakes others as it finished.
            first = args[0] if args else None
            handle = _new_handle(Callback)
            if isinstance(first, Task):
                if type(callback) is MethodType and callback.__func__ is GROUP_TASK_DONE:
                    # A task group's: a failure there cancels the rest (the owner to wake it).
                    handle._cause = _CAUSE_GROUP_FAILED
                    handle._ref = (first, callback.__self__)
                else:
                    handle._cause, handle._ref = _CAUSE_TASK, first
            else:
                handle._cause, handle._ref = _CAUSE_FUTURE, callback
        # The handle's fields (cpython.handle_init's) set here: a call to __init__ would cost
        # as much as a hook, on the path of every step, wake-up and done-callback.
        handle._context = _copy_context() if context is None else context
        handle._loop, handle._callback, handle._args = self, callback, args
        handle._cancelled, handle._repr, handle._source_traceback = False, None, None
        if self._debug:
            handle._source_traceback = source_traceback(1)
        self._ready.append(handle)
        return handle

    def call_soon_threadsafe(self, callback, *args, context=None):  # type: ignore[no-untyped-def,override]
        # Later patch releases (3.12.8, 3.13.1) lock their thread-safe handles: there, stock.
        if not self.recording or LOCKED_THREADSAFE_HANDLES:
            return super().call_soon_threadsafe(callback, *args, context=context)
        self._check_closed()
        if self._debug:
            self._check_callback(callback, "call_soon_threadsafe")
        handle = Callback(callback, args, self, context)
        handle._cause, handle._ref = _CAUSE_FUTURE, 0
        if self._debug:
            handle._source_traceback = source_traceback(1)
        self._ready.append(handle)
        self._write_to_self()
        return handle

    def call_at(self, when, callback, *args, context=None):  # type: ignore[no-untyped-def,override]
        if not self.recording or when is None:
            return super().call_at(when, callback, *args, context=context)
        self._check_closed()
        if self._debug:
            self._check_thread()
            self._check_callback(callback, "call_at")
        # A deadline past NO_DEADLINE_S (``sleep(math.inf)``, ``sleep(1e300)``, NaN) is none.
        if (
            self.running_task is not None
            and when < NO_DEADLINE_S
            and (not self.step_deadline or when < self.step_deadline)
            and (callback is SLEEP_TIMER or not upkeep(callback))
        ):
            self.step_deadline = when
        if callback is SLEEP_TIMER:
            self.sleep_due = when
        timer: Any = _new_handle(Timer)  # its fields set here, as call_soon's
        timer._context = _copy_context() if context is None else context
        timer._loop, timer._callback, timer._args = self, callback, args
        timer._cancelled, timer._repr, timer._source_traceback = False, None, None
        timer._when, timer._scheduled, timer._ref = when, True, callback
        if self._debug:
            timer._source_traceback = source_traceback(1)
        heapq.heappush(self._scheduled, timer)
        return timer

    def create_task(
        self,
        coro: Generator[Any, None, _T] | Coroutine[Any, Any, _T],
        *,
        name: object = None,
        context: contextvars.Context | None = None,
    ) -> asyncio.Task[_T]:
        if not self.recording:
            return super().create_task(coro, name=name, context=context)
        # An eager first step (3.12+) runs in here, nested in the running step: give it its
        # own creation context and timer deadline, and leave the outer step's as they were.
        outer, outer_deadline, t0 = self.creating, self.step_deadline, _now()
        self.creating, self.step_deadline = (coro, t0, sys._getframe(1)), 0.0
        try:
            task = _stock_create_task(self, coro, name=name, context=context)
        finally:
            self.creating = outer
        if self._debug and task._source_traceback:  # type: ignore[attr-defined]
            # Where it was created, as the program alone would have it (cpython.py).
            task._source_traceback[:] = program_frames(task._source_traceback)  # type: ignore[attr-defined]
        self.hooks.task_created(self, task, coro, t0)
        self.step_deadline = outer_deadline
        return task

    def run_in_executor(self, executor, func, *args):  # type: ignore[no-untyped-def,override]
        if not self.recording:
            return super().run_in_executor(executor, func, *args)
        # The stock checks first, on ``func`` itself (a wrapped job would pass debug mode's
        # check for a coroutine function), and before any job is said to be submitted.
        self._check_closed()
        if self._debug:
            self._check_callback(func, "run_in_executor")
        hooks = self.hooks
        job = hooks.job_submitted(self, func)
        # Not ``concurrent.futures.ProcessPoolExecutor``: that lazy attribute would import
        # multiprocessing on the loop's thread, which the stock loop never does.
        pools = sys.modules.get("concurrent.futures.process")
        if pools is not None and isinstance(executor, pools.ProcessPoolExecutor):
            # A process pool pickles ``func``: it cannot be wrapped, nor seen starting.
            future = super().run_in_executor(executor, func, *args)
            hooks.job_started(job, PROCESS_POOL)
            future.add_done_callback(lambda _: hooks.job_finished(job, PROCESS_POOL))
        else:
            future = super().run_in_executor(executor, _Job(hooks, job, func), *args)
        if self.executor_jobs is None:
            self.executor_jobs = weakref.WeakKeyDictionary()
        self.executor_jobs[future] = job
        return future

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        if self.recording:
            self.hooks.problem(self, context)
        super().call_exception_handler(program_context(context))


def _is_step(callback: Any) -> bool:
    """Whether a task's callback (not a wake-up) is its step; learns the C Task's step type."""
    global _step_type
    if getattr(callback, "__name__", None) is None and type(callback).__name__ == C_STEP:
        _step_type = type(callback)
        return True
    return is_step(callback)


# The compiled step path (``_steps.c``), where it was built: its methods take the places of
# the Python ones they are twins of. LOOPVIZ_PURE_PYTHON=1 keeps the Python ones.
STEPS = accelerator("loopviz.record._steps")
if STEPS is not None:
    try:  # it checks that what it reads directly is where it expects (cpython.py)
        STEPS.configure(
            handle=asyncio.Handle,
            step=Step,
            callback=Callback,
            loop=TracingLoop,
            report_error=report_error,
            ran=Ran,
            ready=Ready,
            finished=Finished,
            handles_globals=vars(handles),
            call_soon=TracingLoop.call_soon,
            cause_io=_CAUSE_IO,
            cause_task=_CAUSE_TASK,
            cause_future=_CAUSE_FUTURE,
            cause_timer=int(Cause.TIMER),
            outcome_result=int(Outcome.RESULT),
        )
        STEPS.configure_timers(
            timer=Timer,
            call_at=TracingLoop.call_at,
            create_task=TracingLoop.create_task,
            stock_create_task=_stock_create_task,
            heappush=heapq.heappush,
            sleep_timer=SLEEP_TIMER,
            no_deadline=NO_DEADLINE_S,
            upkeep=upkeep,
        )
    except (TypeError, AttributeError):  # a Python it was not made for: the Python code runs
        STEPS = None
if STEPS is not None:
    setattr(Step, "_run", STEPS.step_run)  # noqa: B010 - methods, replaced
    setattr(_TimedRun, "_run", STEPS.timed_run)  # noqa: B010
    setattr(TracingLoop, "call_soon", STEPS.call_soon)  # noqa: B010
    setattr(TracingLoop, "call_at", STEPS.call_at)  # noqa: B010
    setattr(TracingLoop, "create_task", STEPS.create_task)  # noqa: B010
