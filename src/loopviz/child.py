"""The recorded program's own process: ``python -m loopviz.child PROGRAM [ARGS...]``.

Started by :mod:`loopviz.process`, never by hand. It installs an event loop policy whose loops
are traced, then runs the program as ``__main__`` exactly as ``python PROGRAM`` would (its
directory first on ``sys.path``, its own ``sys.argv``). Records stream to the parent over the
pipe named by ``LOOPVIZ_TRACE_FD``; the program's stdout and stderr stay its own.
"""

from __future__ import annotations

import asyncio
import os
import runpy
import signal
import sys
import traceback
from pathlib import Path
from types import FrameType, TracebackType

from loopviz.recorder import Recorder

TRACE_FD = "LOOPVIZ_TRACE_FD"
BLOCK_NS = "LOOPVIZ_BLOCK_NS"


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
        sys.stdout.flush()
        sys.stderr.flush()
        recorder.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
