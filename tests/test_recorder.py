"""The instrumented loop, used in-process through its public API (``Recorder.loop``)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import re
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from conftest import line_of

from loopviz.record import Recorder, TracingLoop
from loopviz.trace import (
    Blocking,
    Callback,
    Cause,
    Finished,
    Idle,
    Job,
    JobPhase,
    Outcome,
    Problem,
    Ran,
    Ready,
    Renamed,
    Site,
    Str,
    TaskCreated,
    Wait,
    Waited,
    read_trace,
    task_name,
)

HERE = Path(__file__).resolve()


def run(main: Callable[[], Coroutine[Any, Any, Any]], recorder: Recorder | None = None) -> Any:
    """Run ``main()`` on a traced loop (or a plain one when ``recorder`` is None)."""
    factory = recorder.loop if recorder is not None else asyncio.SelectorEventLoop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main())


class Recorded:
    """The records of a run, with names resolved, for assertions."""

    def __init__(self, records: list) -> None:
        self.records = records
        self.text = {r.id: r.text for r in records if isinstance(r, Str)}
        self.sites = {r.id: (self.text[r.file], r.line) for r in records if isinstance(r, Site)}
        self.names = {
            r.task: task_name(r.name, self.text)
            for r in records
            if isinstance(r, TaskCreated | Renamed)
        }
        self.ids = {name: task for task, name in self.names.items()}
        self.main = min(self.names)  # the runner's main task comes first

    def of(self, kind: type, name: str | None = None) -> list:
        task = self.ids[name] if name is not None else None
        return [
            r
            for r in self.records
            if isinstance(r, kind) and (task is None or getattr(r, "task", None) == task)
        ]

    def line_of(self, site: int) -> int:
        """The line of a recorded Site id (not a search of a file: see ``conftest.line_of``)."""
        return self.sites[site][1]


def record(main: Callable[[], Coroutine[Any, Any, Any]], **kwargs: Any) -> tuple[Any, Recorded]:
    recorder = Recorder(**kwargs)
    result = run(main, recorder)
    recorder.close()
    return result, Recorded(recorder.records)


# --- it does not change what the program does --------------------------------------------------
async def busy_program(log: list[str]) -> list[Any]:
    loop = asyncio.get_running_loop()
    event = asyncio.Event()
    queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1)

    async def worker(name: str, delay: float) -> str:
        log.append(f"{name} start")
        await asyncio.sleep(delay)
        log.append(f"{name} slept")
        await event.wait()
        log.append(f"{name} saw event")
        return name

    async def producer() -> None:
        for i in range(5):
            await queue.put(i)
            log.append(f"put {i}")

    async def consumer() -> int:
        total = 0
        for _ in range(5):
            total += await queue.get()
            log.append(f"got {total}")
            await asyncio.sleep(0)
        return total

    for i in range(3):
        loop.call_soon(log.append, f"callback {i}")
    loop.call_later(0.4, event.set)  # timers far apart: their order holds under load
    future = loop.create_future()
    loop.call_soon(future.set_result, "future")
    results = await asyncio.gather(
        worker("a", 0.2), worker("b", 0), worker("c", 0.1), producer(), consumer(), future
    )
    cancelled = asyncio.create_task(asyncio.sleep(10))
    await asyncio.sleep(0)
    cancelled.cancel()
    results.append(await asyncio.gather(cancelled, return_exceptions=True))
    return results


def test_same_results_and_order_of_callbacks_as_plain_asyncio() -> None:
    plain_log: list[str] = []
    traced_log: list[str] = []
    plain = run(lambda: busy_program(plain_log))
    traced, _ = record(lambda: busy_program(traced_log))
    assert repr(traced) == repr(plain)
    assert traced_log == plain_log
    assert len(plain_log) > 15


def test_a_callback_that_raises_is_reported_as_plain_asyncio_reports_it() -> None:
    def reports(traced: bool) -> list[str]:
        seen: list[str] = []

        async def main() -> None:
            loop = asyncio.get_running_loop()
            loop.set_exception_handler(
                lambda _, context: seen.append(f"{context['message']}: {context['exception']!r}")
            )
            loop.call_soon(divmod, 1, 0)  # a plain callback
            loop.call_later(0.001, int, "x")  # a timer
            await asyncio.sleep(0.01)
            seen.append("the loop went on")

        if traced:
            record(main)
        else:
            run(main)
        return seen

    assert reports(traced=True) == reports(traced=False)
    assert len(reports(traced=False)) == 3


def test_an_io_callback_removed_by_an_earlier_one_does_not_run() -> None:
    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        calls: list[str] = []
        a, a_peer = socket.socketpair()
        b, b_peer = socket.socketpair()

        def on_ready(me: socket.socket, other: socket.socket) -> None:
            calls.append("a" if me is a else "b")
            me.recv(10)
            loop.remove_reader(other)  # in the same loop pass, the other is ready too
            loop.remove_reader(me)

        loop.add_reader(a, on_ready, a, b)
        loop.add_reader(b, on_ready, b, a)
        a_peer.send(b"x")
        b_peer.send(b"x")
        await asyncio.sleep(0.05)
        for sock in (a, a_peer, b, b_peer):
            sock.close()
        return calls

    traced, _ = record(main)
    assert traced == run(main)
    assert len(traced) == 1


def test_a_callback_from_another_thread_is_reported_with_its_own_handle() -> None:
    async def main() -> tuple[bool, bool, str]:
        loop = asyncio.get_running_loop()
        loop.set_debug(True)
        seen: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda _, context: seen.append(context))
        handles = []
        thread = threading.Thread(
            target=lambda: handles.append(loop.call_soon_threadsafe(divmod, 1, 0))
        )
        thread.start()
        thread.join()
        await asyncio.sleep(0.01)
        [context] = seen
        source = context.get("source_traceback") or []
        return context["handle"] is handles[0], bool(source), context["message"]

    traced, _ = record(main)
    assert traced == run(main)
    assert traced[0] and traced[1] and traced[2].startswith("Exception in callback divmod(1, 0)")


def test_debug_mode_is_traced_and_keeps_its_checks() -> None:
    async def main() -> str:
        loop = asyncio.get_running_loop()
        loop.set_debug(True)

        async def coro_fn() -> None:
            pass

        refused = []
        for call in (loop.call_soon, functools.partial(loop.run_in_executor, None)):
            try:
                call(coro_fn)  # debug mode refuses a coroutine function
            except TypeError as exc:
                refused.append(str(exc))
        await asyncio.create_task(asyncio.sleep(0.01), name="napper")
        return refused

    traced, rec = record(main)
    assert traced == run(main)
    assert len(traced) == 2 and all("coroutine" in said for said in traced)
    assert [w.kind for w in rec.of(Waited, "napper")] == [Wait.SLEEP]
    assert rec.of(Finished, "napper")


def test_a_task_name_too_long_to_be_a_number_is_kept_as_text() -> None:
    long_name = "Task-" + "1" * 5000  # int() refuses strings this long

    async def main() -> str:
        task = asyncio.create_task(asyncio.sleep(0), name=long_name)
        await task
        return task.get_name()

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # recording must not stop
        result, rec = record(main)
    assert result == long_name
    assert long_name in rec.names.values()


def test_exception_never_retrieved_is_still_reported(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        async def fails() -> None:
            raise RuntimeError("nobody looks")

        task = asyncio.create_task(fails())
        await asyncio.sleep(0.01)
        del task
        gc.collect()  # the task is reported when it is destroyed: while the loop still runs

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        _, recorded = record(main)
    assert "Task exception was never retrieved" in caplog.text
    messages = [recorded.text[p.message] for p in recorded.of(Problem)]
    assert any("never retrieved" in m and "nobody looks" in m for m in messages)


def test_an_error_in_the_instrumentation_stops_recording_and_says_so_once(capfd) -> None:
    """The program goes on unchanged, even under warnings as errors: the notice is a Problem
    record and one line on the process's stderr, never a warning raised into the program."""

    class Broken(Recorder):
        calls = 0

        def site(self, filename: str, line: int, code: int = 0) -> int:
            Broken.calls += 1
            if Broken.calls > 3:
                raise RuntimeError("instrumentation bug")
            return super().site(filename, line, code)

    async def main() -> list[int]:
        async def one(i: int) -> int:
            await asyncio.sleep(0.001)
            return i

        return await asyncio.gather(*(one(i) for i in range(20)))

    recorder = Broken()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = run(main, recorder)
    recorder.close()
    assert result == list(range(20))
    err = capfd.readouterr().err
    assert err.count("loopviz: recording stopped after an internal error") == 1, err
    assert not recorder.enabled
    problems = Recorded(recorder.records).of(Problem)
    assert len(problems) == 1


