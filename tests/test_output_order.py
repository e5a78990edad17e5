"""The program's output comes out of ``loopviz record`` as it comes out of plain ``python``:
the same bytes in the same order, however it was written (``print``, ``sys.stdout.buffer``,
``os.write(1, ...)``, a command it runs, stderr), and each line is recorded once, in that
order. Real programs, recorded by ``loopviz record`` in a child process; plain runs get
``PYTHONUNBUFFERED=1``, as a recorded program does (every write reaches its descriptor at
once, as a terminal shows whole lines)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import write_program

from loopviz.protocol import MAX_LINE
from loopviz.record.output import Copies, Interleave, Lines, copy_frame, cut_frame
from loopviz.trace import End, Loss, Lost, Output, Stream, read_trace

TIMEOUT = 120  # seconds any one run may take before the test fails (never a hang)


def _plain(program: Path, *args: str, merged: bool = False) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, str(program), *args],
        capture_output=not merged,
        stdout=subprocess.PIPE if merged else None,
        stderr=subprocess.STDOUT if merged else None,
        timeout=TIMEOUT,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )


def _recorded(
    program: Path, *args: str, merged: bool = False
) -> tuple[subprocess.CompletedProcess[bytes], Path]:
    trace = program.with_suffix(".trace.jsonl")
    command = [sys.executable, "-m", "loopviz", "record", str(program), "-o", str(trace)]
    done = subprocess.run(
        [*command, *(["--", *args] if args else [])],
        capture_output=not merged,
        stdout=subprocess.PIPE if merged else None,
        stderr=subprocess.STDOUT if merged else None,
        timeout=TIMEOUT,
    )
    return done, trace


def _own(stderr: bytes) -> bytes:
    """The program's stderr from ``record``'s: without loopviz's own last lines."""
    while stderr.endswith(b"\n"):
        said = stderr.rfind(b"loopviz: ", stderr.rfind(b"\n", 0, -1) + 1)
        if said < 0:
            break
        stderr = stderr[:said]  # (it may follow the program's last line, with no newline)
    return stderr


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _lines(trace: Path, stream: Stream | None = None, *, by_time: bool = True) -> list[str]:
    """The output lines recorded, in time order as a viewer shows them (or file order)."""
    outputs = [r for r in read_trace(trace).records if isinstance(r, Output)]
    if by_time:
        outputs.sort(key=lambda r: r.t)  # stable: ties keep the file's order
    return [r.text for r in outputs if stream is None or r.stream == stream]


_EVERY_WAY = """
import os, subprocess, sys, threading

def from_a_thread(i):
    os.write(1, b"thread %d\\n" % i)

for i in range(int(sys.argv[1])):
    print(f"print {i}")
    os.write(1, b"descriptor %d\\n" % i)
    sys.stdout.buffer.write(b"buffer %d \\xff\\n" % i)
    print(f"error {i}", file=sys.stderr)
    subprocess.run(["echo", f"command {i}"])
    sys.stderr.buffer.write(b"error buffer %d\\n" % i)
    os.write(2, b"error descriptor %d\\n" % i)
    print(f"half {i} ", end="")
    os.write(1, b"and half\\n")
    thread = threading.Thread(target=from_a_thread, args=(i,))
    thread.start()
    thread.join()
    sys.stdout.write(f"two\\nlines {i}\\n")
print("last, with no newline", end="")
"""


def test_every_way_of_writing_keeps_the_programs_order(tmp_path: Path) -> None:
    """Print, the buffer, the descriptor, a command, a thread, stderr, many times over:
    stdout and stderr byte for byte as plain, and the trace holds each line once, in order."""
    program = write_program(tmp_path, _EVERY_WAY)
    plain = _plain(program, "40")
    done, trace = _recorded(program, "40")
    assert done.returncode == plain.returncode == 0, done.stderr
    assert _md5(done.stdout) == _md5(plain.stdout)
    assert _md5(_own(done.stderr)) == _md5(plain.stderr)
    decoded = plain.stdout.decode("utf-8", "replace").splitlines()
    assert len(decoded) == 40 * 8 + 1
    for by_time in (True, False):
        assert _lines(trace, Stream.STDOUT, by_time=by_time) == decoded
        assert _lines(trace, Stream.STDERR, by_time=by_time) == plain.stderr.decode().splitlines()


_TWO_STREAMS = """
import sys
for i in range(int(sys.argv[1])):
    print(f"out {i}")
    print(f"err {i}", file=sys.stderr)
    sys.stdout.buffer.write(b"buffer %d\\n" % i)
    sys.stderr.write(f"err again {i}\\n")
    sys.stderr.write(f"and once more {i}\\n")
"""


