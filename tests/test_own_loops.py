"""The loops a program makes itself, recorded: every way of asking for a stock loop gives a
traced one that behaves as the stock one; a loop loopviz cannot trace is reported with where
it was made; asyncio's debug mode shows none of loopviz's own names; a trace written from
Python through the README's recipe reads as a finished run of that program."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import line_of, run_loopviz, run_record, write_program

from loopviz.model import words
from loopviz.model.timeline import Timeline
from loopviz.trace import Unseen, Untraced, read_trace

# One program, every way of asking for a loop; each way runs a task named after it.
WAYS = """\
import asyncio
import sys


async def work(way):
    await asyncio.create_task(asyncio.sleep(0.001), name=way)
    return type(asyncio.get_running_loop()).__name__


def check(loop):
    assert isinstance(loop, asyncio.SelectorEventLoop), type(loop)
    assert repr(loop).startswith("<_UnixSelectorEventLoop running=False"), repr(loop)


class Policy(asyncio.DefaultEventLoopPolicy):
    pass


class OwnLoop(asyncio.SelectorEventLoop):
    pass


print(asyncio.run(work("default")))
with asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) as runner:
    check(runner.get_loop())
    print(runner.run(work("loop_factory")))
loop = asyncio.new_event_loop()
check(loop)
print(loop.run_until_complete(work("new_event_loop")))
loop.close()
loop = asyncio.SelectorEventLoop()
print(loop.run_until_complete(work("selector_loop")))
loop.close()
if sys.version_info >= (3, 13):
    with asyncio.Runner(loop_factory=asyncio.EventLoop) as runner:
        runner.run(work("event_loop"))
loop = OwnLoop()
print(loop.run_until_complete(work("subclass")))
loop.close()
asyncio.set_event_loop_policy(Policy())
print(asyncio.run(work("policy")))
asyncio.set_event_loop_policy(None)
# The stock class itself, under its private name: not traced, reported.
loop = asyncio.unix_events._UnixSelectorEventLoop()  # made here
print(loop.run_until_complete(work("untraced")))
loop.close()
"""


@pytest.fixture(scope="module")
def ways(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One recording of ``WAYS``, shared by the tests that read it."""
    return run_record(write_program(tmp_path_factory.mktemp("ways"), WAYS))


