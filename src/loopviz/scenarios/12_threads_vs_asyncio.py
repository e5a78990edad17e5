"""Threads or asyncio for the same I/O: five fetches both ways

Two phases fetch the same five one-second pages. In "threads", a pool of five
worker threads each makes one synchronous urllib call: watch the five jobs on
the worker lanes while the loop idles. In "aiohttp", aiohttp makes the same five
requests from the loop's one thread. Both take about a second: for I/O either
works; asyncio needs no threads, which matters once there are thousands.
"""
# loopviz: needs-http-server

import asyncio
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import aiohttp

from loopviz.httpserver import http_base

PAGES = 5


def download(url: str) -> bytes:
    with urllib.request.urlopen(url) as response:
        return response.read()


async def with_threads(urls: list[str]) -> list[bytes]:
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=PAGES, thread_name_prefix="fetcher") as pool:
        return await asyncio.gather(*(loop.run_in_executor(pool, download, u) for u in urls))


async def with_aiohttp(urls: list[str]) -> list[bytes]:
    async with aiohttp.ClientSession() as session:

        async def download_async(url: str) -> bytes:
            async with session.get(url) as response:
                return await response.read()

        return await asyncio.gather(*(download_async(u) for u in urls))


async def main(base: str) -> None:
    urls = [f"{base}/delay/1?page={n}" for n in range(1, PAGES + 1)]
    for label, fetch_all in (("threads", with_threads), ("aiohttp", with_aiohttp)):
        started = time.perf_counter()
        pages = await asyncio.create_task(fetch_all(urls), name=label)
        print(f"{label}: {len(pages)} pages in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    with http_base() as base:
        asyncio.run(main(base))
