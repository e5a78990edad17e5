"""A loop's running and stopped marks (format 5): time outside ``run_forever`` is neither busy
nor idle, and is drawn as a gap. Real programs, recorded."""

from __future__ import annotations

import itertools

from conftest import run_record, write_program
from trace_builder import MS, S, TraceBuilder

from loopviz.model.columns import loop_columns
from loopviz.model.timeline import Timeline
from loopviz.report.summary import render_table
from loopviz.trace import End, EndReason, Idle, LoopMark, LoopPhase

TWO_RUNS = """\
    import asyncio
    import time


    async def main():
        await asyncio.sleep(0.01)


    with asyncio.Runner() as runner:
        runner.run(main())
        time.sleep(2)
        runner.run(main())
"""

NEVER_CLOSED = """\
    import asyncio
    import time


    async def main():
        await asyncio.sleep(0.01)


    loop = asyncio.new_event_loop()
    loop.run_until_complete(main())
    time.sleep(1)
"""


def test_two_runs_of_one_runner_leave_a_gap_neither_busy_nor_idle(tmp_path):
    done, trace = run_record(write_program(tmp_path, TWO_RUNS))
    assert done.returncode == 0, done.stderr
    timeline = Timeline.from_file(trace)
    busy, idle = timeline.loop_totals()
    assert busy < 0.1 * S
    assert idle < 0.1 * S
    assert timeline.loop_stopped() >= 1.9 * S  # the loop stayed open, not running
    spans = timeline.loop_spans()
    gaps = [b.start - a.end for a, b in itertools.pairwise(spans) if a.end]
    assert max(gaps) >= 1.9 * S  # drawn as nothing between the runs
    middle = spans[0].start + 1 * S
    assert timeline.loop_at(middle)[0] is False  # no loop is running then
    assert "no loop running" in render_table(timeline)


def test_a_loop_never_closed_is_not_idle_after_its_last_run(tmp_path):
    done, trace = run_record(write_program(tmp_path, NEVER_CLOSED))
    assert done.returncode == 0, done.stderr
    timeline = Timeline.from_file(trace)
    busy, idle = timeline.loop_totals()
    assert idle < 0.1 * S
    assert busy < 0.1 * S
    assert timeline.loop_stopped() >= 0.9 * S
    edges = [0, timeline.end - S // 2, timeline.end]
    assert loop_columns(timeline, edges)[1] is None  # the last half second: no loop drawn


def test_a_trace_without_marks_counts_an_open_loop_as_running():
    """Version 4 traces (and hand-built ones) have only OPENED and CLOSED: read as before."""
    b = TraceBuilder()
    b.header.version = 4
    b.add(LoopMark(0, 1, LoopPhase.OPENED), Idle(10 * MS, 80 * MS, -1))
    b.add(LoopMark(100 * MS, 1, LoopPhase.CLOSED), End(100 * MS, 0, EndReason.EXITED))
    timeline = Timeline(b.header)
    timeline.add(b.records)
    assert timeline.loop_totals() == (20 * MS, 80 * MS)
    assert timeline.loop_stopped() == 0
