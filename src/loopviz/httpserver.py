"""A small HTTP server on loopback, so the scenarios fetch without leaving the machine.

It offers the few endpoints of a public delay service that the scenarios use:
``/delay/{seconds}``, ``/get``, ``/bytes/{n}`` and ``/status/{code}``. :class:`LocalServer`
runs it in a daemon thread on its own plain asyncio loop (never the recorder's instrumented
one), bound to 127.0.0.1 on a port the system picks. The recorder starts one in its own
process and hands the base URL to the program in :data:`ENV_VAR`; :func:`http_base` lets a
scenario use that URL, or start a server of its own when run with plain ``python``.
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

from aiohttp import web

ENV_VAR = "LOOPVIZ_HTTP_BASE"
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


async def _delay(request: web.Request) -> web.Response:
    raw = request.match_info["seconds"]
    try:
        seconds = float(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"delay must be a number of seconds, not {raw!r}") from None
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_DELAY:
        raise web.HTTPBadRequest(text=f"delay must be between 0 and {MAX_DELAY:g} s, not {raw}")
    await asyncio.sleep(seconds)
    return web.json_response({"delay": seconds, **_echo(request)})


async def _get(request: web.Request) -> web.Response:
    return web.json_response(_echo(request))


async def _bytes(request: web.Request) -> web.Response:
    raw = request.match_info["n"]
    try:
        n = int(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"byte count must be an integer, not {raw!r}") from None
    if not 0 <= n <= MAX_BYTES:
        raise web.HTTPBadRequest(text=f"byte count must be between 0 and {MAX_BYTES}, not {n}")
    return web.Response(body=os.urandom(n), content_type="application/octet-stream")


async def _status(request: web.Request) -> web.Response:
    raw = request.match_info["code"]
    try:
        code = int(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"status must be an integer, not {raw!r}") from None
    if not 200 <= code <= 599:
        # 1xx are interim answers a client waits past; they cannot end an exchange.
        raise web.HTTPBadRequest(text=f"status must be between 200 and 599, not {code}")
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
    given = os.environ.get(ENV_VAR)
    if given:
        yield given.rstrip("/")
        return
    with LocalServer() as base:
        yield base
