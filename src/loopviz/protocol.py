"""What the recording process and the recorded program's process agree on.

The parent (``record.process``) starts ``python -m loopviz.record.child`` with these
environment variables; the child reads and removes them before the program runs, so the
program never sees them. Records flow back on the pipe named by ``TRACE_FD``; what the program
prints through ``sys.stdout`` / ``sys.stderr`` flows on the two pipes of ``TEXT_FDS`` (recorded
by the child), what reaches its file descriptors 1 and 2 otherwise on their own pipes (recorded
by the parent).
"""

from __future__ import annotations

CHILD_MODULE = "loopviz.record.child"
TRACE_FD = "LOOPVIZ_TRACE_FD"  # the records' pipe
BLOCK_NS = "LOOPVIZ_BLOCK_NS"  # a step this long (ns) blocks the loop
TEXT_FDS = "LOOPVIZ_TEXT_FDS"  # "OUT,ERR": where sys.stdout and sys.stderr write
HTTP_BASE = "LOOPVIZ_HTTP_BASE"  # the local HTTP server's URL, for scenarios that fetch
NO_UVLOOP = "LOOPVIZ_NO_UVLOOP"  # "1": uvloop's loops are replaced by traced stock ones

MAX_LINE = 8192  # bytes: a longer output line is recorded as lines of this length
MAX_OUTPUT_LINES = 100_000  # output past this many lines is passed on but not recorded
OUTPUT_CUT_NOTE = f"[loopviz: output past {MAX_OUTPUT_LINES:,} lines was not recorded]"


class OutputCap:
    """The output cap, counted over all of a run's recorded lines: past
    :data:`MAX_OUTPUT_LINES`, one note that the rest was not recorded, then nothing. The
    child counts what the program writes through ``sys.stdout`` / ``sys.stderr``, the parent
    what reaches the file descriptors directly."""

    def __init__(self) -> None:
        self.lines = 0

    def admit(self, text: str) -> str | None:
        """What to record for the next line, ``text``: itself, the note, or nothing (None)."""
        self.lines += 1
        if self.lines <= MAX_OUTPUT_LINES:
            return text
        return OUTPUT_CUT_NOTE if self.lines == MAX_OUTPUT_LINES + 1 else None
