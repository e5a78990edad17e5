"""Lock contention: four tasks take turns on one Lock

Each task needs the printer twice, for 0.1 s each time, and only one may hold it.
Watch the others wait on Lock.acquire while one holds it: the turns never overlap,
so the eight turns take at least 0.8 s however many tasks there are.
"""

import asyncio


async def print_pages(printer: asyncio.Lock, copies: int) -> None:
    name = asyncio.current_task().get_name()
    for copy in range(1, copies + 1):
        async with printer:
            print(f"{name} takes the printer (copy {copy})")
            await asyncio.sleep(0.1)
            print(f"{name} leaves the printer")


async def main() -> None:
    printer = asyncio.Lock()
    await asyncio.gather(
        *(asyncio.create_task(print_pages(printer, 2), name=f"clerk-{n}") for n in range(1, 5))
    )


if __name__ == "__main__":
    asyncio.run(main())
