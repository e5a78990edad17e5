"""The recorded program's own process: ``python -m loopviz.record.child PROGRAM [ARGS...]``.

Started by :mod:`loopviz.record.process`, never by hand. It installs an event loop policy whose
loops are traced, then runs the program as ``__main__`` exactly as ``python PROGRAM`` would (its
directory first on ``sys.path``, its own ``sys.argv``). Records stream to the parent over the
pipe named by ``LOOPVIZ_TRACE_FD``; the program's stdout and stderr stay its own.
"""

from __future__ import annotations

import asyncio
import io
import os
import runpy
import signal
import sys
import traceback
from pathlib import Path
from types import FrameType, TracebackType

from loopviz.protocol import BLOCK_NS, TEXT_FDS, TRACE_FD, OutputCap
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


def main() -> int:
    program, args = sys.argv[1], sys.argv[2:]
    fd = int(os.environ.pop(TRACE_FD))
    threshold = int(os.environ.pop(BLOCK_NS, "100000000")) / 1e9
    path = Path(program).resolve()
    recorder = Recorder(
        stream=os.fdopen(fd, "wb"),
        block_threshold=threshold,
        program=str(path),
        argv=args,
        user_files=[str(path)],
    )

    def stop(signum: int, _frame: FrameType | None) -> None:
        """Killed for a timeout: send what was recorded, then go."""
        recorder.close()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    cap = OutputCap()
    out_fd, err_fd = map(int, os.environ.pop(TEXT_FDS).split(","))
    sys.stdout = TimedLines(out_fd, Stream.STDOUT, recorder, cap)
    sys.stderr = TimedLines(err_fd, Stream.STDERR, recorder, cap)
    asyncio.set_event_loop_policy(recorder.policy())
    sys.argv = [program, *args]
    sys.path[0] = str(path.parent)
    status = 0
    try:
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
