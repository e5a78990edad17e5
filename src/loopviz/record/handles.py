"""The traced loop's handles: the stock ``Handle`` and ``TimerHandle``, timed, and reporting to
the loop's hooks when they have run.

Subclasses rather than wrapping callbacks: one tuple less per step for the garbage collector
and one call layer less. They run their callbacks themselves as the stock ``Handle._run``
does, and fill in the stock fields (``cpython.py`` lists them) without its debug check.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from loopviz.record.cpython import handle_init, report_error
from loopviz.record.hooks import CALLBACK_MIN_NS
from loopviz.trace import Cause

if TYPE_CHECKING:
    from loopviz.record.loop import TracingLoop

_now = time.monotonic_ns
# Enum members the hot paths use, as module constants: reading ``Cause.IO`` takes ~70 ns on 3.11.
_CAUSE_IO = int(Cause.IO)
_CAUSE_TIMER = int(Cause.TIMER)


class Step(asyncio.Handle):
    """A task's step (or wake-up, which runs the step) in the ready queue."""

    __slots__ = ("_task", "_tid")
    __init__ = handle_init
    _task: asyncio.Task[Any]
    _tid: int

    def _run(self) -> None:
        loop: TracingLoop = self._loop  # type: ignore[attr-defined]
        task, tid, hooks = self._task, self._tid, loop.hooks
        # For the watchdog, the step's timer deadlines, and the causes of the wake-ups it makes:
        loop.running_task, loop.step_deadline, loop.running_tid = task, 0.0, tid
        loop.running_step = self  # a yield queues it again (TracingLoop.call_soon)
        loop.busy_since = t0 = _now()
        if hooks.wants_boundary:
            hooks.boundary()
        try:
            self._context.run(self._callback, *self._args)  # type: ignore[attr-defined]
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            report_error(self, exc)
        finally:
            t1 = _now()
            loop.running_task = loop.running_step = None  # type: ignore[assignment]
            loop.busy_since = 0
            if loop.recording:
                hooks.after_step(loop, task, tid, t0, t1)
        # As the stock ``Handle._run``: an exception's traceback holds this frame, which must
        # not hold the handle (and its arguments) in a cycle until a garbage collection.
        del self, task


class _TimedRun:
    """Runs a plain callback as the stock Handle does, timed, noting what it means for the
    tasks it wakes (``_cause``; ``_ref``: what it reports on, see ``LoopState.wake_ref``)."""

    __slots__ = ()
    _cause: int
    _ref: Any
    _loop: TracingLoop
    _callback: Callable[..., Any]
    _args: Sequence[Any]
    _context: contextvars.Context

    def _run(self) -> None:
        loop = self._loop
        hooks = loop.hooks
        # Tasks it wakes are woken by ``_cause``, about ``_ref``.
        loop.wake_cause, loop.wake_ref, loop.running_tid = self._cause, self._ref, 0
        loop.busy_since = t0 = _now()
        try:
            self._context.run(self._callback, *self._args)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            report_error(self, exc)  # type: ignore[arg-type]
        finally:
            t1 = _now()
            loop.busy_since = 0
            loop.wake_cause, loop.wake_ref = _CAUSE_IO, 0  # outside any callback: the selector's
            if hooks.wants_boundary:
                hooks.boundary()
            if loop.recording and t1 - t0 >= CALLBACK_MIN_NS:
                hooks.callback_ran(self._callback, t0, t1)
        del self  # as the stock ``Handle._run`` (see ``Step._run``)


class Callback(_TimedRun, asyncio.Handle):
    """A plain or I/O callback in the ready queue."""

    __slots__ = ("_cause", "_ref")  # set by whoever makes one
    __init__ = handle_init


class IOCallback(Callback):
    """A timed copy of the selector's handle for an I/O callback, queued in its place. A
    callback run before it may still cancel the original (``remove_reader()``): the copy's
    ``_cancelled`` is the original's, so the loop skips it as it would have the original."""

    __slots__ = ("_original",)

    def __init__(self, original: asyncio.Handle, loop: TracingLoop) -> None:
        self._original = original
        handle_init(self, original._callback, original._args, loop, original._context)  # type: ignore[attr-defined]
        self._source_traceback = original._source_traceback  # type: ignore[attr-defined]
        self._cause, self._ref = _CAUSE_IO, 0

    @property
    def _cancelled(self) -> bool:
        return self._original._cancelled

    @_cancelled.setter
    def _cancelled(self, value: bool) -> None:
        self._original._cancelled = value


class Timer(_TimedRun, asyncio.TimerHandle):
    """A timer (a sleep's, a timeout's) in the loop's heap; what it reports on is its callback
    (an ``asyncio.timeout()``'s names the task it is a deadline for)."""

    __slots__ = ("_ref",)
    __init__ = handle_init  # then call_at sets ``_when``, ``_scheduled`` and ``_ref``
    _cause = _CAUSE_TIMER


# What the program sees of them (a handle's repr, in asyncio's debug log) is the stock names.
Step.__name__ = Callback.__name__ = IOCallback.__name__ = "Handle"
Timer.__name__ = "TimerHandle"
