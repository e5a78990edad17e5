"""Recording a program in a child process: the parent's side of ``loopviz record`` and the app.

The program runs in its own process (``sys.executable -m loopviz.record.child``) so that nothing it
does (block, crash, flood its output, never end) can take the recorder or the viewer with it.
Records stream back over a pipe of their own; the program's stdout and stderr are captured
separately and recorded as ``Output`` lines. This process is the trace file's only writer:
the header, then every record as it arrives, then the ``End`` record. A run that is killed
keeps everything that reached this process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from loopviz.catalog import needs_http_server
from loopviz.protocol import (
    BLOCK_NS,
    CHILD_MODULE,
    HTTP_BASE,
    MAX_LINE,
    NO_UVLOOP,
    TEXT_FDS,
    TRACE_FD,
    OutputCap,
)
from loopviz.record.program import Program
from loopviz.trace import (
    End,
    EndReason,
    Header,
    Loss,
    Lost,
    Output,
    ProgramError,
    Record,
    Stream,
    TraceError,
    Untraced,
    decode_lines,
    encode_header,
    encode_records,
    last_time,
    loops_opened,
    new_header,
    parse_header,
)

STOP_GRACE = 2.0  # seconds a stopped or timed-out program gets to exit before SIGKILL
READ_GRACE = 60.0  # seconds to finish reading what it sent (its group is killed by then)
# Seconds a reader may sit idle in read() after the program ended before the pipe counts as
# held open by a process the program left behind (a daemon in a session of its own).
QUIET_GRACE = 1.0


@dataclass
class RunResult:
    trace_path: Path
    status: int  # exit status; minus the signal number when killed by one
    reason: EndReason
    error: str  # "ValueError: boom" for an uncaught exception, else ""
    events: int  # records written after the header
    loops: int  # event loops the program opened
    held_open: bool = False  # a process it left running still held its output open
    untraced: list[Untraced] = field(default_factory=list)  # what ran outside the trace


class Recording:
    """Runs a program in a child process under the instrumented loop, writing its trace.

    ``on_records`` is called from a background thread with batches of records in arrival
    order, the last batch ending with the ``End`` record; ``header`` is set before the first.
    Once it returns False it is called no more (a viewer that fell behind: records are then
    no longer decoded for it).
    """

    def __init__(
        self,
        program: str | os.PathLike[str] | Program,
        output: str | os.PathLike[str] | None = None,
        *,
        args: Sequence[str] = (),
        timeout: float | None = 60.0,
        block_threshold_ms: float = 100.0,
        on_records: Callable[[list[Record]], bool | None] | None = None,
        echo: bool = False,
        stdin: bool = False,
        no_uvloop: bool = False,
    ) -> None:
        self.program = program if isinstance(program, Program) else Program(Path(program))
        self.temporary = output is None  # a trace of the app's own, deleted with ``discard``
        if output is None:
            fd, name = tempfile.mkstemp(prefix=f"{self.program.stem}-", suffix=".trace.jsonl")
            os.close(fd)
            output = name
        self.trace_path = Path(output)
        self.args = list(args)
        self.timeout = timeout
        self.block_threshold_ms = block_threshold_ms
        self.on_records = on_records
        self.echo = echo  # also pass the program's output through to ours (the CLI)
        self.stdin = stdin  # the program reads our standard input (else: nothing)
        self.no_uvloop = no_uvloop  # uvloop's loops are replaced by traced stock ones
        self.header: Header | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._file: IO[bytes] | None = None
        self._lock = threading.Lock()  # one writer at a time, records delivered in order
        self._header_seen = threading.Event()
        self._pending: list[bytes] = []  # output lines that arrived before the header
        self._threads: list[threading.Thread] = []
        self._reason = EndReason.EXITED
        self._error = ""
        self._events = 0
        self._loops = 0
        self._untraced: list[Untraced] = []
        self._output_cap = OutputCap()  # for what reaches the descriptors directly
        self._server: contextlib.ExitStack | None = None
        self._result: RunResult | None = None
        self._over = False  # the End record is written: nothing more goes in the file
        self._in_read: dict[int, float] = {}  # reader thread -> since when it waits in read()
        self._started_ns = 0
        self._last_lines: list[bytes] = []  # the last batch of records that arrived

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Spawn the program and return at once. Raises ``OSError`` if it cannot start."""
        env = dict(os.environ, PYTHONUNBUFFERED="1")  # its encoding is its own, as plain
        env[BLOCK_NS] = str(int(self.block_threshold_ms * 1e6))
        if self.no_uvloop:
            env[NO_UVLOOP] = "1"
        self._server = contextlib.ExitStack()
        if not self.program.module and needs_http_server(self.program.path):
            from loopviz.httpserver import LocalServer

            env[HTTP_BASE] = self._server.enter_context(LocalServer())
        self._file = open(self.trace_path, "wb")  # noqa: SIM115 - closed when the run ends
        # Three pipes of our own: records, and the text the program prints through
        # sys.stdout / sys.stderr (the child records those lines itself, when written).
        pipes = [os.pipe() for _ in range(3)]
        (records_r, records_w), (out_r, out_w), (err_r, err_w) = pipes
        try:
            self._started_ns = time.monotonic_ns()
            self._proc = subprocess.Popen(
                [sys.executable, "-m", CHILD_MODULE, *self.program.command(), *self.args],
                stdin=None if self.stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env | {TRACE_FD: str(records_w), TEXT_FDS: f"{out_w},{err_w}"},
                pass_fds=(records_w, out_w, err_w),
                start_new_session=True,  # its own process group: a stop reaches its workers
            )
        except OSError:
            for read_end, _ in pipes:
                os.close(read_end)
            self._file.close()
            self._server.close()
            raise
        finally:
            for _, write_end in pipes:
                os.close(write_end)
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self._threads = [
            threading.Thread(target=self._read_records, args=(records_r,), daemon=True),
            *(
                threading.Thread(target=self._read_output, args=arguments, daemon=True)
                for arguments in (
                    (self._proc.stdout, Stream.STDOUT, True),
                    (self._proc.stderr, Stream.STDERR, True),
                    (os.fdopen(out_r, "rb"), Stream.STDOUT, False),
                    (os.fdopen(err_r, "rb"), Stream.STDERR, False),
                )
            ),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Interrupt the program (as Ctrl-C would), then kill it if it does not end soon:
        a program blocked in a step never gets back to its loop to notice the interrupt."""
        if self.running:
            self._reason = EndReason.INTERRUPTED
            self._signal(signal.SIGINT)
            killer = threading.Timer(STOP_GRACE, self._kill_if_running)
            killer.daemon = True
            killer.start()

    def discard(self) -> None:
        """Stop the run and delete its trace, if it is a temporary one (the app's: the user
        keeps a run by saving a copy of it)."""
        self.stop()
        if self.temporary:
            self.trace_path.unlink(missing_ok=True)

    def _kill_if_running(self) -> None:
        if self.running:
            self._signal(signal.SIGKILL)

    def wait(self) -> RunResult:
        """Block until the program ended and the trace is complete."""
        if self._result is not None:
            return self._result
        proc = self._proc
        assert proc is not None, "start() first"
        try:
            proc.wait(self.timeout)
        except subprocess.TimeoutExpired:
            self._reason = EndReason.TIMEOUT
            self._signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(STOP_GRACE)
        if proc.poll() is None:
            self._signal(signal.SIGKILL)
            proc.wait()
        ended = time.monotonic_ns()
        self._signal(signal.SIGKILL)  # workers it left behind would hold our pipes open
        held_open = not self._read_to_the_end()
        status = proc.returncode
        if status < 0 and self._reason == EndReason.EXITED:
            self._reason = EndReason.SIGNAL
        self._ensure_header()
        if status < 0:  # killed by a signal it could not catch: what it had not sent is lost
            lost = Lost(last_time(self._last_lines) or 0, -1, Loss.KILLED)
            self._write(encode_records([lost]), [lost])
        end = End(ended - self._origin(), status, self._reason)
        self._write(encode_records([end]), [end])
        with self._lock:
            self._over = True  # readers still blocked on a held pipe write nothing more
            assert self._file is not None
            self._file.close()
        if self._server is not None:
            self._server.close()
        self._result = RunResult(
            self.trace_path, status, self._reason, self._error, self._events, self._loops,
            held_open, self._untraced,
        )  # fmt: skip
        return self._result

    def _read_to_the_end(self) -> bool:
        """Wait until everything the program sent is read (False: a pipe stays held open).

        A busy reader (a viewer folding a flood of output) gets ``READ_GRACE``; readers that
        all sit idle in ``read()`` for ``QUIET_GRACE`` wait on pipes that a process the
        program left behind holds open (its group was killed, not a daemon's own session)."""
        give_up = time.monotonic() + READ_GRACE
        while time.monotonic() < give_up:
            alive = [thread.ident for thread in self._threads if thread.is_alive()]
            if not alive:
                return True
            now = time.monotonic()
            idle = [now - self._in_read.get(ident or 0, now) for ident in alive]
            if min(idle) > QUIET_GRACE:
                return False
            time.sleep(0.02)
        return False

    def _chunks(self, read: Callable[[], bytes]) -> Iterator[bytes]:
        """What ``read`` gives until the end, noting when this thread waits in it."""
        me = threading.get_ident()
        while True:
            self._in_read[me] = time.monotonic()
            data = read()
            del self._in_read[me]
            if not data:
                return
            yield data

    # --- inside the reader threads ----------------------------------------------------------
    def _signal(self, signum: int) -> None:
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signum)

    def _origin(self) -> int:
        return self.header.clock_origin_ns if self.header else self._started_ns

    def _ensure_header(self) -> None:
        """Write the header if the child never sent one (it died before its first line)."""
        with self._lock:
            if self.header is None:
                self.header = new_header(
                    self.program.module or str(self.program.path.resolve()),
                    self.args,
                    int(self.block_threshold_ms * 1e6),
                    self._started_ns,
                )
                self._start_file(encode_header(self.header))

    def _start_file(self, header_line: bytes) -> None:
        """With the lock held: the header goes first, then output that waited for it."""
        assert self._file is not None
        self._file.write(header_line)
        self._header_seen.set()
        pending, self._pending = self._pending, []
        for line in pending:
            self._file.write(line)

    def _write(self, data: bytes, records: list[Record]) -> None:
        with self._lock:
            if self._over:
                return
            assert self._file is not None
            if not self._header_seen.is_set():
                self._pending.append(data)
            else:
                self._file.write(data)
                self._file.flush()
            self._events += len(records)
            if self.on_records is not None and records:
                self._hand_over(records)

    def _read_records(self, fd: int) -> None:
        with os.fdopen(fd, "rb", buffering=0) as channel:
            rest = b""
            for chunk in self._chunks(lambda: channel.read(1 << 16)):
                data, _, rest = (rest + chunk).rpartition(b"\n")
                if not data:
                    continue
                data += b"\n"
                if self.header is None:
                    first, _, data = data.partition(b"\n")
                    self._accept_header(first)
                    if not data:
                        continue
                self._deliver(data)
        # A last line without its newline was cut off by a kill: it is not a record.

    def _accept_header(self, line: bytes) -> None:
        try:
            header = parse_header(line, "the recorder's channel")
        except TraceError:
            self._ensure_header()
            return
        with self._lock:
            if self.header is None:  # else the run already ended without it
                self.header = header
                self._start_file(line + b"\n")

    def _deliver(self, data: bytes) -> None:
        lines = self._last_lines = data.splitlines()
        need_records = self.on_records is not None
        self._loops += loops_opened(lines)
        records = decode_lines(lines, only_notes=not need_records)
        for record in records:
            if isinstance(record, ProgramError):
                self._error = f"{record.type}: {record.message}".splitlines()[0][:300]
            elif isinstance(record, Untraced):
                self._untraced.append(record)
        with self._lock:
            if self._over:
                return
            assert self._file is not None
            self._file.write(data)
            self._file.flush()
            self._events += len(lines)
            if need_records and records:
                self._hand_over(records)

    def _hand_over(self, records: list[Record]) -> None:
        """With the lock held: to ``on_records``, until it says it wants no more."""
        assert self.on_records is not None
        if self.on_records(records) is False:
            self.on_records = None

    def _read_output(self, pipe: IO[bytes], stream: Stream, record: bool) -> None:
        """Pass output on (``echo``), and ``record`` what came straight to a file descriptor:
        the child records what went through ``sys.stdout`` / ``sys.stderr`` itself."""
        # Passed on byte for byte, as the program wrote it (binary output included).
        echo = (sys.stdout if stream == Stream.STDOUT else sys.stderr).buffer if self.echo else None
        with pipe:
            for line in self._chunks(lambda: pipe.readline(MAX_LINE)):
                now = time.monotonic_ns()
                if echo is not None:
                    echo.write(line)
                    echo.flush()
                if not record:
                    continue
                text = self._output_cap.admit(line.decode("utf-8", "replace").rstrip("\r\n"))
                if text is None:
                    continue
                if not self._header_seen.is_set():
                    self._header_seen.wait(1.0)
                output = Output(now - self._origin(), stream, text)
                self._write(encode_records([output]), [output])


def record_program(
    program: str | os.PathLike[str] | Program,
    output: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> RunResult:
    """Run ``program`` to its end under the recorder (``Recording`` arguments)."""
    recording = Recording(program, output, **kwargs)
    recording.start()
    try:
        return recording.wait()
    except KeyboardInterrupt:
        recording.stop()
        return recording.wait()
