"""The recorded program's own process:
``python -m loopviz.record.child [PROGRAM | -m MODULE] [ARGS...]``.

Started by :mod:`loopviz.record.process`, never by hand. It makes the loops the program asks
for traced ones (``adopt.py``), then runs the program as ``__main__`` exactly as ``python
PROGRAM`` (or ``python -m MODULE``) would: its directory (the current one for a module) first
on ``sys.path``, its own ``sys.argv``. Records stream to the parent over the pipe named by
``LOOPVIZ_TRACE_FD``; the program's stdout and stderr stay its own (``TimedOutput``). Its
Python children are followed (``follow.py``) when the parent asked (``LOOPVIZ_FOLLOW``).
"""

from __future__ import annotations

import functools
import importlib.util
import io
import itertools
import os
import runpy
import signal
import sys
import threading
import traceback
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, NoReturn

from loopviz.protocol import (
    BLOCK_NS,
    FOLLOW,
    NO_UVLOOP,
    PAUSE,
    TEXT_FDS,
    TRACE_FD,
)
from loopviz.record import adopt
from loopviz.record.code import library_prefixes
from loopviz.record.follow import forked
from loopviz.record.output import copy_frame, cut_frame
from loopviz.record.session import Recorder

if TYPE_CHECKING:
    from collections.abc import Iterator

    from _typeshed import ReadableBuffer


class TimedOutput(io.RawIOBase):
    """What the program writes through ``sys.stdout`` or ``sys.stderr`` (text, or bytes
    through ``.buffer``): written to its descriptor 1 (or 2) as plain Python writes it, one
    ``os.write`` a write, so it keeps its place among what reaches the descriptor otherwise.
    Just before, a copy goes to the recording process on a pipe of its own (``output.py``),
    saying when it was written, so that its lines sit in step with the timeline (the
    recording process reading the descriptor would see them late whenever it is busy).

    A copy is sent only while the descriptor is still the pipe it started as and this process
    is still the recorded one: closed, a write fails as plain; redirected, it goes there; in
    a child made by fork, the recording process records what arrives as it arrives."""

    def __init__(self, fd: int, target: int, recorder: Recorder, order: Iterator[int]) -> None:
        super().__init__()
        self._fd = fd
        self._target = target
        self._pipe = _identity(target)
        self._recorder = recorder
        self._order = order  # shared by stdout and stderr: the order of their writes
        self._lock = threading.RLock()  # a copy and its write go together (RLock: a signal
        # handler may print while a write is under way)
        self._copying = True
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        self._copying = False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._target  # as the program's own sys.stdout says: 1 (or 2)

    def write(self, data: ReadableBuffer) -> int:
        if not (self._copying and _identity(self._target) == self._pipe):
            return os.write(self._target, data)
        rec = self._recorder
        chunk = bytes(data)
        with self._lock:
            seq = next(self._order)
            try:
                _write_all(self._fd, copy_frame(seq, rec.now(), rec.paused_at is None, chunk))
            except BaseException as exc:
                # The recording process is gone, or a frame was cut off (by an exception from
                # a signal handler): no more copies (the next one would be misread).
                self._copying = False
                if isinstance(exc, OSError):
                    return os.write(self._target, chunk)
                raise
            written = 0
            try:
                written = os.write(self._target, chunk)
            finally:
                if written < len(chunk):
                    self._cut(seq, written)
            return written

    def _cut(self, seq: int, written: int) -> None:
        """Only ``written`` bytes of copy ``seq`` were written (the write failed, or was cut
        short by a signal): the rest will never come."""
        try:
            _write_all(self._fd, cut_frame(seq, written))
        except OSError:
            self._copying = False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _identity(fd: int) -> tuple[int, int] | None:
    """What file descriptor ``fd`` is open on (None: it is closed)."""
    try:
        found = os.fstat(fd)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _program_stream(raw: TimedOutput) -> io.TextIOWrapper:
    """The program's ``sys.stdout`` or ``sys.stderr``: as Python made it (its encoding and
    error handler), writing through to ``raw``."""
    made = sys.stdout if raw.fileno() == 1 else sys.stderr
    return io.TextIOWrapper(
        raw,  # type: ignore[arg-type]
        encoding=made.encoding,
        errors=made.errors,
        write_through=True,
    )


def _program_traceback(exc: BaseException) -> str:
    """The traceback as ``python PROGRAM`` would print it, without loopviz's and runpy's frames."""
    tb: TracebackType | None = exc.__traceback__
    while tb is not None and not _is_program_frame(tb.tb_frame):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _is_program_frame(frame: FrameType) -> bool:
    name = frame.f_code.co_filename
    return not (name.startswith("<frozen") or name == runpy.__file__ or name == __file__)


