"""gather: three jobs of 1, 2 and 1 seconds finish in 2, not 4

Watch the three lanes start together and sleep side by side. The short jobs end
after one second, the long one after two, and main, waiting on the gather, wakes
once all three are done: the total is the longest job, not the sum.
"""

import asyncio
import time


async def job(label: str, seconds: float) -> str:
    print(f"{label}: begins")
    await asyncio.sleep(seconds)
    print(f"{label}: ends after {seconds:g} s")
    return label


async def main() -> None:
    started = time.perf_counter()
    durations = {"toast": 1.0, "tea": 2.0, "eggs": 1.0}
    jobs = [asyncio.create_task(job(name, s), name=name) for name, s in durations.items()]
    done = await asyncio.gather(*jobs)
    print(f"{', '.join(done)} ready in {time.perf_counter() - started:.1f} s (sum would be 4 s)")


if __name__ == "__main__":
    asyncio.run(main())
