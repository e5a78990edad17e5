"""The event loops a recorded program makes itself: traced where loopviz can, reported where it
cannot.

A program does not always let ``asyncio.run()`` make its loop: uvicorn passes
``loop_factory=asyncio.SelectorEventLoop``, others call ``asyncio.new_event_loop()`` or set a
policy of their own, or ask for uvloop. :func:`install` (the recorded process calls it before
the program runs; a program using the API is never touched) changes what asyncio's own names
give, so that every way of asking for a stock loop gives a traced one:

- ``asyncio.SelectorEventLoop`` (and 3.13's ``asyncio.EventLoop``) becomes a
  :class:`~loopviz.record.loop.TracingLoop` subclass of the stock class's name, taking its
  arguments; the default policy's loop factory is that class, so ``asyncio.run()``,
  ``new_event_loop()`` and any policy subclassing the default one make traced loops.
- Every loop that starts running goes through ``asyncio._set_running_loop`` (uvloop's too): one
  that is not traced is reported (an ``Untraced`` record), with where the program made it and
  the package that asked for it.
- uvloop cannot be traced (its loop is C code). With ``no_uvloop`` its ``new_event_loop``,
  ``run``, ``install`` and ``EventLoopPolicy`` give traced stock loops instead, each time said.
- A Python child process (``multiprocessing``, ``subprocess`` of a Python) is noted with its
  pid: with ``follow`` it is recorded too (``follow.py``), and the recording says which of
  those it never heard from; without, it is reported, as its loop is not in the trace.
  With ``follow``, ``os.waitpid`` notes how each child it waits for ended (an ``Exit``
  record: the recording matches it to a child it followed by its pid).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.abc
import importlib.machinery
import os
import selectors
import site
import subprocess
import sys
import sysconfig
import weakref
from collections.abc import Callable, Sequence
from types import FrameType, ModuleType
from typing import Any, cast

from loopviz.record.loop import TracingLoop
from loopviz.record.session import Recorder
from loopviz.trace import Exit, Unseen, Untraced

_LOOPVIZ_DIR = os.path.dirname(os.path.dirname(__file__)) + os.sep
_NEVER_ASKERS = frozenset({"uvloop", "loopviz"})  # packages that serve a request, not make it

Made = tuple[str, int, str]  # (file, line) of the program's own code that made it; who asked


def install(recorder: Recorder, *, no_uvloop: bool = False, follow: bool = False) -> None:
    """Make this process's stock event loops traced by ``recorder``, and report the others;
    ``follow``: its Python child processes are followed (noted as ``Unseen.CHILD``)."""
    global _installed
    _installed = _Adopter(recorder, no_uvloop, Unseen.CHILD if follow else Unseen.PROCESS)
    _installed.install()


def installed_recorder() -> Recorder | None:
    """The recorder this process's loops are traced by (None: none installed)."""
    return _installed.recorder if _installed is not None else None


def rebind(recorder: Recorder) -> None:
    """In a child made by fork: the loops it makes from now on are traced by ``recorder``
    (its parent's recorder records nothing there)."""
    if _installed is not None:
        _installed.rebind(recorder)


def _third_party_dirs() -> tuple[str, ...]:
    """Where installed packages live (not the standard library)."""
    paths = sysconfig.get_paths()
    dirs = {paths["purelib"], paths["platlib"], *site.getsitepackages()}
    dirs |= {p for p in sys.path if p.endswith(("site-packages", "dist-packages"))}
    if site.ENABLE_USER_SITE and site.USER_SITE:
        dirs.add(site.USER_SITE)
    return tuple(d.rstrip(os.sep) + os.sep for d in dirs if d)


_installed: _Adopter | None = None  # this process's, once installed