def test_every_way_of_asking_for_a_stock_loop_gives_a_traced_one(
    ways: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    done, trace = ways
    assert done.returncode == 0, done.stderr
    # The program saw what it sees run alone: the stock class's name, isinstance, repr.
    plain = subprocess.run(
        [sys.executable, str(trace.with_suffix("").with_suffix(".py"))],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout == plain.stdout
    assert set(done.stdout.split()) == {"_UnixSelectorEventLoop", "OwnLoop"}
    named = {info.name for info in Timeline.from_file(trace).tasks}
    expected = {"default", "loop_factory", "new_event_loop", "selector_loop", "subclass"}
    expected |= {"policy"} | ({"event_loop"} if sys.version_info >= (3, 13) else set())
    assert expected <= named
    assert "untraced" not in named


def test_a_loop_that_ran_untraced_is_reported_where_it_was_made(
    ways: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    done, trace = ways
    program = trace.with_suffix("").with_suffix(".py")
    (note,) = [r for r in read_trace(trace).records if isinstance(r, Untraced)]
    made = line_of(program, "# made here")
    assert note == Untraced(
        note.t, Unseen.LOOP, "asyncio.unix_events._UnixSelectorEventLoop", str(program), made, ""
    )
    said = (
        " ran an event loop loopviz does not trace, "
        f"asyncio.unix_events._UnixSelectorEventLoop (created from prog.py:{made}): its tasks "
        "are not in this trace (loopviz traces asyncio's own loop classes)"
    )
    assert f"loopviz: {program}{said}" in done.stderr.splitlines()  # named as the user did
    assert "never started" not in done.stderr
    summary = run_loopviz("summary", str(trace))
    assert summary.returncode == 0
    assert f"prog.py{said}" in summary.stdout  # among the warnings


DEBUG = """\
import asyncio, gc, logging, sys, time

logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format="%(levelname)s %(message)s")


async def boom():
    raise ValueError("x")


async def main():
    task = asyncio.create_task(boom())
    print("repr:", repr(task))
    await asyncio.sleep(0.01)
    del task
    gc.collect()  # "Task exception was never retrieved", with where the task was created
    asyncio.get_running_loop().call_soon(time.sleep, 0.15)  # "Executing <Handle ...> took"
    await asyncio.sleep(0.2)


asyncio.run(main(), debug=True)
"""


def test_asyncio_debug_mode_shows_none_of_loopvizs_names(tmp_path: Path) -> None:
    program = write_program(tmp_path, DEBUG)
    plain = subprocess.run(
        [sys.executable, str(program)], capture_output=True, text=True, timeout=60, check=True
    )
    done, _ = run_record(program)
    assert done.returncode == 0, done.stderr
    recorded = done.stdout + done.stderr
    for name in ("loopviz", "TracingLoop", "_TimedSelector", "<frozen runpy>", "Callback"):
        assert name not in recorded.replace("loopviz: trace written", "")

    def said(text: str) -> list[str]:
        """The lines that say loops, handles and tasks (how long a step took aside)."""
        text = re.sub(r"took \d+\.\d+ seconds", "took some time", text)
        kinds = ("DEBUG", "repr:", "WARNING Executing", "future:")
        return [line for line in text.splitlines() if line.startswith(kinds)]

    assert said(recorded) == said(plain.stdout)


RECIPE = """\
import asyncio
from loopviz.record import Recorder


async def main():
    await asyncio.sleep(0.01)


recorder = Recorder(TRACE)
with asyncio.Runner(loop_factory=recorder.loop) as runner:
    runner.run(main())
recorder.close()
"""


def test_a_trace_from_the_readme_recipe_reads_as_a_finished_run(tmp_path: Path) -> None:
    trace = tmp_path / "run.trace.jsonl"
    program = write_program(tmp_path, RECIPE.replace("TRACE", repr(str(trace))), "recipe.py")
    subprocess.run([sys.executable, str(program)], timeout=60, check=True)
    summary = run_loopviz("summary", str(trace))
    assert summary.returncode == 0
    assert summary.stdout.splitlines()[0] == "recipe.py: exited, status 0"
    assert summary.stderr == ""


UVLOOP = """\
import asyncio, warnings
import uvloop

warnings.simplefilter("ignore", DeprecationWarning)  # install() is deprecated on 3.12+


async def work(way):
    await asyncio.create_task(asyncio.sleep(0.001), name=way)
    return type(asyncio.get_running_loop()).__name__


print(uvloop.run(work("run")))
uvloop.install()
print(asyncio.run(work("install")))
print(uvloop.new_event_loop().run_until_complete(work("new_event_loop")))
"""


NO_UVLOOP = importlib.util.find_spec("uvloop") is None


@pytest.mark.skipif(NO_UVLOOP, reason="uvloop is not installed (pip install uvloop)")
def test_no_uvloop_gives_every_way_of_asking_for_uvloop_a_traced_loop(tmp_path: Path) -> None:
    program = write_program(tmp_path, UVLOOP)
    done, trace = run_record(program, "--no-uvloop")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "_UnixSelectorEventLoop\n" * 3
    assert {"run", "install", "new_event_loop"} <= {t.name for t in Timeline.from_file(trace).tasks}
    asked = [line_of(program, f"uvloop.{way}(") for way in ("run", "install", "new_event_loop")]
    assert done.stderr.splitlines()[1:] == [
        f"loopviz: {program} asked for uvloop at prog.py:{line}; --no-uvloop gave it a traced "
        "asyncio loop instead"
        for line in asked
    ]


def test_what_ran_untraced_is_said_once_per_thing_with_who_asked() -> None:
    notes = [
        Untraced(1, Unseen.PROCESS, "41", "/srv/run.py", 3, "hypercorn"),
        Untraced(2, Unseen.PROCESS, "42", "/srv/run.py", 3, "hypercorn"),
        Untraced(3, Unseen.PROCESS, "", "/srv/run.py", 9, ""),
    ]
    assert words.untraced("run.py", 0, notes) == [
        "hypercorn ran no event loop loopviz could trace in its own process, and started 2 "
        "Python processes (pids 41, 42) that loopviz does not follow: an event loop there is "
        "not in this trace",
        "run.py ran no event loop loopviz could trace in its own process, and started a Python "
        "process that loopviz does not follow: an event loop there is not in this trace",
    ]
    assert words.untraced("run.py", 1, notes) == []  # its loop is traced: the processes aside
