"""A blocking call in a coroutine freezes the loop; to_thread frees it

Two phases, one after the other. In "blocking", a task calls urllib (synchronous)
for a one-second page: the whole loop stops, and the heartbeat tasks, due every
50 ms, sit ready but never run until the call returns. In "fixed" the same call
runs in a worker thread with asyncio.to_thread: the heartbeats keep beating.
"""
# loopviz: needs-http-server

import asyncio
import time
import urllib.request
from collections.abc import Awaitable, Callable

from loopviz.httpserver import http_base


def download(url: str) -> bytes:
    with urllib.request.urlopen(url) as response:
        return response.read()


async def heartbeat(stop: asyncio.Event) -> None:
    started = time.perf_counter()
    beats = 0
    while not stop.is_set():
        await asyncio.sleep(0.05)
        beats += 1
    name = asyncio.current_task().get_name()
    print(f"{name}: {beats} beats in {time.perf_counter() - started:.1f} s")


async def download_in_loop(url: str) -> None:
    download(url)  # synchronous: nothing else runs until it returns


async def download_in_thread(url: str) -> None:
    await asyncio.to_thread(download, url)


async def phase(label: str, fetch: Callable[[str], Awaitable[None]], url: str) -> None:
    print(f"--- {label} ---")
    stop = asyncio.Event()
    beats = [asyncio.create_task(heartbeat(stop), name=f"{label}/beat-{n}") for n in (1, 2)]
    await asyncio.sleep(0.12)  # let the heartbeats get going
    await asyncio.create_task(fetch(url), name=f"{label}/download")
    stop.set()
    await asyncio.gather(*beats)


async def main(base: str) -> None:
    await phase("blocking", download_in_loop, f"{base}/delay/1")
    await phase("fixed", download_in_thread, f"{base}/delay/1")


if __name__ == "__main__":
    with http_base() as base:
        asyncio.run(main(base))
