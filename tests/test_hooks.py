"""The instrument seam: what ``TracingLoop`` reports to hooks of one's own, as trio's tests of
its ``Instrument`` do. The hooks here read only what ``LoopState`` documents, and public API."""

from __future__ import annotations

import ast
import asyncio
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from loopviz.record import TracingLoop
from loopviz.record.hooks import LoopHooks, LoopState


class Calls(LoopHooks):
    """Records every call as a tuple, with tasks as they are (``names()`` names them once
    the run is over: ``create_task(name=...)`` names a task after the loop saw it) and
    futures by what they are."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.worker_calls: list[tuple[Any, ...]] = []
        self.ids: dict[asyncio.Task[Any], int] = {}

    def _on_loop_thread(self, *call: Any) -> None:
        assert threading.current_thread() is threading.main_thread()
        self.calls.append(call)

    def loop_opened(self, loop: LoopState) -> None:
        self._on_loop_thread("loop_opened")

    def loop_closed(self, loop: LoopState) -> None:
        self._on_loop_thread("loop_closed")

    def task_scheduled(
        self, loop: LoopState, task: asyncio.Task[Any], future: asyncio.Future[Any] | None
    ) -> int:
        if future is None:
            why = None
        elif isinstance(future, asyncio.Task):
            why = "task " + future.get_name()
        elif loop.executor_jobs is not None and future in loop.executor_jobs:
            why = "job"
        else:
            why = "future"
        self._on_loop_thread("scheduled", task, why)
        return self.ids.setdefault(task, len(self.ids) + 1)

    def task_created(
        self, loop: LoopState, task: asyncio.Task[Any], coro: Any, started: int
    ) -> None:
        self._on_loop_thread("created", task)

    def after_step(
        self, loop: LoopState, task: asyncio.Task[Any], tid: int, start: int, end: int
    ) -> None:
        assert tid == self.ids[task] and start <= end
        assert loop.running_task is None  # the step is over
        self._on_loop_thread("step", task, "done" if task.done() else "suspended")

    def callback_ran(self, callback: Callable[..., Any], start: int, end: int) -> None:
        self._on_loop_thread("callback")

    def before_io_wait(self, loop: LoopState, timeout: float | None) -> None:
        self._on_loop_thread("before_io_wait")

    def after_io_wait(self, loop: LoopState, timeout: float | None, start: int, end: int) -> None:
        self._on_loop_thread("after_io_wait")

    def job_submitted(self, loop: LoopState, func: Callable[..., Any]) -> int:
        assert loop.running_task is not None
        self._on_loop_thread("job_submitted", loop.running_task)
        return 7

    def names(self) -> list[tuple[Any, ...]]:
        """The calls, tasks named."""
        return [
            tuple(part.get_name() if isinstance(part, asyncio.Task) else part for part in call)
            for call in self.calls
        ]

    def job_started(self, job: int, worker: str) -> None:
        self.worker_calls.append(("job_started", job, worker))

    def job_finished(self, job: int, worker: str) -> None:
        self.worker_calls.append(("job_finished", job, worker))


def work() -> str:
    return threading.current_thread().name


async def main() -> list[Any]:
    child = asyncio.create_task(asyncio.sleep(0.001, "slept"), name="child")
    slept = await asyncio.gather(child)
    worker = await asyncio.create_task(asyncio.to_thread(work), name="offload")
    return [*slept, worker]


def test_the_loop_reports_a_small_programs_life_to_its_hooks() -> None:
    hooks = Calls()
    loop = TracingLoop(hooks)
    try:
        result = loop.run_until_complete(loop.create_task(main(), name="main"))
    finally:
        loop.close()
    assert result[0] == "slept"

    timed = {"before_io_wait", "after_io_wait", "callback"}  # how many: up to the clock
    assert [c for c in hooks.names() if c[0] not in timed] == [
        ("loop_opened",),
        ("scheduled", "main", None),
        ("created", "main"),
        ("scheduled", "child", None),
        ("created", "child"),
        ("step", "main", "suspended"),  # awaits the gather
        ("step", "child", "suspended"),  # sleeps
        ("scheduled", "child", "future"),  # the sleep's timer fired
        ("step", "child", "done"),
        ("scheduled", "main", "future"),  # the gather is done
        ("scheduled", "offload", None),
        ("created", "offload"),
        ("step", "main", "suspended"),  # awaits offload
        ("job_submitted", "offload"),
        ("step", "offload", "suspended"),  # awaits its job
        ("scheduled", "offload", "job"),
        ("scheduled", "main", "task offload"),  # as offload ends, in its last step
        ("step", "offload", "done"),
        ("step", "main", "done"),
        ("loop_closed",),
    ]
    io = [c[0] for c in hooks.calls if c[0] in {"before_io_wait", "after_io_wait"}]
    assert io and io == ["before_io_wait", "after_io_wait"] * (len(io) // 2)
    worker = result[1]
    assert hooks.worker_calls == [("job_started", 7, worker), ("job_finished", 7, worker)]
    assert worker != threading.main_thread().name


def test_a_loop_that_stops_recording_reports_nothing_more() -> None:
    hooks = Calls()
    loop = TracingLoop(hooks)
    loop.stop_recording()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    assert hooks.calls == [("loop_opened",)]


def test_the_recording_process_does_not_load_the_loop() -> None:
    code = (
        "import sys, loopviz.record.process\n"
        "print(sorted(m for m in sys.modules if m.startswith('loopviz.record')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = ast.literal_eval(done.stdout)
    assert loaded == [
        "loopviz.record",
        "loopviz.record.output",
        "loopviz.record.process",
        "loopviz.record.program",
        "loopviz.record.window",
    ]
