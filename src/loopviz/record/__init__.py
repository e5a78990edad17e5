"""Recording: the instrumented event loop, the recording session, and running a program
under them in a child process. It writes traces and knows nothing of the model or the screen.

The public API, from Python::

    from loopviz.record import Recorder

    with Recorder("run.trace.jsonl") as rec:
        asyncio.run(main(), loop_factory=rec.loop)  # 3.12+

``Recorder`` and ``TracingLoop`` are imported on first use, so that the recording process
(``loopviz.record.process``), which only runs the program in a child, never loads the loop.

The modules: ``hooks`` (the seam between loop and session), ``loop`` and ``handles`` (the
instrumented loop), ``cpython`` (every CPython private the loop relies on), ``session`` (ids,
interning, the records), ``code`` (the program's code or a library's), ``sink`` (the writer
thread), ``watchdog``, ``child`` (the program's process) and ``process`` (the parent's side).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loopviz.record.loop import TracingLoop
    from loopviz.record.session import Recorder

__all__ = ["Recorder", "TracingLoop"]


def __getattr__(name: str) -> Any:
    if name == "Recorder":
        from loopviz.record.session import Recorder

        return Recorder
    if name == "TracingLoop":
        from loopviz.record.loop import TracingLoop

        return TracingLoop
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
