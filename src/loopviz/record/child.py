"""The recorded program's own process:
``python -m loopviz.record.child [PROGRAM | -m MODULE] [ARGS...]``.

Started by :mod:`loopviz.record.process`, never by hand. It makes the loops the program asks
for traced ones (``adopt.py``), then runs the program as ``__main__`` exactly as ``python
PROGRAM`` (or ``python -m MODULE``) would: its directory (the current one for a module) first
on ``sys.path``, its own ``sys.argv``. Records stream to the parent over the pipe named by
``LOOPVIZ_TRACE_FD``; the program's stdout and stderr stay its own. Its Python children are
followed (``follow.py``) when the parent asked (``LOOPVIZ_FOLLOW``).
"""

from __future__ import annotations

import functools
import importlib.util
import io
import os
import runpy
import signal
import sys
import traceback
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, NoReturn

from loopviz.protocol import (
    BLOCK_NS,
    FOLLOW,
    MAX_LINE,
    NO_UVLOOP,
    PAUSE,
    TEXT_FDS,
    TRACE_FD,
    OutputCap,
)
from loopviz.record import adopt
from loopviz.record.follow import forked
from loopviz.record.session import Recorder
from loopviz.trace import Output, Stream

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer


class TimedOutput(io.RawIOBase):
    """What the program writes through ``sys.stdout`` or ``sys.stderr`` (text, or bytes
    through ``.buffer``): passed on byte for byte, each line recorded when it is written, so
    output sits in step with the timeline (the parent reading a pipe would see it late
    whenever it is busy).

    It goes to a pipe of its own (``TEXT_FDS``) only while the program's file descriptor 1
    (or 2) is still the pipe it started with and this process is still the recorded one;
    otherwise it is written to that descriptor as plain Python would: closed, it fails;
    redirected, it goes there; in a child made by fork, the recording process records it."""

    def __init__(
        self, fd: int, target: int, stream: Stream, recorder: Recorder, cap: OutputCap
    ) -> None:
        super().__init__()
        self._fd = fd
        self._target = target
        self._pipe = _identity(target)
        self._stream = stream
        self._recorder = recorder
        self._partial = b""
        self._cap = cap  # shared by stdout and stderr

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._target  # as the program's own sys.stdout says: 1 (or 2)

    def write(self, data: ReadableBuffer) -> int:
        if not (self._recorder.enabled and _identity(self._target) == self._pipe):
            return os.write(self._target, data)
        written = os.write(self._fd, data)
        chunk = self._partial + bytes(memoryview(data)[:written])
        *lines, self._partial = chunk.split(b"\n")
        for line in lines:
            self._record(line)
        while len(self._partial) >= MAX_LINE:  # a long line is recorded in pieces
            self._record(self._partial[:MAX_LINE])
            self._partial = self._partial[MAX_LINE:]
        return written

    def finish(self) -> None:
        """The program is over: record a last line that has no newline."""
        if self._partial:
            self._record(self._partial)
            self._partial = b""

    def _record(self, line: bytes) -> None:
        for start in range(0, max(len(line), 1), MAX_LINE):
            text = self._cap.admit(line[start : start + MAX_LINE].decode("utf-8", "replace"))
            rec = self._recorder
            if text is not None and rec.enabled:
                rec.emit(Output(rec.now(), self._stream, text.rstrip("\r")))
                rec.flush()  # a batch once enough has gathered, even with no event loop running


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
        user_files=[str(path)],
        writes_end=False,  # the recording process ends the trace, with the exit status
    )
    recorder.note_sources([str(path)])  # at once: a live viewer shows its source meanwhile

    cap = OutputCap()
    out_fd, err_fd = map(int, os.environ.pop(TEXT_FDS).split(","))
    outputs = [
        TimedOutput(out_fd, 1, Stream.STDOUT, recorder, cap),
        TimedOutput(err_fd, 2, Stream.STDERR, recorder, cap),
    ]
    sys.stdout, sys.stderr = (_program_stream(raw) for raw in outputs)
    exit_now = os._exit

    def finish() -> None:
        """Record a last line that has no newline and send everything recorded."""
        for output in outputs:
            output.finish()
        recorder.close()

    def stop(signum: int, _frame: FrameType | None) -> None:
        """Killed for a timeout: send what was recorded, then go."""
        finish()
        exit_now(128 + signum)

    @functools.wraps(exit_now)
    def exit_sending(status: int) -> NoReturn:
        """``os._exit``, which ends the process at once: first send what was recorded (else
        a busy loop's last quarter second of records would be lost)."""
        finish()  # in a child made by fork, nothing: its recorder is off
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
        finish()
    return status


if __name__ == "__main__":
    sys.exit(main())
