"""The program's locks, semaphores, events, conditions, queues and barriers, recorded as
``Resource`` and ``Use`` records.

:func:`install` (``Recorder.watch_resources``: the recorded process calls it before the
program runs) wraps the constructors of asyncio's ``Lock``, ``Semaphore`` (and
``BoundedSemaphore``), ``Event``, ``Condition``, ``Queue`` (and ``PriorityQueue``,
``LifoQueue``) and ``Barrier``. One made by the program's own code (not by asyncio for its own
use, as a queue's event, nor by a library) gets an id, a ``Resource`` record (its kind, the
line that made it and the name that line binds it to, its capacity) and hooks of its own, set
on the object itself: the classes and every other object stay as they were and pay nothing.
One a dataclass's field makes (``field(default_factory=asyncio.Lock)``) is made where the
program made the dataclass's instance, and named after the field (``account.lock``).

- ``acquire`` and ``release`` of a lock, a semaphore or a condition, ``set`` and ``clear`` of
  an event, ``notify`` of a condition (``notify_all`` calls it), and where a party reaches a
  barrier (its ``_wait``) or the last one lets them all through (``_release``) record a
  ``Use`` each, with the task whose step did it and the level after.
- A queue's puts and gets are the hot path of a pipeline: each costs a few hundred
  nanoseconds, less than recording it would. They are counted from the queue's own books
  instead (``_unfinished_tasks``, plus the ``task_done`` calls, which are hooked, is every put
  so far; with the size, every get) whenever a task that uses the queue ends a step: one
  ``Use`` per op, with a count, says what that step did (stamped with the wake-up, when the
  step woke a task waiting on the queue). A task uses a queue it made, waited on, woke a task
  waiting on, or was given (see ``ResourceWatch``).

A hook calls the class's own method, so results, exceptions and the order of wake-ups are the
program's own; an exception passing through one leaves without the hook's frame in its
traceback. The hooks hold their object as its bound methods do: a hooked object is freed by
the garbage collector rather than as soon as the program drops it.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import linecache
import re
import sys
import time
import weakref
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from loopviz.record.code import frame_values
from loopviz.trace import Resource, ResourceKind, Use, UseOp, Wait

if TYPE_CHECKING:
    from loopviz.record.session import Recorder

_now = time.monotonic_ns
_running_loop = asyncio._get_running_loop

# The kind of each class, most derived first (a BoundedSemaphore is a Semaphore too).
_KINDS: tuple[tuple[type, ResourceKind], ...] = (
    (asyncio.BoundedSemaphore, ResourceKind.BOUNDED_SEMAPHORE),
    (asyncio.Semaphore, ResourceKind.SEMAPHORE),
    (asyncio.Lock, ResourceKind.LOCK),
    (asyncio.Event, ResourceKind.EVENT),
    (asyncio.Condition, ResourceKind.CONDITION),
    (asyncio.PriorityQueue, ResourceKind.PRIORITY_QUEUE),
    (asyncio.LifoQueue, ResourceKind.LIFO_QUEUE),
    (asyncio.Queue, ResourceKind.QUEUE),
    (asyncio.Barrier, ResourceKind.BARRIER),
)
# The classes whose constructors are wrapped (the others call one of these through super()).
_MADE = (asyncio.Lock, asyncio.Semaphore, asyncio.Event, asyncio.Condition, asyncio.Queue,
         asyncio.Barrier)  # fmt: skip
_QUEUES = frozenset({ResourceKind.QUEUE, ResourceKind.PRIORITY_QUEUE, ResourceKind.LIFO_QUEUE})
# The op that wakes a task waiting on a queue, and where the queue keeps such waiters.
_WAKES: dict[int, int] = {Wait.QUEUE_GET: UseOp.PUT, Wait.QUEUE_PUT: UseOp.GOT}
_WAITERS: dict[int, str] = {Wait.QUEUE_GET: "_getters", Wait.QUEUE_PUT: "_putters"}

_ACQUIRED, _RELEASED = int(UseOp.ACQUIRED), int(UseOp.RELEASED)
_SET, _CLEARED, _NOTIFIED = int(UseOp.SET), int(UseOp.CLEARED), int(UseOp.NOTIFIED)
_PUT, _GOT = int(UseOp.PUT), int(UseOp.GOT)
_ARRIVED, _PASSED = int(UseOp.ARRIVED), int(UseOp.PASSED)


def _running_tid() -> int:
    """The id of the task whose step runs now on this thread's traced loop (0: none)."""
    loop = _running_loop()
    return loop.running_tid if getattr(loop, "running_task", None) is not None else 0  # type: ignore[union-attr]


