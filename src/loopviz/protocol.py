"""What the recording process and the recorded program's process agree on.

The parent (``record.process``) starts ``python -m loopviz.record.child`` with these
environment variables; the child reads and removes them before the program runs, so the
program never sees them (but ``FOLLOW``, which its own Python children need). Records flow
back on the pipe named by ``TRACE_FD``. Everything the program writes reaches its file
descriptors 1 and 2, pipes to the parent, which records each line; what it writes through
``sys.stdout`` / ``sys.stderr`` is also sent just before as a timed copy on the two pipes of
``TEXT_FDS``, which places those lines in time (``record/output.py``).
"""

from __future__ import annotations

import os
import sys

MYPY = False  # typing's TYPE_CHECKING, without importing typing: every Python child runs this
if MYPY:
    from typing import IO

CHILD_MODULE = "loopviz.record.child"
TRACE_FD = "LOOPVIZ_TRACE_FD"  # the records' pipe
BLOCK_NS = "LOOPVIZ_BLOCK_NS"  # a step this long (ns) blocks the loop
TEXT_FDS = "LOOPVIZ_TEXT_FDS"  # "OUT,ERR": the copies of what sys.stdout and sys.stderr write
HTTP_BASE = "LOOPVIZ_HTTP_BASE"  # the local HTTP server's URL, for scenarios that fetch
NO_UVLOOP = "LOOPVIZ_NO_UVLOOP"  # "1": uvloop's loops are replaced by traced stock ones
# Following child processes: "SOCKET" as the parent sets it, "SOCKET|ORIGIN_NS|BLOCK_NS|UVLOOP"
# once the program's process knows its clock's origin. Unlike the others it stays in the
# environment, with the bootstrap folder first on PYTHONPATH, for the program's children.
FOLLOW = "LOOPVIZ_FOLLOW"

COMMAND_CHARS = 300  # a followed child's command line is cut to this many characters


def follow_spec() -> tuple[str, int, int, bool] | None:
    """What a Python child of the recorded program needs to be followed: the socket, the
    trace's clock origin, the block threshold (ns) and whether uvloop is replaced (None:
    not followed)."""
    spec = os.environ.get(FOLLOW, "")
    if TRACE_FD in os.environ or spec.count("|") != 3:
        return None  # the program's own process (child.py records it), or not followed
    path, origin, block, uvloop = spec.split("|")
    return path, int(origin), int(block), uvloop == "1"


def connect_child(path: str) -> IO[bytes] | None:
    """Connect this process to the recording process and say who it is in one line,
    ``PID PPID COMMAND``; its records follow (None: the recording is over). Light on
    purpose (no json, no typing): every Python child of the program runs it as it starts."""
    import socket

    try:
        channel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        channel.connect(path)
    except OSError:
        return None
    stream = channel.makefile("wb")
    channel.close()  # the file keeps the connection open
    argv = list(getattr(sys, "orig_argv", sys.argv))
    if argv[1:3] == ["-m", CHILD_MODULE]:  # forked from the program's process: as run
        del argv[1:3]
    command = " ".join(argv).replace("\n", " ")[:COMMAND_CHARS]
    try:
        stream.write(f"{os.getpid()} {os.getppid()} {command}\n".encode("utf-8", "replace"))
        stream.flush()
    except OSError:
        return None
    return stream


def read_hello(line: bytes) -> tuple[int, int, str] | None:
    """The pid, parent's pid and command line a child said (``connect_child``)."""
    pid, ppid, command = [*line.decode("utf-8", "replace").rstrip("\n").split(" ", 2), "", ""][:3]
    if not (pid.isdigit() and ppid.isdigit()):
        return None
    return int(pid), int(ppid), command


PAUSE = "LOOPVIZ_PAUSE"  # SIGUSR1 pauses and resumes recording; "paused": it starts paused

MAX_LINE = 8192  # bytes: a longer output line is recorded as lines of this length
MAX_OUTPUT_LINES = 100_000  # output past this many lines is passed on but not recorded
OUTPUT_CUT_NOTE = f"[loopviz: output past {MAX_OUTPUT_LINES:,} lines was not recorded]"


class OutputCap:
    """The output cap, counted over all of a run's recorded lines, stdout's and stderr's:
    past :data:`MAX_OUTPUT_LINES`, one note that the rest was not recorded, then nothing."""

    def __init__(self) -> None:
        self.lines = 0

    def admit(self, text: str) -> str | None:
        """What to record for the next line, ``text``: itself, the note, or nothing (None)."""
        self.lines += 1
        if self.lines <= MAX_OUTPUT_LINES:
            return text
        return OUTPUT_CUT_NOTE if self.lines == MAX_OUTPUT_LINES + 1 else None