# --- what it records ------------------------------------------------------------------------------
def test_created_ready_running_waiting_done_with_causes_and_sites() -> None:
    async def child(delay: float) -> str:
        await asyncio.sleep(delay)  # marker: child sleeps
        return "ok"

    async def main() -> None:
        task = asyncio.create_task(child(0.02), name="child")  # marker: creates child
        await task  # marker: main awaits child

    _, rec = record(main)
    created = rec.of(TaskCreated, "child")[0]
    assert created.parent == rec.main
    assert rec.line_of(created.site) == line_of(HERE, "marker: creates child")
    assert rec.text[created.coro].endswith("child")

    readies = rec.of(Ready, "child")
    assert [r.cause for r in readies] == [Cause.START, Cause.TIMER]
    waited = rec.of(Waited, "child")[0]
    assert waited.kind == Wait.SLEEP
    assert rec.line_of(waited.site) == line_of(HERE, "marker: child sleeps")
    assert 15e6 < waited.timeout <= 20e6  # the sleep's deadline, from the step's end
    done = rec.of(Finished, "child")[0]
    assert done.outcome == Outcome.RESULT and rec.text[done.detail] == "'ok'"

    main_wait = rec.of(Waited, rec.names[rec.main])[0]
    assert main_wait.kind == Wait.TASK and main_wait.detail == rec.ids["child"]
    assert rec.line_of(main_wait.site) == line_of(HERE, "marker: main awaits child")
    woken = rec.of(Ready, rec.names[rec.main])[-1]
    assert woken.cause == Cause.TASK and woken.ref == rec.ids["child"]


