"""Real programs recorded in-process, read back through the model: what a task waits on, why
it became ready, and what it is called say what really happened, in the user's own terms."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp
import pytest
from trace_builder import MS, S, TraceBuilder

from loopviz.httpserver import LocalServer
from loopviz.model import words
from loopviz.model.facts import Interval, State, TaskInfo
from loopviz.model.timeline import Timeline
from loopviz.record import Recorder
from loopviz.trace import (
    PROCESS_POOL,
    Cause,
    Header,
    Job,
    JobPhase,
    Ready,
    TaskCreated,
    Wait,
    Waited,
)
from loopviz.units import format_short


def recorded(main: Callable[[], Coroutine[Any, Any, Any]]) -> tuple[Any, Timeline]:
    """Run ``main()`` on a traced loop; its result and the timeline of the run."""
    recorder = Recorder()
    with asyncio.Runner(loop_factory=recorder.loop) as runner:
        result = runner.run(main())
    recorder.close()
    timeline = Timeline(recorder.header)
    timeline.add(recorder.records)
    return result, timeline


def labelled(tl: Timeline, label: str) -> TaskInfo:
    (info,) = (info for info in tl.tasks if words.label(info) == label)
    return info


def main_task(tl: Timeline) -> TaskInfo:
    return labelled(tl, "main()")


def states(tl: Timeline, info: TaskInfo, state: State) -> list[Interval]:
    return [iv for iv in tl.intervals(info.id) if iv.state is state]


# --- what a task is called -----------------------------------------------------------------


def test_default_named_tasks_are_called_by_their_coroutine_and_arguments() -> None:
    async def task(name: str, n: int) -> str:
        await asyncio.sleep(0)
        return name * n

    async def main() -> list[str]:
        named = asyncio.create_task(task("C", 3), name="given")
        return [*await asyncio.gather(task("A", 1), task("B", 2), task("A", 1)), await named]

    result, tl = recorded(main)
    assert result == ["A", "BB", "A", "CCC"]
    labels = [words.label(info) for info in tl.tasks if not info.internal]
    assert labels == ["main()", "given", "task('A', 1)", "task('B', 2)", "task('A', 1)"]
    main, given = tl.tasks[:2]
    assert re.fullmatch(r"Task-\d+", main.name) and given.name == "given"  # names as they are
    # The words every surface uses (lanes, event log, summary, exports) say the label.
    first = tl.tasks[2]
    assert words.name(tl, first.id) == "task('A', 1)"
    assert words.created_by(tl, first) == "main()"


def test_arguments_are_shown_short_and_only_plain_values_by_their_repr() -> None:
    reprs: list[str] = []

    class Loud:
        def __repr__(self) -> str:  # loopviz must never call it
            reprs.append("called")
            return "Loud()"

    class Shop:
        async def serve(self, order: int) -> None:
            await asyncio.sleep(0)

    async def job(a: object, b: object = None, c: object = None, d: object = None) -> None:
        await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(
            job("a string longer than twelve", 2.5),
            job(Loud(), b"bytes", None, True),
            job(10**30, float("inf")),
            Shop().serve(7),
        )

    _, tl = recorded(main)
    labels = [words.label(info) for info in tl.tasks if not info.internal][1:]
    assert labels == [
        "job('a string lon…', 2.5, None, …)",
        "job(a, b'bytes', None, …)",
        "job(a, inf, None, …)",
        "serve(7)",  # a method's own object left out
    ]
    assert reprs == []


def test_reading_the_arguments_keeps_no_value_alive_longer() -> None:
    """A task that drops an argument frees it then, recorded or not (3.11 and 3.12 keep a
    snapshot of a frame's locals once read: the recorder empties it again)."""
    freed: list[str] = []

    class Payload:
        pass

    async def consume(payload: Payload) -> bool:
        probe = weakref.ref(payload, lambda _: freed.append("freed"))
        del payload  # the frame held the last reference
        await asyncio.sleep(0)
        return probe() is None

    async def main() -> bool:
        return await asyncio.create_task(consume(Payload()))

    result, tl = recorded(main)
    assert result is True and freed == ["freed"]
    assert labelled(tl, "consume(payload)").outcome is not None


def test_a_trace_of_version_2_keeps_names_and_its_own_wait_words() -> None:
    b = TraceBuilder()
    b.header = Header(**{**_fields(b.header), "version": 2})
    b.add(TaskCreated(0, 1, -1, b.s("main"), b.site(1), 0, 0))
    b.add(Ready(0, 1, Cause.START))
    b.add(Waited(MS, 1, MS, Wait.GATHER, b.s("gather of 3"), b.site(2)))
    b.add(Waited(3 * MS, 1, MS, Wait.SLEEP, b.s("sleep"), b.site(3), S))
    tl = Timeline(b.header)
    tl.add(b.records)
    info = tl.tasks[0]
    assert info.args is None and words.label(info) == "Task-1"
    gather, sleep = (iv for iv in tl.intervals(1) if iv.state is State.WAITING)
    assert words.wait(tl, gather) == "gather of 3"
    assert words.wait(tl, sleep) == "sleep 1.0 s"


def _fields(header: Header) -> dict[str, Any]:
    return {name: getattr(header, name) for name in header.__struct_fields__}


# --- why a task is ready -----------------------------------------------------------------


def test_a_waiter_is_ready_once_the_task_it_awaited_is_done() -> None:
    async def square(n: int) -> int:
        await asyncio.sleep(0.01)
        return n * n

    async def main() -> int:
        return await asyncio.create_task(square(3))

    result, tl = recorded(main)
    assert result == 9
    main, square_3 = main_task(tl), labelled(tl, "square(3)")
    woken = states(tl, main, State.READY)[-1]
    assert (woken.kind, woken.ref) == (Cause.TASK, square_3.id)
    assert square_3.ended is not None and woken.start == square_3.ended
    log = [words.moment(tl, m) for m in tl.events_around(-1, 0, 1000)]
    done = log.index("task square(3) done: returned 9")
    assert log.index("task main() ready: task square(3) finished") == done + 1


def test_a_task_whose_future_was_cancelled_is_not_itself_said_cancelled() -> None:
    async def waiter(future: asyncio.Future[None]) -> str:
        try:
            await future
        except asyncio.CancelledError:
            return "its future was cancelled"
        return "resolved"

    async def main() -> str:
        future = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(waiter(future))
        await asyncio.sleep(0.01)
        future.cancel()
        return await task

    result, tl = recorded(main)
    assert result == "its future was cancelled"
    woken = states(tl, labelled(tl, "waiter(future)"), State.READY)[-1]
    assert (woken.kind, woken.ref) == (Cause.FUTURE, main_task(tl).id)


def test_a_timeout_names_whose_deadline_cancelled_a_task() -> None:
    async def slow() -> None:
        await asyncio.sleep(10)

    async def main() -> None:
        job = asyncio.create_task(slow())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.05):
                await job  # main's deadline cancels main's await, and so the job

    _, tl = recorded(main)
    main, job = main_task(tl), labelled(tl, "slow()")
    cut = states(tl, job, State.READY)[-1]
    assert (cut.kind, cut.ref) == (Cause.DEADLINE, main.id)
    assert words.cause(tl, cut) == "the timeout of task main() fell due, which cancels it"
    woken = states(tl, main, State.READY)[-1]
    assert words.cause(tl, woken) == "task slow() ended (cancelled)"


