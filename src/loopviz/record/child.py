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

import importlib.util
import io
import os
import runpy
import signal
import sys
import traceback
from pathlib import Path
from types import FrameType, TracebackType

from loopviz.protocol import BLOCK_NS, FOLLOW, NO_UVLOOP, PAUSE, TEXT_FDS, TRACE_FD, OutputCap
from loopviz.record import adopt
from loopviz.record.follow import forked
from loopviz.record.session import Recorder
from loopviz.trace import Output, Stream


class TimedLines(io.TextIOWrapper):
    """The program's ``sys.stdout`` or ``sys.stderr``: records each line when it is written,
    so output sits in step with the timeline (the parent reading a pipe would see it late
    whenever it is busy), then passes it on to the recording process."""

    def __init__(self, fd: int, stream: Stream, recorder: Recorder, cap: OutputCap) -> None:
        super().__init__(
            open(fd, "wb", buffering=0),  # noqa: SIM115 - closed with the wrapper
            encoding="utf-8",
            errors="backslashreplace",
            write_through=True,
        )
        self._stream = stream
        self._recorder = recorder
        self._partial = ""
        self._cap = cap  # shared by stdout and stderr

    def write(self, text: str) -> int:
        written = super().write(text)
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            self._record(line)
        return written

    def finish(self) -> None:
        """The program is over: record a last line that has no newline."""
        if self._partial:
            self._record(self._partial)
            self._partial = ""

    def _record(self, line: str) -> None:
        text = self._cap.admit(line.rstrip("\r"))
        rec = self._recorder
        if text is not None and rec.enabled:
            rec.emit(Output(rec.now(), self._stream, text))
            rec.flush()  # a batch once enough has gathered, even with no event loop running


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

    def stop(signum: int, _frame: FrameType | None) -> None:
        """Killed for a timeout: send what was recorded, then go."""
        recorder.close()
        os._exit(128 + signum)

    follow = os.environ.get(FOLLOW)
    if follow:  # the program's Python children record on this trace's clock (follow.py)
        uvloop = "1" if no_uvloop else "0"
        os.environ[FOLLOW] = f"{follow}|{recorder.origin}|{recorder.block_threshold_ns}|{uvloop}"
    signal.signal(signal.SIGTERM, stop)
    if pause:  # asked for: SIGUSR1 is then the recorder's, not the program's
        signal.signal(signal.SIGUSR1, lambda _signum, _frame: recorder.toggle_pause())
        if pause == "paused":
            recorder.pause()
    cap = OutputCap()
    out_fd, err_fd = map(int, os.environ.pop(TEXT_FDS).split(","))
    sys.stdout = TimedLines(out_fd, Stream.STDOUT, recorder, cap)
    sys.stderr = TimedLines(err_fd, Stream.STDERR, recorder, cap)
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
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, TimedLines):
                stream.finish()
        recorder.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
