"""``record --window``: a long run keeps only its last stretch, with the totals of the rest."""

from __future__ import annotations

from conftest import run_record, write_program
from trace_builder import S

from loopviz.model import words
from loopviz.model.timeline import Timeline
from loopviz.report.summary import render_table
from loopviz.trace import Gap, GapReason, TaskCreated, read_trace

BUSY = """\
    import asyncio
    import time


    async def worker(n):
        await asyncio.sleep(0)
        return n


    async def keeper():
        while True:
            await asyncio.sleep(0.05)


    async def main():
        kept = asyncio.create_task(keeper(), name="keeper")
        end = time.monotonic() + 3
        while time.monotonic() < end:
            await asyncio.gather(*(worker(i) for i in range(50)))
        kept.cancel()
        print("done")


    asyncio.run(main())
"""


def test_a_window_keeps_the_last_seconds_and_the_totals_of_the_rest(tmp_path):
    done, trace = run_record(write_program(tmp_path, BUSY), "--window", "0.5")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "done\n"  # the program's own output, unchanged
    records = read_trace(trace).records
    gaps = [r for r in records if isinstance(r, Gap)]
    assert len(gaps) == 1 and gaps[0].reason == GapReason.DROPPED
    gap = gaps[0]
    assert gap.until >= 1 * S and gap.tasks > 0 and gap.busy > 0
    created = [r for r in records if isinstance(r, TaskCreated)]
    # Only tasks alive at the cut come from before it: main() and the keeper, by name.
    assert len([r for r in created if r.t < gap.until]) <= 52
    timeline = Timeline.from_file(trace)
    assert timeline.kept_from == gap.until
    assert timeline.end - timeline.kept_from <= 1 * S  # at most one and a half windows
    names = {info.name for info in timeline.tasks}
    assert {"keeper", "Task-1"} <= names  # alive from the start, still known by name
    busy, _ = timeline.loop_totals()
    kept_busy, _ = timeline.loop_totals(timeline.end)
    assert busy == kept_busy + gap.busy  # the summary's totals count what was dropped
    table = render_table(timeline)
    assert words.not_kept(timeline) in table
    assert "the first " in words.not_kept(timeline)
    assert timeline.loop_start == timeline.kept_from  # the app folds what was dropped
    assert words.start_up(timeline.loop_start, dropped=True)[0].startswith("not kept")


async def test_the_app_following_a_windowed_run_holds_only_the_window(tmp_path):
    from conftest import text_of, wait_for

    from loopviz.app.app import LoopvizApp
    from loopviz.app.screens.run import RunScreen
    from loopviz.app.target import Run, resolve

    program = write_program(tmp_path, BUSY)
    app = LoopvizApp(resolve(program, Run(window=0.5)))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunScreen)
        renewed = lambda: screen.timeline is not None and screen.timeline.kept_from > 0  # noqa: E731
        await wait_for(pilot, renewed, "the model to be renewed from the window", 30)
        worker = lambda: screen.recorder_worker is not None and screen.recorder_worker.is_finished  # noqa: E731
        await wait_for(pilot, worker, "the run to end", 60)
        await wait_for(pilot, lambda: screen._since_renewal is None, "the last renewal", 30)
        shown = lambda: screen.timeline is not None and screen.timeline.finished  # noqa: E731
        await wait_for(pilot, shown, "the run's end to be folded in", 30)  # a slice at a time
        timeline = screen.timeline
        assert timeline is not None
        records = read_trace(screen.trace_path).records
        gap = next(r for r in records if isinstance(r, Gap))
        # The model holds what the trace kept when last read (and what came after), not the
        # whole run: fewer tasks than the run made.
        assert 0 < timeline.kept_from <= gap.until
        made = gap.tasks + sum(isinstance(r, TaskCreated) for r in records)
        assert len(timeline.tasks) < made
        # Tasks alive when it was cut show from there on (their records read as at the cut).
        assert all(info.created >= timeline.kept_from for info in timeline.tasks)
        assert "were not kept" in text_of(screen, "#summary Static")
