"""The timeline model on hand-built record lists (the recorder's own output is tested end to
end in test_summary.py)."""

from __future__ import annotations

from trace_builder import MS, S, TraceBuilder

from loopviz.model.analysis import peak_waiting
from loopviz.model.columns import even_edges, loop_columns, task_columns
from loopviz.model.facts import Moment, OutputLine, Segment, State
from loopviz.model.timeline import Timeline
from loopviz.trace import (
    Blocking,
    Cause,
    End,
    EndReason,
    Finished,
    Idle,
    Job,
    JobPhase,
    LoopMark,
    LoopPhase,
    Outcome,
    Output,
    Problem,
    Ran,
    Ready,
    Stream,
    Wait,
    Waited,
    read_trace,
)
from loopviz.units import format_short, format_time


def sleeper() -> TraceBuilder:
    """main sleeps 1 s at line 6, then returns 'x'; B is created by main and awaited."""
    b = TraceBuilder()
    b.add(LoopMark(0, 1, LoopPhase.OPENED))
    b.task(0, 1, "main")
    b.add(Ready(0, 1, Cause.START))
    b.task(1 * MS, 2, "B", parent=1, line=12)
    b.add(
        Ready(1 * MS, 2, Cause.START),
        Waited(0, 1, 2 * MS, Wait.TASK, 2, b.site(13)),
        Waited(2 * MS, 2, 1 * MS, Wait.SLEEP, 0, b.site(6), timeout=S),
        Idle(3 * MS, 1000 * MS, 1000 * MS),
        Ready(1003 * MS, 2, Cause.TIMER),
        Finished(1004 * MS, 2, 1 * MS, Outcome.RESULT, b.s("'x'")),
        Ready(1005 * MS, 1, Cause.TASK, 2),
        Finished(1006 * MS, 1, 1 * MS, Outcome.ERROR, b.s("ValueError: boom")),
        LoopMark(1008 * MS, 1, LoopPhase.CLOSED),
        End(1010 * MS, 1, EndReason.EXITED),
    )
    return b


def test_states_details_and_sites_of_a_sleeping_task():
    b = sleeper()
    tl = Timeline(b.header)
    tl.add(b.records)
    before = tl.state_at(2, 0)
    assert before is None
    ready = tl.state_at(2, 1 * MS)
    assert ready.state == State.READY and ready.kind == Cause.START
    waiting = tl.state_at(2, 500 * MS)
    assert (waiting.state, waiting.kind, waiting.detail) == (State.WAITING, Wait.SLEEP, "")
    assert (waiting.file, waiting.line, waiting.deadline) == (b.program, 6, 3 * MS + S)
    assert not waiting.overdue
    # The step after the wait resumes where the task was suspended.
    running = tl.state_at(2, 1004 * MS)
    assert (running.state, running.file, running.line) == (State.RUNNING, b.program, 6)
    done = tl.state_at(2, 2 * S)
    assert (done.state, done.kind, done.detail, done.end) == (
        State.DONE, Outcome.RESULT, "'x'", None,
    )  # fmt: skip
    awaiting = tl.state_at(1, 500 * MS)
    assert (awaiting.kind, awaiting.ref, awaiting.detail) == (Wait.TASK, 2, "")
    info = tl.task(2)
    assert (info.name, info.parent, info.created_line, info.ended) == ("B", 1, 12, 1005 * MS)
    assert tl.task(1).children == [2]
    assert tl.task(1).outcome_detail == "ValueError: boom"
    assert tl.finished and tl.end == 1010 * MS and tl.exit.status == 1


