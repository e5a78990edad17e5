"""Every private part of CPython's asyncio that the recording loop relies on, in one place.

Checked on CPython 3.11.7, 3.12.1 and 3.13.0. Porting loopviz to a new CPython starts here:
read :data:`PRIVATE`, run ``tests/test_cpython.py`` (it checks that each is still where it
was), then read the uses named below. The hot paths (``handles.py``, ``loop.py``) read the
fields directly, as an accessor function would cost a Python call per step; each such read
carries a comment naming this module.

Fields and functions the loop uses, and where:

- ``Handle._callback / _args / _context / _loop / _cancelled / _repr / _source_traceback``:
  the timed handles fill them in as ``Handle.__init__`` does (:func:`handle_init`), run them
  in their own ``Handle._run`` (which the stock loop calls), and report a failure as it does
  (:func:`report_error`).
- Behaviour, not a field: outside debug mode ``BaseEventLoop._run_once`` does not touch a
  handle after its ``_run()``, and the Task ignores what ``call_soon`` returns, so a step that
  yields queues its own running handle again (``TracingLoop.call_soon``) rather than a new one.
- The selector's key ``data``: a ``(reader, writer)`` pair of handles; the timed selector
  (``loop.py``) puts timed copies in their place.
- ``TimerHandle._when / _scheduled``: ``TracingLoop.call_at`` sets them as the stock one does.
- ``BaseEventLoop._ready / _scheduled / _debug / _check_closed / _check_thread /
  _check_callback / _write_to_self``: the loop's own ``call_soon``, ``call_soon_threadsafe``
  and ``call_at`` queue timed handles there, as the stock ones do.
- ``Task._fut_waiter`` (what a suspended task awaits), ``Task._must_cancel`` (a step that will
  raise ``CancelledError``), ``Task._exception`` (read instead of ``exception()``, which would
  mark it retrieved and silence "exception was never retrieved"): the session's records.
- The C Task's callbacks: each step is a ``TaskStepMethWrapper`` and each wake-up the bound
  builtin ``task_wakeup``, both with the task as ``__self__`` (the pure-Python Task's are its
  ``__step`` / ``__wakeup`` methods): :data:`STEPS`, :data:`WAKEUPS`, :func:`is_step`.
- ``asyncio.tasks._GatheringFuture`` and its ``_children``: a task waiting on ``gather()``.
- ``asyncio.futures._set_result_unless_cancelled``: the callback of ``sleep()``'s timer, to
  tell a sleep's own length from a deadline around it (:data:`SLEEP_TIMER`).
- ``TaskGroup._on_task_done`` (each child's done-callback, :data:`GROUP_TASK_DONE`),
  ``TaskGroup._parent_task`` and ``_tasks``: why a task group wakes or cancels a task, and
  how many tasks it still waits for; ``Timeout._on_timeout`` and ``Timeout._task``: whose
  deadline cancels a task (:data:`TIMEOUT_FIRED`). Read with ``getattr`` and a default: a
  Python without them only says less.
- The qualified names of asyncio's functions a task can wait in (``code.py``), among them
  the private ``TaskGroup._aexit`` of 3.13: a name missing there only makes that wait a plain
  "future", so they are recognised, not relied on.
- A coroutine's ``__await__()`` iterator (``coroutine_wrapper``) holds its coroutine where
  only the garbage collector sees it: :func:`wrapped_coroutine` (a chain of awaits through an
  object whose ``__await__`` returns one, as aiohttp's ``await session.get(url)``).
- The program's locks, semaphores, conditions, queues and barriers (``resources.py``): a
  semaphore's ``_value`` when it is made (its permits), a condition's ``_lock``, a queue's
  ``_unfinished_tasks`` (its puts, less its ``task_done()`` calls) and its waiting futures
  ``_getters`` and ``_putters``, a barrier's ``_count`` (its parties waiting) and its methods
  ``_wait`` (a party waits there) and ``_release`` (the last one lets them all through).
- The compiled step path (``_steps.c``, optional) reads and writes the slots of the handles
  (the ``Handle`` fields above, ``Step._task / _tid``), of ``TracingLoop`` (its own hot fields
  and the stock ``_ready / _closed / _debug``, made slots there) and of ``Recorder`` at the
  offsets their member descriptors give (``PyMemberDescrObject.d_member``, as Python's own
  slot access does), and ``Task._fut_waiter`` through its C getter; it knows the C Task's step
  by its type's name (:data:`C_STEP`) and its wake-up by its ``PyMethodDef`` name
  (``task_wakeup``). ``configure()`` checks each as ``loop.py`` imports it (a Python where one
  is not as expected runs the Python code); ``tests/test_compiled_recorder.py`` fails if the
  compiled code is built but not in use. It also reads ``PyFunctionObject.func_dict`` (a plain
  function has no ``__self__``) and calls ``_PyObject_LookupAttr`` on 3.11 and 3.12 (3.13's
  public ``PyObject_GetOptionalAttr``): a ``getattr`` with a default that makes no exception.
- Following child processes (``follow.py``): a ``multiprocessing`` spawn child ends by
  ``sys.exit(exitcode)`` called from ``multiprocessing.spawn.spawn_main`` (its exit status
  is noted there; elsewhere, or if it changes, only the parent's ``os.waitpid`` says it).
- ``asyncio.format_helpers._format_callback_source`` (3.13 adds ``debug``) and
  ``asyncio.events._ThreadSafeHandle`` (3.12.8 and 3.13.1 on lock thread-safe handles: there
  ``call_soon_threadsafe`` stays stock).
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import inspect
import os
import runpy
import sys
import traceback
from asyncio import format_helpers
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loopviz.record.loop import TracingLoop

# (owner, attribute) of every private name above; ``missing()`` says which are gone.
PRIVATE: tuple[tuple[str, str], ...] = (
    *(
        ("Handle", name)
        for name in (
            "_callback",
            "_args",
            "_context",
            "_loop",
            "_cancelled",
            "_repr",
            "_source_traceback",
            "_run",
        )
    ),
    ("TimerHandle", "_when"),
    ("TimerHandle", "_scheduled"),
    *(
        ("loop", name)
        for name in (
            "_ready",
            "_scheduled",
            "_debug",
            "_check_closed",
            "_check_thread",
            "_check_callback",
            "_write_to_self",
        )
    ),
    ("Task", "_fut_waiter"),
    ("Task", "_must_cancel"),
    ("Task", "_exception"),
    ("asyncio.tasks", "_GatheringFuture"),
    ("asyncio.format_helpers", "_format_callback_source"),
    ("asyncio.futures", "_set_result_unless_cancelled"),
    ("TaskGroup", "_on_task_done"),
    ("TaskGroup", "_parent_task"),
    ("TaskGroup", "_tasks"),
    ("Timeout", "_on_timeout"),
    ("Timeout", "_task"),
    ("Semaphore", "_value"),
    ("Condition", "_lock"),
    *(("Queue", name) for name in ("_unfinished_tasks", "_getters", "_putters")),
    *(("Barrier", name) for name in ("_count", "_wait", "_release")),
)

Task = asyncio.Task  # the C Task on 3.11-3.13
GatheringFuture: type[asyncio.Future[Any]] = asyncio.tasks._GatheringFuture  # type: ignore[attr-defined]
SLEEP_TIMER = getattr(asyncio.futures, "_set_result_unless_cancelled", None)
GROUP_TASK_DONE = getattr(asyncio.TaskGroup, "_on_task_done", None)
TIMEOUT_FIRED = getattr(asyncio.Timeout, "_on_timeout", None)
# How a Task's own callbacks look (C Task on 3.11-3.13; then the pure-Python Task's methods).
C_STEP = "TaskStepMethWrapper"  # the C Task's step: no ``__name__``, known by its type's
STEPS = frozenset({C_STEP, "__step", "_Task__step"})
WAKEUPS = frozenset({"task_wakeup", "__wakeup", "_Task__wakeup"})

# Patch releases from 3.12.8 and 3.13.1 on make call_soon_threadsafe's handles locked ones.
LOCKED_THREADSAFE_HANDLES = hasattr(asyncio.events, "_ThreadSafeHandle")
# 3.13 formats a failed callback's arguments only in debug mode.
_FORMAT_TAKES_DEBUG = (
    "debug" in inspect.signature(format_helpers._format_callback_source).parameters
)


async def _probe() -> None:
    """Only to learn the type of a coroutine's ``__await__()`` iterator."""


