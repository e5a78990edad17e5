"""A program picked in the app runs with the arguments typed for it (as a shell splits them)."""

from __future__ import annotations

from pathlib import Path

from conftest import wait_for, write_program

from loopviz.app.app import LoopvizApp
from loopviz.app.screens.picker import PickerScreen
from loopviz.app.screens.run import RunScreen
from loopviz.app.target import resolve

ECHO = '''\
    """Says its arguments."""
    import asyncio
    import sys


    async def main():
        print("args:", sys.argv[1:])


    asyncio.run(main())
'''


async def _run_with(pilot, app: LoopvizApp, typed: str) -> RunScreen:
    await pilot.press("a")
    await pilot.press(*typed, "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), "the run screen")
    screen = app.screen
    assert isinstance(screen, RunScreen)

    def ended() -> bool:
        return screen.recorder_worker is not None and screen.recorder_worker.is_finished

    await wait_for(pilot, ended, "the run to end", 30)
    return screen


async def test_a_picked_program_runs_with_the_arguments_typed(tmp_path: Path) -> None:
    write_program(tmp_path, ECHO, "echo_args.py")
    app = LoopvizApp(resolve(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        screen = await _run_with(pilot, app, "one 'two words'")
        assert screen.timeline is not None
        printed = [text for _, _, text in screen.timeline.output_until(screen.timeline.end)]
        assert printed == ["args: ['one', 'two words']"]
        # Back in the picker, the prompt offers the arguments typed last; escape runs nothing.
        app.pop_screen()
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        assert app.screen.query_one("Input").value == "one 'two words'"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)


async def test_unclosed_quotes_are_reported_and_nothing_runs(tmp_path: Path) -> None:
    write_program(tmp_path, ECHO, "echo_args.py")
    app = LoopvizApp(resolve(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("a")
        await pilot.press(*"'oops", "enter")
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        assert any("cannot read the arguments" in n.message for n in app._notifications)