def test_overdue_part_of_a_wait_counts_as_ready():
    b = TraceBuilder()
    b.header.version = 3  # a wait names the function it waits in (version 4: the resource)
    b.task(0, 1, "late")
    b.add(
        Waited(0, 1, 10 * MS, Wait.SLEEP, 0, b.site(4), timeout=100 * MS),
        Ready(600 * MS, 1, Cause.TIMER),
    )
    b.task(0, 2, "on_time")
    b.add(
        Waited(0, 2, 10 * MS, Wait.EVENT, b.s("Event.wait"), b.site(5), timeout=100 * MS),
        Ready(50 * MS, 2, Cause.FUTURE, 1),
    )
    tl = Timeline.from_trace(_trace(b))
    waiting = tl.state_at(1, 109 * MS)
    assert waiting.state == State.WAITING and waiting.deadline == 110 * MS
    overdue = tl.state_at(1, 300 * MS)
    assert (overdue.state, overdue.overdue, overdue.start, overdue.end) == (
        State.READY, True, 110 * MS, 600 * MS,
    )  # fmt: skip
    after = tl.state_at(1, 600 * MS)
    assert after.state == State.READY and not after.overdue
    assert (after.kind, after.timer, after.late) == (Cause.TIMER, Wait.SLEEP, 490 * MS)
    assert tl.totals(1, until=700 * MS).ready == 590 * MS
    assert tl.totals(1, until=700 * MS).waiting == 100 * MS
    # A wait ended by its event before the deadline has no overdue part.
    assert not any(i.overdue for i in tl.intervals(2))
    event_wait = tl.state_at(2, 30 * MS)
    assert (event_wait.detail, event_wait.deadline) == ("Event.wait", 110 * MS)
    resolved = tl.state_at(2, 60 * MS)
    assert (resolved.kind, resolved.ref, resolved.timer, resolved.late) == (
        Cause.FUTURE,
        1,
        None,
        0,
    )


def test_timer_run_late_only_because_select_overslept_is_not_overdue():
    b = TraceBuilder()
    b.task(0, 1, "sleeper")
    b.add(
        LoopMark(0, 1, LoopPhase.OPENED),
        Waited(0, 1, 1 * MS, Wait.SLEEP, 0, b.site(4), timeout=100 * MS),
        Idle(1 * MS, 102 * MS, 100 * MS),  # the OS woke the loop 2 ms after the deadline
        Ready(103 * MS + 50_000, 1, Cause.TIMER),
    )
    tl = Timeline.from_trace(_trace(b))
    assert not any(i.overdue for i in tl.intervals(1))
    assert tl.state_at(1, 102 * MS).state == State.WAITING


def test_eager_child_step_nested_in_parent_step():
    """3.12 eager tasks: the child's first step runs (and is recorded) inside the parent's."""
    b = TraceBuilder()
    b.task(0, 1, "parent")
    b.task(2 * MS, 2, "child", parent=1)
    b.add(
        Waited(2 * MS, 2, 1 * MS, Wait.SLEEP, 0, b.site(3), timeout=S),
        Waited(0, 1, 10 * MS, Wait.TASK, 2, b.site(8)),
    )
    tl = Timeline.from_trace(_trace(b))
    assert tl.state_at(1, 2500 * 1000).state == State.RUNNING
    assert tl.state_at(2, 2500 * 1000).state == State.RUNNING
    assert tl.state_at(2, 5 * MS).state == State.WAITING
    assert tl.state_at(1, 5 * MS).state == State.RUNNING
    moments = tl.events_around(-1, 0, 10)
    assert [m.t for m in moments] == sorted(m.t for m in moments)
    assert [what(m) for m in moments][:3] == [
        (1, "created"),
        (1, State.RUNNING),
        (2, "created"),
    ]
    assert what(tl.next_event(0)) == (2, "created")
    assert what(tl.prev_event(10 * MS)) == (2, State.WAITING)


def test_output_lines_arriving_out_of_order_are_sorted_by_time():
    b = TraceBuilder()
    b.add(
        Output(5 * MS, Stream.STDOUT, "second"),
        Output(9 * MS, Stream.STDERR, "third"),
        Output(3 * MS, Stream.STDOUT, "first"),
    )
    tl = Timeline.from_trace(_trace(b))
    assert [text for _, _, text in tl.output_until(6 * MS)] == ["first", "second"]
    assert len(tl.output_until(9 * MS)) == 3
    assert tl.output_until(1 * MS) == []
    assert [m.event for m in tl.events_around(-1, 0, 3)] == [
        OutputLine(Stream.STDOUT, "first"),
        OutputLine(Stream.STDOUT, "second"),
        OutputLine(Stream.STDERR, "third"),
    ]


