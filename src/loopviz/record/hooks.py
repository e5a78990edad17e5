"""The instrument seam: what :class:`~loopviz.record.loop.TracingLoop` reports, and what it
lets be read, as trio's ``Instrument`` does it.

The loop calls the methods of one :class:`LoopHooks` object as things happen; the recording
session (:class:`~loopviz.record.session.Recorder`) implements them and writes records. Neither
side touches the other's private fields: the hooks are given the loop as a :class:`LoopState`,
whose documented attributes are all they may read, and the loop reads only ``wants_boundary``
of the hooks. Another implementation (a test's, a future live view's) subclasses
:class:`LoopHooks` and overrides what it wants; the defaults do nothing.

The loop holds one concrete hooks object and calls it directly: there is no fan-out to several,
as each Python call on a step's path costs 1-2% of a busy program's time. For the same reason
the loop makes no call at all for two frequent things: a task yielding schedules its own next
step without ``task_scheduled`` (``after_step`` says it yielded), and callbacks shorter than
:data:`CALLBACK_MIN_NS` are not reported (their time shows as the loop being busy).

Hooks run on the loop's thread (``job_started`` / ``job_finished``: on the worker's) in the
middle of the program: they must not raise. One that fails should call ``loop.stop_recording()``
and say so, rather than break the program.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sized
from types import FrameType
from typing import Any, Protocol

# Plain callbacks shorter than this are not reported one by one (timer and done-callbacks take
# a few microseconds each, too short to see; recording them would double a run's records).
CALLBACK_MIN_NS = 20_000


class LoopState(Protocol):
    """What the hooks may read of the loop (attributes the loop keeps up to date).

    ``running_task`` is the task whose step runs now (None in a plain callback or outside);
    ``running_tid`` the id ``task_scheduled`` gave it (0 in a callback). ``busy_since`` is the
    ``time.monotonic_ns()`` when the running step or callback started (0: none runs), and
    ``thread_id`` the thread running the loop (0: not running): the watchdog reads both from
    its own thread. ``wake_cause`` (a :class:`~loopviz.trace.Cause`) and ``wake_ref`` say why
    a task woken now is woken, outside a step: by the running callback's meaning, else by
    I/O. ``wake_ref`` is what that callback reports on: a task id; the ``asyncio.Task`` whose
    done-callback it is; ``(task, group)`` for a task group's; else the callback itself.
    ``step_deadline`` is the earliest timer (``loop.time()`` seconds, 0: none) the running step
    set, ``sleep_due`` when the last ``asyncio.sleep()`` timer set falls due (a sleep sets it
    in the step it begins in). ``creating`` is ``(coroutine, monotonic ns, caller's frame)``
    while ``create_task`` runs (a 3.12+ eager first step runs inside it). ``executor_jobs``
    maps each executor future to its job id (None until the first job).
    """

    recording: bool
    running_task: asyncio.Task[Any] | None
    running_tid: int
    busy_since: int
    thread_id: int
    wake_cause: int
    wake_ref: Any
    step_deadline: float
    sleep_due: float
    creating: tuple[Any, int, FrameType] | None
    executor_jobs: Any

    def stop_recording(self) -> None:
        """Report nothing more: the loop runs on as a stock selector loop."""


class LoopHooks:
    """What a traced loop reports. Times are ``time.monotonic_ns()``; task ids are the
    hooks' own, given by ``task_scheduled`` and handed back by the loop."""

    #: Truthy while the hooks want :meth:`boundary` called before and after each step and
    #: callback. The loop reads it first, sparing a call at almost every boundary.
    wants_boundary: Sized = ()

    def loop_opened(self, loop: LoopState) -> None:
        """A loop was made."""

    def loop_closed(self, loop: LoopState) -> None:
        """A loop is closing (not called for a loop that no longer records)."""

    def loop_running(self, loop: LoopState) -> None:
        """``run_forever`` begins (``run_until_complete`` and ``asyncio.run`` call it)."""

    def loop_stopped(self, loop: LoopState) -> None:
        """``run_forever`` returns (or raises): the loop does nothing until it runs again."""

    def boundary(self) -> None:
        """A step or callback is about to start, or just ended (see ``wants_boundary``)."""

    def task_scheduled(
        self, loop: LoopState, task: asyncio.Task[Any], future: asyncio.Future[Any] | None
    ) -> int:
        """``task`` is ready: its step was queued, either its first or after a yield
        (``future`` None), or its wake-up because ``future``, which it awaited, is done.
        Not called for the running task scheduling its own next step: ``after_step``
        reports that. Returns the task's id, which the loop hands back."""
        return 0

    def task_created(
        self, loop: LoopState, task: asyncio.Task[Any], coro: Any, started: int
    ) -> None:
        """``create_task`` (called at ``started``) returned ``task``; a 3.12+ eager task's
        first step ran inside it, and it may never have been scheduled."""

    def after_step(
        self, loop: LoopState, task: asyncio.Task[Any], tid: int, start: int, end: int
    ) -> None:
        """A step of ``task`` ran from ``start`` to ``end``: it yielded, waits, or is done."""

    def callback_ran(self, callback: Callable[..., Any], start: int, end: int) -> None:
        """A plain callback ran, for at least :data:`CALLBACK_MIN_NS`."""

    def before_io_wait(self, loop: LoopState, timeout: float | None) -> None:
        """The loop is about to wait for I/O in ``select()`` (``timeout`` None: no limit)."""

    def after_io_wait(self, loop: LoopState, timeout: float | None, start: int, end: int) -> None:
        """The loop waited for I/O from ``start`` to ``end``."""

    def job_submitted(self, loop: LoopState, func: Callable[..., Any]) -> int:
        """``run_in_executor(func)`` was called; returns the job's id."""
        return 0

    def job_started(self, job: int, worker: str) -> None:
        """The job began on ``worker`` (a thread's name; ``trace.PROCESS_POOL``)."""

    def job_finished(self, job: int, worker: str) -> None:
        """The job ended (its result or exception is not yet seen by the loop)."""

    def problem(self, loop: LoopState, context: dict[str, Any]) -> None:
        """The loop reports something through ``call_exception_handler``."""
