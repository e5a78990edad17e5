"""CPU-bound work blocks the loop; a process pool runs it beside it

Two phases. In "in-loop", a task adds up a long series right in a coroutine: the
loop is stuck in that one step (flagged as blocking) and the heartbeat starves.
In "in-process", the same function runs in a ProcessPoolExecutor through
run_in_executor: the job shows on a worker process and the heartbeat keeps time.
"""

import asyncio
import multiprocessing
import time
from collections.abc import Coroutine
from concurrent.futures import ProcessPoolExecutor
from typing import Any

TERMS = 6_000_000


def series(terms: int) -> float:
    """Leibniz's series for pi: pure Python arithmetic, no I/O at all."""
    total = 0.0
    sign = 1.0
    for k in range(terms):
        total += sign / (2 * k + 1)
        sign = -sign
    return 4 * total


async def heartbeat(stop: asyncio.Event) -> None:
    started = time.perf_counter()
    beats = 0
    while not stop.is_set():
        await asyncio.sleep(0.05)
        beats += 1
    name = asyncio.current_task().get_name()
    print(f"{name}: {beats} beats in {time.perf_counter() - started:.1f} s")


async def compute_in_loop() -> float:
    return series(TERMS)


async def compute_in_process(pool: ProcessPoolExecutor) -> float:
    return await asyncio.get_running_loop().run_in_executor(pool, series, TERMS)


async def phase(label: str, compute: Coroutine[Any, Any, float]) -> None:
    print(f"--- {label} ---")
    stop = asyncio.Event()
    beat = asyncio.create_task(heartbeat(stop), name=f"{label}/beat")
    await asyncio.sleep(0.12)
    value = await asyncio.create_task(compute, name=f"{label}/compute")
    print(f"pi is about {value:.6f}")
    stop.set()
    await beat


async def main() -> None:
    await phase("in-loop", compute_in_loop())
    # spawn: a fresh interpreter per worker, the same on every platform (and safe to start
    # from a process that already runs threads, as the recorder's does).
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        await phase("in-process", compute_in_process(pool))


if __name__ == "__main__":
    asyncio.run(main())