def test_default_task_names_are_written_without_string_records() -> None:
    async def main() -> None:
        await asyncio.gather(
            asyncio.sleep(0),  # asyncio names it Task-N
            asyncio.create_task(asyncio.sleep(0), name="Task-007"),  # not a default name
            asyncio.create_task(asyncio.sleep(0), name="fetch"),
        )

    _, rec = record(main)
    default = re.compile(r"Task-[1-9][0-9]*")
    assert not any(default.fullmatch(text) for text in rec.text.values())
    assert {"Task-007", "fetch"} <= set(rec.names.values())
    main_name = rec.names[rec.main]
    assert default.fullmatch(main_name)
    assert rec.of(TaskCreated, main_name)[0].name == -int(main_name.removeprefix("Task-"))


def test_yield_cancel_and_error_outcomes() -> None:
    async def yields() -> None:
        for _ in range(3):
            await asyncio.sleep(0)

    async def fails() -> None:
        raise KeyError("k")

    async def main() -> None:
        sleeper = asyncio.create_task(asyncio.sleep(5), name="sleeper")
        await asyncio.gather(
            asyncio.create_task(yields(), name="yields"),
            asyncio.create_task(fails(), name="fails"),
            return_exceptions=True,
        )
        sleeper.cancel()
        await asyncio.gather(sleeper, return_exceptions=True)

    _, rec = record(main)
    assert len(rec.of(Ran, "yields")) == 3
    assert rec.of(Finished, "fails")[0].outcome == Outcome.ERROR
    assert rec.text[rec.of(Finished, "fails")[0].detail] == "KeyError: 'k'"
    assert rec.of(Ready, "sleeper")[-1].cause == Cause.CANCEL
    assert rec.of(Finished, "sleeper")[0].outcome == Outcome.CANCELLED


@pytest.mark.parametrize(
    ("kind", "make"),
    [
        (Wait.LOCK, lambda: asyncio.Lock()),
        (Wait.SEMAPHORE, lambda: asyncio.Semaphore(1)),
    ],
)
def test_lock_and_semaphore_waits(kind: Wait, make: Callable[[], Any]) -> None:
    async def main() -> None:
        guard = make()

        async def holder(name: str) -> None:
            async with guard:  # marker: takes the guard
                await asyncio.sleep(0.005)

        await asyncio.gather(*(asyncio.create_task(holder(n), name=n) for n in "abc"))

    _, rec = record(main)
    for name in "bc":
        waits = [w for w in rec.of(Waited, name) if w.kind == kind]
        assert waits, f"{name} never waited on {kind.name}"
        assert rec.line_of(waits[0].site) == line_of(HERE, "marker: takes the guard")
    assert not [w for w in rec.of(Waited, "a") if w.kind == kind]


