"""wait_for: a ten-second job cut off after two

Watch the slow task sleep with main waiting on it under a deadline. At 2.0 s the
deadline passes: the slow task is cancelled (its lane ends in cancellation, not a
result) and main gets TimeoutError instead of waiting the full ten seconds.
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
        print(await asyncio.wait_for(job, timeout=2.0))
    except TimeoutError:
        print(f"gave up after {time.perf_counter() - started:.1f} s")
    print(f"the slow task was cancelled: {job.cancelled()}")


if __name__ == "__main__":
    asyncio.run(main())