def test_stdout_and_stderr_keep_their_order_between_them(tmp_path: Path) -> None:
    """Written through ``sys.stdout`` and ``sys.stderr`` in turn, to one terminal: they come
    out, and are recorded, in the order written."""
    program = write_program(tmp_path, _TWO_STREAMS)
    plain = _plain(program, "300", merged=True)
    done, trace = _recorded(program, "300", merged=True)
    assert done.returncode == plain.returncode == 0
    assert _own(done.stdout) == plain.stdout
    assert _lines(trace) == plain.stdout.decode().splitlines()


_REDIRECTED = """
import os, subprocess, sys
print("before")
saved = os.dup(1)
with open(sys.argv[1], "wb") as file:
    os.dup2(file.fileno(), 1)
for i in range(200):
    print(f"to the file {i}")
    os.write(1, b"descriptor to the file\\n")
subprocess.run(["echo", "command to the file"])
os.dup2(saved, 1)
print("after")
"""


def test_a_redirected_descriptor_gets_its_output_and_nothing_waits_for_it(
    tmp_path: Path,
) -> None:
    """A program that points its descriptor 1 at a file: what it writes meanwhile goes to the
    file, not to ``record`` (nor its trace), and ``record`` waits for none of it."""
    program = write_program(tmp_path, _REDIRECTED)
    plain = _plain(program, str(tmp_path / "plain.txt"))
    done, trace = _recorded(program, str(tmp_path / "recorded.txt"))
    assert done.returncode == plain.returncode == 0
    assert done.stdout == plain.stdout == b"before\nafter\n"
    assert (tmp_path / "recorded.txt").read_bytes() == (tmp_path / "plain.txt").read_bytes()
    assert _lines(trace) == ["before", "after"]


_CLOSED_THEN = """
import os, sys
print("first")
os.close(1)
try:
    print("lost")
except OSError as exc:
    print(f"print: errno {exc.errno}", file=sys.stderr)
try:
    os.write(1, b"lost\\n")
except OSError as exc:
    print(f"write: errno {exc.errno}", file=sys.stderr)
print("last", file=sys.stderr)
"""


def test_a_closed_descriptor_stays_closed_and_the_rest_goes_on(tmp_path: Path) -> None:
    program = write_program(tmp_path, _CLOSED_THEN)
    plain = _plain(program)
    done, trace = _recorded(program)
    assert done.returncode == plain.returncode == 0
    assert done.stdout == plain.stdout == b"first\n"
    assert _own(done.stderr) == plain.stderr == b"print: errno 9\nwrite: errno 9\nlast\n"
    assert _lines(trace) == ["first", "print: errno 9", "write: errno 9", "last"]


_FLOOD = """
import os, random, sys
random.seed(11)
junk = bytes(random.randrange(256) for _ in range(1 << 20))
print("start")
sys.stdout.buffer.write(junk)
os.write(1, junk[::-1] + b"\\n")
print("x" * 3_000_000)
sys.stderr.buffer.write(junk)
for i in range(20_000):
    print(f"line {i}")
"""


def test_a_flood_of_binary_output_and_long_lines_passes_byte_for_byte(tmp_path: Path) -> None:
    program = write_program(tmp_path, _FLOOD)
    plain = _plain(program)
    done, trace = _recorded(program)
    assert done.returncode == plain.returncode == 0
    assert len(plain.stdout) > 5_000_000
    assert _md5(done.stdout) == _md5(plain.stdout)
    assert _md5(_own(done.stderr)) == _md5(plain.stderr)
    lines = _lines(trace, Stream.STDOUT)
    assert lines[0] == "start"
    assert lines[-20_000:] == [f"line {i}" for i in range(20_000)]
    assert [line for line in lines if line.startswith("xxx")] == ["x" * MAX_LINE] * (
        3_000_000 // MAX_LINE
    ) + ["x" * (3_000_000 % MAX_LINE)]


_KILLED = """
import os, signal, sys, threading
print("started", flush=True)
threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGKILL)).start()
while True:
    sys.stdout.buffer.write(b"y" * 1_000_000 + b"\\n")
"""


def test_a_program_killed_while_writing(tmp_path: Path) -> None:
    """Killed outright in the middle of its writes: ``record`` returns, with what came out
    passed on and recorded, and the trace says the rest may be missing."""
    program = write_program(tmp_path, _KILLED)
    started = time.monotonic()
    done, trace = _recorded(program)
    assert time.monotonic() - started < TIMEOUT
    assert done.returncode != 0
    assert done.stdout.startswith(b"started\ny")
    assert set(done.stdout[len(b"started\n") :]) <= {ord("y"), ord("\n")}
    records = read_trace(trace).records
    assert isinstance(records[-1], End)
    assert [r.why for r in records if isinstance(r, Lost)] == [Loss.KILLED]
    lines = _lines(trace, Stream.STDOUT, by_time=False)
    assert lines[0] == "started"
    assert "".join(lines[1:]) == done.stdout[len(b"started\n") :].decode().replace("\n", "")


