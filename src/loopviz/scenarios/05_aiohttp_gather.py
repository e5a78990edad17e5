"""aiohttp: five one-second fetches at once with one session

Watch the five fetch tasks all wait on the network together, sharing one
ClientSession (and its connection pool). They all come back after about a
second, so five pages cost barely more than one. Compare with the sequential run.
"""
# loopviz: needs-http-server

import asyncio
import time

import aiohttp

from loopviz.httpserver import http_base


async def fetch(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url) as response:
        return await response.text()


async def main(base: str) -> None:
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        fetches = [
            asyncio.create_task(fetch(session, f"{base}/delay/1?page={n}"), name=f"fetch-{n}")
            for n in range(1, 6)
        ]
        pages = await asyncio.gather(*fetches)
    print(f"All at once: {len(pages)} pages in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    with http_base() as base:
        asyncio.run(main(base))
