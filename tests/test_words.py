"""Every sentence a user reads, from ``model.words``; and that each surface (inspector, event
log, summary, JSON, exports) says the same thing in the same words."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

from conftest import open_run, text_of
from test_timeline import executor_job, sleeper
from trace_builder import MS, S, TraceBuilder

from loopviz.app.app import LoopvizApp
from loopviz.app.target import resolve
from loopviz.model import words
from loopviz.model.facts import BlockingStep
from loopviz.model.timeline import Timeline
from loopviz.report.export import chrome_events, write_csv
from loopviz.report.summary import render_table, to_json
from loopviz.trace import (
    Blocking,
    Cause,
    End,
    EndReason,
    Finished,
    LoopMark,
    LoopPhase,
    Outcome,
    Output,
    Ready,
    Stream,
    Trace,
    Wait,
    Waited,
)


def timeline_of(b: TraceBuilder) -> Timeline:
    return Timeline.from_trace(Trace(b.header, list(b.records)))


def late_sleeper(end: End | None = None) -> TraceBuilder:
    """'late' sleeps 0.1 s from 10 ms, but its timer fires at 600 ms: 490 ms late."""
    b = TraceBuilder()
    b.add(LoopMark(0, 1, LoopPhase.OPENED))
    b.task(0, 1, "late", line=2)
    b.add(
        Ready(0, 1, Cause.START),
        Waited(0, 1, 10 * MS, Wait.SLEEP, 0, b.site(7), timeout=100 * MS),
        Ready(600 * MS, 1, Cause.TIMER),
    )
    if end is not None:
        b.add(end)
    return b


def test_the_event_log_of_a_run_in_plain_words():
    tl = timeline_of(sleeper())
    assert [words.moment(tl, m) for m in tl.events_around(-1, 0, 100)] == [
        "event loop started",
        "task main created",  # created before any task: no "by"
        "task main running",
        "task B created by main at prog.py:12",
        "task main waiting: task B at prog.py:13",  # at 2 ms, as B starts running
        "task B running",
        "task B waiting: sleep 1.0 s at prog.py:6",
        "task B ready: its sleep timer fired",
        "task B running",
        "task B done: returned 'x'",
        "task main ready: task B finished",
        "task main running",
        "task main done: raised ValueError: boom",
        "event loop closed",
        "program failed: exit status 1",
    ]


def test_states_say_what_a_task_waits_on_why_it_is_ready_and_how_it_ended():
    tl = timeline_of(sleeper())
    assert words.state(tl, tl.state_at(2, 1 * MS)) == "ready: its first step is due"
    assert words.state(tl, tl.state_at(2, 500 * MS)) == "waiting: sleep 1.0 s"
    assert words.state(tl, tl.state_at(1, 500 * MS)) == "waiting: task B"
    assert words.state(tl, tl.state_at(2, 1004 * MS)) == "running"
    assert words.state(tl, tl.state_at(2, 2 * S)) == "done: returned 'x'"
    assert words.task_outcome(tl, 1) == "raised ValueError: boom"


def test_a_late_timer_and_the_overdue_time_before_it():
    b = late_sleeper()
    b.header.version = 3  # a wait names the function it waits in (version 4: the resource)
    b.task(0, 2, "on_time")
    b.add(
        Waited(0, 2, 10 * MS, Wait.EVENT, b.s("Event.wait"), b.site(5), timeout=100 * MS),
        Ready(50 * MS, 2, Cause.FUTURE, 1),
        Waited(51 * MS, 2, 1 * MS, Wait.QUEUE_GET, 0, b.site(6)),
    )
    tl = timeline_of(b)
    overdue = tl.state_at(1, 300 * MS)
    assert words.state(tl, overdue) == "overdue: its sleep timer was due but the loop was busy"
    assert words.state(tl, tl.state_at(1, 600 * MS)) == ("ready: its sleep timer fired 490 ms late")
    assert words.wait(tl, tl.state_at(2, 30 * MS)) == "Event.wait (timeout 0.1 s)"
    assert (
        words.cause(tl, tl.state_at(2, 50 * MS)) == "a future it awaited was resolved by task late"
    )
    assert words.wait(tl, tl.state_at(2, 60 * MS)) == "a queue, to get an item"  # no name recorded


def test_a_timer_late_by_less_than_the_block_threshold_is_not_called_late():
    b = TraceBuilder()
    b.task(0, 1, "t")
    b.add(
        Waited(0, 1, 10 * MS, Wait.LOCK, b.s("Lock.acquire"), b.site(3), timeout=100 * MS),
        Ready(150 * MS, 1, Cause.TIMER),  # 40 ms late: overdue, but under 100 ms
    )
    tl = timeline_of(b)
    assert words.state(tl, tl.state_at(1, 149 * MS)) == (
        "overdue: its timeout was due but the loop was busy"
    )
    assert words.state(tl, tl.state_at(1, 150 * MS)) == "ready: its timeout fired"


def test_executor_jobs_problems_and_output_lines():
    b = executor_job()
    b.add(Output(70 * MS, Stream.STDERR, "oops"))
    tl = timeline_of(b)
    assert words.state(tl, tl.state_at(1, 10 * MS)) == "waiting: fetch() (job 3)"
    assert words.state(tl, tl.state_at(1, 51 * MS)) == "ready: fetch() (job 3) finished"
    said = [words.moment(tl, m) for m in tl.events_around(0, 0, 20)]
    assert said == [
        "task main submitted fetch() (job 3)",
        "task main waiting: fetch() (job 3) at prog.py:4",
        "fetch() (job 3) started on thread ThreadPoolExecutor-0_0",
        "fetch() (job 3) finished on thread ThreadPoolExecutor-0_0",
        "task main ready: fetch() (job 3) finished",
        "task main: Task exception was never retrieved",
        "stderr: oops",
    ]


def test_how_a_program_ended():
    assert words.ending(EndReason.EXITED, 0) == "exited, status 0"
    assert words.ending(EndReason.EXITED, 1, "ValueError: boom") == "failed: ValueError: boom"
    assert words.ending(EndReason.EXITED, 3) == "failed: exit status 3"
    assert words.ending(EndReason.TIMEOUT, -9) == "timed out and was killed"
    assert words.ending(EndReason.TIMEOUT, -9, timeout=1.0) == "timed out after 1 s and was killed"
    assert words.ending(EndReason.INTERRUPTED, -2) == "was interrupted (stopped by the user)"
    assert words.ending(EndReason.SIGNAL, -15) == "was killed by signal 15 (SIGTERM)"
    assert words.ending(EndReason.SIGNAL, None) == "was killed by a signal"
    assert words.ending(None, None) == "ended"
    assert words.outcome(Outcome.ERROR, "") == "raised an exception"
    assert words.program_end(timeline_of(late_sleeper())) == words.UNFINISHED


def test_a_blocking_step_reads_the_same_in_the_event_log_the_summary_and_the_json():
    b = TraceBuilder()
    b.task(0, 1, "main")
    b.add(Blocking(250 * MS, 100 * MS, 1, b.site(9)))
    tl = timeline_of(b)
    [ongoing] = tl.blocking
    assert (
        words.blocked(tl, ongoing)
        == "task main is still blocking the loop, 150 ms so far at prog.py:9"
    )
    b.add(Finished(100 * MS, 1, 300 * MS, Outcome.RESULT, 0), End(S, 0, EndReason.EXITED))
    tl = timeline_of(b)
    [step] = tl.blocking
    sentence = "task main blocked the loop 300 ms at prog.py:9"
    assert words.blocked(tl, step) == sentence
    assert sentence in [words.moment(tl, m) for m in tl.events_around(0, 0, 20)]
    assert f"  {sentence}\n" in render_table(tl)
    assert [w["text"] for w in to_json(tl)["warnings"]] == [sentence]
    callback = BlockingStep(0, 0, 200 * MS, "", 0)
    assert words.blocked(tl, callback) == "a callback blocked the loop 200 ms"


async def test_the_same_interval_in_the_same_words_on_every_surface(tmp_path: Path):
    """The late wake-up: the inspector, the event log, the summary's warning, the JSON, the
    CSV and the Chrome export all say "its sleep timer fired 490 ms late"; and how the program
    ended reads the same in the summary pane, the table and the event log."""
    b = late_sleeper(End(S, -9, EndReason.TIMEOUT))
    path = b.write(tmp_path / "late.trace.jsonl")
    tl = Timeline.from_file(path)
    because = "its sleep timer fired 490 ms late"
    ended = "timed out and was killed"

    app = LoopvizApp(resolve(path))
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_run(pilot)
        async with asyncio.timeout(10):  # a few steps to the wake-up
            while screen.playhead < 600 * MS:
                await pilot.press("right")
        assert screen.playhead == 600 * MS
        assert f"ready: {because}" in text_of(app, "#inspector")
        assert f"task late ready: {because}" in text_of(app, "#events")
        assert f"program {ended}" in text_of(app, "#summary Static")

    warning = f"task late never finished, ready: {because}"
    table = render_table(tl)
    assert table.startswith(f"prog.py: {ended}\n") and f"  {warning}\n" in table
    assert words.moment(tl, tl.events_around(S, 1, 0)[-1]) == f"program {ended}"
    assert {"lint": "never-finished", "t_s": 0.0, "text": warning} in to_json(tl)["warnings"]
    json.dumps(to_json(tl))  # all plain data

    out = io.StringIO()
    write_csv(tl, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [row["detail"] for row in rows if row["start_s"] == "0.6"] == [because]
    names = [e["name"] for e in chrome_events(tl) if e.get("ph") == "X" and e["cat"] == "ready"]
    assert f"ready: {because}" in names
    assert "overdue: its sleep timer was due but the loop was busy" in names


def test_a_parent_the_trace_never_announced_is_named_by_its_id():
    """A trace cut at its start names a creator it never announced: every surface that names
    the parent says "#1" rather than failing."""
    b = TraceBuilder()
    b.task(1 * MS, 2, "child", parent=1, line=5)
    b.add(End(2 * MS, 0, EndReason.EXITED))
    tl = timeline_of(b)
    first = tl.events_around(MS, 1, 0)[0]
    assert words.moment(tl, first) == "task child created by #1 at prog.py:5"
    assert "#1" in render_table(tl)


def test_a_process_row_leaves_out_its_pid_rather_than_cut_it() -> None:
    from loopviz.model.processes import ProcessInfo

    info = ProcessInfo(2, 56124, 56000, "python -c ...", 0)
    label = words.process_row(info, 12)
    assert label == "child 2 · 12 tasks · pid 56124"
    assert words.fit_process_row(label, 40) == label
    assert words.fit_process_row(label, 25) == "child 2 · 12 tasks"
    assert words.fit_process_row(label, 12) == "child …tasks"