class _Adopter:
    def __init__(self, recorder: Recorder, no_uvloop: bool, child: Unseen) -> None:
        self.recorder = recorder
        self.no_uvloop = no_uvloop
        self.child = child  # how a Python child process is noted
        self.loop_class = _traced_class(self)
        self._third_party = _third_party_dirs()
        self._made: weakref.WeakKeyDictionary[Any, Made] = weakref.WeakKeyDictionary()
        self._reported: weakref.WeakSet[Any] = weakref.WeakSet()
        self._said: set[tuple[int, str, str, int, str]] = set()

    def rebind(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self._reported = weakref.WeakSet()
        self._said = set()

    def install(self) -> None:
        cls = self.loop_class
        for module in (asyncio, asyncio.unix_events):
            for name in ("SelectorEventLoop", "EventLoop"):  # EventLoop: 3.13
                if hasattr(module, name):
                    setattr(module, name, cls)
        asyncio.DefaultEventLoopPolicy._loop_factory = cls  # type: ignore[attr-defined]
        asyncio.BaseEventLoop.__init__ = self._noting_init(asyncio.BaseEventLoop.__init__)  # type: ignore[method-assign]
        stock_set = asyncio.events._set_running_loop

        @functools.wraps(stock_set)
        def _set_running_loop(loop: asyncio.AbstractEventLoop | None) -> None:
            if loop is not None and not isinstance(loop, TracingLoop):
                self._ran_untraced(loop, sys._getframe(1))
            stock_set(loop)

        asyncio.events._set_running_loop = _set_running_loop
        asyncio._set_running_loop = _set_running_loop
        patches = {"uvloop": self._uvloop, "multiprocessing.process": self._multiprocessing}
        for name in [name for name in patches if name in sys.modules]:
            patch = patches.pop(name)  # imported already (by a sitecustomize): patched now
            self._guarded(lambda: patch(sys.modules[name]))  # noqa: B023 - called at once
        sys.meta_path.insert(0, _AfterImport(patches, self._guarded))
        subprocess.Popen.__init__ = self._noting_popen(subprocess.Popen.__init__)  # type: ignore[method-assign]
        if self.child == Unseen.CHILD:
            os.waitpid = self._noting_waitpid(os.waitpid)

    # --- what is said -----------------------------------------------------------------------
    def _say(self, kind: Unseen, what: str, made: Made, once: bool = True) -> None:
        recorder = self.recorder
        if not recorder.enabled:
            return
        file, line, by = made
        key = (int(kind), what, file, line, by)
        if once and key in self._said:
            return
        self._said.add(key)
        recorder.emit(Untraced(recorder.now(), kind, what, file, line, by))
        recorder.flush(force=True)

    def _maker(self, frame: FrameType | None) -> Made:
        """Where the program's own code is in this stack, and the package (the innermost
        installed one) that asked for what is made: "" when the program asked itself."""
        code_info = self.recorder.code
        by: str | None = None
        while frame is not None:
            code = frame.f_code
            if not code_info(code).library:
                return code.co_filename, frame.f_lineno, by or ""
            if by is None and code.co_filename.startswith(self._third_party):
                package = str(frame.f_globals.get("__name__", "")).partition(".")[0]
                if package and package not in _NEVER_ASKERS:
                    by = package
            frame = frame.f_back
        return "", 0, by or ""

    def _guarded(self, what: Callable[[], None]) -> None:
        """Run ``what``; a failure drops its note (counted), never the recording nor the
        program."""
        try:
            what()
        except Exception as exc:
            self.recorder.drop(exc)

    # --- loops --------------------------------------------------------------------------------
    def _noting_init(self, init: Callable[..., None]) -> Callable[..., None]:
        """``init`` (a loop class's ``__init__``), noting where each untraced loop is made."""

        @functools.wraps(init)
        def __init__(loop: Any, *args: Any, **kwargs: Any) -> None:
            if not isinstance(loop, TracingLoop):
                frame = sys._getframe(1)
                self._guarded(lambda: self._made.__setitem__(loop, self._maker(frame)))
            init(loop, *args, **kwargs)

        return __init__

    def _ran_untraced(self, loop: asyncio.AbstractEventLoop, frame: FrameType) -> None:
        def report() -> None:
            if loop in self._reported:
                return
            self._reported.add(loop)
            kind = type(loop)
            made = self._made.get(loop) or self._maker(frame)
            self._say(Unseen.LOOP, f"{kind.__module__}.{kind.__qualname__}", made)

        self._guarded(report)

    # --- uvloop -------------------------------------------------------------------------------
    def _uvloop(self, uvloop: ModuleType) -> None:
        if not self.no_uvloop:
            uvloop.Loop.__init__ = self._noting_init(uvloop.Loop.__init__)
            return
        traced = cast(Callable[[], asyncio.AbstractEventLoop], self.loop_class)
        stock_new = uvloop.new_event_loop

        def replaced(frame: FrameType) -> None:
            self._guarded(lambda: self._say(Unseen.REPLACED, "uvloop", self._maker(frame)))

        @functools.wraps(stock_new)
        def new_event_loop() -> asyncio.AbstractEventLoop:
            replaced(sys._getframe(1))
            return traced()

        @functools.wraps(uvloop.run)
        def run(
            main: Any,
            *,
            loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
            debug: bool | None = None,
            **run_kwargs: Any,
        ) -> Any:
            replaced(sys._getframe(1))
            if loop_factory in (None, stock_new, new_event_loop, uvloop.Loop):
                loop_factory = traced
            with asyncio.Runner(loop_factory=loop_factory, debug=debug, **run_kwargs) as runner:
                return runner.run(main)

        class EventLoopPolicy(asyncio.DefaultEventLoopPolicy):
            """uvloop's policy, replaced (``--no-uvloop``): the default one, traced."""

            def __init__(policy) -> None:
                replaced(sys._getframe(1))
                super().__init__()

        def install() -> None:
            """uvloop's ``install()``, replaced (``--no-uvloop``): a traced default policy."""
            asyncio.set_event_loop_policy(EventLoopPolicy())

        replacements = {
            "new_event_loop": new_event_loop,
            "run": run,
            "EventLoopPolicy": EventLoopPolicy,
            "install": install,
        }
        for name, replacement in replacements.items():
            setattr(uvloop, name, replacement)

    # --- child processes ----------------------------------------------------------------------
    def _multiprocessing(self, process: ModuleType) -> None:
        stock_start = process.BaseProcess.start

        @functools.wraps(stock_start)
        def start(proc: Any) -> None:
            stock_start(proc)
            frame = sys._getframe(1)
            self._guarded(lambda: self._child(str(proc.pid), frame))

        process.BaseProcess.start = start

    def _child(self, pid: str, frame: FrameType) -> None:
        self._say(self.child, pid, self._maker(frame), once=False)

    def _noting_waitpid(
        self, waitpid: Callable[[int, int], tuple[int, int]]
    ) -> Callable[[int, int], tuple[int, int]]:
        """``os.waitpid``, noting how a child it reaped ended (multiprocessing, subprocess
        and asyncio's child watchers wait for their children with it)."""

        @functools.wraps(waitpid)
        def noting_waitpid(pid: int, options: int, /) -> tuple[int, int]:
            reaped, status = waitpid(pid, options)
            if reaped > 0 and (os.WIFEXITED(status) or os.WIFSIGNALED(status)):
                self._guarded(lambda: self._exited(reaped, os.waitstatus_to_exitcode(status)))
            return reaped, status

        return noting_waitpid

    def _exited(self, pid: int, status: int) -> None:
        recorder = self.recorder
        if recorder.enabled:  # (sent with the next batch: flushing now could start the
            # writer thread, and a program that forks next must fork a single-threaded
            # process, as plain; the recording process reads a child's status itself too)
            recorder.emit(Exit(recorder.now(), pid, status))

    def _noting_popen(self, init: Callable[..., None]) -> Callable[..., None]:
        """``subprocess.Popen.__init__``, noting a process that runs a Python interpreter."""

        @functools.wraps(init)
        def __init__(popen: Any, args: Any, *rest: Any, **kwargs: Any) -> None:
            init(popen, args, *rest, **kwargs)
            executable = kwargs.get("executable", rest[1] if len(rest) > 1 else None)
            frame = sys._getframe(1)
            self._guarded(lambda: self._popen(popen.pid, executable, args, frame))

        return __init__

    def _popen(self, pid: int, executable: Any, argv: Any, frame: FrameType) -> None:
        if executable is None:
            if isinstance(argv, str | bytes | os.PathLike):
                return  # a command line for a shell, or a bare program: not known as Python
            executable = next(iter(argv), None)
        if executable is None:
            return
        path = os.fsdecode(executable)
        # Known by name, never by the file system: this may run on a loop's thread, where
        # the stock loop reads no files (under blockbuster, that would be an error).
        if os.path.basename(path).startswith("python") or path == sys.executable:
            self._child(str(pid), frame)


def _traced_class(adopter: _Adopter) -> type[TracingLoop]:
    """A traced loop class in the stock ``SelectorEventLoop``'s place: its name, its
    constructor's arguments, made traced by the adopter's recorder (a forked child's own)."""
    stock: type[asyncio.AbstractEventLoop] = asyncio.SelectorEventLoop

    class SelectorEventLoop(TracingLoop):
        def __init__(self, selector: selectors.BaseSelector | None = None) -> None:
            super().__init__(adopter.recorder, selector)

    SelectorEventLoop.__name__ = stock.__name__
    SelectorEventLoop.__qualname__ = stock.__qualname__
    SelectorEventLoop.__module__ = stock.__module__
    SelectorEventLoop.__doc__ = stock.__doc__
    return SelectorEventLoop


class _AfterImport(importlib.abc.MetaPathFinder):
    """Patches a module (by name) right after its first import, once."""

    def __init__(
        self,
        patches: dict[str, Callable[[ModuleType], None]],
        guarded: Callable[[Callable[[], None]], None],
    ) -> None:
        self._patches = patches
        self._guarded = guarded  # runs a patch, a failure of which stops the recording

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        patch = self._patches.pop(fullname, None)
        if patch is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        stock_exec = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            del loader.exec_module  # back to the stock method
            stock_exec(module)
            self._guarded(lambda: patch(module))

        with contextlib.suppress(AttributeError):  # a loader with slots: left as it is
            loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec
