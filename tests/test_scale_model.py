"""The model behind navigating thousands of tasks: the census per column (against every lane
asked one by one), groups by coroutine and their spreads, finding tasks, the worst waits and
steps, and the words that say them. The trace is a server's (``server_trace``): 3,038 tasks."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
from server_trace import BLOCK, LIBRARY, server_trace
from trace_builder import MS

from loopviz.model import search, words
from loopviz.model.census import EVERY, Census
from loopviz.model.columns import even_edges
from loopviz.model.facts import Segment, State, TaskInfo
from loopviz.model.groups import FOLD_AT, Grouping, Tally, alive, kth, percentile, stats
from loopviz.model.timeline import Timeline
from loopviz.trace import Outcome, read_trace
from loopviz.units import format_time

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Timeline:
    return Timeline.from_file(server_trace(tmp_path_factory.mktemp("server")))


def ready_waits(timeline: Timeline) -> list[tuple[int, int, int]]:
    """(length, task, start) of every finished wait in the ready queue, overdue and woken
    parts together, asked of every lane."""
    waits = []
    for info in timeline.tasks:
        start = None
        for interval in timeline.intervals(info.id):
            if interval.state is State.READY:
                start = interval.start if start is None else start
            elif start is not None:
                waits.append((interval.start - start, info.id, start))
                start = None
    return waits


def test_the_census_of_a_column_is_every_lane_summed(server: Timeline) -> None:
    census = Census(server)
    for t0, t1, columns in ((0, server.end, 97), (1_500 * MS, 1_900 * MS, 160)):
        edges = even_edges(t0, t1, columns)
        found = census.columns(edges)
        for c in range(0, columns, 7):
            a, b = edges[c], edges[c + 1]
            waiting = ready = running = 0
            for info in server.tasks:
                (w0, r0, x0, _), (w1, r1, x1, _) = server.sums(info.id, [a, b])
                waiting, ready, running = waiting + w1 - w0, ready + r1 - r0, running + x1 - x0
            assert found[c].waiting == pytest.approx(waiting / (b - a))
            assert found[c].ready == pytest.approx(ready / (b - a))
            assert found[c].running == pytest.approx(running / (b - a))
            (busy0, idle0), (busy1, idle1) = server.loop_totals(a), server.loop_totals(b)
            assert found[c].busy == pytest.approx((busy1 - busy0) / (busy1 - busy0 + idle1 - idle0))
            ended_here = [
                length for length, _, start in ready_waits(server) if a <= start + length < b
            ]
            assert found[c].lag == max(ended_here, default=0)


def test_the_block_shows_in_the_census_busy_and_piling_up_in_the_ready_queue(
    server: Timeline,
) -> None:
    """main's 300 ms step: the loop is busy throughout, the requests due meanwhile wait in
    the ready queue, and when it ends the lag is as long as the block."""
    step = Census(server).longest_step()
    assert step is not None and step.length == BLOCK
    edges = even_edges(step.start - BLOCK, step.start + 2 * BLOCK, 30)
    columns = Census(server).columns(edges)
    during = columns[11:19]
    assert all(column.busy == 1.0 and column.running == pytest.approx(1.0) for column in during)
    assert min(column.ready for column in during[2:]) >= 3  # the handlers due pile up
    assert max(column.ready for column in columns[:9]) < 0.1  # before, none had to wait
    assert max(column.lag for column in columns) >= BLOCK - 5 * MS


@pytest.mark.parametrize("fixture", ["gather", "blocking", "taskgroup"])
def test_in_step_order_the_counts_are_those_just_after_each_event(fixture: str) -> None:
    timeline = Timeline.from_file(FIXTURES / f"{fixture}.trace.jsonl")
    census = Census(timeline)
    states: dict[int, State] = {}
    for k in range(timeline.moment_count()):
        event = timeline.moment(k).event
        if isinstance(event, Segment):
            states[event.task] = event.interval.state
        counted = [sum(state is s for state in states.values()) for s in State]
        running, ready, waiting = census.counts_after(k)
        assert (waiting, ready, running) == tuple(counted[:3]), k
    steps = list(range(0, timeline.moment_count() + 1, 3))
    edges = [timeline.moment_time(min(k, timeline.moment_count() - 1)) for k in steps]
    for c, column in enumerate(census.columns(edges, steps)):
        after = [census.counts_after(k) for k in range(steps[c], steps[c + 1])]
        assert column.ready == pytest.approx(sum(n[1] for n in after) / len(after))
        assert column.waiting == pytest.approx(sum(n[2] for n in after) / len(after))


def test_a_live_run_fed_in_batches_counts_as_the_whole_trace(tmp_path: Path) -> None:
    """Records come as the recorder writes them (a step's record after what the step did):
    late ones reorder the last events, which the census folds in again."""
    path = server_trace(tmp_path, requests=400)
    trace = read_trace(path)
    whole = Census(Timeline.from_trace(trace))
    live = Timeline(trace.header)
    census = Census(live)
    records = trace.records
    for start in range(0, len(records), 37):  # batches that end anywhere
        live.add(records[start : start + 37])
        census.update()
    assert live.reordered_since(0)[0] > 0  # the order did change under it
    count = live.moment_count()
    assert [census.counts_after(k) for k in range(count)] == [
        whole.counts_after(k) for k in range(count)
    ]
    edges = even_edges(0, live.end, 50)
    assert census.columns(edges) == whole.columns(edges)
    for rank in range(5):
        assert census.longest_ready(rank) == whole.longest_ready(rank)
        assert census.longest_step(rank) == whole.longest_step(rank)
    assert count > EVERY  # more than one checkpoint was taken


def test_the_longest_waits_in_the_ready_queue_and_steps_in_order(server: Timeline) -> None:
    census = Census(server)
    waits = sorted(ready_waits(server), key=lambda w: (-w[0], w[2]))
    for rank in range(4):
        found = census.longest_ready(rank)
        assert found is not None
        assert (found.length, found.task, found.start) == waits[rank]
    assert waits[0][0] >= BLOCK - 5 * MS  # a handler due during the block
    steps = sorted(
        ((end or server.end) - start, info.id, start)
        for info in server.tasks
        for _, start, end in server.runs(info.id, State.RUNNING)
    )
    longest = census.longest_step()
    assert longest is not None and (longest.length, longest.task) == (BLOCK, 1)
    assert census.longest_step(1) is not None
    assert census.longest_step(1).length == steps[-2][0]  # type: ignore[union-attr]
    assert census.longest_ready(10**6) is None


def test_tasks_are_grouped_by_coroutine_in_the_order_each_began(server: Timeline) -> None:
    grouping = Grouping()
    grouping.update(server)
    groups = list(grouping.groups.values())
    assert [(g.coro, len(g.tasks)) for g in groups] == [
        ("main", 1),
        ("handle", 3000),
        ("fetch", 12),
        ("RequestHandler._handle_request", 25),
    ]
    assert [g.folds for g in groups] == [False, True, False, True]
    assert groups[3].library and groups[3].file == LIBRARY
    assert all(grouping.of_task[task] is groups[1] for task in groups[1].tasks)
    assert 12 <= FOLD_AT < 25


def test_a_groups_spreads_are_its_tasks_lifetimes_and_ready_times(server: Timeline) -> None:
    grouping = Grouping()
    grouping.update(server)
    handle = next(g for g in grouping.groups.values() if g.coro == "handle")
    found = stats(server, handle)
    infos = [server.task(task) for task in handle.tasks]
    lives = sorted((info.ended or server.end) - info.created for info in infos)
    readies = sorted(server.totals(info.id).ready for info in infos)
    n = len(lives)
    assert found.count == n == 3000 and found.unfinished == 0
    assert found.raised == sum(info.outcome == Outcome.ERROR for info in infos) == 6
    assert (found.lifetime.p50, found.lifetime.p99) == (lives[n // 2 - 1], lives[2969])
    assert found.lifetime.longest == lives[-1]
    assert found.ready.p99 == readies[math.ceil(0.99 * n) - 1]
    assert found.ready.longest == readies[-1] >= BLOCK - 5 * MS
    worst = server.task(found.ready.task)
    assert server.totals(worst.id).ready == readies[-1]
    assert percentile([], 50) == 0 and percentile([3, 5, 9], 99) == 9


def test_alive_counts_a_groups_tasks_per_column(server: Timeline) -> None:
    grouping = Grouping()
    grouping.update(server)
    fetch = next(g for g in grouping.groups.values() if g.coro == "fetch")
    edges = even_edges(0, server.end, 40)
    counts = alive(server, fetch.tasks, edges)
    for c in range(40):
        a, b = edges[c], edges[c + 1]
        lived = 0
        for task in fetch.tasks:
            info = server.task(task)
            lived += max(0, min(b, info.ended or b) - max(a, info.created))
        assert counts[c] == pytest.approx(lived / (b - a))
    assert alive(server, fetch.tasks, [5 * MS, 5 * MS]) == [1.0]  # fetch-1 lives then


def test_finding_tasks_by_name_coroutine_file_and_state(server: Timeline) -> None:
    def found(text: str, t: int = 0) -> list[int]:
        return search.matches(server, search.parse(text), t)

    fetches = [info.id for info in server.tasks if info.coro == "fetch"]
    assert found("fetch") == found("FETCH") == found("coro:fetch") == fetches
    assert found("name:fetch-1") == [fetches[0], *fetches[9:]]  # fetch-1, fetch-10..12
    assert len(found("handle")) == 3000 + 25  # RequestHandler._handle_request too
    assert found("coro:handle") == found("name:handle")  # lanes labelled by their coroutine
    assert len(found("coro:_handle_request")) == 25
    assert len(found("file:web_protocol")) == 25  # the coroutine's file
    assert len(found("app.py")) == len(server.tasks)  # the library's: created there
    both = found("handle Task-15")
    assert both and all(
        "handle" in server.task(t).coro and server.task(t).name.startswith("Task-15") for t in both
    )
    during = 1_700 * MS  # main blocks the loop: the handlers due meanwhile are ready
    ready = found("state:ready", during)
    assert ready and all(server.state_at(t, during).state is State.READY for t in ready)  # type: ignore[union-attr]
    assert found("state:running", during) == [1]
    assert found("state:ready fetch", during) == []
    query = search.parse("state:sleepy")
    assert query.unknown == ("sleepy",) and search.matches(server, query, 0) == []
    assert not search.parse("   ")


def task_info(name: str, coro: str, args: tuple[object, ...] | None = ()) -> TaskInfo:
    info = TaskInfo(1, name, coro, "/srv/app.py", 3, 0, 0)
    info.args = args  # type: ignore[assignment]
    return info


def test_a_groups_tasks_are_told_apart_under_its_row() -> None:
    """Under the row that names the coroutine, the labels where they differ ("handle(1)"),
    else asyncio's names for the tasks it named ("Task-12"), and the names given."""
    apart = [task_info("Task-12", "handle", (1,)), task_info("Task-13", "handle", (2,))]
    assert words.member_labels(apart) == ["handle(1)", "handle(2)"]
    alike = [
        task_info("Task-12", "main.<locals>.handle", (["request"],)),
        task_info("Task-13", "main.<locals>.handle", (["request"],)),
        task_info("fetch-3", "main.<locals>.handle", (["request"],)),
    ]
    assert [words.label(info) for info in alike[:2]] == ["handle(request)"] * 2
    assert words.member_labels(alike) == ["Task-12", "Task-13", "fetch-3"]


def test_the_words_of_navigation_at_scale(server: Timeline) -> None:
    census = Census(server)
    grouping = Grouping()
    grouping.update(server)
    handle = next(g for g in grouping.groups.values() if g.coro == "handle")
    assert words.group_label(handle) == "handle ×3,000"
    assert words.group_label(handle, 12) == "handle ×12"
    found = stats(server, handle)
    brief = words.group_brief(found)
    assert [len(form) for form in brief] == sorted((len(form) for form in brief), reverse=True)
    assert "p99" in brief[0] and "305 ms" in brief[1]
    facts = words.group_facts(server, handle, found)
    assert facts[0] == "coroutine defined at app.py:12"
    assert facts[1] == "3,000 done (6 raised)"
    worst = census.longest_ready()
    assert worst is not None
    said = words.worst_ready(server, worst, 0)
    assert said.startswith(
        f"{words.label_of(server, worst.task)}, ready to run, waited 300 ms from "
    )
    assert said.endswith("the longest wait for the loop")
    assert words.worst_ready(server, worst, 1).endswith("the 2nd longest wait for the loop")
    assert words.worst_ready(server, worst, 20).endswith("the 21st longest wait for the loop")
    step = census.longest_step()
    assert step is not None
    assert words.worst_step(server, step, 0) == (
        f"main()'s step at {format_time(step.start)} ran 300 ms: the longest step"
    )
    assert words.search_result("fetch", 12, 3038, 0, False) == "12 of 3,038 tasks match 'fetch'"
    assert words.search_result("state:ready", 4, 3038, 1_700 * MS, True).endswith(
        "match 'state:ready' at 1.700 s"
    )
    column = census.columns([1_600 * MS, 1_610 * MS])[0]
    assert words.census_value("busy", column) == "busy 100%"
    assert words.census_value("lag", None) == "lag"


def test_kth_of_two_sorted_lists_is_that_of_their_merge() -> None:
    rng = random.Random(7)
    for _ in range(300):
        a = sorted(rng.randrange(50) for _ in range(rng.randrange(12)))
        b = sorted(rng.randrange(50) for _ in range(rng.randrange(6)))
        merged = sorted(a + b)
        for k in range(len(merged)):
            assert kth(a, b, k) == merged[k], (a, b, k)


def test_a_tally_kept_as_tasks_come_and_end_agrees_with_one_made_at_once(
    server: Timeline,
) -> None:
    """A live run's view: the group's tasks and their ends arrive over time (here, the trace
    cut at 20 times), yet its row's counts and spreads are those of the whole run's."""
    grouping = Grouping()
    grouping.update(server)
    handle = next(g for g in grouping.groups.values() if g.coro == "handle")
    edges = even_edges(0, server.end, 60)
    whole = Tally()
    whole.add(server, handle.tasks)
    found = whole.stats(server)
    assert found == stats(server, handle)
    # Out of creation order, as a live run's late records may bring them: still sorted.
    shuffled = Tally()
    tasks = list(handle.tasks)
    random.Random(3).shuffle(tasks)
    for start in range(0, len(tasks), 150):
        shuffled.add(server, tasks[start : start + 150])
        shuffled.update(server)
    assert shuffled.alive(edges) == pytest.approx(whole.alive(edges))
    spread = shuffled.stats(server)
    assert (spread.count, spread.raised, spread.lifetime.p50, spread.ready.p99) == (
        found.count,
        found.raised,
        found.lifetime.p50,
        found.ready.p99,
    )
