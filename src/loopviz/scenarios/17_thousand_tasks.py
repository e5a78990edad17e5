"""A thousand tasks at once

One thousand tasks each wait between 0.1 and 0.5 s. Watch the lanes: all start
within a few milliseconds, wait side by side, and finish in five waves; the whole
run takes about half a second, because waiting tasks cost the loop nothing.
"""

import asyncio
import time

COUNT = 1000


async def ping(n: int) -> int:
    await asyncio.sleep(0.1 * (1 + n % 5))
    return n


async def main() -> None:
    started = time.perf_counter()
    tasks = [asyncio.create_task(ping(n), name=f"ping-{n:04}") for n in range(COUNT)]
    answers = await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    print(f"{len(answers)} tasks done in {elapsed:.2f} s (one after another: 300 s)")


if __name__ == "__main__":
    asyncio.run(main())
