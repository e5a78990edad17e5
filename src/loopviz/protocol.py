"""What the recording process and the recorded program's process agree on.

The parent (``record.process``) starts ``python -m loopviz.record.child`` with these
environment variables; the child reads and removes them before the program runs, so the
program never sees them. Records flow back on the pipe named by ``TRACE_FD``; what the program
prints through ``sys.stdout`` / ``sys.stderr`` flows on the two pipes of ``TEXT_FDS``.
"""

from __future__ import annotations

CHILD_MODULE = "loopviz.record.child"
TRACE_FD = "LOOPVIZ_TRACE_FD"  # the records' pipe
BLOCK_NS = "LOOPVIZ_BLOCK_NS"  # a step this long (ns) blocks the loop
TEXT_FDS = "LOOPVIZ_TEXT_FDS"  # "OUT,ERR": where sys.stdout and sys.stderr write
HTTP_BASE = "LOOPVIZ_HTTP_BASE"  # the local HTTP server's URL, for scenarios that fetch

MAX_OUTPUT_LINES = 100_000  # output past this many lines is passed on but not recorded
OUTPUT_CUT_NOTE = f"[loopviz: output past {MAX_OUTPUT_LINES:,} lines was not recorded]"
