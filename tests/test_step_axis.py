"""The step axis: the run drawn in step order, one column per event, each lane showing the
task's state just after each event, even where events share a clock reading."""

from __future__ import annotations

from pathlib import Path

import pytest
from trace_builder import MS, TraceBuilder

from loopviz.app.axis import StepAxis, step_width, steps_between, zoomed_steps
from loopviz.model.columns import Column, loop_columns, task_columns
from loopviz.model.facts import State
from loopviz.model.steps import snapshot
from loopviz.model.timeline import Timeline
from loopviz.trace import (
    Cause,
    End,
    EndReason,
    Finished,
    LoopMark,
    Outcome,
    Ran,
    Ready,
    Wait,
    Waited,
)

FIXTURES = Path(__file__).parent / "fixtures"


def tied() -> Timeline:
    """A and B created at 0; A's step 10-15 ms ends waiting on a sleep just as B's step
    begins (one clock reading, two events); B then blocks the loop for 200 ms from 30 ms."""
    b = TraceBuilder()
    b.add(LoopMark(0, 1, 0))
    b.task(0, 1, "A")
    b.task(0, 2, "B")
    b.add(
        Waited(10 * MS, 1, 5 * MS, Wait.SLEEP, 0, b.site(3), 100 * MS),
        Ran(15 * MS, 2, 5 * MS),
        Finished(30 * MS, 2, 200 * MS, Outcome.RESULT, b.s("None")),
        Ready(230 * MS, 1, Cause.TIMER),
        Finished(231 * MS, 1, MS, Outcome.RESULT, b.s("None")),
        LoopMark(240 * MS, 1, 1),
        End(250 * MS, 0, EndReason.EXITED),
    )
    timeline = Timeline(b.header)
    timeline.add(b.records)
    return timeline


def per_event(timeline: Timeline) -> StepAxis:
    total = timeline.moment_count()
    return StepAxis(0, total, total, timeline)


def test_events_sharing_a_clock_reading_are_a_column_each_in_their_order() -> None:
    timeline = tied()
    axis = per_event(timeline)
    assert axis.width == 1 and axis.steps == list(range(timeline.moment_count() + 1))
    a = task_columns(timeline, 1, axis.edges, axis.ties)
    b = task_columns(timeline, 2, axis.edges, axis.ties)
    states = [(x.state, y.state) for x, y in zip(a, b, strict=True)]
    # 0 the loop opens, 1 A is created, 2 B is created: all at 0 ms
    assert states[:3] == [(None, None), (State.READY, None), (State.READY, State.READY)]
    assert states[3] == (State.RUNNING, State.READY)  # 10 ms: A's step
    assert states[4] == (State.WAITING, State.READY)  # 15 ms: A waits; B has not begun yet
    assert states[5] == (State.WAITING, State.RUNNING)  # 15 ms too: now B's step runs
    assert a[4].kind == Wait.SLEEP
    # B's step from 30 ms blocks the loop: its start and the block are one reading
    running, block = (
        i for i in range(timeline.moment_count()) if timeline.moment_time(i) == 30 * MS
    )
    assert axis.edges[running] == axis.edges[block]
    assert b[running] == b[block] == Column(State.RUNNING, 0, True, True)
    assert loop_columns(timeline, axis.edges)[running] is True


@pytest.mark.parametrize("fixture", ["gather.trace.jsonl", "blocking.trace.jsonl"])
def test_each_column_shows_what_the_loop_holds_after_its_event(fixture: str) -> None:
    """The lanes agree with the loop panel at every step: who runs (and blocks), who is in
    the ready queue, who waits on a timer or I/O."""
    timeline = Timeline.from_file(FIXTURES / fixture)
    axis = per_event(timeline)
    lanes = {
        info.id: task_columns(timeline, info.id, axis.edges, axis.ties) for info in timeline.tasks
    }
    ties = 0
    for index in range(timeline.moment_count()):
        ties += axis.edges[index] == axis.edges[index + 1]
        loop = snapshot(timeline, index)
        for task, lane in lanes.items():
            column = lane[index]
            assert (column.state is State.RUNNING) == (task == loop.running), (index, task)
            if task == loop.running:
                assert column.blocking == (loop.blocking_since is not None), index
            # (an overdue timer is drawn ready: its task is due to run)
            ready = any(queued.task == task for queued in [*loop.ready, *loop.overdue])
            assert (column.state is State.READY) == ready, (index, task)
            if any(parked.task == task for parked in [*loop.timers, *loop.io]):
                assert column.state is State.WAITING, (index, task)
    if fixture.startswith("blocking"):
        assert ties  # the blocking step's start and its block are one clock reading


