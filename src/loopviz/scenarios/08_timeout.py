"""asyncio.timeout: the same two-second cut, as a context manager

Python 3.11 added "async with asyncio.timeout(...)". Watch main wait on the slow
task inside the block; at 2.0 s the block's deadline cancels main's await, which
cancels the task it awaits, and leaving the block turns that into TimeoutError.
"""

import asyncio
import time


async def slow_report() -> str:
    await asyncio.sleep(10)
    return "report"


async def main() -> None:
    started = time.perf_counter()
    job = asyncio.create_task(slow_report(), name="slow-report")
    try:
        async with asyncio.timeout(2.0):
            print(await job)
    except TimeoutError:
        print(f"gave up after {time.perf_counter() - started:.1f} s")
    print(f"the slow task was cancelled: {job.cancelled()}")


if __name__ == "__main__":
    asyncio.run(main())
