"""Recording a Python process that a recorded program started (``--follow-children``).

The recorded program's environment names the recording process's socket (``FOLLOW``) and
puts loopviz's bootstrap first on ``PYTHONPATH`` (``boot/sitecustomize.py``), so a Python
child (a ``multiprocessing`` spawn process, a ``subprocess`` of Python, uvicorn's and
hypercorn's workers) connects to the socket as it starts and says who it is
(``protocol.connect_child``); once it imports asyncio it calls :func:`start` and records its
loops as the program's own process does (``adopt.py``), on the trace's clock. A child made
by fork (``multiprocessing``'s fork and forkserver processes) starts a recording of its own
the same way, in :func:`forked`. The recording process writes their records into the one
trace, each run of them after a ``Process`` record naming it.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import sys
from typing import IO, NoReturn

from loopviz.protocol import connect_child, follow_spec
from loopviz.record import adopt
from loopviz.record.resources import uninstall
from loopviz.record.session import Recorder
from loopviz.trace import Exit


def start(stream: IO[bytes]) -> None:
    """Record this process on ``stream``, its connection to the recording process (which
    knows who it is: ``protocol.connect_child``)."""
    spec = follow_spec()
    if spec is None:
        return
    _, origin, block, no_uvloop = spec
    global _connection
    _connection = stream
    recorder = _recorder(stream, origin, block)
    adopt.install(recorder, no_uvloop=no_uvloop, follow=True)
    recorder.watch_resources()
    _write_out_at_exit(recorder)
    _note_spawned_exit(recorder)
    os.register_at_fork(after_in_child=forked)


def forked() -> None:
    """In a child made by fork of a recorded process (the program's, or a followed one's):
    its parent's recorder records nothing here, so it gets a recording of its own."""
    before = adopt.installed_recorder()
    spec = follow_spec()
    if before is None or spec is None:
        return
    path, origin, block, _ = spec
    global _connection
    if _connection is not None:
        let_go(_connection)
    stream = _connection = connect_child(path)
    if stream is None:
        return
    recorder = _recorder(stream, origin, block)
    if before.resources is not None:
        uninstall(before.resources)
    adopt.rebind(recorder)
    recorder.watch_resources()
    _write_out_at_exit(recorder)


def _note_spawned_exit(recorder: Recorder) -> None:
    """A multiprocessing spawn child ends with ``sys.exit(exitcode)`` from ``spawn_main``:
    its exit status, recorded as it goes (its parent may reap it only at its own exit, when
    its recording is over). Other callers of ``sys.exit`` are not noted: a program may catch
    the ``SystemExit``."""
    spawn = sys.modules.get("multiprocessing.spawn")
    if spawn is None:
        return
    code = spawn.spawn_main.__code__
    stock_exit = sys.exit

    @functools.wraps(stock_exit)
    def exit(status: str | int | None = None, /) -> NoReturn:
        if sys._getframe(1).f_code is code and isinstance(status, int) and recorder.enabled:
            with contextlib.suppress(Exception):
                recorder.emit(Exit(recorder.now(), os.getpid(), status & 0xFF))
        stock_exit(status)

    sys.exit = exit


def let_go(stream: IO[bytes]) -> None:
    """In a child made by fork: leave the connection it inherited to its parent, so that the
    connection closes when the parent ends (the recording reads that as the parent's end).
    Its descriptor is pointed at ``/dev/null`` rather than closed: the parent's recorder,
    copied here, still holds the number (and writes nothing)."""
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, stream.fileno())
    finally:
        os.close(null)


_connection: IO[bytes] | None = None  # this process's connection to the recording


def _recorder(stream: IO[bytes], origin: int, block: int) -> Recorder:
    recorder = Recorder(
        stream=stream,
        block_threshold=block / 1e9,
        program="",
        argv=(),
        writes_end=False,  # the recording process ends the trace
    )
    recorder.origin = origin  # the trace's clock (its header, unread, has its own)
    return recorder


def _write_out_at_exit(recorder: Recorder) -> None:
    """Send what the process recorded before it ends: at exit, or, as multiprocessing's fork
    and forkserver children end, in ``os._exit()`` (which runs no atexit handler), then
    with its exit status (an ``Exit`` record: the process that waits for it may not be
    recorded)."""
    atexit.register(recorder.close)
    stock_exit = os._exit

    def _exit(status: int) -> NoReturn:
        if recorder.enabled:
            with contextlib.suppress(Exception):
                recorder.emit(Exit(recorder.now(), os.getpid(), status & 0xFF))
        recorder.close()
        stock_exit(status)

    os._exit = _exit