def test_live_add_shows_open_intervals_then_closes_them():
    b = sleeper()
    records = b.records
    cut = next(i for i, r in enumerate(records) if isinstance(r, Idle))
    tl = Timeline(b.header)
    tl.add(records[:cut])
    assert not tl.finished and tl.exit.status is None
    waiting = tl.state_at(2, 10 * S)
    assert waiting.state == State.WAITING and waiting.end is None
    assert tl.alive_at(2 * MS) == [1, 2]
    assert tl.next_event(3 * MS) is None
    tl.add(records[cut:])
    assert tl.state_at(2, 500 * MS).end == 1003 * MS
    assert what(tl.next_event(3 * MS)) == (2, State.READY)
    assert tl.alive_at(1005 * MS) == [1]
    assert tl.alive_at(2 * S) == []


def test_next_and_prev_event_per_task_and_global():
    tl = Timeline.from_trace(_trace(sleeper()))
    assert what(tl.next_event(3 * MS, task_id=1)) == (1, State.READY)
    assert tl.next_event(3 * MS, task_id=1).t == 1005 * MS
    assert what(tl.next_event(3 * MS)) == (2, State.READY)
    assert tl.next_event(3 * MS).t == 1003 * MS
    assert what(tl.prev_event(1003 * MS, task_id=2)) == (2, State.WAITING)
    assert tl.prev_event(1003 * MS, task_id=2).t == 3 * MS
    assert what(tl.prev_event(1003 * MS, task_id=1)) == (1, State.WAITING)
    assert tl.prev_event(0) is None
    assert tl.next_event(1010 * MS) is None
    assert tl.next_event(2 * S, task_id=2) is None
    assert tl.prev_event(1 * MS, task_id=2) is None


def test_lane_marks_a_short_step_without_calling_the_column_running():
    b = TraceBuilder()
    b.task(100 * MS, 1, "t")
    b.add(
        Waited(100 * MS, 1, 0, Wait.IO, b.s("sock.recv"), b.site(2)),
        Ready(549 * MS, 1, Cause.IO),
        Waited(550 * MS, 1, 1000, Wait.IO, b.s("sock.recv"), b.site(2)),  # a 1 µs step
        End(S, 0, EndReason.EXITED),
    )
    tl = Timeline.from_trace(_trace(b))
    columns = task_columns(tl, 1, even_edges(0, S, 10))
    assert columns[0].state is None
    assert [c.state for c in columns[1:]] == [State.WAITING] * 9  # it mostly waited
    assert [c.ran for c in columns] == [False] * 5 + [True] + [False] * 4  # but a step ran
    assert columns[1].kind == Wait.IO
    assert not any(c.blocking for c in columns)
    assert tl.totals(1).steps == 2
    assert tl.totals(1).running == 1000


def test_totals_per_task_and_for_all():
    tl = Timeline.from_trace(_trace(sleeper()))
    b_totals = tl.totals(2)
    assert b_totals.running == 2 * MS and b_totals.steps == 2
    assert b_totals.waiting == 1000 * MS and b_totals.ready == 1 * MS + 1 * MS
    half = tl.totals(2, until=500 * MS)
    assert half.waiting == 497 * MS and half.steps == 1
    both = tl.totals()
    main = tl.totals(1)
    assert both.running == main.running + b_totals.running
    assert both.steps == 4
    assert tl.loop_totals() == (1008 * MS - 1000 * MS, 1000 * MS)
    assert peak_waiting(tl) == (2, 3 * MS)


def test_blocking_report_before_the_step_record():
    b = TraceBuilder()
    b.task(0, 1, "main")
    b.add(Blocking(250 * MS, 100 * MS, 1, b.site(9)))
    tl = Timeline(b.header)
    tl.add(b.records)
    [live] = tl.blocking
    assert live.ongoing and (live.task, live.start, live.line) == (1, 100 * MS, 9)
    assert live.duration == 150 * MS
    now = tl.state_at(1, 200 * MS)
    assert (now.state, now.start, now.end, now.line) == (State.RUNNING, 100 * MS, None, 9)
    states = [c.state for c in task_columns(tl, 1, even_edges(0, 250 * MS, 5))]
    assert states == [State.READY] * 2 + [State.RUNNING] * 3
    tl.add([Ran(100 * MS, 1, 300 * MS)])
    [step] = tl.blocking
    assert not step.ongoing and (step.duration, step.file, step.line) == (300 * MS, b.program, 9)
    assert task_columns(tl, 1, even_edges(0, 400 * MS, 4))[2].blocking
    assert step in [m.event for m in tl.events_around(0, 0, 20)]