# --- what a task waits on ----------------------------------------------------------------


def test_a_sleep_under_a_timeout_is_a_sleep_with_a_deadline() -> None:
    async def main() -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.05):
                await asyncio.sleep(5)

    _, tl = recorded(main)
    main = main_task(tl)
    (wait,) = states(tl, main, State.WAITING)
    assert wait.kind == Wait.SLEEP and 4.9 * S < wait.ref <= 5 * S  # its own length
    assert wait.deadline is not None and 0 < wait.deadline - wait.start <= 50 * MS
    deadline = format_short(wait.deadline - wait.start)  # "50 ms", less the step's own time
    assert words.wait(tl, wait) == f"sleep {format_short(wait.ref)} (timeout {deadline})"
    assert words.wait(tl, wait).startswith("sleep 5.0 s (timeout ")
    woken = states(tl, main, State.READY)[-1]
    assert (woken.kind, woken.ref) == (Cause.DEADLINE, main.id)
    assert words.cause(tl, woken) == "its timeout fell due, which cancels its await"


@pytest.mark.parametrize("wrapped", ["task", "sleep"])
def test_wait_for_waits_on_what_it_wraps(wrapped: str) -> None:
    async def slow() -> None:
        await asyncio.sleep(10)

    async def main() -> None:
        what = asyncio.create_task(slow()) if wrapped == "task" else asyncio.sleep(10)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(what, 0.05)

    _, tl = recorded(main)
    first = states(tl, main_task(tl), State.WAITING)[0]
    assert first.deadline is not None and 0 < first.deadline - first.start <= 50 * MS
    if wrapped == "task":
        assert (first.kind, first.ref) == (Wait.TASK, labelled(tl, "slow()").id)
    elif sys.version_info >= (3, 12):
        assert first.kind == Wait.SLEEP  # wait_for awaits the sleep itself
    else:
        assert first.kind == Wait.TASK  # 3.11's wait_for runs it in a task of its own
        assert words.wait(tl, first).startswith("task asyncio: sleep(10, None)")


