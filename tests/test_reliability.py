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

from loopviz import exits
from loopviz.app.target import resolve
from loopviz.record import Recorder
from loopviz.trace import (
    End,
    Output,
    Problem,
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