def test_blocking_without_report_uses_the_step_site_then_the_coroutine():
    b = TraceBuilder()
    b.task(0, 1, "main")
    b.add(
        Waited(0, 1, 200 * MS, Wait.SLEEP, 0, b.site(7), timeout=S),
        Ready(2 * S, 1, Cause.TIMER),
        Ran(2 * S, 1, 150 * MS),
        Ran(3 * S, 1, 50 * MS),  # under the threshold
    )
    tl = Timeline.from_trace(_trace(b))
    assert [(s.start, s.line) for s in tl.blocking] == [(0, 7), (2 * S, 1)]


def executor_job() -> TraceBuilder:
    """main awaits job 3 (fetch) on a thread; then the loop reports a lost exception."""
    b = TraceBuilder()
    b.task(0, 1, "main")
    fetch, worker = b.s("fetch"), b.s("ThreadPoolExecutor-0_0")
    b.add(
        Job(1 * MS, 3, JobPhase.SUBMITTED, 0, fetch, 1),
        Waited(0, 1, 1 * MS, Wait.EXECUTOR, 3, b.site(4)),
        Job(2 * MS, 3, JobPhase.STARTED, worker, fetch, 1),
        Job(50 * MS, 3, JobPhase.FINISHED, worker, fetch, 1),
        Ready(51 * MS, 1, Cause.EXECUTOR, 3),
        Problem(60 * MS, 1, b.s("Task exception was never retrieved")),
    )
    return b


def test_jobs_problems_and_program_error():
    tl = Timeline.from_trace(_trace(executor_job()))
    assert (tl.state_at(1, 10 * MS).ref, tl.job_function(3)) == (3, "fetch")
    assert tl.state_at(1, 51 * MS).ref == 3
    assert tl.workers == ["ThreadPoolExecutor-0_0"]
    [span] = tl.job_spans("ThreadPoolExecutor-0_0")
    assert (span.start, span.end, span.label) == (2 * MS, 50 * MS, "fetch")
    assert tl.job_spans("ThreadPoolExecutor-0_0", 60 * MS) == []
    assert [(p.task, p.message) for p in tl.problems] == [(1, "Task exception was never retrieved")]


def test_loop_spans_and_lane():
    tl = Timeline.from_trace(_trace(sleeper()))
    spans = tl.loop_spans()
    assert [(s.label, s.start, s.end) for s in spans] == [
        ("busy", 0, 3 * MS),
        ("idle", 3 * MS, 1003 * MS),
        ("busy", 1003 * MS, 1008 * MS),
    ]
    lane = loop_columns(tl, even_edges(0, 2 * S, 4))
    assert lane == [False, False, True, None]
    assert loop_columns(tl, even_edges(0, 6 * MS, 2)) == [True, False]


def test_truncated_trace_loads_what_is_complete(tmp_path):
    path = sleeper().write(tmp_path / "cut.jsonl")
    data = path.read_bytes()
    path.write_bytes(data[: data.rstrip(b"\n").rfind(b"\n") + 5])  # cut inside the last line
    tl = Timeline.from_file(path)
    assert len(tl.warnings) == 1 and "cut short" in tl.warnings[0]
    assert not tl.finished and tl.exit.status is None
    assert tl.task(2).outcome == Outcome.RESULT
    assert len(read_trace(path).records) == len(sleeper().records) - 1


def test_format_time():
    assert format_time(1_002_000_000) == "1.002 s"
    assert format_time(35 * MS) == "35.0 ms"
    assert format_time(12_300) == "12 µs"
    # rounding up to the next unit says it in that unit: never "1000 ms" beside "2.000 s"
    assert format_time(999_950_000) == "1.000 s" and format_time(999_499_999) == "999 ms"
    assert format_time(999_999) == "1.00 ms" and format_time(999_400) == "999 µs"
    assert format_time(850) == "850 ns"
    # What the program asked for, from a deadline recorded a hair early.
    assert format_short(999_990_000) == "1.0 s"
    assert format_short(149_980_000) == "0.15 s"
    assert format_short(99_980_000) == "0.1 s"
    assert format_short(49_998_000) == "50 ms"


