"""A small HTTP server on loopback, so the scenarios fetch without leaving the machine.

It offers the few endpoints of a public delay service that the scenarios use:
``/delay/{seconds}``, ``/get``, ``/bytes/{n}`` and ``/status/{code}``. :class:`LocalServer`
runs it in a daemon thread on its own plain asyncio loop (never the recorder's instrumented
one), bound to 127.0.0.1 on a port the system picks. The recorder starts one in its own
process and hands the base URL to the program in :data:`loopviz.protocol.HTTP_BASE`;
:func:`http_base` lets a scenario use that URL, or start a server of its own when run with
plain ``python``.
"""

from __future__ import annotations

import asyncio
import math
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TypeVar

from aiohttp import web

from loopviz.protocol import HTTP_BASE

MAX_DELAY = 30.0  # seconds; longer would only hang a scenario
MAX_BYTES = 10 * 1024 * 1024
HOST = "127.0.0.1"


def _echo(request: web.Request) -> dict[str, object]:
    """What every JSON answer carries: the query, the headers and the URL asked for."""
    return {
        "args": dict(request.query),
        "headers": dict(request.headers),
        "url": str(request.url),
    }


_N = TypeVar("_N", int, float)


def _parameter(
    request: web.Request, name: str, kind: type[_N], low: float, high: float, what: str
) -> _N:
    """The path parameter ``name`` as a ``kind`` within [low, high], or a 400 saying why."""
    raw = request.match_info[name]
    try:
        value = kind(raw)
    except ValueError:
        raise web.HTTPBadRequest(
            text=f"{what} must be {'an integer' if kind is int else 'a number'}, not {raw!r}"
        ) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise web.HTTPBadRequest(text=f"{what} must be between {low:g} and {high:g}, not {raw}")
    return value


async def _delay(request: web.Request) -> web.Response:
    seconds = _parameter(request, "seconds", float, 0, MAX_DELAY, "delay")
    await asyncio.sleep(seconds)
    return web.json_response({"delay": seconds, **_echo(request)})


async def _get(request: web.Request) -> web.Response:
    return web.json_response(_echo(request))


async def _bytes(request: web.Request) -> web.Response:
    n = _parameter(request, "n", int, 0, MAX_BYTES, "byte count")
    return web.Response(body=os.urandom(n), content_type="application/octet-stream")


async def _status(request: web.Request) -> web.Response:
    # 1xx are interim answers a client waits past; they cannot end an exchange.
    code = _parameter(request, "code", int, 200, 599, "status")
    return web.Response(status=code)


def make_app() -> web.Application:
    """The aiohttp application; paths not listed here answer 404."""
    app = web.Application()
    app.add_routes(
        [
            web.get("/delay/{seconds}", _delay),
            web.get("/get", _get),
            web.get("/bytes/{n}", _bytes),
            web.route("*", "/status/{code}", _status),
        ]
    )
    return app


class LocalServer:
    """The server in a daemon thread; ``with LocalServer() as base:`` gives its base URL."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.base_url = ""

    def __enter__(self) -> str:
        self._thread = threading.Thread(target=self._serve, name="loopviz-http", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self.base_url

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()

    def _serve(self) -> None:
        # A plain selector loop: asyncio.new_event_loop() would follow the event loop policy,
        # which under the recorder builds the instrumented loop.
        loop = asyncio.SelectorEventLoop()
        runner = web.AppRunner(make_app(), access_log=None)
        try:
            loop.run_until_complete(runner.setup())
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((HOST, 0))
            loop.run_until_complete(web.SockSite(runner, sock).start())
        except BaseException as exc:  # reported to the thread that waits in __enter__
            self._error = exc
            loop.run_until_complete(runner.cleanup())
            loop.close()
            self._ready.set()
            return
        self.base_url = f"http://{HOST}:{sock.getsockname()[1]}"
        self._loop = loop
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()


@contextmanager
def http_base() -> Iterator[str]:
    """The base URL a scenario fetches from: the recorder's server, or one started here."""
    given = os.environ.get(HTTP_BASE)
    if given:
        yield given.rstrip("/")
        return
    with LocalServer() as base:
        yield base
