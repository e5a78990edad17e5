"""aiofiles: async with and async for over a file, done in a thread pool

Watch where the file work really happens: opening the file and reading each line
is a job on a worker thread of the loop's default executor, while the reading
task waits for that job. The loop itself never touches the disk; the price is a
round trip to a thread for every line.
"""

import asyncio
from pathlib import Path

import aiofiles

TIDES = Path(__file__).resolve().parent / "data" / "tides.txt"


async def read_tides() -> None:
    rows = 0
    async with aiofiles.open(TIDES, encoding="utf-8") as table:
        async for row in table:
            place, _, times = row.strip().partition(" high water ")
            print(f"{place}: high {times.replace(' low water ', ', low ')}")
            rows += 1
    print(f"read {rows} rows")


if __name__ == "__main__":
    asyncio.run(read_tides())