def what(moment: Moment) -> tuple[int, State | str]:
    """A task's moment as (task, the state it entered, or "created")."""
    assert isinstance(moment.event, Segment)
    return moment.task, "created" if moment.event.first else moment.event.interval.state


def _trace(b: TraceBuilder):
    from loopviz.trace import Trace

    return Trace(b.header, list(b.records))


def test_a_live_run_advanced_by_the_clock_keeps_a_blocking_step_growing():
    b = TraceBuilder()
    b.add(LoopMark(0, 1, LoopPhase.OPENED))
    b.task(0, 1, "blocker")
    b.add(Ready(0, 1, Cause.START), Blocking(150 * MS, 10 * MS, 1, b.site(4)))
    tl = Timeline.from_trace(_trace(b))
    (step,) = tl.blocking
    assert step.ongoing and step.duration == 140 * MS
    tl.advance_to(2 * S)  # nothing new arrived, but the program is still blocked at 2 s
    assert tl.blocking[0].duration == 2 * S - 10 * MS
    assert task_columns(tl, 1, even_edges(0, 2 * S, 4))[-1].blocking
    assert tl.loop_totals() == (2 * S, 0)  # busy all along: it never got back to select()


def test_a_deadline_missed_while_a_step_blocks_shows_overdue_before_the_wake_up_arrives():
    b = TraceBuilder()
    b.add(LoopMark(0, 1, LoopPhase.OPENED))
    b.task(0, 1, "beat")
    b.task(0, 2, "blocker")
    b.add(
        Ready(0, 1, Cause.START),
        Ready(0, 2, Cause.START),
        Waited(0, 1, 1 * MS, Wait.SLEEP, b.s("sleep"), b.site(3), 50 * MS),  # due at 51 ms
    )
    so_far = len(b.records)
    b.add(Blocking(150 * MS, 2 * MS, 2, b.site(9)))  # blocking since 2 ms, still at 150 ms
    live = Timeline(b.header)
    live.add(b.records[:so_far])
    live.advance_to(40 * MS)
    assert live.state_at(1, 39 * MS).state == State.WAITING
    live.add(b.records[so_far:])
    live.advance_to(400 * MS)  # still blocked: the beat is due but cannot run
    now = live.state_at(1, 399 * MS)
    assert (now.state, now.overdue, now.start) == (State.READY, True, 51 * MS)
    b.add(
        Ran(2 * MS, 2, 998 * MS),  # the block ends at 1 s
        Ready(1000 * MS + 20_000, 1, Cause.TIMER),
        Finished(1001 * MS, 1, 10_000, Outcome.RESULT, 0),
    )
    live.add(b.records[so_far + 1 :])
    whole = Timeline.from_trace(_trace(b))  # the same story as when read at once
    assert list(live.intervals(1)) == list(whole.intervals(1))
    assert whole.state_at(1, 399 * MS).overdue


def test_the_loop_counts_as_idle_after_its_last_step_when_the_run_is_cut_off():
    b = TraceBuilder()
    b.add(LoopMark(0, 1, LoopPhase.OPENED))
    b.task(0, 1, "sleeper")
    b.add(
        Ready(0, 1, Cause.START),
        Waited(1 * MS, 1, 1 * MS, Wait.SLEEP, b.s("sleep"), b.site(3), 10 * S),
        Idle(2 * MS, 500 * MS, 10 * S),
        Ready(502 * MS, 1, Cause.IO),
        Waited(503 * MS, 1, 1 * MS, Wait.SLEEP, b.s("sleep"), b.site(3), 10 * S),
    )
    live = Timeline.from_trace(_trace(b))
    live.advance_to(3 * S)  # in select() since 504 ms, with no record of it yet
    busy, idle = live.loop_totals()
    assert busy == 4 * MS and idle == 3 * S - 4 * MS
    assert [(s.start, s.busy) for s in live.loop_spans(0)][-1] == (504 * MS, False)

    b.add(End(3 * S, -9, EndReason.TIMEOUT))  # then killed there
    killed = Timeline.from_trace(_trace(b))
    assert killed.loop_totals() == (4 * MS, 3 * S - 4 * MS)
    assert loop_columns(killed, even_edges(0, 3 * S, 3)) == [False, False, False]
