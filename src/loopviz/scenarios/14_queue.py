"""Queue: one producer, three workers

The producer puts twelve orders on a queue that holds at most two; three workers
take orders off and spend 0.2 s on each. Watch the workers wait on Queue.get when
it is empty, and the producer wait on Queue.put when it is full: the queue paces
both sides. Then a None per worker tells each one to stop.
"""

import asyncio

WORKERS = 3


async def producer(orders: asyncio.Queue[int | None]) -> None:
    for number in range(1, 13):
        await asyncio.sleep(0.02)  # taking an order
        await orders.put(number)
    for _ in range(WORKERS):
        await orders.put(None)


async def worker(orders: asyncio.Queue[int | None]) -> None:
    name = asyncio.current_task().get_name()
    while (number := await orders.get()) is not None:
        await asyncio.sleep(0.2)  # preparing it
        print(f"{name} served order {number}")


async def main() -> None:
    orders: asyncio.Queue[int | None] = asyncio.Queue(maxsize=2)
    await asyncio.gather(
        asyncio.create_task(producer(orders), name="producer"),
        *(asyncio.create_task(worker(orders), name=f"worker-{n}") for n in range(1, WORKERS + 1)),
    )


if __name__ == "__main__":
    asyncio.run(main())
