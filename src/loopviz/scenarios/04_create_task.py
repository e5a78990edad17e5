"""create_task: work starts at once while main carries on

Watch the two tasks turn ready the instant they are created and start running as
soon as main first awaits. Main keeps doing its own work meanwhile, then collects
the results; the whole run takes about one second, not the 2.5 or so of doing it in turn.
"""

import asyncio
import time


async def slow_square(n: int) -> int:
    await asyncio.sleep(1.0)
    return n * n


async def main() -> None:
    started = time.perf_counter()
    first = asyncio.create_task(slow_square(3), name="square-3")
    second = asyncio.create_task(slow_square(4), name="square-4")
    print("both tasks are scheduled; main goes on with its own work")
    for step in range(1, 4):
        await asyncio.sleep(0.15)  # main's own work, with pauses the tasks can use
        print(f"main: step {step} of its own work done")
    print(f"results: {await first} and {await second}")
    print(f"all done in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    asyncio.run(main())
