"""Semaphore: twenty fetches, never more than five in flight

Watch the fetch tasks: all twenty start, five get the semaphore and go to the
network, the other fifteen wait on the semaphore. Each finished fetch lets one
waiting task through, so they pass in waves of five.
"""
# loopviz: needs-http-server

import asyncio
import time

import aiohttp

from loopviz.httpserver import http_base

LIMIT = 5


async def fetch(session: aiohttp.ClientSession, url: str, gate: asyncio.Semaphore) -> int:
    async with gate:
        async with session.get(url) as response:
            await response.read()
            return response.status


async def main(base: str) -> None:
    started = time.perf_counter()
    gate = asyncio.Semaphore(LIMIT)
    async with aiohttp.ClientSession() as session:
        fetches = [
            asyncio.create_task(
                fetch(session, f"{base}/delay/0.3?n={n}", gate), name=f"fetch-{n:02}"
            )
            for n in range(20)
        ]
        statuses = await asyncio.gather(*fetches)
    elapsed = time.perf_counter() - started
    print(f"{statuses.count(200)} fetches, at most {LIMIT} at a time, in {elapsed:.1f} s")


if __name__ == "__main__":
    with http_base() as base:
        asyncio.run(main(base))