def _wrapper_type() -> type:
    coro = _probe()
    try:
        return type(coro.__await__())
    finally:
        coro.close()


COROUTINE_WRAPPER = _wrapper_type()


def wrapped_coroutine(wrapper: Any) -> Any:
    """The coroutine a ``coroutine.__await__()`` iterator runs (None if it has none)."""
    return next(iter(gc.get_referents(wrapper)), None)


def missing() -> list[str]:
    """The private names of :data:`PRIVATE` this Python does not have (a port's to-do list)."""
    loop = asyncio.SelectorEventLoop()
    try:
        owners: dict[str, object] = {
            "Handle": asyncio.Handle,
            "TimerHandle": asyncio.TimerHandle,
            "loop": loop,
            "Task": Task,
            "asyncio.tasks": asyncio.tasks,
            "asyncio.format_helpers": format_helpers,
            "asyncio.futures": asyncio.futures,
            "TaskGroup": asyncio.TaskGroup(),
            "Timeout": asyncio.Timeout(None),
            "Semaphore": asyncio.Semaphore(),
            "Condition": asyncio.Condition(),
            "Queue": asyncio.Queue(),
            "Barrier": asyncio.Barrier(1),
        }
        return [f"{o}.{a}" for o, a in PRIVATE if not hasattr(owners[o], a)]
    finally:
        loop.close()


