"""The program's own source files, as the trace vouches for them (``trace.Source``): a viewer
shows a file's source only when the file it finds is the one that ran."""

from __future__ import annotations

import hashlib
from pathlib import Path

from loopviz.trace import MAX_SOURCE, Source


def source_record(file: str) -> Source | None:
    """What the trace says of ``file``: its size and hash (None: not a file, as a
    ``<string>`` code's). Read once, here, never on a loop's thread."""
    path = Path(file)
    try:
        size = path.stat().st_size
        if not path.is_file():
            return None
        if size > MAX_SOURCE:
            return Source(file, size, "")
        with path.open("rb") as opened:
            data = opened.read(MAX_SOURCE + 1)
    except OSError:
        return None
    if len(data) > MAX_SOURCE:  # it grew meanwhile
        return Source(file, len(data), "")
    return Source(file, len(data), hashlib.sha256(data).hexdigest())
