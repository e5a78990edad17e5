"""Recording a Python process that a recorded program started (``--follow-children``).

The recorded program's environment names the recording process's socket (``FOLLOW``) and
puts loopviz's bootstrap first on ``PYTHONPATH`` (``boot/sitecustomize.py``), so a Python
child (a ``multiprocessing`` spawn process, a ``subprocess`` of Python, uvicorn's and
hypercorn's workers) calls :func:`start` as it starts: it connects to the socket, says who it
is in a ``Process`` record, and records its loops as the program's own process does
(``adopt.py``), on the trace's clock. A child made by fork (``multiprocessing``'s fork and
forkserver processes) starts a recording of its own the same way, in :func:`forked`. The
recording process writes their records into the one trace, each run of them after a
``Process`` record naming it.
"""

from __future__ import annotations

import atexit
import os
import shlex
import socket
import sys
from collections.abc import Callable
from typing import NoReturn

from loopviz.protocol import CHILD_MODULE, FOLLOW, TRACE_FD
from loopviz.record import adopt
from loopviz.record.resources import uninstall
from loopviz.record.session import Recorder
from loopviz.trace import Process, encode_records

COMMAND_CHARS = 300  # a command line is cut to this many characters


def start() -> None:
    """Record this process into the recording its parent's environment names, if any.
    Anything that goes wrong leaves the process as it was, unrecorded."""
    if TRACE_FD in os.environ:
        return  # the program's own process: child.py records it
    made = _connect()
    if made is None:
        return
    recorder, no_uvloop = made
    adopt.install(recorder, no_uvloop=no_uvloop, follow=True)
    recorder.watch_resources()
    atexit.register(recorder.close)
    os.register_at_fork(after_in_child=forked)


def forked() -> None:
    """In a child made by fork of a recorded process (the program's, or a followed one's):
    its parent's recorder records nothing here, so it gets a recording of its own."""
    before = adopt.installed_recorder()
    made = _connect()
    if made is None or before is None:
        return
    recorder, _ = made
    if before.resources is not None:
        uninstall(before.resources)
    adopt.rebind(recorder)
    recorder.watch_resources()
    atexit.register(recorder.close)
    # multiprocessing's fork and forkserver children end with os._exit(), which runs no
    # atexit handler: what the child recorded is written out first.
    _exit_after(recorder.close)


def _connect() -> tuple[Recorder, bool] | None:
    """A recorder streaming to the recording process (None: not followed, or it is gone),
    and whether uvloop's loops are replaced."""
    spec = os.environ.get(FOLLOW, "")
    if spec.count("|") != 3:
        return None
    path, origin, block, uvloop = spec.split("|")
    try:
        channel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        channel.connect(path)
    except OSError:
        return None  # the recording is over
    stream = channel.makefile("wb")
    channel.close()  # the file keeps the connection open
    argv = list(getattr(sys, "orig_argv", sys.argv))
    if argv[1:3] == ["-m", CHILD_MODULE]:  # forked from the program's process: as run
        del argv[1:3]
    command = shlex.join(argv)[:COMMAND_CHARS]
    stream.write(encode_records([Process(0, 0, os.getpid(), os.getppid(), command)]))
    recorder = Recorder(
        stream=stream,
        block_threshold=int(block) / 1e9,
        program="",
        argv=(),
        writes_end=False,  # the recording process ends the trace
    )
    recorder.origin = int(origin)  # the trace's clock (its header, unread, has its own)
    return recorder, uvloop == "1"


def _exit_after(close: Callable[[], None]) -> None:
    stock_exit = os._exit

    def _exit(status: int) -> NoReturn:
        close()
        stock_exit(status)

    os._exit = _exit