def test_fewer_events_than_columns_get_a_whole_number_of_columns_each() -> None:
    timeline = tied()
    total = timeline.moment_count()
    axis = StepAxis(0, total, 40, timeline)
    assert axis.width == 40 // total
    assert [len(axis.column_of_step(i)) for i in range(total)] == [axis.width] * total
    starts = [axis.column_of_step(i).start for i in range(total)]
    assert starts == [i * axis.width for i in range(total)]
    assert not axis.column_of_step(total) and not axis.column_of_step(-1)
    assert [axis.step_at(c) for c in (0, axis.width - 1, axis.width)] == [0, 0, 1]
    assert axis.step_at(total * axis.width) is None  # past the last event: blank
    spread = axis.spread(list(range(total)), -1)
    assert len(spread) == 40 and spread[: axis.width] == [0] * axis.width
    assert set(spread[total * axis.width :]) == {-1}


def test_more_events_than_columns_share_them_evenly() -> None:
    timeline = Timeline.from_file(FIXTURES / "blocking.trace.jsonl")
    total = timeline.moment_count()
    axis = StepAxis(0, total, 50, timeline)
    assert axis.width == 1 and len(axis.edges) == 51 and axis.shown == total
    sizes = {b - a for a, b in zip(axis.steps, axis.steps[1:], strict=False)}
    assert sizes <= {total // 50, total // 50 + 1}
    assert axis.column_of_step(total - 1) == range(49, 50)
    assert axis.edges[0] == timeline.moment_time(0) and axis.edges[-1] == timeline.end


def test_zooming_in_step_order_changes_the_width_of_events_at_every_press() -> None:
    timeline = Timeline.from_file(FIXTURES / "blocking.trace.jsonl")
    columns = 100
    axis = StepAxis(50, 100, columns, timeline)
    widths = [axis.width]
    for factor in (0.5, 0.5, 0.5, 2, 2, 2):
        first, count = zoomed_steps(axis, factor, 60)
        axis = StepAxis(first, count, columns, timeline)
        widths.append(axis.width)
        assert 60 in range(axis.start, axis.start + axis.shown)
    assert widths == [1, 2, 4, 8, 4, 2, 1]
    column = axis.column_of_step(60).start
    first, count = zoomed_steps(axis, 2, 60)  # out, past one column an event: two a column
    assert count == 200 and step_width(count, columns) == (1, 200)
    wider = StepAxis(first, count, columns, timeline)
    assert abs(wider.column_of_step(60).start - column) <= 1  # event 60 stays where it was


def test_ticks_count_steps_from_one_and_say_the_time_now_and_then() -> None:
    timeline = Timeline.from_file(FIXTURES / "blocking.trace.jsonl")
    axis = StepAxis(0, 120, 120, timeline)
    ticks = axis.ticks()
    assert ticks[0] == (9, "╵10 · 114 ms")  # step 10 is event 9, at 114 ms
    assert all(label.startswith("╵") for _, label in ticks)
    numbers = [int(label[1:].split()[0]) for _, label in ticks]
    assert [axis.column_of_step(n - 1).start for n in numbers] == [c for c, _ in ticks]
    assert sum(" " in label for _, label in ticks) >= 2  # a time now and then
    ends = [c + len(label) for c, label in ticks]
    assert all(end < start for end, (start, _) in zip(ends, ticks[1:], strict=False))
    assert ends[-1] <= 120


def test_the_events_of_a_time_window() -> None:
    timeline = tied()
    assert steps_between(timeline, 0, 15 * MS) == (0, 4)  # three at 0, A's step at 10 ms
    assert steps_between(timeline, 15 * MS, 16 * MS) == (4, 2)  # the two at 15 ms
