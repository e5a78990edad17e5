"""Recording a Python process that a recorded program started (``--follow-children``).

The recorded program's environment names the recording process's socket (``FOLLOW``) and
puts loopviz's bootstrap first on ``PYTHONPATH`` (``boot/sitecustomize.py``), so a Python
child (a ``multiprocessing`` spawn or forkserver process, a ``subprocess`` of Python,
uvicorn's and hypercorn's workers) calls :func:`start` as it starts: it connects to the
socket, says who it is in a ``Process`` record, and records its loops as the program's own
process does (``adopt.py``), on the trace's clock. The recording process writes its records
into the one trace, each run of them after a ``Process`` record naming it.
"""

from __future__ import annotations

import atexit
import os
import shlex
import socket
import sys

from loopviz.protocol import FOLLOW, TRACE_FD
from loopviz.record import adopt
from loopviz.record.session import Recorder
from loopviz.trace import Process, encode_records

COMMAND_CHARS = 300  # a command line is cut to this many characters


def start() -> None:
    """Record this process into the recording its parent's environment names, if any.
    Anything that goes wrong leaves the process as it was, unrecorded."""
    spec = os.environ.get(FOLLOW, "")
    if TRACE_FD in os.environ or spec.count("|") != 3:
        return  # the program's own process (child.py records it), or not followed
    path, origin, block, uvloop = spec.split("|")
    try:
        channel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        channel.connect(path)
    except OSError:
        return  # the recording is over
    stream = channel.makefile("wb")
    channel.close()  # the file keeps the connection open
    command = shlex.join(getattr(sys, "orig_argv", sys.argv))[:COMMAND_CHARS]
    stream.write(encode_records([Process(0, 0, os.getpid(), os.getppid(), command)]))
    recorder = Recorder(
        stream=stream,
        block_threshold=int(block) / 1e9,
        program="",
        argv=(),
        writes_end=False,  # the recording process ends the trace
    )
    recorder.origin = int(origin)  # the trace's clock (its header, unread, has its own)
    adopt.install(recorder, no_uvloop=uvloop == "1", follow=True)
    recorder.watch_resources()
    atexit.register(recorder.close)