# --- the name a line binds what it makes to --------------------------------------------------
_ASSIGNED = re.compile(
    r"\s*(?P<name>[A-Za-z_][\w.]*)\s*(?::[^=]+)?=(?!=)\s*(?P<call>[A-Za-z_][\w.]*)\s*(?:\[.*\])?\s*\("
)


def bound_name(line: str, cls: type) -> str:
    """The name ``line`` binds a new ``cls`` to, if it says so plainly: ``gate`` of
    ``gate = asyncio.Semaphore(5)``, ``self.gate`` of ``self.gate = Semaphore(5)``,
    ``orders`` of ``orders: asyncio.Queue[int] = asyncio.Queue(2)``; "" for anything else
    (a list of them, a call's argument), where a name would mislead."""
    match = _ASSIGNED.match(line)
    if match is None:
        return ""
    called = match["call"].rsplit(".", 1)[-1]
    return match["name"] if called in {k.__name__ for k in cls.__mro__} else ""


def _field_made(instance: Any, obj: Any, frame: FrameType) -> str | None:
    """None unless ``frame`` is the ``__init__`` a dataclass generated for ``instance``
    (code of no file: the line that made ``instance`` is then ``obj``'s site); else the
    field whose ``default_factory`` made ``obj``, "" if several fields could be it."""
    cls = type(instance)
    if getattr(cls.__init__, "__code__", None) is not frame.f_code:
        return None
    fields = getattr(cls, "__dataclass_fields__", {}).values()
    made = [f.name for f in fields if f.default_factory is type(obj)]
    return made[0] if len(made) == 1 else ""


# --- the hooks, set on each object the program makes -----------------------------------------
# Each is a ``functools.partial`` of one of these, the watch, the resource id and the class's
# own method bound to the object. ``exc.__traceback__.tb_next`` then a bare ``raise``: the
# exception leaves with the hook's own frame taken out of its traceback.


async def _acquire(watch: ResourceWatch, rid: int, acquire: Callable[[], Any]) -> Any:
    try:
        result = await acquire()
    except BaseException as exc:
        exc.__traceback__ = exc.__traceback__.tb_next  # type: ignore[union-attr]
        raise
    watch.hold(rid, 1, _ACQUIRED, _now())
    return result


def _release(watch: ResourceWatch, rid: int, release: Callable[[], Any]) -> Any:
    t = _now()  # before the waiter it wakes is ready: the release comes first
    try:
        result = release()
    except BaseException as exc:
        exc.__traceback__ = exc.__traceback__.tb_next  # type: ignore[union-attr]
        raise
    watch.hold(rid, -1, _RELEASED, t)
    return result


def _flag(watch: ResourceWatch, rid: int, op: int, method: Callable[[], Any]) -> Any:
    t = _now()
    try:
        result = method()
    except BaseException as exc:
        exc.__traceback__ = exc.__traceback__.tb_next  # type: ignore[union-attr]
        raise
    watch.use(rid, op, 1 if op == _SET else 0, t)
    return result


def _notify(watch: ResourceWatch, rid: int, notify: Callable[[int], Any], n: int = 1) -> Any:
    t = _now()
    try:
        result = notify(n)
    except BaseException as exc:
        exc.__traceback__ = exc.__traceback__.tb_next  # type: ignore[union-attr]
        raise
    watch.use(rid, _NOTIFIED, watch.held[rid], t)
    return result