_THREADS = """
import os, sys, threading

def descriptor():
    for i in range(2000):
        os.write(1, b"written %d\\n" % i)

thread = threading.Thread(target=descriptor)
thread.start()
for i in range(2000):
    print(f"printed {i}")
thread.join()
"""


def test_writes_racing_from_two_threads_are_recorded_as_they_came_out(tmp_path: Path) -> None:
    """A thread writing to the descriptor while another prints: however their bytes
    interleave, the trace records the lines exactly as they came out, each once."""
    program = write_program(tmp_path, _THREADS)
    done, trace = _recorded(program)
    assert done.returncode == 0
    out = done.stdout.decode().splitlines()
    assert _lines(trace, by_time=False) == out
    assert _lines(trace) == out
    assert sum(line.count("printed") for line in out) == 2000
    assert sum(line.count("written") for line in out) == 2000


# --- the matching itself ----------------------------------------------------------------------


def test_copies_match_bytes_that_arrive_in_pieces_with_direct_writes_between() -> None:
    copies = Copies()
    frames = copy_frame(0, 10, True, b"hello\n") + copy_frame(2, 30, False, b"paused\n")
    for i in range(len(frames)):  # frames come a byte at a time
        copies.feed(frames[i : i + 1])
    pieces = copies.match(b"dir") + copies.match(b"ect\nhel") + copies.match(b"lo\npaused\n")
    assert [(p.data, p.copy and p.copy.t) for p in pieces] == [
        (b"dir", None),
        (b"ect\n", None),
        (b"hel", 10),
        (b"lo\n", 10),
        (b"paused\n", 30),
    ]
    lines = Lines()
    assert lines.add(pieces[:3], 5) == [(5, b"direct")]
    assert lines.add(pieces[3:], 50) == [(10, b"hello")]  # the paused line is not recorded
    assert not copies.pending


def test_a_copy_cut_short_or_gone_astray_places_nothing_wrong() -> None:
    copies = Copies()
    copies.feed(copy_frame(0, 10, True, b"long write\n") + cut_frame(0, 4))
    copies.feed(copy_frame(1, 20, True, b"never came\n"))  # redirected as it was written
    copies.feed(copy_frame(2, 30, True, b"third\n"))
    pieces = copies.match(b"long") + copies.match(b"third\n")
    assert [(p.data, p.copy and p.copy.t) for p in pieces] == [(b"long", 10), (b"third\n", 30)]
    assert not copies.pending
    lines = Lines()
    assert lines.add(pieces, 99) == [(30, b"longthird")]


def test_pieces_of_both_streams_come_out_in_the_order_written() -> None:
    out, err = Copies(), Copies()
    out.feed(copy_frame(0, 1, True, b"a\n") + copy_frame(2, 3, True, b"c\n"))
    err.feed(copy_frame(1, 2, True, b"b\n") + copy_frame(3, 4, True, b"d\n"))
    interleave = Interleave()
    order = interleave.order([out.match(b"a\nx\nc\n"), err.match(b"b\nd\ny\n")], [out, err])
    assert order == [(0, b"a\n"), (1, b"b\n"), (0, b"x\nc\n"), (1, b"d\ny\n")]
    assert not interleave.held


def test_a_stream_read_further_than_the_other_waits_for_it_one_round() -> None:
    out, err = Copies(), Copies()
    out.feed(copy_frame(0, 1, True, b"a\n") + copy_frame(2, 3, True, b"c\n"))
    err.feed(copy_frame(1, 2, True, b"b\n") + copy_frame(3, 4, True, b"d\n"))
    interleave = Interleave()
    # stdout's "c" was read, stderr's "b" written before it was not yet: "c" waits
    assert interleave.order([out.match(b"a\nc\n"), []], [out, err]) == [(0, b"a\n")]
    assert interleave.held
    assert interleave.order([[], err.match(b"b\n")], [out, err]) == [(1, b"b\n"), (0, b"c\n")]
    # a copy that never comes holds the other stream up for one round only
    assert interleave.order([[], []], [out, err]) == []
    out.feed(copy_frame(5, 6, True, b"e\n"))
    assert interleave.order([out.match(b"e\n"), []], [out, err]) == []
    assert interleave.order([[], []], [out, err]) == [(0, b"e\n")]