def test_event_condition_queue_gather_timeout_and_future_waits() -> None:
    async def main() -> None:
        event, condition = asyncio.Event(), asyncio.Condition()
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
        future = asyncio.get_running_loop().create_future()

        async def on_condition() -> None:
            async with condition:
                await condition.wait()

        async def producer() -> None:
            await queue.put(1)
            await queue.put(2)  # full: waits for the consumer

        async def setter() -> None:
            await asyncio.sleep(0.005)
            event.set()
            future.set_result(None)
            async with condition:
                condition.notify_all()
            await queue.get()

        async def timed_out() -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.sleep(1), 0.01)

        names = {
            "getter": queue.get(),  # first: it finds the queue empty
            "event": event.wait(),
            "condition": on_condition(),
            "future": future,
            "putter": producer(),
            "setter": setter(),
            "timeout": timed_out(),
        }
        tasks = [asyncio.ensure_future(c) for c in names.values()]
        for name, task in zip(names, tasks, strict=True):
            if isinstance(task, asyncio.Task):
                task.set_name(name)
        await asyncio.gather(*tasks)

    _, rec = record(main)
    kinds = {name: {w.kind for w in rec.of(Waited, name)} for name in rec.ids}
    assert Wait.EVENT in kinds["event"]
    assert Wait.CONDITION in kinds["condition"]
    assert Wait.QUEUE_PUT in kinds["putter"]
    assert Wait.QUEUE_GET in kinds["getter"]
    # wait_for waits on what it wraps (3.11: a task running the sleep; 3.12+: the sleep).
    cut = rec.of(Waited, "timeout")[0]
    assert cut.kind in {Wait.TASK, Wait.SLEEP} and 0 < cut.timeout <= 10_000_000
    assert Wait.GATHER in kinds[rec.names[rec.main]]
    woken_by_setter = [r for r in rec.of(Ready, "event") if r.cause == Cause.FUTURE]
    assert woken_by_setter and woken_by_setter[0].ref == rec.ids["setter"]


