"""loopviz never changes what the traced program does: the reproducers of a reliability trial
(issue 9), each run plain and traced where the difference is what matters."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
import weakref
from pathlib import Path
from typing import Any

import pytest

from loopviz import exits
from loopviz.app.target import resolve
from loopviz.model.analysis import findings
from loopviz.model.timeline import Timeline
from loopviz.record import Recorder
from loopviz.trace import (
    Cause,
    End,
    Loss,
    Lost,
    Output,
    Problem,
    Ran,
    Ready,
    Str,
    Wait,
    Waited,
    encode_header,
    new_header,
    read_trace,
)


def test_timers_at_infinity_are_waits_without_deadline_and_break_nothing() -> None:
    """``sleep(math.inf)`` (anyio's ``sleep_forever``) and ``sleep(1e300)`` under warnings as
    errors: recorded as waits with no deadline; the recorder stays on and says nothing."""

    async def main() -> str:
        forever = asyncio.create_task(asyncio.sleep(math.inf), name="forever")
        huge = asyncio.create_task(asyncio.sleep(1e300), name="huge")
        await asyncio.sleep(0.01)
        forever.cancel()
        huge.cancel()
        await asyncio.gather(forever, huge, return_exceptions=True)
        return "done"

    recorder = Recorder()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with asyncio.Runner(loop_factory=recorder.loop) as runner:
            assert runner.run(main()) == "done"
    recorder.close()
    assert recorder.enabled
    assert not [r for r in recorder.records if isinstance(r, Problem)]
    sleeps = [r for r in recorder.records if isinstance(r, Waited) and r.kind == Wait.SLEEP]
    assert [r.timeout == 0 for r in sleeps].count(True) == 2  # main's own sleep has one


class _Holder:
    exc: BaseException | None = None


def _raise_into(holder: _Holder) -> None:
    try:
        raise ValueError("kept by its holder")
    except ValueError as exc:
        holder.exc = exc  # holder -> exception -> traceback -> the handle's _run frame
        del holder  # only the handle's arguments hold it now
        raise


def test_a_failed_callback_leaves_no_reference_cycle() -> None:
    """The handle's frame drops the handle once it ran, as the stock ``Handle._run`` means to
    (``self = None``), so what a failed callback's exception holds is freed at once, not at
    the next garbage collection (sockets freed late were "unclosed socket" warnings in
    unrelated tests of a real suite)."""
    loop = Recorder().loop()
    loop.set_exception_handler(lambda loop, context: None)
    gc.disable()
    try:
        holder = _Holder()
        kept = weakref.ref(holder)
        loop.call_soon(_raise_into, holder)  # a plain callback
        loop.call_later(0.001, _raise_into, holder)  # a timer
        del holder
        loop.run_until_complete(asyncio.sleep(0.01))
        assert kept() is None
    finally:
        gc.enable()
        loop.close()


_IMPORTS = """
import asyncio, sys
{setup}
async def main():
    await asyncio.to_thread(int)
    await asyncio.get_running_loop().run_in_executor(None, int)
with asyncio.Runner(loop_factory={factory}) as runner:
    runner.run(main())
print(sorted(m for m in sys.modules if m.startswith(("multiprocessing", "concurrent.futures.p"))))
"""


def test_executor_jobs_import_nothing_the_stock_loop_does_not() -> None:
    """Checking for a process pool must not import ``multiprocessing`` on the loop's thread
    (under blockbuster that import is an error, and it was retried by every later job)."""

    def imported(setup: str, factory: str) -> str:
        code = _IMPORTS.format(setup=setup, factory=factory)
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
        )
        return done.stdout

    plain = imported("", "asyncio.SelectorEventLoop")
    traced = imported("from loopviz.record import Recorder\nrec = Recorder()", "rec.loop")
    assert traced == plain == "[]\n"


def test_record_returns_when_the_program_ends_though_a_daemon_holds_its_output(
    tmp_path: Path,
) -> None:
    """A program that double-forks a daemon keeping stdout open ends at once plain; recorded,
    ``record`` returns soon after it too, keeps all it printed, and says what was left."""
    pid_file = tmp_path / "daemon.pid"
    program = tmp_path / "prog.py"
    program.write_text(
        textwrap.dedent(f"""
        import asyncio, os, sys, time

        async def main():
            print("main done", flush=True)

        if os.fork() == 0:  # the daemon: a session of its own, stdout inherited and held
            os.setsid()
            if os.fork() == 0:
                open({str(pid_file)!r}, "w").write(str(os.getpid()))
                time.sleep(60)
            os._exit(0)
        os.wait()
        asyncio.run(main())
        """)
    )
    trace = tmp_path / "prog.trace.jsonl"
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "loopviz", "record", str(program), "-o", str(trace)],
            capture_output=True,
            text=True,
            timeout=50,
        )
        took = time.monotonic() - started
    finally:
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
    assert done.returncode == 0, done.stderr
    assert took < 20  # not READ_GRACE per pipe (it was 300 s)
    assert done.stdout == "main done\n"
    assert "left a process running that holds its output open" in done.stderr
    recorded = read_trace(trace).records
    assert isinstance(recorded[-1], End) and recorded[-1].status == 0
    assert [r.text for r in recorded if isinstance(r, Output)] == ["main done"]


def test_a_file_is_known_by_its_content_not_its_name(tmp_path: Path) -> None:
    """A ``.py`` file that starts with a trace header (valid Python too: a dict) is a trace:
    ``summary`` and the app read it, and never run the Python in it."""
    header = encode_header(new_header("prog.py", [], 100_000_000, 0)).decode()
    ran = tmp_path / "it-ran"
    polyglot = tmp_path / "polyglot.py"
    polyglot.write_text(header + f"open({str(ran)!r}, 'w')\n")
    done = subprocess.run(
        [sys.executable, "-m", "loopviz", "summary", str(polyglot)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == exits.USAGE
    assert done.stderr.startswith(f"loopviz: {polyglot}:2: malformed event")
    assert resolve(polyglot).kind == "trace"
    assert not ran.exists()


def test_output_passes_through_byte_for_byte(tmp_path: Path) -> None:
    """Binary output (not UTF-8) reaches ``record``'s own stdout exactly as plain."""
    program = tmp_path / "junk.py"
    program.write_text(
        "import os, random, sys\n"
        "random.seed(7)\n"
        "sys.stdout.buffer.write(bytes(random.randrange(256) for _ in range(200_000)))\n"
    )
    plain = subprocess.run([sys.executable, str(program)], capture_output=True, timeout=60)
    traced = subprocess.run(
        [sys.executable, "-m", "loopviz", "record", str(program), "-o", str(tmp_path / "t")],
        capture_output=True,
        timeout=60,
    )
    assert traced.returncode == plain.returncode == 0
    assert len(plain.stdout) == 200_000
    assert traced.stdout == plain.stdout


_EVERY_WAY = """
import os, subprocess, sys
print("through print")
sys.stdout.buffer.write(b"through the buffer \\xff\\xfe\\n")
os.write(1, b"through the descriptor\\n")
sys.stderr.buffer.write(b"error through the buffer\\n")
subprocess.run(["echo", "from a command"], stdout=sys.stdout, check=True)
if os.fork() == 0:
    print("from a forked child", flush=True)
    os._exit(0)
os.wait()
print("last, with no newline", end="")
"""


def test_output_written_every_way_is_recorded_and_passed_on(tmp_path: Path) -> None:
    """Text, bytes through ``.buffer``, the descriptor itself, a command given
    ``sys.stdout``, a forked child: each line recorded once, and the bytes passed on as plain
    (the order between lines written in different ways may differ: they travel apart)."""
    program = tmp_path / "ways.py"
    program.write_text(_EVERY_WAY)
    plain = subprocess.run([sys.executable, str(program)], capture_output=True, timeout=60)
    trace = tmp_path / "ways.trace.jsonl"
    traced = subprocess.run(
        [sys.executable, "-m", "loopviz", "record", str(program), "-o", str(trace)],
        capture_output=True,
        timeout=60,
    )
    assert traced.returncode == plain.returncode == 0
    assert sorted(traced.stdout.splitlines()) == sorted(plain.stdout.splitlines())
    assert len(traced.stdout) == len(plain.stdout)
    assert b"error through the buffer" in traced.stderr
    lines = [(r.stream, r.text) for r in read_trace(trace).records if isinstance(r, Output)]
    assert sorted(lines) == sorted(
        [
            (1, "through print"),
            (1, "through the buffer \ufffd\ufffd"),
            (1, "through the descriptor"),
            (2, "error through the buffer"),
            (1, "from a command"),
            (1, "from a forked child"),
            (1, "last, with no newline"),
        ]
    )


_CLOSED = """
import os, sys
log = open(sys.argv[1], "w")
os.close(1)
os.close(2)
for stream in (sys.stdout, sys.stderr, sys.stdout.buffer):
    try:
        stream.write("printed\\n" if stream is not sys.stdout.buffer else b"printed\\n")
        stream.flush()
    except OSError as exc:
        log.write(f"{exc.errno}\\n")
    else:
        log.write("printed\\n")
log.write(f"{sys.stdout.fileno()} {sys.stderr.fileno()}\\n")
"""


def test_closed_descriptors_stay_closed(tmp_path: Path) -> None:
    """A program that closed its descriptors 1 and 2 cannot print, recorded as plain; and its
    ``sys.stdout`` names descriptor 1, as plain (not a pipe of loopviz's)."""
    program = tmp_path / "closed.py"
    program.write_text(_CLOSED)

    def run(*command: str) -> str:
        log = tmp_path / "log"
        subprocess.run([*command, str(program), str(log)], timeout=60, capture_output=True)
        return log.read_text()

    plain = run(sys.executable)
    traced = run(sys.executable, "-m", "loopviz", "record", "-o", str(tmp_path / "t"))
    assert plain == "9\n9\n9\n1 2\n"  # EBADF
    assert traced == plain


_BUSY_THEN = """
import asyncio, os, signal, sys

async def spin():
    while True:
        await asyncio.sleep(0)

async def main():
    spinners = [asyncio.create_task(spin()) for _ in range(3)]
    await asyncio.sleep(0.4)
    print("last words", flush=True)
    {end}

asyncio.run(main())
"""


def _record(tmp_path: Path, source: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    program = tmp_path / "prog.py"
    program.write_text(source)
    trace = tmp_path / "prog.trace.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "loopviz", "record", str(program), "-o", str(trace)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done, trace


def test_a_busy_loop_ended_by_os_exit_loses_nothing(tmp_path: Path) -> None:
    """``os._exit`` ends a process at once: the records of the busy loop's last moments (up
    to a quarter of a second) are sent first, and the trace says nothing is missing."""
    done, trace = _record(tmp_path, _BUSY_THEN.format(end="os._exit(3)"))
    assert "failed: exit status 3" in done.stderr
    records = read_trace(trace).records
    (said,) = [r for r in records if isinstance(r, Output)]
    assert said.text == "last words"
    steps = [r.t for r in records if isinstance(r, Ran)]
    woken = [r.t for r in records if isinstance(r, Ready) and r.cause == Cause.TIMER]
    assert steps and steps[-1] > woken[-1]  # main's wake-up and the spinners' steps after it
    assert not [r for r in records if isinstance(r, Lost)]


def test_a_killed_process_says_what_may_be_missing(tmp_path: Path) -> None:
    """Killed by a signal it cannot catch, the process could not send its last records: the
    trace says from when on what it did may be missing, and the summary says so."""
    done, trace = _record(tmp_path, _BUSY_THEN.format(end="os.kill(os.getpid(), signal.SIGKILL)"))
    assert "killed by signal 9" in done.stderr
    records = read_trace(trace).records
    (lost,) = [r for r in records if isinstance(r, Lost)]
    timed = [r.t for r in records if isinstance(r, (Ran, Output))]
    assert (lost.why, lost.events) == (Loss.KILLED, -1)
    assert lost.t == max(timed)  # the last record that arrived
    summary = subprocess.run(
        [sys.executable, "-m", "loopviz", "summary", str(trace)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "process was killed before it sent all it recorded" in summary.stdout


_ODD_CALLBACKS = """
import asyncio
import time

class Odd:
    '''A callable whose name cannot be read: making its Callback record fails.'''
    def __getattr__(self, name):
        raise RuntimeError(f"no {name}")
    def __call__(self):
        # Long enough (1 ms) to be recorded: a callback under 20 us is not.
        deadline = time.perf_counter() + 0.001
        while time.perf_counter() < deadline:
            pass
        print("odd callback ran")

async def child():
    await asyncio.sleep(0.01)
    return "child done"

async def main():
    loop = asyncio.get_running_loop()
    for _ in range(3):
        loop.call_soon(Odd())
        await asyncio.sleep(0.01)
    print(await asyncio.create_task(child(), name="after the failures"))

asyncio.run(main())
"""


def test_a_failing_hook_drops_its_own_records_only(tmp_path: Path) -> None:
    """Making a callback's record fails (an error inside loopviz): that record is dropped and
    counted, said once on stderr, and everything else is still recorded, the tasks that
    come after included."""
    program = tmp_path / "odd.py"
    program.write_text(_ODD_CALLBACKS)
    plain = subprocess.run(
        [sys.executable, str(program)], capture_output=True, text=True, timeout=60
    )
    done, trace = _record(tmp_path, _ODD_CALLBACKS)
    assert done.returncode == plain.returncode == 0
    assert done.stdout == plain.stdout
    assert done.stderr.count("could not be recorded after an internal error") == 1
    records = read_trace(trace).records
    (lost,) = [r for r in records if isinstance(r, Lost)]
    assert (lost.why, lost.events) == (Loss.FAILED, 3)
    assert not [r for r in records if isinstance(r, Problem)]  # recording never stopped
    timeline = Timeline.from_trace(read_trace(trace))
    (child,) = [info for info in timeline.tasks if info.name == "after the failures"]
    assert child.ended is not None
    assert "3 events from" in "\n".join(f.text for f in findings(timeline))


def test_the_table_of_interned_strings_is_bounded_and_names_stay_right() -> None:
    """A run naming each of many tasks apart: the recorder's table of strings stays bounded
    (it grew for ever), a name it forgot is written again when it comes back, and every task
    reads with its own name."""
    recorder = Recorder()
    recorder.max_strings = 500  # (65,536 by default)
    count = 2 * recorder.max_strings + 100

    async def job() -> None:
        await asyncio.sleep(0)

    async def main() -> None:
        for start in range(0, count, 100):
            names = [f"job-{k}" for k in range(start, min(start + 100, count))]
            await asyncio.gather(*(asyncio.create_task(job(), name=name) for name in names))
        await asyncio.create_task(job(), name="job-0")  # forgotten long ago: written again

    with asyncio.Runner(loop_factory=recorder.loop) as runner:
        runner.run(main())
    recorder.close()
    assert len(recorder._strings) <= 500 and len(recorder._older_strings) <= 500
    texts = [r.text for r in recorder.records if isinstance(r, Str)]
    assert texts.count("job-0") == 2 and texts.count("job-1") == 1
    timeline = Timeline(recorder.header)
    timeline.add(recorder.records)
    named = [info.name for info in timeline.tasks if info.name.startswith("job-")]
    assert named == [f"job-{k}" for k in range(count)] + ["job-0"]


CALLBACK_CORNERS = """\
import asyncio, sys


def handler(loop, context):
    print("the handler sees", repr(sys.exc_info()[1]), flush=True)
    try:
        raise RuntimeError("the handler's own error")
    except RuntimeError as error:  # chained to the callback's, as in an except block
        print("its context:", repr(error.__context__), flush=True)


def fails():
    raise KeyError("cb")


class Runs:  # a context that is not a contextvars.Context: asyncio calls its run()
    def run(self, callback, *args):
        return callback(*args)


def takes(a, b):
    print("takes", a, b, flush=True)


class OwnLoop(asyncio.SelectorEventLoop):
    __slots__ = ("_ready",)  # a stock field made its own slot by a subclass


async def main():
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(handler)
    loop.call_soon(fails)
    loop.call_soon(takes, 1, 2, context=Runs())
    loop.call_later(0.001, takes, 3, 4, context=Runs())
    await asyncio.sleep(0.01)


async def own():
    await asyncio.sleep(0)
    print("its own loop ran", flush=True)


asyncio.run(main())
with asyncio.Runner(loop_factory=OwnLoop) as runner:
    runner.run(own())
"""


def test_callbacks_run_and_fail_as_on_the_stock_loop(tmp_path: Path) -> None:
    """A failed callback's exception handler sees the exception as handled (sys.exc_info, an
    error raised there chains to it); a context that is not a contextvars.Context gets the
    callback's arguments; a loop subclass with its own ``_ready`` slot runs: the same output,
    plain and recorded, with the compiled recorder and with the pure-Python one."""
    program = tmp_path / "corners.py"
    program.write_text(CALLBACK_CORNERS)
    plain = subprocess.run(
        [sys.executable, str(program)], capture_output=True, text=True, timeout=60
    )
    assert "the handler sees KeyError('cb')" in plain.stdout
    assert "its context: KeyError('cb')" in plain.stdout
    assert "takes 1 2" in plain.stdout and "takes 3 4" in plain.stdout
    assert "its own loop ran" in plain.stdout
    for pure in ("", "1"):
        env = {**os.environ, "LOOPVIZ_PURE_PYTHON": pure}
        trace = tmp_path / f"corners{pure}.trace.jsonl"
        record = [sys.executable, "-m", "loopviz", "record", str(program), "-o", str(trace)]
        traced = subprocess.run(record, capture_output=True, text=True, timeout=60, env=env)
        assert (traced.stdout, traced.returncode) == (plain.stdout, plain.returncode), pure


def test_a_pause_while_a_wake_up_is_recorded_drops_that_ready_and_breaks_nothing() -> None:
    # SIGUSR1 (the recorded process's pause) arriving while the recorder takes down what the
    # running step did to a queue: the Ready of the task it woke, made after, is not recorded
    # (paused), and nothing of the old recording is used after it was let go.
    recorder = Recorder(program="x", argv=())
    recorder.watch_resources()
    fired: list[bool] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_name == "_woken_from" and not fired:
            fired.append(True)
            recorder.toggle_pause()

    async def consumer(queue: asyncio.Queue[int]) -> int:
        return await queue.get()

    async def main() -> int:
        queue: asyncio.Queue[int] = asyncio.Queue()
        task = asyncio.create_task(consumer(queue))
        await asyncio.sleep(0)
        await asyncio.sleep(0)  # the consumer waits in get()
        sys.setprofile(profile)
        queue.put_nowait(7)  # this step wakes it
        sys.setprofile(None)
        return await task

    with asyncio.Runner(loop_factory=recorder.loop) as runner:
        assert runner.run(main()) == 7
    recorder.close()
    assert fired
    woken = [r for r in recorder.records if isinstance(r, Ready) and r.task == 2]
    assert all(r.cause != Cause.FUTURE for r in woken)


def test_an_exception_in_a_queues_qsize_as_a_step_ends_reaches_the_program() -> None:
    # The recorder reads a queue's size as a step of a task using it ends: what that raises
    # (here Ctrl-C's KeyboardInterrupt, had its handler run there) comes out, once.
    armed: list[bool] = []

    class Jobs(asyncio.Queue[int]):
        def qsize(self) -> int:
            if armed:
                armed.clear()
                raise KeyboardInterrupt
            return super().qsize()

    async def producer(queue: Jobs) -> None:
        queue.put_nowait(1)
        armed.append(True)

    async def main() -> None:
        await asyncio.create_task(producer(Jobs()))

    recorder = Recorder(program="x", argv=())
    recorder.watch_resources()
    with pytest.raises(KeyboardInterrupt), asyncio.Runner(loop_factory=recorder.loop) as runner:
        runner.run(main())
    recorder.close()
