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
import itertools
import os
import select
import selectors
import shutil
import signal
import socket
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
    FOLLOW,
    HTTP_BASE,
    NO_UVLOOP,
    PAUSE,
    TEXT_FDS,
    TRACE_FD,
    OutputCap,
    read_hello,
)
from loopviz.record.output import Copies, Interleave, Lines
from loopviz.record.program import Program
from loopviz.record.window import Window
from loopviz.trace import (
    End,
    EndReason,
    Exit,
    Header,
    Loss,
    Lost,
    Output,
    Process,
    ProgramError,
    Record,
    Stream,
    TraceError,
    Untraced,
    decode_lines,
    encode_header,
    encode_records,
    last_time,
    new_header,
    parse_header,
    read_notes,
)

OUTPUT_ROUND = 1 << 20  # bytes of output read from a descriptor before it is passed on
HELD = 0.05  # seconds output may wait for what the other stream's copies say came before
STOP_GRACE = 2.0  # seconds a stopped or timed-out program gets to exit before SIGKILL
READ_GRACE = 60.0  # seconds to finish reading what it sent (its group is killed by then)
# Seconds a reader may sit idle in read() after the program ended before the pipe counts as
# held open by a process the program left behind (a daemon in a session of its own).
QUIET_GRACE = 1.0
BOOT_DIR = str(Path(__file__).parent / "boot")  # sitecustomize.py, for following children


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
    followed: list[int] = field(default_factory=list)  # pids of the child processes followed


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
        follow_children: bool = True,
        window: float | None = None,
        pause: str = "",
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
        self.follow_children = follow_children  # record its Python children too (follow.py)
        self._listener: socket.socket | None = None  # where followed children connect
        self._listen_dir = ""
        # Per process (0: the program's, then the children in the order they connected): its
        # pid, its parent's and its command, for the Process records that section the trace.
        self._processes: list[tuple[int, int, str]] = []
        self._section = 0  # the process whose records were written last
        self._sectioned = False  # a Process record was written (the program's first)
        self.window = window  # seconds of the run the trace keeps (None: all)
        # "pausable": SIGUSR1 (to the program, or to this process) pauses and resumes the
        # recording; "paused": it starts paused
        self.pause = pause
        self._forwarding: Any = None  # our SIGUSR1 handler before we forwarded it
        self._window: Window | None = None
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
        self._output_cap = OutputCap()  # for the lines of both stdout and stderr
        self._last_output = 0  # the time of the last output line recorded
        self._server: contextlib.ExitStack | None = None
        self._result: RunResult | None = None
        self._over = False  # the End record is written: nothing more goes in the file
        self._in_read: dict[int, float] = {}  # reader thread -> since when it waits in read()
        self._started_ns = 0
        self._last_data = b""  # the last batch of records that arrived
        self._program_ended = False  # (its processes left running are killed then)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Spawn the program and return at once. Raises ``OSError`` if it cannot start."""
        env = dict(os.environ, PYTHONUNBUFFERED="1")  # its encoding is its own, as plain
        env[BLOCK_NS] = str(int(self.block_threshold_ms * 1e6))
        if self.no_uvloop:
            env[NO_UVLOOP] = "1"
        if self.pause:
            env[PAUSE] = self.pause
        self._server = contextlib.ExitStack()
        if not self.program.module and needs_http_server(self.program.path):
            from loopviz.httpserver import LocalServer

            env[HTTP_BASE] = self._server.enter_context(LocalServer())
        self._file = open(self.trace_path, "wb")  # noqa: SIM115 - closed when the run ends
        # Three pipes of our own: records, and the copies of what the program writes
        # through sys.stdout / sys.stderr (output.py), which say when it wrote them.
        if self.follow_children:
            env |= self._listen()
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
            self._stop_listening()
            raise
        finally:
            for _, write_end in pipes:
                os.close(write_end)
        assert self._proc.stdout is not None and self._proc.stderr is not None
        command = [self.program.name, *self.args]
        self._processes.append((self._proc.pid, os.getpid(), subprocess.list2cmdline(command)))
        outputs = (self._proc.stdout, self._proc.stderr)
        self._threads = [
            threading.Thread(target=self._read_records, args=(records_r,), daemon=True),
            threading.Thread(target=self._read_output, args=(outputs, (out_r, err_r)), daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        if self._listener is not None:
            threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()
        if self.pause and threading.current_thread() is threading.main_thread():
            self._forwarding = signal.signal(signal.SIGUSR1, self._toggle_pause)

    def _toggle_pause(self, _signum: int, _frame: Any) -> None:
        """SIGUSR1 sent to the recording process: passed on to the program's."""
        if self.running:
            assert self._proc is not None
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._proc.pid, signal.SIGUSR1)

    def stop(self) -> None:
        """Interrupt the program (as Ctrl-C would), then kill it if it does not end soon:
        a program blocked in a step never gets back to its loop to notice the interrupt."""
        if self.running:
            self._reason = EndReason.INTERRUPTED
            self._signal(signal.SIGINT)
            killer = threading.Timer(STOP_GRACE, self._kill_if_running)
            killer.daemon = True
            killer.start()

    def terminate(self) -> None:
        """Pass a SIGTERM on to the program (its own handler, or its end, decides); kill it
        if it has not ended after ``STOP_GRACE``, as ``stop`` does."""
        if self.running:
            self._signal(signal.SIGTERM)
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
        if not _wait_exit(proc, self.timeout):
            self._reason = EndReason.TIMEOUT
            self._signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(STOP_GRACE)
        if proc.poll() is None:
            self._signal(signal.SIGKILL)
            proc.wait()
        ended = time.monotonic_ns()
        self._program_ended = True
        if self._forwarding is not None:
            signal.signal(signal.SIGUSR1, self._forwarding)
            self._forwarding = None
        self._signal(signal.SIGKILL)  # workers it left behind would hold our pipes open
        self._stop_listening()
        held_open = not self._read_to_the_end()
        status = proc.returncode
        if status < 0 and self._reason == EndReason.EXITED:
            self._reason = EndReason.SIGNAL
        self._ensure_header()
        if status < 0:  # killed by a signal it could not catch: what it had not sent is lost
            last = last_time(self._last_data.splitlines()) or 0
            lost = Lost(max(last, self._last_output), -1, Loss.KILLED)
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
            held_open, self._untraced, [pid for pid, _, _ in self._processes[1:]],
        )  # fmt: skip
        return self._result

    # --- following child processes ----------------------------------------------------------
    def _listen(self) -> dict[str, str]:
        """Listen where the program's Python children connect (``follow.py``); what their
        environment needs for it: the socket, and the bootstrap first on ``PYTHONPATH``."""
        self._listen_dir = tempfile.mkdtemp(prefix="loopviz-")
        path = os.path.join(self._listen_dir, "children")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(path)  # (a path too long for a socket: children not followed)
            listener.listen(64)
        except OSError:
            listener.close()
            self._stop_listening()
            return {}
        self._listener = listener
        python_path = os.pathsep.join(p for p in (BOOT_DIR, os.environ.get("PYTHONPATH")) if p)
        return {FOLLOW: path, "PYTHONPATH": python_path}

    def _stop_listening(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread in accept()
            self._listener.close()
            self._listener = None
        if self._listen_dir:
            shutil.rmtree(self._listen_dir, ignore_errors=True)
            self._listen_dir = ""

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # the run is over
            reader = threading.Thread(target=self._read_child, args=(connection,), daemon=True)
            self._threads.append(reader)
            reader.start()

    def _read_child(self, connection: socket.socket) -> None:
        """A followed child's records: who it is (``protocol.connect_child``), then, once it
        imports asyncio, its own header (not used: the trace has one) and records like the
        program's, written in its sections."""
        with connection, connection.makefile("rb", buffering=0) as channel:
            lines = self._lines(lambda: channel.read(1 << 16))
            hello = read_hello(next(lines, b""))
            if hello is None:
                return
            proc = self._announce(*hello)
            for data in itertools.islice(lines, 1, None):  # (the first: its own header)
                self._deliver(data, proc)
        # It ended (its connection closed with it): said unless the recording ended first,
        # whose end killed it (then it was still running when the recording stopped).
        if not self._program_ended:
            t = time.monotonic_ns() - self._origin()
            status = _exit_status(hello[0])
            if status == -signal.SIGKILL and self._program_ended:  # (ended while we read)
                status = None  # the recording's end killed what was left: not the child's own
            ended = Exit(t, hello[0], status or 0, known=status is not None)
            self._deliver(encode_records([ended]), proc)

    def _lines(self, read: Callable[[], bytes]) -> Iterator[bytes]:
        """Whole lines of a channel: the first two one at a time, then as many as arrived."""
        rest = b""
        alone = 2
        for chunk in self._chunks(read):
            data, _, rest = (rest + chunk).rpartition(b"\n")
            if not data:
                continue
            data += b"\n"
            while alone and data:
                line, _, data = data.partition(b"\n")
                alone -= 1
                yield line + b"\n"
            if data:
                yield data

    def _announce(self, pid: int, ppid: int, command: str) -> int:
        """A child connected: its number, and its Process record at once (a child that
        records nothing is still known as followed)."""
        if not self._header_seen.wait(5.0):  # the program's own header comes first
            self._ensure_header()
        with self._lock:
            proc = len(self._processes)
            self._processes.append((pid, ppid, command))
            switch = self._switch_to(proc)  # (None: the run is over)
            if switch is not None and self.on_records is not None:
                self.on_records([switch])
        return proc

    def _switch_to(self, proc: int) -> Process | None:
        """With the lock held: a Process record starting ``proc``'s section, written, if the
        last records written were another process's."""
        if proc == self._section or self._over:
            return None
        now = time.monotonic_ns() - self._origin()
        if not self._sectioned:  # the program's own first: the records so far were its
            self._sectioned = True
            self._put(encode_records([Process(now, 0, *self._processes[0])]))
            self._events += 1
        self._section = proc
        switch = Process(now, proc, *self._processes[proc])
        self._put(encode_records([switch]))
        self._events += 1
        return switch

    def _read_to_the_end(self) -> bool:
        """Wait until everything the program sent is read (False: a pipe stays held open).

        A busy reader (a viewer folding a flood of output) gets ``READ_GRACE``; readers that
        all sit idle in ``read()`` for ``QUIET_GRACE`` wait on pipes that a process the
        program left behind holds open (its group was killed, not a daemon's own session)."""
        began = time.monotonic()
        give_up = began + READ_GRACE
        while time.monotonic() < give_up:
            alive = [thread.ident for thread in self._threads if thread.is_alive()]
            if not alive:
                return True
            now = time.monotonic()
            # Idle since the program ended: a quiet child's reader sat in read() long before.
            idle = [now - max(self._in_read.get(ident or 0, now), began) for ident in alive]
            if min(idle) > QUIET_GRACE:
                return False
            next(thread for thread in self._threads if thread.is_alive()).join(0.02)
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
        if self.window is not None:
            self._window = Window(self.trace_path, self._file, header_line, self.window)
        self._header_seen.set()
        pending, self._pending = self._pending, []
        for line in pending:
            self._put(line)

    @property
    def cuts(self) -> int:
        """How many times ``window`` dropped the start of the trace (0: none)."""
        return self._window.cuts if self._window is not None else 0

    def snapshot(self, delivered: Callable[[], int]) -> tuple[bytes, int]:
        """The trace file as it is now, and ``delivered()`` read at the same moment (how many
        records ``on_records`` had been given then: the file holds them, or dropped them)."""
        with self._lock:
            return self.trace_path.read_bytes(), delivered()

    def _put(self, data: bytes) -> None:
        """With the lock held: event lines into the file (through the window, if any)."""
        if self._window is not None:
            self._window.write(data)
            self._file = self._window.file
            return
        assert self._file is not None
        self._file.write(data)
        self._file.flush()

    def _write(self, data: bytes, records: list[Record]) -> None:
        with self._lock:
            if self._over:
                return
            assert self._file is not None
            if not self._header_seen.is_set():
                self._pending.append(data)
            else:
                self._put(data)
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

    def _deliver(self, data: bytes, proc: int = 0) -> None:
        """Write the records of process ``proc`` (0: the program's own)."""
        self._last_data = data
        loops, notes = read_notes(data)  # a bytes search: most runs are not decoded here
        self._loops += loops
        for note in notes:
            if isinstance(note, ProgramError) and proc == 0:
                self._error = f"{note.type}: {note.message}".splitlines()[0][:300]
            elif isinstance(note, Untraced):
                self._untraced.append(note)
        records = decode_lines(data.splitlines()) if self.on_records is not None else []
        with self._lock:
            if self._over:
                return
            switch = self._switch_to(proc)
            self._put(data)
            self._events += data.count(b"\n")
            if self.on_records is not None and (records or switch):
                self._hand_over([switch, *records] if switch else records)

    def _hand_over(self, records: list[Record]) -> None:
        """With the lock held: to ``on_records``, until it says it wants no more."""
        assert self.on_records is not None
        if self.on_records(records) is False:
            self.on_records = None

    def _read_output(self, pipes: tuple[IO[bytes], IO[bytes]], copies: tuple[int, int]) -> None:
        """Pass the program's output on (``echo``) as it reaches its descriptors 1 and 2, in
        the order it was written, and record its lines, placed in time by the copies of what
        went through ``sys.stdout`` / ``sys.stderr`` (``output.py``). Ends when both
        descriptors are closed (what copies are left can place nothing any more)."""
        me = threading.get_ident()
        outputs = (pipes[0].fileno(), pipes[1].fileno())
        echo = (sys.stdout.buffer, sys.stderr.buffer) if self.echo else None
        matching = (Copies(), Copies())
        lines = (Lines(), Lines())
        selector = selectors.DefaultSelector()
        for fd in (*outputs, *copies):
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ)
        open_outputs = set(outputs)
        interleave = Interleave()
        held = clock = False
        try:
            while open_outputs:
                self._in_read[me] = time.monotonic()
                selector.select(HELD if held else None)
                del self._in_read[me]
                # What reached the descriptors, then the copies: all those of these bytes.
                arrived = [self._drain(fd, selector, open_outputs) for fd in outputs]
                arrived_ns = time.monotonic_ns()
                for i in (0, 1):
                    self._feed(matching[i], copies[i], selector)
                pieces = [matching[i].match(arrived[i]) for i in (0, 1)]
                for i, other in ((0, 1), (1, 0)):  # the other stream's writes before these
                    last = next((p.copy for p in reversed(pieces[i]) if p.copy is not None), None)
                    if last is not None and matching[other].behind(last.seq):
                        data = self._drain(outputs[other], selector, open_outputs)
                        self._feed(matching[other], copies[other], selector)
                        pieces[other] += matching[other].match(data)
                if echo is not None:
                    echo = self._echo(echo, interleave.order(pieces, matching))
                held = echo is not None and interleave.held
                if not clock:  # the trace's clock (the child's header), for arrival times
                    clock = self._header_seen.wait(1.0) or True
                arrived_t = arrived_ns - self._origin()
                written = [lines[i].add(pieces[i], arrived_t) for i in (0, 1)]
                for i, fd in enumerate(outputs):
                    if fd not in open_outputs:
                        written[i] += lines[i].finish()
                self._record_output(written)
            if echo is not None:
                self._echo(echo, interleave.rest())
        finally:
            selector.close()
            for fd in copies:
                os.close(fd)
            for pipe in pipes:
                pipe.close()

    def _drain(self, fd: int, selector: selectors.BaseSelector, open_outputs: set[int]) -> bytes:
        """What has arrived on ``fd``, read without waiting (up to 1 MB: a flood is passed on
        a piece at a time); at its end, it is unregistered (and ``open_outputs`` forgets it)."""
        if fd not in selector.get_map():
            return b""
        chunks: list[bytes] = []
        size = 0
        while size < OUTPUT_ROUND:
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                selector.unregister(fd)
                open_outputs.discard(fd)
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)

    def _feed(self, matching: Copies, fd: int, selector: selectors.BaseSelector) -> None:
        """Every copy that has arrived on ``fd``: those of the bytes read before it, since
        each copy is sent before its bytes are written."""
        while copy := self._drain(fd, selector, set()):
            matching.feed(copy)

    def _echo(self, echo: tuple[IO[bytes], IO[bytes]], order: list[tuple[int, bytes]]) -> Any:
        """Pass output on to ours (None once ours is closed: then the program's is still
        read and recorded, so that it never waits on a full pipe)."""
        try:
            for stream, data in order:
                echo[stream].write(data)
                echo[stream].flush()
        except (OSError, ValueError):
            return None
        return echo

    def _record_output(self, written: list[list[tuple[int, bytes]]]) -> None:
        outputs: list[Output] = []
        for stream, lines in zip((Stream.STDOUT, Stream.STDERR), written, strict=True):
            for t, line in lines:
                text = self._output_cap.admit(line.decode("utf-8", "replace").rstrip("\r"))
                if text is not None:
                    outputs.append(Output(t, stream, text))
        if outputs:
            self._last_output = max(self._last_output, *(output.t for output in outputs))
            records: list[Record] = [*outputs]
            self._write(encode_records(records), records)


