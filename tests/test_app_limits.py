"""The real app (Textual's pilot) on a trace holding huge strings: a 50 MB task name, output
line and message are shown cut short, and the app answers at once (it took minutes)."""

from __future__ import annotations

from pathlib import Path

from conftest import open_run, text_of, wait_for
from textual.widgets import Static
from trace_builder import MS, TraceBuilder

from loopviz.app.app import LoopvizApp
from loopviz.app.screens.run import RunScreen
from loopviz.app.target import resolve
from loopviz.model import words
from loopviz.model.timeline import MAX_TEXT
from loopviz.trace import (
    Cause,
    End,
    Finished,
    LoopMark,
    Output,
    Problem,
    Ready,
    Wait,
    Waited,
)

HUGE = 50_000_000


def huge_trace(folder: Path) -> Path:
    b = TraceBuilder(program=str(folder / "prog.py"))
    b.add(LoopMark(0, 1, 0))
    b.task(0, 1, "n" * HUGE)
    b.add(Ready(0, 1, Cause.START))
    b.add(Output(MS, 1, "o" * HUGE))
    b.add(Problem(2 * MS, 1, b.s("p" * HUGE)))
    b.add(Waited(MS, 1, MS, Wait.SLEEP, 0, b.site(3), 5 * MS))
    b.add(Ready(8 * MS, 1, Cause.TIMER))
    b.add(Finished(9 * MS, 1, MS, 0, b.s("r" * HUGE)))
    b.add(LoopMark(10 * MS, 1, 1), End(11 * MS, 0, 0))
    return b.write(folder / "huge.trace.jsonl")


async def test_huge_strings_are_cut_short_on_every_pane(tmp_path: Path) -> None:
    app = LoopvizApp(resolve(huge_trace(tmp_path)))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot)
        await pilot.press("end")  # every event shown: the output line, the problem, the end
        await pilot.pause()
        for pane in ("#inspector", "#summary Static", "#events", "#output Static"):
            shown = str(screen.query_one(pane, Static).content)
            assert "…" in shown, pane
            assert len(shown) < 20 * MAX_TEXT, pane
        await pilot.press("home", "right", "right", "right")  # stepping redraws every pane
        await pilot.pause()
        assert "nnnn" in text_of(app, "#inspector")


FLOOD = """\
import asyncio, time

async def job(i):
    await asyncio.sleep(0)

async def main():
    await asyncio.sleep(0.5)  # the app's screen is up and following
    for n in range(0, 3000, 100):
        batch = range(n, n + 100)
        await asyncio.gather(*(asyncio.create_task(job(k), name=f"job-{k}") for k in batch))
    time.sleep(1.0)  # the app has fallen behind and says so while the run goes on
    await asyncio.sleep(1.0)

asyncio.run(main())
"""


async def test_a_run_too_fast_to_follow_is_said_behind_then_shown_whole(tmp_path: Path) -> None:
    """A live run whose records come faster than the app folds them (here: a backlog kept
    small): the app says it fell behind, drops the rest while the run goes on, and shows the
    whole run from its trace once it ends."""
    program = tmp_path / "flood.py"
    program.write_text(FLOOD)
    app = LoopvizApp(resolve(program))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunScreen)
        screen.feed.max_backlog = 2000
        await wait_for(pilot, lambda: screen.feed.behind, "the app to fall behind", 30)
        await wait_for(
            pilot, lambda: words.BEHIND in text_of(screen, "#summary Static"), "the notice", 10
        )
        assert screen.recording is not None and screen.recording.running
        await wait_for(
            pilot,
            lambda: screen.timeline is not None and screen.timeline.finished,
            "the whole run shown",
            60,
        )
        await pilot.pause()
        names = {info.name for info in screen.timeline.tasks}
        assert {f"job-{k}" for k in range(3000)} <= names
        assert words.BEHIND not in text_of(screen, "#summary Static")
        assert "program exited, status 0" in text_of(screen, "#summary Static")


async def source_shown(tmp_path: Path, vouch: bool, then: str = "") -> str:
    """The source pane's text for a trace of ``prog.py``, vouched for or not, the file
    rewritten to ``then`` after."""
    tmp_path = tmp_path / f"{vouch}{bool(then)}"  # the pane keeps what it read, by path
    tmp_path.mkdir()
    program = tmp_path / "prog.py"
    program.write_text("import asyncio\n\nasync def main():\n    await asyncio.sleep(1)\n")
    b = TraceBuilder(program=str(program))
    if vouch:
        b.source(program)
    b.add(LoopMark(0, 1, 0))
    b.task(0, 1, "main")
    b.add(Ready(0, 1, Cause.START), Waited(MS, 1, MS, Wait.SLEEP, 0, b.site(4), MS))
    b.add(LoopMark(3 * MS, 1, 1), End(4 * MS, 0, 0))
    trace = b.write(tmp_path / "prog.trace.jsonl")
    if then:
        program.write_text(then)
    app = LoopvizApp(resolve(trace))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_run(pilot)
        await pilot.press("end")
        await pilot.pause()
        return str(screen.query_one("#source Static", Static).content)


async def test_the_source_pane_shows_only_the_files_the_program_ran(tmp_path: Path) -> None:
    """A file the trace vouches for (its size and hash) is shown; one it names without
    vouching for it (a damaged or hostile trace naming any file) or one changed since is
    not, and the pane says why."""
    assert "await asyncio.sleep(1)" in await source_shown(tmp_path, vouch=True)
    assert await source_shown(tmp_path, vouch=False) == words.source_withheld("prog.py", "unlisted")
    changed = await source_shown(tmp_path, vouch=True, then="password = 'hunter2'\n")
    assert changed == words.source_withheld("prog.py", "changed")