def _module_file(name: str) -> str | None:
    """The file ``python -m name`` runs (a package's ``__main__``), or None after saying why
    not as Python says it."""
    try:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations is not None:
            spec = importlib.util.find_spec(f"{name}.__main__")
            if spec is None:
                why = f"'{name}' is a package and cannot be directly executed"
                print(f"{sys.executable}: No module named {name}.__main__; {why}", file=sys.stderr)
                return None
    except (ImportError, ValueError) as exc:
        why = f"{type(exc).__name__}: {exc}"
        finding = f"Error while finding module specification for {name!r}"
        print(f"{sys.executable}: {finding} ({why})", file=sys.stderr)
        return None
    if spec is None or spec.origin is None:
        print(f"{sys.executable}: No module named {name}", file=sys.stderr)
        return None
    return spec.origin


def _installed(path: Path) -> bool:
    """Whether the file ``python -m`` runs is an installed package's (``python -m uvicorn``:
    its ``__main__.py`` in site-packages), or the standard library's, rather than the
    program's own: it lies where libraries do, and not in the current folder outside a
    site-packages folder (a virtualenv's, in the project, is still installed packages)."""
    if not str(path).startswith(library_prefixes()):
        return False
    try:
        inside = path.relative_to(Path.cwd().resolve()).parts
    except ValueError:
        return True
    return "site-packages" in inside or "dist-packages" in inside


def main() -> int:
    module = sys.argv[1] == "-m"
    program, args = (sys.argv[2], sys.argv[3:]) if module else (sys.argv[1], sys.argv[2:])
    fd = int(os.environ.pop(TRACE_FD))
    threshold = int(os.environ.pop(BLOCK_NS, "100000000")) / 1e9
    no_uvloop = os.environ.pop(NO_UVLOOP, "") == "1"
    pause = os.environ.pop(PAUSE, "")
    if module:
        sys.path[0] = os.getcwd()  # as python -m has it (the recorded process's own -m too)
        found = _module_file(program)
        if found is None:
            os.close(fd)
            return 1
        path = Path(found).resolve()
    else:
        path = Path(program).resolve()
        sys.path[0] = str(path.parent)
    recorder = Recorder(
        stream=os.fdopen(fd, "wb"),
        block_threshold=threshold,
        program=str(path),
        argv=args,
        # An installed package's __main__ counts as a library's, as the rest of the package
        # does: what it runs is sited in the program's code (the app uvicorn serves). A
        # console script's stub does too (``CodeBook``); a file the user ran is their own.
        user_files=[] if module and _installed(path) else [str(path)],
        writes_end=False,  # the recording process ends the trace, with the exit status
    )
    recorder.note_sources([str(path)])  # at once: a live viewer shows its source meanwhile

    order = itertools.count()
    copies = [int(fd) for fd in os.environ.pop(TEXT_FDS).split(",")]
    for fd in copies:
        os.set_inheritable(fd, False)  # the program's subprocesses need not hold them open
    sys.stdout, sys.stderr = (
        _program_stream(TimedOutput(fd, target, recorder, order))
        for fd, target in zip(copies, (1, 2), strict=True)
    )
    exit_now = os._exit

    def stop(signum: int, _frame: FrameType | None) -> None:
        """Stopped (loopviz's timeout, or a SIGTERM passed on): send what was recorded, then
        end by the signal itself, as the program would have alone (its exit status says so)."""
        recorder.close()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        exit_now(128 + signum)  # (only should the signal be blocked in this thread)

    @functools.wraps(exit_now)
    def exit_sending(status: int) -> NoReturn:
        """``os._exit``, which ends the process at once: first send what was recorded (else
        a busy loop's last quarter second of records would be lost)."""
        recorder.close()  # in a child made by fork, nothing: its recorder is off
        exit_now(status)

    follow = os.environ.get(FOLLOW)
    if follow:  # the program's Python children record on this trace's clock (follow.py)
        uvloop = "1" if no_uvloop else "0"
        os.environ[FOLLOW] = f"{follow}|{recorder.origin}|{recorder.block_threshold_ns}|{uvloop}"
    signal.signal(signal.SIGTERM, stop)
    if pause:  # asked for: SIGUSR1 is then the recorder's, not the program's
        signal.signal(signal.SIGUSR1, lambda _signum, _frame: recorder.toggle_pause())
        if pause == "paused":
            recorder.pause()
    os._exit = exit_sending
    adopt.install(recorder, no_uvloop=no_uvloop, follow=bool(follow))
    if follow:  # a child made by fork records on its own (multiprocessing's fork start)
        os.register_at_fork(after_in_child=forked)
    recorder.watch_resources()
    sys.argv = [str(path) if module else program, *args]
    status = 0
    try:
        if module:
            runpy.run_module(program, run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(str(path), run_name="__main__")
    except SystemExit as exc:
        code = exc.code
        if isinstance(code, int) or code is None:
            status = code or 0
        else:
            print(code, file=sys.stderr)
            status = 1
    except KeyboardInterrupt:
        status = 128 + signal.SIGINT
    except BaseException as exc:
        text = _program_traceback(exc)
        recorder.program_error(exc, text)
        sys.stderr.write(text)
        status = 1
    finally:
        recorder.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