async def _arrive(watch: ResourceWatch, rid: int, last: bool, method: Callable[[], Any]) -> Any:
    """A barrier's ``_wait`` (a party arrived; its count is up) or ``_release`` (the last
    arrived: it lets them all go)."""
    barrier: Any = method.__self__  # type: ignore[attr-defined]
    t = _now()
    watch.use(rid, _ARRIVED, barrier._count, t)  # cpython.py
    if last:
        watch.use(rid, _PASSED, 0, t)
    try:
        return await method()
    except BaseException as exc:
        exc.__traceback__ = exc.__traceback__.tb_next  # type: ignore[union-attr]
        raise


def _task_done(queue: QueueBooks, task_done: Callable[[], Any]) -> Any:
    try:
        result = task_done()
    except BaseException as exc:
        exc.__traceback__ = exc.__traceback__.tb_next  # type: ignore[union-attr]
        raise
    queue.done += 1
    return result


class QueueBooks:
    """What was last seen of a queue: its puts so far and its size; and when the running
    step first woke a task waiting on it (0: it did not), and by what op."""

    __slots__ = ("done", "level", "puts", "queue", "rid", "wakes", "woke")

    def __init__(self, rid: int, queue: asyncio.Queue[Any]) -> None:
        self.rid = rid
        self.queue = weakref.ref(queue)
        self.done = 0  # task_done() calls
        self.puts = queue._unfinished_tasks  # type: ignore[attr-defined]  # cpython.py
        self.level = queue.qsize()
        self.woke = self.wakes = 0


