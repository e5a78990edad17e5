"""``record --window``: a long run keeps only its last stretch, with the totals of the rest."""

from __future__ import annotations

import pytest
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


CHILDREN = """\
    import asyncio, multiprocessing, sys, time


    async def worker(n):
        await asyncio.sleep(0)
        return n


    async def busy(going):
        kept = asyncio.create_task(asyncio.sleep(60), name="keeper")
        while going():
            await asyncio.gather(*(worker(i) for i in range(20)))
        kept.cancel()


    def child(stop, status):
        asyncio.run(busy(lambda: not stop.is_set()))
        sys.exit(status)


    if __name__ == "__main__":
        spawn = multiprocessing.get_context("spawn")
        stop = spawn.Event()
        stop.set()
        early = spawn.Process(target=child, args=(stop, 4))  # ends long before the window
        early.start()
        early.join(30)
        stop.clear()
        late = [spawn.Process(target=child, args=(stop, 0)) for _ in range(2)]
        for worker_ in late:
            worker_.start()
        end = time.monotonic() + 3

        def going():  # 3 s, then until both children ended
            if time.monotonic() > end:
                stop.set()
            return any(worker_.is_alive() for worker_ in late)

        asyncio.run(busy(going))
        for worker_ in late:
            worker_.join(30)
        print("done", early.exitcode, [worker_.exitcode for worker_ in late])
"""


@pytest.fixture(scope="module")
def windowed_children(tmp_path_factory):
    folder = tmp_path_factory.mktemp("windowed")
    return run_record(write_program(folder, CHILDREN), "--window", "0.5")


def test_a_window_keeps_each_child_process_and_its_tasks_last_seconds(windowed_children):
    """Two spawned children busy for 3 s and one that ended at the start, recorded with
    --window 0.5: every child is still known (its command, how it ended), each child's tasks
    are those of the last stretch (the ids of one process never taken for another's), and the
    trace reads without damage."""
    from collections import Counter

    from loopviz.model.processes import PROCESS_IDS
    from loopviz.trace import Exit, Process

    done, trace = windowed_children
    assert done.returncode == 0, done.stderr
    assert done.stdout == "done 4 [0, 0]\n"
    records = read_trace(trace).records
    gap = next(r for r in records if isinstance(r, Gap))
    assert gap.until >= 2 * S
    assert sum(isinstance(r, Exit) for r in records) >= 3
    timeline = Timeline.from_file(trace)
    assert timeline.warnings == []
    assert len({r.proc for r in records if isinstance(r, Process)}) == len(timeline.processes)
    spawned = [p for p in timeline.processes if "multiprocessing.spawn" in p.command]
    assert len(spawned) == 3, timeline.processes
    early, *late = sorted(spawned, key=lambda p: p.started)
    assert early.status == 4 and early.ended is not None and early.ended < gap.until
    assert early.started < early.ended  # its own times, not the window's start
    assert [p.status for p in late] == [0, 0]
    # Records come in batches (a child's each up to a quarter second old), dropped whole: of
    # what was made long before the cut, only the tasks alive at it are kept (busy(), the
    # keeper, a gather's workers).
    section, old = 0, Counter()
    for record in records:
        if isinstance(record, Process):
            section = record.proc
        elif isinstance(record, TaskCreated) and record.t < gap.until - S // 2:
            old[section] += 1
    for process in (0, *(p.proc for p in late)):
        tasks = [info for info in timeline.tasks if info.process == process]
        assert tasks, process
        assert old[process] <= 25, old
        assert all(info.id // PROCESS_IDS == process for info in tasks)
        assert "keeper" in {info.name for info in tasks}
        assert max(info.created for info in tasks) > timeline.kept_from
    assert not [info for info in timeline.tasks if info.process == early.proc]  # all dropped
    table = render_table(timeline)
    assert "exited with status 4" in table and words.not_kept(timeline) in table


async def test_the_app_reads_a_windowed_trace_of_child_processes(windowed_children, monkeypatch):
    """Each child that ran a loop in the window has its row over its own tasks' lanes."""
    from conftest import open_run

    from loopviz.app.app import LoopvizApp
    from loopviz.app.target import resolve
    from loopviz.app.widgets.timeline_view import PROCESS

    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    _, trace = windowed_children
    async with LoopvizApp(resolve(trace)).run_test(size=(140, 40)) as pilot:
        screen = await open_run(pilot)
        timeline = screen.timeline
        assert timeline is not None and timeline.kept_from > 0
        heads = [row for row in screen.view._rows if row.kind == PROCESS]
        assert len(heads) == 2  # the two that ran in the window, each with its tasks
        for head in heads:
            tasks = screen.view.process_tasks(int(head.key))
            assert tasks and {timeline.task(task).process for task in tasks} == {head.key}


def test_the_loop_at_a_step_is_the_loop_of_the_process_it_is_about(windowed_children):
    """The program and two children run their loops side by side: the step view's loop panel
    (and the transcript) at a child's event holds only that child's tasks, at the program's
    only the program's. (Sampled: the tasks carried over the window's cut all read as at
    its time, a tie the walk of every step takes long over.)"""
    from loopviz.model.processes import PROCESS_IDS
    from loopviz.model.steps import snapshot

    _, trace = windowed_children
    timeline = Timeline.from_file(trace)
    count = timeline.moment_count()
    seen = set()
    for index in range(count // 2, count, max(1, count // 2 // 300)):
        task = timeline.moment(index).task
        if not task:
            continue
        process = task // PROCESS_IDS
        seen.add(process)
        loop = snapshot(timeline, index)
        tasks = [loop.running, *(q.task for q in loop.ready), *(p.task for p in loop.timers)]
        tasks += [p.task for p in loop.io]
        assert {t // PROCESS_IDS for t in tasks if t} <= {process}, index
    assert len(seen) == 3  # the program and two children
