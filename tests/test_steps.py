"""The run as narrated steps: the loop's state at each event (ready queue, timers, I/O,
executor) and the sentence for it, from real recordings; and the ``steps`` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_loopviz, run_record, write_program
from trace_builder import MS, S

from loopviz.model import words
from loopviz.model.facts import Segment, State
from loopviz.model.steps import snapshot, steps
from loopviz.model.timeline import Timeline
from loopviz.units import format_time

GATHER = """
    import asyncio

    async def job(label, seconds):
        await asyncio.sleep(seconds)
        return label

    async def main():
        await asyncio.gather(job("A", 1), job("B", 2), job("C", 1))

    asyncio.run(main())
"""

BLOCKING = """
    import asyncio
    import time

    async def beat(label):
        await asyncio.sleep(0.1)
        print(label, "beat")

    async def hog():
        time.sleep(1)  # blocks the loop

    async def main():
        beats = [asyncio.create_task(beat(n)) for n in ("one", "two")]
        await asyncio.create_task(hog())
        await asyncio.gather(*beats)

    asyncio.run(main())
"""


def record(tmp_path: Path, source: str) -> Timeline:
    done, trace = run_record(write_program(tmp_path, source))
    assert done.returncode == 0, done.stderr
    return Timeline.from_file(trace)


def by_coro(timeline: Timeline, coro: str) -> list[int]:
    return [info.id for info in timeline.tasks if info.coro.rsplit(".", 1)[-1] == coro]


def first_wait(timeline: Timeline, task: int) -> int:
    return next(start for _, start, _ in timeline.runs(task, State.WAITING))


@pytest.fixture(scope="module")
def gather(tmp_path_factory: pytest.TempPathFactory) -> Timeline:
    return record(tmp_path_factory.mktemp("gather"), GATHER)


def test_the_timers_of_a_gather_hold_each_sleep_soonest_first(gather: Timeline) -> None:
    a, b, c = by_coro(gather, "job")
    started = max(first_wait(gather, task) for task in (a, b, c))
    loop = snapshot(gather, gather.moment_index(started))
    assert [parked.task for parked in loop.timers] == [a, c, b]  # soonest first
    for parked, seconds in zip(loop.timers, (1, 1, 2), strict=True):
        asked = (parked.interval.deadline or 0) - first_wait(gather, parked.task)
        assert abs(asked - seconds * S) < 5 * MS
    assert words.timer_what(gather, loop.timers[2].interval) == "sleep 2.0 s"
    # lanes and transcript call them by their coroutine and first arguments
    assert [words.label_of(gather, p.task) for p in loop.timers] == [
        "job('A', 1)",
        "job('C', 1)",
        "job('B', 2)",
    ]
    assert not loop.ready and not loop.running
    assert words.loop_state(loop).startswith("idle: nothing is ready, it waits for a timer")


def test_before_it_runs_and_between_two_runs_the_loop_is_open_not_running(
    gather: Timeline,
) -> None:
    """asyncio.run makes the loop and creates the main task before it runs the loop, and runs
    it again after main ends (to shut down): the loop is open then, not missing."""
    said = [(words.narrate(gather, s), words.loop_state(s.loop)) for s in steps(gather)]
    opened = next(i for i, (text, _) in enumerate(said) if text.startswith("An event loop opens"))
    created = next(i for i, (text, _) in enumerate(said) if " creates task main()" in text)
    stopped = "open but not running: no step runs until the program runs the loop"
    assert [state for _, state in said[opened : created + 1]] == [stopped] * (created - opened + 1)
    shutting_down = next(text for text in said if "shutdown_asyncgens as asyncio.run()" in text[0])
    assert shutting_down[1] == stopped
    assert not [state for _, state in said if "select()" in state]


def test_at_one_second_the_short_sleepers_are_ready_in_the_order_they_run(
    gather: Timeline,
) -> None:
    a, b, c = by_coro(gather, "job")
    woken = [s for s in steps(gather) if 0.9 * S < s.moment.t < 1.5 * S and s.loop.ready]
    assert woken, "no step near 1 s has anything ready"
    most = max(woken, key=lambda s: len(s.loop.ready))
    assert [queued.task for queued in most.loop.ready] == [a, c]
    assert [p.task for p in most.loop.timers] == [b]
    # and they then run in that order
    runs = [
        s.moment.task
        for s in steps(gather)
        if isinstance(s.moment.event, Segment) and s.moment.event.interval.state is State.RUNNING
        and 0.9 * S < s.moment.t < 1.5 * S
    ]  # fmt: skip
    assert runs[:2] == [a, c]


def test_each_step_knows_which_task_runs(gather: Timeline) -> None:
    for step in steps(gather):
        event = step.moment.event
        if isinstance(event, Segment) and event.interval.state is State.RUNNING:
            assert step.loop.running == event.task
            assert step.loop.running_at is not None


def test_the_walk_through_the_run_agrees_with_a_snapshot_at_any_step(gather: Timeline) -> None:
    for step in steps(gather):
        assert step.loop == snapshot(gather, step.index), words.narrate(gather, step)


@pytest.fixture(scope="module")
def blocking(tmp_path_factory: pytest.TempPathFactory) -> Timeline:
    return record(tmp_path_factory.mktemp("blocking"), BLOCKING)


def test_a_blocking_step_is_named_running_and_blocking_while_others_fall_overdue(
    blocking: Timeline,
) -> None:
    (hog,) = by_coro(blocking, "hog")
    beats = by_coro(blocking, "beat")
    (block,) = [b for b in blocking.blocking if b.task == hog]
    during = [s for s in steps(blocking) if block.start < s.moment.t < block.start + block.duration]
    overdue = [
        s for s in during if isinstance(s.moment.event, Segment) and s.moment.event.interval.overdue
    ]
    assert [s.moment.task for s in overdue] == beats
    for step in during:
        assert step.loop.running == hog
        assert step.loop.blocking_since == block.start
    last = overdue[-1].loop
    # Overdue timers are not in the ready queue yet: the loop moves them there when it next
    # looks at its timers.
    assert [q.task for q in last.overdue] == beats and not last.ready
    said = words.narrate(blocking, overdue[0])
    assert "sleep timer is due, but the loop is busy" in said
    assert f"{words.name(blocking, hog)}'s step holds it" in said


def test_after_the_block_the_overdue_timers_run_next_though_the_ready_queue_is_empty(
    blocking: Timeline,
) -> None:
    (main,) = by_coro(blocking, "main")
    first, _ = by_coro(blocking, "beat")
    gathered = next(
        s
        for s in steps(blocking)
        if s.moment.task == main
        and words.step_kind(s) == "waiting"
        and "gather" in words.narrate(blocking, s)
    )
    assert not gathered.loop.ready and gathered.loop.overdue
    assert words.loop_state(gathered.loop) == "between steps: the next one is about to run"
    said = words.narrate(blocking, gathered)
    assert said.endswith(
        f"The ready queue is empty, but {words.name(blocking, first)}'s sleep timer is overdue"
        f" (due at {format_time(gathered.loop.overdue[0].interval.start)}): the loop runs"
        " it next."
    ), said


def test_the_blocking_step_says_who_had_to_wait(blocking: Timeline) -> None:
    (hog,) = by_coro(blocking, "hog")
    step = next(s for s in steps(blocking) if s.moment.event in blocking.blocking)
    said = words.narrate(blocking, step)
    names = [words.name(blocking, task) for task in by_coro(blocking, "beat")]
    assert said.startswith(f"{words.name(blocking, hog)}'s step runs 1.0")
    assert "without giving the loop back (busy at prog.py:10): the loop is stuck" in said
    assert f"{names[0]} and {names[1]}, due from " in said
    assert said.endswith("must wait.")


def test_a_wait_says_what_runs_next(gather: Timeline) -> None:
    a, b, _ = by_coro(gather, "job")
    said = [words.narrate(gather, s) for s in steps(gather) if s.moment.task == a]
    assert any(
        text.startswith(f"{words.name(gather, a)} awaits sleep 1.0 s at prog.py:5, so it gives")
        and text.endswith(f"Next in the ready queue: {words.name(gather, b)}.")
        for text in said
    ), said


def test_steps_json_lines_carry_the_loop(tmp_path: Path) -> None:
    program = write_program(tmp_path, GATHER)
    done = run_loopviz("steps", str(program), "--json")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [row["i"] for row in rows] == list(range(1, len(rows) + 1))  # as the app counts
    assert {"i", "t_s", "task", "kind", "text", "loop"} <= set(rows[0])
    assert {row["kind"] for row in rows} >= {"loop", "created", "running", "waiting", "ready"}
    timed = max(rows, key=lambda row: len(row["loop"]["timers"]))
    dues = [timer["due_s"] for timer in timed["loop"]["timers"]]
    assert [timer["task"] for timer in timed["loop"]["timers"]] == [
        "job('A', 1)",
        "job('C', 1)",
        "job('B', 2)",
    ]
    assert len(dues) == 3 and dues == sorted(dues)
    assert all(timer["what"].startswith("sleep ") for timer in timed["loop"]["timers"])
    assert rows[-1]["kind"] == "exit" and rows[-1]["text"] == "The program exited, status 0."


def test_steps_text_is_one_numbered_sentence_per_event(tmp_path: Path) -> None:
    program = write_program(tmp_path, GATHER)
    done = run_loopviz("steps", str(program))
    assert done.returncode == 0, done.stderr
    first, *_ = done.stdout.splitlines()
    assert first.split()[0] == "1" and first.endswith(
        "An event loop opens. Once the program runs it (asyncio.run() does), it runs one step"
        " at a time."
    )


def test_a_step_list_of_a_bad_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "nothing.trace.jsonl"
    done = run_loopviz("steps", str(bad))
    assert done.returncode == 2
    assert done.stderr.strip() == f"loopviz: {bad}: no such file"


def test_a_gather_wakes_its_waiter_once_all_are_done(gather: Timeline) -> None:
    (main,) = by_coro(gather, "main")
    woken = [iv for iv in gather.intervals(main) if iv.state is State.READY][-1]
    assert words.cause(gather, woken) == "the gather it awaited is done (job('B', 2) was the last)"
