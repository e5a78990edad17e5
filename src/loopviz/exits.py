"""Exit codes, and the one error type that carries its code.

Library modules raise :class:`LoopvizError` (or return results); only ``cli`` turns it into a
one-line message and an exit status. The codes are documented in the README.
"""

from __future__ import annotations

OK = 0
PROGRAM_FAILED = 1  # the recorded program raised or exited non-zero
USAGE = 2  # bad arguments, a file that is missing or not a trace
TIMEOUT = 3  # the program was killed after --timeout
BLOCKED = 4  # summary --max-block: a step blocked the loop for longer
INTERRUPTED = 130  # Ctrl-C


class LoopvizError(Exception):
    """Something the user can fix, said in one line; ``code`` is the exit status it means."""

    def __init__(self, message: str, code: int = USAGE) -> None:
        super().__init__(message)
        self.code = code
