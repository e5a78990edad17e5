"""Locks, semaphores and queues in the model: levels, holders, waiters in line, who woke
whom, totals, and deadlocks, from hand-built records as the recorder writes them (format 4)."""

from __future__ import annotations

from trace_builder import MS, TraceBuilder

from loopviz.model import words
from loopviz.model.analysis import findings, wait_cycle
from loopviz.model.facts import ResourceColumn, State
from loopviz.model.steps import snapshot
from loopviz.model.timeline import Timeline
from loopviz.model.wakers import wake_at
from loopviz.report.export import chrome_events
from loopviz.report.summary import render_table, to_json
from loopviz.trace import (
    Cause,
    Finished,
    Outcome,
    Ready,
    Resource,
    ResourceKind,
    Use,
    UseOp,
    Wait,
    Waited,
)


def timeline_of(b: TraceBuilder) -> Timeline:
    b.header.version = 4
    timeline = Timeline(b.header)
    timeline.add(b.records)
    return timeline


def lock_in_turns() -> Timeline:
    """Clerks 1-3 take lock `printer` in turns, each holding it 10 ms."""
    b = TraceBuilder()
    b.add(Resource(0, 1, ResourceKind.LOCK, b.s("printer"), b.site(3), 0))
    for clerk in (1, 2, 3):
        b.task(0, clerk, f"clerk-{clerk}")
    b.add(Use(1 * MS, 1, UseOp.ACQUIRED, 1, 1))
    b.add(Waited(1 * MS, 1, 0, Wait.SLEEP, 0, b.site(8), 10 * MS))  # holds it while it sleeps
    for clerk in (2, 3):  # both wait in line
        b.add(Waited(clerk * MS, clerk, 0, Wait.LOCK, 1, b.site(7)))
    for turn, (holder, next_one) in enumerate(((1, 2), (2, 3), (3, 0))):
        t = (11 + 10 * turn) * MS
        b.add(Use(t, 1, UseOp.RELEASED, holder, 0))
        if next_one:
            b.add(Ready(t, next_one, Cause.FUTURE, holder))
            b.add(Use(t + MS // 2, 1, UseOp.ACQUIRED, next_one, 1))
            b.add(Waited(t + MS // 2, next_one, 0, Wait.SLEEP, 0, b.site(8), 10 * MS))
    return timeline_of(b)


def test_a_lock_taken_in_turns_names_holders_waiters_and_who_woke_whom() -> None:
    tl = lock_in_turns()
    resources = tl.resources
    assert [h.task for h in resources.holders_at(1, 5 * MS)] == [1]
    assert tl.waiters_at(1, 5 * MS) == [(2, 2 * MS), (3, 3 * MS)]
    assert [h.task for h in resources.holders_at(1, 15 * MS)] == [2]
    waiting = tl.state_at(3, 5 * MS)
    assert waiting is not None and waiting.resource == 1
    assert words.state(tl, waiting) == (
        "waiting: lock `printer` (held by clerk-1 since 1.00 ms; 1 ahead in line)"
    )
    woken = tl.state_at(2, 11 * MS)
    assert woken is not None and woken.state is State.READY
    assert words.state(tl, woken) == "ready: clerk-1 released lock `printer`"
    woken = tl.state_at(3, 21 * MS)
    assert woken is not None and words.cause(tl, woken) == "clerk-2 released lock `printer`"
    totals = resources.totals(1, tl.waits_on, tl.end)
    assert (totals.uses, totals.max_in_use, totals.max_waiters) == (3, 1, 2)
    assert totals.wait == (11 - 2) * MS + (21 - 3) * MS
    assert totals.longest_hold == 10 * MS


def test_a_lock_let_go_while_tasks_wait_is_promised_not_free_for_a_newcomer() -> None:
    """Between clerk-1's release (11 ms) and clerk-2 taking it (11.5 ms) the lock is not
    locked, yet clerk-4 arriving then must wait: asyncio keeps it for the task it woke."""
    b = TraceBuilder()
    b.add(Resource(0, 1, ResourceKind.LOCK, b.s("printer"), b.site(3), 0))
    for clerk in (1, 2, 4):
        b.task(0, clerk, f"clerk-{clerk}")
    b.add(Use(1 * MS, 1, UseOp.ACQUIRED, 1, 1))
    b.add(Waited(2 * MS, 2, 0, Wait.LOCK, 1, b.site(7)))
    b.add(Use(11 * MS, 1, UseOp.RELEASED, 1, 0))
    b.add(Ready(11 * MS, 2, Cause.FUTURE, 1))
    b.add(Waited(11 * MS + 200, 4, 0, Wait.LOCK, 1, b.site(7)))
    b.add(Use(11 * MS + MS // 2, 1, UseOp.ACQUIRED, 2, 1))
    tl = timeline_of(b)
    waiting = tl.state_at(4, 11 * MS + 300)
    assert waiting is not None and words.state(tl, waiting) == (
        "waiting: lock `printer` (free, but already promised to a task woken to take it; first in"
        " line)"
    )
    facts = words.resource_facts(tl, 1, 11 * MS + 300)
    assert "free now, but already promised to a task woken to take it" in facts
    assert "free now" in words.resource_facts(tl, 1, 0)  # before anyone took it


def test_the_summary_lists_resources() -> None:
    tl = lock_in_turns()
    (listed,) = to_json(tl)["resources"]
    assert listed == {
        "id": 1,
        "kind": "lock",
        "name": "printer",
        "site": "prog.py:3",
        "nth": 1,
        "capacity": None,
        "max_in_use": 1,
        "max_waiters": 2,
        "wait_s": 0.027,
        "acquisitions": 3,
        "longest_hold_s": 0.01,
    }
    table = render_table(tl)
    assert "Resources (1)" in table
    assert any(line.split()[:3] == ["lock", "printer", "prog.py:3"] for line in table.splitlines())


def test_two_resources_made_at_one_site_are_told_apart() -> None:
    """A function run twice makes two events `stop` at one line: the second is `stop #2` in
    the panes, the lanes and the summary, not a second `stop` nobody can tell apart."""
    b = TraceBuilder()
    for rid in (1, 2):
        b.add(Resource(rid * MS, rid, ResourceKind.EVENT, b.s("stop"), b.site(43), 0))
    b.add(Resource(3 * MS, 3, ResourceKind.EVENT, b.s("go"), b.site(43), 0))
    tl = timeline_of(b)
    assert [words.resource(tl, rid) for rid in (1, 2, 3)] == [
        "event `stop`",
        "event `stop` #2",
        "event `go`",
    ]
    assert [words.resource_label(info) for info in tl.resources.all] == ["stop", "stop #2", "go"]
    assert [r["nth"] for r in to_json(tl)["resources"]] == [1, 2, 1]
    table = render_table(tl).splitlines()
    assert [line.split()[:3] for line in table if line.startswith("  event")] == [
        ["event", "stop", "prog.py:43"],
        ["event", "stop", "#2"],
        ["event", "go", "prog.py:43"],
    ]
    assert "  (#2: the second of that name made at that site)" in table


def test_a_full_semaphore_says_how_many_permits_are_in_use() -> None:
    b = TraceBuilder()
    b.add(Resource(0, 7, ResourceKind.SEMAPHORE, b.s("gate"), b.site(2), 2))
    for task in (1, 2, 3):
        b.task(0, task, f"fetch-{task}")
    b.add(Use(1 * MS, 7, UseOp.ACQUIRED, 1, 1), Use(2 * MS, 7, UseOp.ACQUIRED, 2, 2))
    b.add(Waited(3 * MS, 3, 0, Wait.SEMAPHORE, 7, b.site(9)))
    tl = timeline_of(b)
    interval = tl.state_at(3, 4 * MS)
    assert interval is not None
    assert words.state(tl, interval) == "waiting: a permit of semaphore `gate` (2 of 2 in use)"
    assert wait_cycle(tl, 4 * MS) is None  # two holders: waiting is not a deadlock


def test_a_task_in_a_conditions_wait_waits_to_be_notified_not_for_its_lock() -> None:
    """In ``Condition.wait()`` a task has let go of the lock: it waits for a notify, however
    many hold the lock or wait for it, and waiting so is no deadlock with the lock's holder."""
    b = TraceBuilder()
    b.add(Resource(0, 4, ResourceKind.CONDITION, b.s("cond"), b.site(2), 0))
    for task in (1, 2):
        b.task(0, task, f"worker-{task}")
    b.add(Waited(1 * MS, 1, 0, Wait.CONDITION, 4, b.site(6)))  # worker-1 in cond.wait()
    b.add(Use(2 * MS, 4, UseOp.ACQUIRED, 2, 1))  # worker-2 takes the lock and awaits worker-1
    b.add(Waited(2 * MS, 2, 0, Wait.TASK, 1, b.site(9)))
    b.add(Use(3 * MS, 4, UseOp.NOTIFIED, 2, 1))
    tl = timeline_of(b)
    waiting = tl.state_at(1, 2 * MS)
    assert waiting is not None
    assert words.state(tl, waiting) == "waiting: to be notified on condition `cond`"
    assert wait_cycle(tl, 2 * MS) is None


def test_two_locks_taken_in_opposite_order_are_a_deadlock() -> None:
    b = TraceBuilder()
    b.add(Resource(0, 1, ResourceKind.LOCK, b.s("a"), b.site(2), 0))
    b.add(Resource(0, 2, ResourceKind.LOCK, b.s("b"), b.site(3), 0))
    b.task(0, 1, "left")
    b.task(0, 2, "right")
    b.add(Use(1 * MS, 1, UseOp.ACQUIRED, 1, 1), Use(1 * MS, 2, UseOp.ACQUIRED, 2, 1))
    b.add(Waited(2 * MS, 1, 0, Wait.LOCK, 2, b.site(8)))
    b.add(Waited(3 * MS, 2, 0, Wait.LOCK, 1, b.site(14)))
    tl = timeline_of(b)
    tl.advance_to(5 * MS)
    (found,) = [f for f in findings(tl) if f.lint == "deadlock"]
    assert found.t == 3 * MS and set(found.tasks) == {1, 2}
    assert found.text == (
        "deadlock: left waits for lock `b` held by right, at prog.py:8; right waits for lock"
        " `a` held by left, at prog.py:14: none of them can go on"
    )
    (warning,) = [w for w in to_json(tl)["warnings"] if w["lint"] == "deadlock"]
    assert warning["tasks"] == ["left", "right"]


def test_a_task_awaiting_a_task_that_awaits_it_is_a_deadlock() -> None:
    b = TraceBuilder()
    b.task(0, 1, "first")
    b.task(0, 2, "second")
    b.add(Waited(1 * MS, 1, 0, Wait.TASK, 2, b.site(5)))
    b.add(Waited(2 * MS, 2, 0, Wait.TASK, 1, b.site(9)))
    tl = timeline_of(b)
    (found,) = [f for f in findings(tl) if f.lint == "deadlock"]
    assert found.text.startswith("deadlock: first awaits task second, at prog.py:5; second")
    assert wait_cycle(tl, 1500_000) is None  # not before the second wait closed the cycle


def test_the_chrome_export_draws_wake_ups_as_arrows_and_levels_as_counters() -> None:
    tl = lock_in_turns()
    events = list(chrome_events(tl))
    tids = {e["args"]["name"]: e["tid"] for e in events if e.get("name") == "thread_name"}
    starts = {e["id"]: e for e in events if e.get("ph") == "s"}
    ends = {e["id"]: e for e in events if e.get("ph") == "f"}
    assert starts.keys() == ends.keys() and len(starts) == 2
    arrows = sorted((starts[i]["tid"], ends[i]["tid"], ends[i]["ts"]) for i in starts)
    assert arrows == [
        (tids["task clerk-1"], tids["task clerk-2"], 11.5 * 1000),
        (tids["task clerk-2"], tids["task clerk-3"], 21.5 * 1000),
    ]
    counters = [e for e in events if e.get("ph") == "C"]
    assert {e["name"] for e in counters} == {"lock `printer`"}
    assert [e["args"]["level"] for e in counters] == [1, 0, 1, 0, 1, 0]


def test_the_loop_panel_lists_who_waits_in_line_for_each_resource() -> None:
    tl = lock_in_turns()
    loop = snapshot(tl, tl.moment_index(5 * MS))
    (line,) = loop.lines
    assert (line.resource, line.tasks) == (1, [2, 3])
    assert words.line_entry(tl, line, loop.t) == (
        "lock `printer`, held by clerk-1: clerk-2 and clerk-3"
    )
    later = snapshot(tl, tl.moment_index(15 * MS)).lines
    assert [(line.resource, line.tasks) for line in later] == [(1, [3])]


def test_a_resources_columns_say_its_highest_level_its_holders_and_its_waiters() -> None:
    tl = lock_in_turns()
    edges = [0, 5 * MS, 11 * MS, 11 * MS, 15 * MS, 40 * MS, 50 * MS]
    columns = tl.resources.columns(1, edges, tl.waits_on(1), 35 * MS)
    assert [(c.level, c.holders, c.waiters) if c else None for c in columns] == [
        (1, (1,), 2),  # clerk-1 takes it at 1 ms; clerk-2 and clerk-3 wait from 2 and 3 ms
        (1, (1,), 2),
        (0, (), 1),  # a column of no width at 11 ms: just after clerk-1 let go, clerk-2 woken
        (1, (2,), 1),  # clerk-2 took it half a ms later
        (1, (2,), 1),  # the highest level first reached: clerk-2 then clerk-3 hold it
        None,  # after the run's end
    ]
    assert tl.resources.peak(1) == 1


def test_a_wake_up_by_a_release_names_the_releasing_task_and_its_step() -> None:
    b = TraceBuilder()
    b.add(Resource(0, 1, ResourceKind.LOCK, b.s("printer"), b.site(3), 0))
    for clerk in (1, 2):
        b.task(0, clerk, f"clerk-{clerk}")
    b.add(Use(1 * MS, 1, UseOp.ACQUIRED, 1, 1))
    b.add(Waited(2 * MS, 1, 0, Wait.SLEEP, 0, b.site(8), 8 * MS))
    b.add(Waited(2 * MS, 2, 0, Wait.LOCK, 1, b.site(7)))
    b.add(Ready(10 * MS, 1, Cause.TIMER))
    b.add(Finished(11 * MS, 1, MS, Outcome.RESULT, b.s("None")))  # clerk-1's last step
    b.add(Use(11 * MS + 10, 1, UseOp.RELEASED, 1, 0), Ready(11 * MS + 20, 2, Cause.FUTURE, 1))
    tl = timeline_of(b)
    wake = wake_at(tl, 2, 11 * MS + 500)
    assert wake is not None and wake.waker == 1
    assert (wake.start, wake.end) == (11 * MS, 12 * MS)
    assert words.cause(tl, wake.woken) == "clerk-1 released lock `printer`"
    assert wake_at(tl, 2, 5 * MS) is None  # waiting: no wake-up then
    assert wake_at(tl, 1, 10 * MS) is None  # its own timer woke clerk-1


def test_a_resources_bar_says_who_holds_it_and_how_many_wait_as_room_allows() -> None:
    tl = lock_in_turns()
    (info,) = tl.resources.all
    (column,) = tl.resources.columns(1, [4 * MS, 5 * MS], tl.waits_on(1), tl.end)
    said = [words.resource_bar(tl, info, column, room) for room in (30, 17, 12, 7, 5, 3)]
    assert said == ["clerk-1 · 2 waiting", "clerk-1 · 2 wait", "clerk-1", "clerk-1", "cl…-1", ""]
    several = ResourceColumn(2, (2, 3), 12)  # two permits of a semaphore, say
    assert words.resource_bar(tl, info, several, 30) == "clerk-2 +1 · 12 waiting"
    assert words.resource_bar(tl, info, several, 8) == "cl…-2 +1"
    assert words.resource_bar(tl, info, ResourceColumn(0, (), 3), 30) == "3 waiting"
    assert words.resource_bar(tl, info, ResourceColumn(0, (), 0), 30) == ""


def test_a_wait_on_a_lock_never_announced_is_shown_not_a_crash() -> None:
    """A damaged trace (or one written by hand) can name a resource it never made: what
    the app's panes ask of it answers for a lock nobody holds, and it is not listed."""
    b = TraceBuilder()
    b.task(0, 1, "clerk")
    b.add(Waited(1 * MS, 1, 0, Wait.LOCK, 99, b.site(7)))
    tl = timeline_of(b)
    assert tl.resources.holders_at(99, 2 * MS) == []
    assert tl.resources.level_at(99, 2 * MS) == 0
    assert tl.waiters_at(99, 2 * MS) == [(1, 1 * MS)]
    (line,) = snapshot(tl, tl.moment_index(2 * MS)).lines
    assert words.line_entry(tl, line, 2 * MS) == "resource #99: clerk"
    assert tl.resources.all == []