def _wait_exit(proc: subprocess.Popen[bytes], timeout: float | None) -> bool:
    """Wait until ``proc`` ends, or ``timeout`` seconds (False: it did not end), woken by
    its end where the system can say so (``Popen.wait`` with a timeout polls: up to 50 ms
    late)."""
    try:
        pidfd = os.pidfd_open(proc.pid) if timeout is not None else -1
    except (AttributeError, OSError):
        pidfd = -1
    if pidfd >= 0:
        try:
            ended = select.poll()
            ended.register(pidfd, select.POLLIN)
            if not ended.poll(timeout * 1000 if timeout is not None else None):
                return False
        finally:
            os.close(pidfd)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return False
    return True


def _exit_status(pid: int, wait: float = 0.2) -> int | None:
    """The exit status of process ``pid`` that just ended, read from ``/proc`` while it waits
    to be reaped (None: reaped already, or no ``/proc``). Its parent waiting for it while
    recorded says it too (``adopt``); this covers a parent that waits late or never (one
    that ended first: its children wait for init). Only while it is a zombie: its pid
    cannot have been given to another process yet."""
    give_up = time.monotonic() + wait  # its descriptors close just before it is a zombie
    while True:
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
        except OSError:
            return None
        if len(fields) > 49 and fields[0] == b"Z":
            return os.waitstatus_to_exitcode(int(fields[49]))  # exit_code, field 52
        if time.monotonic() > give_up:
            return None
        time.sleep(0.001)


def record_program(
    program: str | os.PathLike[str] | Program,
    output: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> RunResult:
    """Run ``program`` to its end under the recorder (``Recording`` arguments)."""
    recording = Recording(program, output, **kwargs)
    recording.start()
    previous = None
    if threading.current_thread() is threading.main_thread():
        # Passed on, as a terminal passes Ctrl-C on: whoever stops loopviz (a service manager,
        # ``kill``) stops the program, whose end is then recorded, not left running.
        previous = signal.signal(signal.SIGTERM, lambda *_: recording.terminate())
    try:
        return recording.wait()
    except KeyboardInterrupt:
        recording.stop()
        return recording.wait()
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
