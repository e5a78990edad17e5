"""The compiled step path (record/_steps.c) where it is in use: its clock is CPython's, it keeps
no references (memory stays flat over 200,000 steps and failing callbacks), and the program's
exceptions come out as on the stock loop. The records it writes: test_record_stream.py (both
ways); the rest of the suite runs whichever way this Python has (CI: both).
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import os
import subprocess
import sys
import time
from typing import Any

import pytest

from loopviz.compiled import PURE_PYTHON
from loopviz.record import Recorder
from loopviz.record.loop import STEPS

# Built and not switched off, it must be in use: a Python whose asyncio it finds changed
# (record/cpython.py, checked by ``_steps.configure``) would run the Python code unseen.
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("loopviz.record._steps") is None or bool(os.environ.get(PURE_PYTHON)),
    reason="the compiled recorder is not built here, or switched off",
)

STEPS_PER_ROUND = 40_000


def test_it_is_in_use_and_said() -> None:
    from loopviz.record import handles, session

    assert STEPS is not None
    assert handles.Step._run is STEPS.step_run  # type: ignore[union-attr]
    assert session.Recorder.after_step is STEPS.after_step  # type: ignore[union-attr]
    out = subprocess.run(
        [sys.executable, "-m", "loopviz", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert "compiled recorder: in use" in out
    env = {PURE_PYTHON: "1", "PYTHONPATH": ":".join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-m", "loopviz", "--version"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    assert "compiled recorder: off" in out


def test_its_clock_is_time_monotonic_ns() -> None:
    for _ in range(1000):
        before = time.monotonic_ns()
        now = STEPS.now()  # type: ignore[union-attr]
        assert before <= now <= time.monotonic_ns()


async def _yielder(rec: Recorder, steps: int) -> None:
    for i in range(steps):
        await asyncio.sleep(0)
        if i % 1000 == 0:
            del rec.records[:]  # records are kept by design: only the recorder's own counts


async def _round(rec: Recorder, loop: asyncio.AbstractEventLoop) -> None:
    def fails(payload: object) -> None:
        raise ValueError(payload)

    payload = object()
    for _ in range(200):  # failing callbacks: the reported path
        loop.call_soon(fails, payload)
    await asyncio.gather(*(_yielder(rec, STEPS_PER_ROUND // 20) for _ in range(20)))
    assert sys.getrefcount(payload) == 2  # (the local and getrefcount's argument)


def test_memory_stays_flat_over_200k_steps() -> None:
    rec = Recorder()
    blocks = []
    with asyncio.Runner(loop_factory=rec.loop) as runner:
        loop = runner.get_loop()
        loop.set_exception_handler(lambda loop, context: None)
        for _ in range(6):  # 240,000 steps, the first round a warm-up
            runner.run(_round(rec, loop))
            del rec.records[:]
            gc.collect()
            blocks.append(sys.getallocatedblocks())
    rec.close()
    # A leak of one object per step would be 40,000 blocks a round.
    assert max(blocks[1:]) - min(blocks[1:]) < 2_000, blocks


class Stop(Exception):
    pass


def _outcomes(loop_factory: Any) -> list[Any]:
    """What a program sees of failures in steps and callbacks, on loops from ``loop_factory``."""
    seen: list[Any] = []

    async def fails() -> None:
        await asyncio.sleep(0)
        raise Stop("in a step")

    async def interrupted() -> None:
        await asyncio.sleep(0)
        raise KeyboardInterrupt

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(
            lambda _, context: seen.append(
                (context["message"].split(" at ")[0], repr(context.get("exception")))
            )
        )
        loop.call_soon(lambda: 1 / 0)
        loop.call_later(0, lambda: [][1])
        task = asyncio.create_task(fails())
        try:
            await task
        except Stop as exc:
            seen.append(("awaited", repr(exc)))
        await asyncio.sleep(0.01)

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())
        try:
            runner.run(interrupted())
        except KeyboardInterrupt as exc:
            seen.append(("raised", type(exc).__name__, exc.__context__))
    return seen


def test_exceptions_come_out_as_on_the_stock_loop() -> None:
    plain = _outcomes(asyncio.SelectorEventLoop)
    with Recorder() as rec:
        traced = _outcomes(rec.loop)
    assert traced == plain
    assert len(plain) == 4


def test_it_still_records_waits_and_wake_ups_after_an_executor_job(monkeypatch: Any) -> None:
    # After a loop's first run_in_executor (getaddrinfo does one), its jobs are in a weak
    # dictionary: the compiled path must still take a lock's waits and wake-ups, not send
    # them all to the Python code once a job has been seen.
    from loopviz.record.session import Recorder as Session

    calls = {"_waited": 0, "_woken": 0}
    for name in calls:
        method = getattr(Session, name)

        def counted(*args: Any, _method: Any = method, _name: str = name) -> Any:
            calls[_name] += 1
            return _method(*args)

        monkeypatch.setattr(Session, name, counted)

    async def worker(lock: asyncio.Lock) -> None:
        for _ in range(20):
            async with lock:
                await asyncio.sleep(0)

    async def round_of_waits(lock: asyncio.Lock) -> dict[str, int]:
        before = dict(calls)
        await asyncio.gather(*(worker(lock) for _ in range(3)))
        return {name: calls[name] - before[name] for name in calls}

    async def main() -> tuple[dict[str, int], dict[str, int]]:
        lock = asyncio.Lock()
        first = await round_of_waits(lock)
        await asyncio.get_running_loop().run_in_executor(None, int)
        return first, await round_of_waits(lock)

    recorder = Recorder(program="x", argv=())
    recorder.watch_resources()
    with asyncio.Runner(loop_factory=recorder.loop) as runner:
        before_job, after_job = runner.run(main())
    recorder.close()
    waits = sum(1 for r in recorder.records if type(r).__name__ == "Waited")
    assert waits > 100  # 60 lock waits and the sleeps
    assert sum(after_job.values()) <= sum(before_job.values()) + 2, (before_job, after_job)