def test_socket_reads_wait_on_io_and_wake_by_io() -> None:
    async def main() -> bytes:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asyncio.sleep(0.01)
            writer.write(b"hello\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]

        async def client() -> bytes:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            line = await reader.readline()
            writer.close()
            return line

        async with server:
            return await asyncio.create_task(client(), name="client")

    result, rec = record(main)
    assert result == b"hello\n"
    assert Wait.IO in {w.kind for w in rec.of(Waited, "client")}
    assert Cause.IO in {r.cause for r in rec.of(Ready, "client")}


def test_executor_jobs_submitted_started_finished_on_a_worker() -> None:
    def work(seconds: float) -> str:
        time.sleep(seconds)
        return threading.current_thread().name

    async def main() -> str:
        return await asyncio.create_task(asyncio.to_thread(work, 0.02), name="offload")

    worker, rec = record(main)
    jobs = rec.of(Job)
    assert [j.phase for j in jobs] == [JobPhase.SUBMITTED, JobPhase.STARTED, JobPhase.FINISHED]
    assert rec.text[jobs[1].worker] == worker
    assert {rec.text[j.fn] for j in jobs} == {
        "test_executor_jobs_submitted_started_finished_on_a_worker.<locals>.work"
    }
    assert jobs[0].task == rec.ids["offload"]
    assert jobs[2].t - jobs[1].t >= 20e6
    wait = rec.of(Waited, "offload")[0]
    assert wait.kind == Wait.EXECUTOR and wait.detail == jobs[0].job
    assert rec.of(Ready, "offload")[-1].cause == Cause.EXECUTOR


def test_idle_time_and_plain_callbacks() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.call_soon(time.sleep, 0.002)
        await asyncio.sleep(0.05)

    _, rec = record(main)
    idle = sum(r.dur for r in rec.of(Idle))
    assert 40e6 < idle < 60e6
    sleeps = [c for c in rec.of(Callback) if rec.text[c.name] == "sleep"]
    assert len(sleeps) == 1 and sleeps[0].dur >= 2e6


def test_watchdog_reports_a_blocking_step_while_it_blocks() -> None:
    async def main() -> None:
        async def blocker() -> None:
            time.sleep(0.4)  # marker: blocks the loop

        await asyncio.create_task(blocker(), name="blocker")

    _, rec = record(main, block_threshold=0.1)
    blocking = rec.of(Blocking, "blocker")
    step = rec.of(Finished, "blocker")[0]
    assert 100e6 < blocking[0].t - step.t < 300e6  # seen while still blocking
    assert len(blocking) == 2  # and again 250 ms later, still blocking
    for report in blocking:
        assert report.since == step.t
        assert rec.line_of(report.site) == line_of(HERE, "marker: blocks the loop")


def test_a_blocked_loops_records_reach_the_file_while_it_blocks(tmp_path: Path) -> None:
    path = tmp_path / "t.trace.jsonl"
    sizes: list[int] = []

    async def main() -> None:
        for _ in range(200):
            await asyncio.sleep(0)  # records buffered: the loop never waits in select()
        time.sleep(0.8)  # shorter than the threshold: no blocking report flushes them
        sizes.append(path.stat().st_size)

    recorder = Recorder(path, block_threshold=2.0)
    header_only = path.stat().st_size
    run(main, recorder)
    recorder.close()
    assert sizes[0] > header_only + 2000  # the watchdog flushed during the block


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager tasks are 3.12+")
def test_eager_first_steps_are_recorded_inside_create_task() -> None:
    async def done_at_once() -> int:
        return 1

    async def sleeps() -> int:
        await asyncio.sleep(0.005)
        return 2

    async def main() -> list[int]:
        asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
        a = asyncio.create_task(done_at_once(), name="eager-done")
        b = asyncio.create_task(sleeps(), name="eager-sleeps")
        return [await a, await b]

    result, rec = record(main)
    assert result == [1, 2]
    assert rec.of(Finished, "eager-done")[0].outcome == Outcome.RESULT
    assert not rec.of(Ready, "eager-done")  # it never waited in the ready queue
    assert rec.of(Waited, "eager-sleeps")[0].kind == Wait.SLEEP
    assert rec.of(TaskCreated, "eager-sleeps")[0].parent == rec.main


def test_streaming_to_a_file_writes_a_readable_trace(tmp_path: Path) -> None:
    async def main() -> None:
        await asyncio.gather(*(asyncio.sleep(0.001 * i) for i in range(50)))

    path = tmp_path / "run.trace.jsonl"
    with Recorder(path) as recorder:
        run(main, recorder)
    trace = read_trace(path)
    assert trace.warnings == []
    assert trace.header.block_threshold_ns == 100_000_000
    created = [r for r in trace.records if isinstance(r, TaskCreated)]
    assert len(created) >= 51
    assert sum(isinstance(r, Finished) for r in trace.records) == len(created)


def test_a_traced_loop_made_directly_reports_to_its_session() -> None:
    recorder = Recorder()
    loop = TracingLoop(recorder)
    try:
        loop.run_until_complete(asyncio.sleep(0.001))
    finally:
        loop.close()
    assert any(isinstance(r, Waited) for r in recorder.records)


def test_a_future_resolved_from_another_thread_wakes_its_task_as_a_future() -> None:
    async def main() -> str:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        waiting = threading.Event()

        def elsewhere() -> None:
            # Resolved once the waiter's step is under way: it runs after that step, which
            # ends with the waiter awaiting the future (however slow the machine).
            waiting.wait(10)
            loop.call_soon_threadsafe(future.set_result, "from a thread")

        threading.Thread(target=elsewhere).start()
        return await asyncio.create_task(wait_for_it(future, waiting), name="waiter")

    async def wait_for_it(future: asyncio.Future[str], waiting: threading.Event) -> str:
        waiting.set()
        return await future

    result, rec = record(main)
    assert result == "from a thread"
    assert rec.of(Ready, "waiter")[-1].cause == Cause.FUTURE