class ResourceWatch:
    """The resources one recorder records: their ids, and what the session reads of them.

    ``users`` maps a task to the queues it uses, whose puts and gets are counted as each of
    its steps ends: those it made, waited on, woke a task waiting on, or was given (an
    argument of its coroutine, a variable it closes over). ``waits`` maps a task waiting on
    a resource to that queue's books (None: not a queue) and the op that will wake it.
    """

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder
        self.on = True
        self._next = itertools.count(1).__next__  # atomic: threads make resources too
        self._ids: dict[int, int] = {}  # id(object) -> resource id, while the object lives
        self._refs: dict[int, weakref.ref[Any]] = {}  # keeps the weak references that clear it
        self.held: dict[int, int] = {}  # by id: holders of a lock or condition, permits in use
        self.queues: dict[int, QueueBooks] = {}  # by resource id
        self.users: dict[int, list[QueueBooks]] = {}
        self.waits: dict[int, tuple[QueueBooks | None, int]] = {}
        self._names: dict[tuple[str, int, type, str], int] = {}

    # --- made ---------------------------------------------------------------------------------
    def made(self, obj: Any, frame: FrameType | None) -> None:
        """``obj``'s constructor returned; ``frame`` called it."""
        rec = self._recorder
        if not (self.on and rec.enabled):
            return
        try:
            # A subclass's constructor (BoundedSemaphore's, the program's) calls this one.
            name = ""
            while frame is not None and frame.f_code.co_name == "__init__":
                values = frame_values(frame, frame.f_code.co_varnames[:1])
                if values is None:
                    break
                if values[0] is not obj:
                    field = _field_made(values[0], obj, frame)
                    if field is None:
                        break
                    frame = frame.f_back  # the line that made the dataclass's instance
                    if frame is not None and field:  # ``account.lock``, or ``lock``
                        line = linecache.getline(frame.f_code.co_filename, frame.f_lineno)
                        bound = bound_name(line, type(values[0]))
                        name = f"{bound}.{field}" if bound else field
                    break
                frame = frame.f_back
            if frame is None or rec.code(frame.f_code).library:
                return  # asyncio's for its own use (a queue's event), or a library's
            self._register(obj, frame, name)
        except Exception as exc:
            rec.fail(exc)

    def _register(self, obj: Any, frame: FrameType, name: str = "") -> None:
        """Record ``obj``, made at ``frame``'s line, as ``name`` (by default the name that
        line binds it to)."""
        rec = self._recorder
        kind = next(kind for cls, kind in _KINDS if isinstance(obj, cls))
        rid = self._id(obj)
        self.held[rid] = 0
        file, line = frame.f_code.co_filename, frame.f_lineno
        capacity = 0
        hooks: dict[str, Any] = {}
        if kind in (ResourceKind.LOCK, ResourceKind.SEMAPHORE, ResourceKind.BOUNDED_SEMAPHORE):
            if kind != ResourceKind.LOCK:
                capacity = obj._value  # cpython.py
            hooks["acquire"] = functools.partial(_acquire, self, rid, obj.acquire)
            hooks["release"] = functools.partial(_release, self, rid, obj.release)
        elif kind == ResourceKind.EVENT:
            hooks["set"] = functools.partial(_flag, self, rid, _SET, obj.set)
            hooks["clear"] = functools.partial(_flag, self, rid, _CLEARED, obj.clear)
        elif kind == ResourceKind.CONDITION:
            lock = obj._lock  # cpython.py
            if id(lock) not in self._ids:  # its own lock (not one the program made): the same
                self._id(lock, rid)
                hooks["acquire"] = functools.partial(_acquire, self, rid, obj.acquire)
                hooks["release"] = functools.partial(_release, self, rid, obj.release)
            hooks["notify"] = functools.partial(_notify, self, rid, obj.notify)
        elif kind in _QUEUES:
            capacity = max(int(obj.maxsize), 0)
            books = self.queues[rid] = QueueBooks(rid, obj)
            hooks["task_done"] = functools.partial(_task_done, books, obj.task_done)
            self.uses(_running_tid(), books)
        else:  # a barrier
            capacity = obj.parties
            hooks["_wait"] = functools.partial(_arrive, self, rid, False, obj._wait)  # cpython.py
            hooks["_release"] = functools.partial(_arrive, self, rid, True, obj._release)
        key = (file, line, type(obj), name)
        said = self._names.get(key)
        if said is None:
            text = name or bound_name(linecache.getline(file, line), type(obj))
            said = self._names[key] = rec.intern(text) if text else 0
        rec.emit(Resource(rec.now(), rid, kind, said, rec.site(file, line), capacity))
        for attribute, hook in hooks.items():  # not vars(obj).update(): see met()
            setattr(obj, attribute, hook)

    def _id(self, obj: Any, rid: int = 0) -> int:
        """Give ``obj`` an id (a new one, or ``rid``), kept while it lives."""
        if not rid:
            rid = self._next()
        key, ids, refs = id(obj), self._ids, self._refs

        def gone(ref: weakref.ref[Any]) -> None:
            if ids.get(key) == rid:
                del ids[key]
            refs.pop(key, None)
            self.queues.pop(rid, None)

        ids[key] = rid
        refs[key] = weakref.ref(obj, gone)
        return rid

    # --- used ---------------------------------------------------------------------------------
    def use(self, rid: int, op: int, level: int, t: int) -> None:
        rec = self._recorder
        if self.on and rec.enabled:
            rec.emit(Use(t - rec.origin, rid, op, _running_tid(), level))

    def hold(self, rid: int, change: int, op: int, t: int) -> None:
        """A holder more (1) or fewer (-1) of a lock, condition or semaphore."""
        held = self.held
        held[rid] = level = max(held[rid] + change, 0)
        self.use(rid, op, level, t)

    # --- queues -------------------------------------------------------------------------------
    def uses(self, task: int, books: QueueBooks) -> None:
        """``task`` uses the queue: count its puts and gets at the end of each of its steps."""
        if task:
            mine = self.users.setdefault(task, [])
            if books not in mine:
                mine.append(books)

    def met(self, task: int, coro: Any) -> None:
        """A new task runs ``coro``: it uses the queues among its arguments and the variables
        it closes over. (Not its ``self``'s attributes: reading an object's ``__dict__`` on
        3.11 and 3.12 makes every later attribute access of the program's on it slower.)"""
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            return
        values = frame.f_locals
        try:
            found = list(values.values())
        finally:
            if type(values) is dict:  # see code.frame_values
                values.clear()
        ids, queues = self._ids, self.queues
        for value in found:
            books = queues.get(ids.get(id(value), 0))
            if books is not None:
                self.uses(task, books)

    def waiting(self, task: int, wait: int, future: Any, coro: Any) -> int:
        """``task`` waits on ``future`` in ``coro``, a method of a resource (``wait``): that
        resource's id (0: one not recorded). A queue's is found among those the task uses, by
        its waiting futures (``_getters``, ``_putters``); any other from ``coro``'s ``self``
        (which costs more: a frame object, its locals)."""
        waiters = _WAITERS.get(wait)
        if waiters is not None:
            for books in self.users.get(task, ()):
                queue = books.queue()
                if queue is not None and future in getattr(queue, waiters):  # cpython.py
                    self.waits[task] = books, _WAKES[wait]
                    return books.rid
        values = frame_values(coro.cr_frame, ("self",))
        rid = self._ids.get(id(values[0]), 0) if values else 0
        if rid:
            found = self.queues.get(rid)
            if found is not None:
                self.uses(task, found)
            self.waits[task] = found, _WAKES.get(wait, _PUT)
        return rid

    def woken(self, books: QueueBooks, wakes: int, by: int, t: int) -> None:
        """A task waiting on a queue is woken at ``t`` by ``by``'s step, doing ``wakes``. What
        ``by`` does to the queue in that step is counted as it ends, but stamped ``t``,
        ``wakes`` last: before the ``Ready`` of the task it woke. (Counted now if a callback
        woke it: ``by`` 0.)"""
        if not by:
            self.count(books, 0, t, wakes)
            return
        self.uses(by, books)
        if not books.woke:
            books.woke, books.wakes = t, wakes

    def stepped(self, task: int, t: int, done: bool) -> None:
        """``task``, which uses queues, ended a step at ``t`` (its last one if ``done``)."""
        for books in self.users.pop(task) if done else self.users[task]:
            self.count(books, task, t, _PUT)

    def count(self, books: QueueBooks, task: int, t: int, last: int) -> None:
        """Record the puts and gets of the queue since it was last seen, as ``task``'s, at
        ``t`` (or when its step woke a task waiting on the queue), the op ``last`` (or the
        one that woke that task) after the other. On every step of a task using a queue."""
        queue = books.queue()
        if queue is None:
            return
        if books.woke:
            t, last, books.woke = books.woke, books.wakes, 0
        puts = queue._unfinished_tasks + books.done  # type: ignore[attr-defined]  # cpython.py
        level = queue.qsize()
        put = puts - books.puts
        if (not put and level == books.level) or not (self.on and self._recorder.enabled):
            return
        got = put - level + books.level
        if put < 0:  # 3.13's shutdown(immediate=True) dropped items without task_done()
            put, got = 0, books.level - level
        books.puts, books.level = puts, level
        emit, rid = self._recorder.emit, books.rid
        if last == _PUT:
            if got > 0:
                emit(Use(t, rid, _GOT, task, level, got))
            if put:
                emit(Use(t, rid, _PUT, task, level, put))
        else:
            if put:
                emit(Use(t, rid, _PUT, task, level, put))
            if got > 0:
                emit(Use(t, rid, _GOT, task, level, got))

    def close(self, t: int) -> None:
        """The loop closes: count what no task was seen doing (``t``), stop recording."""
        for books in list(self.queues.values()):
            self.count(books, 0, t, _PUT)

    def stop(self) -> None:
        self.on = False


# --- installing ---------------------------------------------------------------------------------
_watch: ResourceWatch | None = None
_constructors: dict[type, Callable[..., None]] = {}


def _watched(constructor: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(constructor)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            constructor(self, *args, **kwargs)
        except BaseException as exc:
            exc.__traceback__ = exc.__traceback__.tb_next  # type: ignore[union-attr]
            raise
        if _watch is not None:
            _watch.made(self, sys._getframe(1))

    return __init__


def install(watch: ResourceWatch) -> None:
    """Record, through ``watch``, the resources the program makes from now on."""
    global _watch
    _watch = watch
    for cls in _MADE:
        if cls not in _constructors:
            _constructors[cls] = constructor = cls.__init__
            cls.__init__ = _watched(constructor)  # type: ignore[method-assign]


def uninstall(watch: ResourceWatch) -> None:
    """Stop ``watch``; if it is the one installed, give asyncio its own constructors back
    (the objects already hooked keep their hooks, which no longer record)."""
    global _watch
    watch.stop()
    if _watch is not watch:
        return
    _watch = None
    for cls, constructor in _constructors.items():
        cls.__init__ = constructor  # type: ignore[misc]
    _constructors.clear()