def is_step(callback: Any) -> bool:
    """Whether a callback a task scheduled is its next step (else: its wake-up)."""
    return (getattr(callback, "__name__", None) or type(callback).__name__) in STEPS


def handle_init(
    self: asyncio.Handle,
    callback: Callable[..., Any],
    args: Sequence[Any],
    loop: TracingLoop,
    context: contextvars.Context | None = None,
) -> None:
    """The stock ``Handle.__init__`` less its debug check, which costs a call per handle: the
    loop's methods take the source traceback themselves in debug mode."""
    self._context = contextvars.copy_context() if context is None else context  # type: ignore[attr-defined]
    self._loop = loop  # type: ignore[attr-defined]
    self._callback = callback  # type: ignore[attr-defined]
    self._args = args
    self._cancelled = False
    self._repr = None  # type: ignore[attr-defined]
    self._source_traceback = None  # type: ignore[attr-defined]


def report_error(handle: asyncio.Handle, exc: BaseException) -> None:
    """Report a callback that raised as the stock ``Handle._run`` does. (The timed handles run
    their callbacks themselves, as it does: a Python call less for every step.)"""
    loop: asyncio.AbstractEventLoop = handle._loop  # type: ignore[attr-defined]
    debug = {"debug": loop.get_debug()} if _FORMAT_TAKES_DEBUG else {}  # 3.13+
    callback = format_helpers._format_callback_source(handle._callback, handle._args, **debug)  # type: ignore[attr-defined]
    context = {"message": f"Exception in callback {callback}", "exception": exc, "handle": handle}
    if handle._source_traceback:  # type: ignore[attr-defined]
        context["source_traceback"] = handle._source_traceback  # type: ignore[attr-defined]
    loop.call_exception_handler(context)


def source_traceback(depth: int) -> Any:
    """The stack as a handle made in debug mode keeps it (``depth``: frames to skip)."""
    return program_frames(format_helpers.extract_stack(sys._getframe(depth + 1)))


_LOOPVIZ_DIR = os.path.dirname(os.path.dirname(__file__)) + os.sep
_RUNPY = frozenset({"<frozen runpy>", runpy.__file__})


def program_frames(stack: traceback.StackSummary) -> traceback.StackSummary:
    """A stack that asyncio keeps in debug mode (``_source_traceback``: where a task, future
    or handle was made) as the program run alone would show it: without loopviz's frames,
    nor the ``runpy`` frames below the program's own (the recorded process starts it)."""
    frames = [frame for frame in stack if not frame.filename.startswith(_LOOPVIZ_DIR)]
    first = 0
    while first < len(frames) and frames[first].filename in _RUNPY:
        first += 1
    return traceback.StackSummary.from_list(frames[first:])


def program_context(context: dict[str, Any]) -> dict[str, Any]:
    """What the loop reports (``call_exception_handler``), its stacks as ``program_frames``."""
    keys = [key for key in ("source_traceback", "handle_traceback") if context.get(key)]
    if not keys:
        return context
    return context | {key: program_frames(context[key]) for key in keys}
