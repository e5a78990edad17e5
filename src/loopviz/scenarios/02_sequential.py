"""Sequential awaits: five one-second fetches, one after another

Watch main wait on the network five times in a row. Each fetch starts only when
the previous one has finished, so the run takes about five seconds, and the loop
is idle nearly all of that time. Compare with the gathered fetches later on.
"""
# loopviz: needs-http-server

import asyncio
import time

import aiohttp

from loopviz.httpserver import http_base


async def main(base: str) -> None:
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        for number in range(1, 6):
            async with session.get(f"{base}/delay/1?page={number}") as response:
                await response.json()
            print(f"page {number} arrived after {time.perf_counter() - started:.1f} s")
    print(f"One at a time: {time.perf_counter() - started:.1f} s for five pages")


if __name__ == "__main__":
    with http_base() as base:
        asyncio.run(main(base))
