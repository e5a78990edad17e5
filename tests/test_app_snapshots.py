"""Snapshots of the app (pytest-textual-snapshot) from recorded fixtures, so they are stable.

Update after a deliberate change with ``pytest tests/test_app_snapshots.py --snapshot-update``
and look at the SVGs before committing them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import open_run
from textual.pilot import Pilot

from loopviz.app.app import LoopvizApp
from loopviz.app.target import resolve
from loopviz.model.facts import Segment
from loopviz.model.timeline import Timeline

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def no_animations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


async def loaded(pilot: Pilot[None]) -> None:
    """Wait for the trace to be read in its worker thread."""
    await open_run(pilot)


def test_picker(snap_compare) -> None:
    app = LoopvizApp(resolve(FIXTURES))
    assert snap_compare(app, terminal_size=(100, 30))


def test_run_view_mid_playback(snap_compare) -> None:
    app = LoopvizApp(resolve(FIXTURES / "gather.trace.jsonl"))

    async def to_the_middle(pilot) -> None:
        await loaded(pilot)
        await pilot.press("down", "down", *["right_square_bracket"] * 3)

    assert snap_compare(app, terminal_size=(120, 36), run_before=to_the_middle)


def test_run_view_at_80x24(snap_compare) -> None:
    app = LoopvizApp(resolve(FIXTURES / "gather.trace.jsonl"))

    async def step(pilot) -> None:
        await loaded(pilot)
        await pilot.press(*["right"] * 12)

    assert snap_compare(app, terminal_size=(80, 24), run_before=step)


def test_run_view_maximized_at_80x24_with_ghosts_and_the_asyncio_lane_open(snap_compare) -> None:
    """13_taskgroup: the cancelled downloads' ghosts, the start-up's column, asyncio's lane."""
    app = LoopvizApp(resolve(FIXTURES / "taskgroup.trace.jsonl"))

    async def maximize(pilot) -> None:
        await loaded(pilot)
        await pilot.press("m", "g", "end")

    assert snap_compare(app, terminal_size=(80, 24), run_before=maximize)


def overdue_during_the_block() -> int:
    """The step of 10_blocking_call where the second heartbeat falls due while the download
    holds the loop: both heartbeats are in the ready queue, overdue."""
    model = Timeline.from_file(FIXTURES / "blocking.trace.jsonl")
    return next(
        i
        for i in range(model.moment_count())
        if isinstance(event := model.moment(i).event, Segment)
        and event.interval.overdue
        and model.task(event.task).name == "blocking/beat-2"
    )


async def to_the_block(pilot) -> None:
    await loaded(pilot)
    await pilot.press("a", *["right"] * (overdue_during_the_block() + 1))


def test_step_view_mid_block(snap_compare) -> None:
    """10_blocking_call in step order while the download blocks the loop: red in its lane,
    the heartbeats overdue in the ready queue, the narration saying why."""
    app = LoopvizApp(resolve(FIXTURES / "blocking.trace.jsonl"))
    assert snap_compare(app, terminal_size=(160, 48), run_before=to_the_block)


def test_step_view_mid_block_at_80x24(snap_compare) -> None:
    app = LoopvizApp(resolve(FIXTURES / "blocking.trace.jsonl"))
    assert snap_compare(app, terminal_size=(80, 24), run_before=to_the_block)


def test_step_view_of_a_lock_taken_in_turns_marks_who_woke_the_selected_task(snap_compare) -> None:
    """15_lock in step order, clerk-2 just woken: the printer's lane says who holds it and how
    many wait, and clerk-1's step that released it is marked."""
    app = LoopvizApp(resolve(FIXTURES / "lock.trace.jsonl"))

    async def woken(pilot) -> None:
        await loaded(pilot)
        await pilot.press("a", *["right"] * 22, "down")  # from clerk-1, whose step it is

    assert snap_compare(app, terminal_size=(160, 48), run_before=woken)


def test_a_resource_selected_at_80x24(snap_compare) -> None:
    """15_lock with the printer's lane selected: the inspector says who holds it and who waits
    in line at the playhead, and its totals."""
    app = LoopvizApp(resolve(FIXTURES / "lock.trace.jsonl"))

    async def selected(pilot) -> None:
        await loaded(pilot)
        await pilot.press(*["right"] * 30, *["down"] * 5)

    assert snap_compare(app, terminal_size=(80, 24), run_before=selected)