def test_queue_join_is_a_queue_join() -> None:
    async def worker(queue: asyncio.Queue[int]) -> None:
        while True:
            await queue.get()
            await asyncio.sleep(0.01)
            queue.task_done()

    async def main() -> None:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for item in range(3):
            queue.put_nowait(item)
        working = asyncio.create_task(worker(queue))
        await queue.join()
        working.cancel()

    _, tl = recorded(main)
    (join,) = states(tl, main_task(tl), State.WAITING)
    assert join.kind == Wait.QUEUE_JOIN
    assert words.wait(tl, join) == "Queue.join, until every item put is done"


def test_a_task_group_exit_waits_for_its_tasks_by_name() -> None:
    async def download(name: str, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def main() -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(download("a", 0.01))
            group.create_task(download("b", 0.02))

    _, tl = recorded(main)
    (exit_wait,) = states(tl, main_task(tl), State.WAITING)
    assert (exit_wait.kind, exit_wait.ref) == (Wait.TASK_GROUP, 2)
    assert words.wait(tl, exit_wait) == (
        "its task group's 2 tasks: download('a', 0.01), download('b', 0.02)"
    )
    woken = states(tl, main_task(tl), State.READY)[-1]
    assert words.cause(tl, woken) == (
        "its task group's tasks are done (download('b', 0.02) was the last)"
    )


@pytest.mark.parametrize("form", ["async with", "await"])
def test_an_http_request_is_named_by_its_method_and_path(form: str) -> None:
    async def fetch(session: aiohttp.ClientSession, url: str) -> int:
        if form == "async with":
            async with session.post(url) as response:
                return response.status
        response = await session.post(url)  # no context manager: an __await__ in between
        response.release()
        return response.status

    with LocalServer() as base:

        async def main() -> int:
            async with aiohttp.ClientSession() as session:
                return await fetch(session, f"{base}/status/204?key=secret")

        status, tl = recorded(main)
    assert status == 204
    fetcher = labelled(tl, "main()")
    requests = [iv for iv in states(tl, fetcher, State.WAITING) if iv.kind == Wait.HTTP]
    assert requests and {iv.detail for iv in requests} == {"POST /status/204"}  # no query
    assert words.wait(tl, requests[0]).startswith("HTTP POST /status/204")


def test_a_librarys_upkeep_timer_is_no_deadline_of_the_next_wait() -> None:
    # Releasing a kept-alive connection, aiohttp sets a timer to close it if it stays idle
    # (15 s): the next request's wait has no deadline for all that (the session has none).
    with LocalServer() as base:

        async def main() -> None:
            no_timeout = aiohttp.ClientTimeout(total=None, sock_connect=None, sock_read=None)
            async with aiohttp.ClientSession(timeout=no_timeout) as session:
                for page in range(2):
                    async with session.get(f"{base}/status/204?page={page}") as response:
                        await response.read()

        _, tl = recorded(main)
    requests = [iv for iv in states(tl, main_task(tl), State.WAITING) if iv.kind == Wait.HTTP]
    assert len(requests) >= 2
    assert [iv.deadline for iv in requests] == [None] * len(requests)
    assert all("timeout" not in words.wait(tl, iv) for iv in requests)


@pytest.mark.parametrize("recorded_as", [PROCESS_POOL, "process pool"])  # v3, and before
def test_a_process_pools_worker_is_said_plainly(recorded_as: str) -> None:
    b = TraceBuilder()
    fn, worker = b.s("series"), b.s(recorded_as)
    b.add(Job(MS, 1, JobPhase.SUBMITTED, 0, fn, 0))
    b.add(Job(MS, 1, JobPhase.STARTED, worker, fn, 0))  # as soon as submitted: not seen
    b.add(Job(2 * MS, 1, JobPhase.FINISHED, worker, fn, 0))
    tl = Timeline(b.header)
    tl.add(b.records)
    finished = tl.events_around(-1, 0, 10)[-1]
    assert words.moment(tl, finished) == "series() (job 1) finished in a process pool"
    assert [words.worker(name) for name in tl.workers] == ["process pool"]
    assert words.worker("asyncio_0") == "thread asyncio_0"
