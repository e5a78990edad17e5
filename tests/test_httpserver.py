"""The local HTTP server, over real loopback connections with aiohttp's client."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import aiohttp
import pytest

from loopviz.httpserver import MAX_BYTES, LocalServer, http_base
from loopviz.protocol import HTTP_BASE


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with LocalServer() as url:
        yield url


async def fetch(url: str) -> tuple[int, bytes, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.read(), response.content_type


def test_binds_loopback_on_an_ephemeral_port(base: str) -> None:
    host, port = base.removeprefix("http://").split(":")
    assert host == "127.0.0.1"
    assert 0 < int(port) < 65536


async def test_delay_waits_then_answers_json(base: str) -> None:
    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        async with session.get(f"{base}/delay/0.3?n=7") as response:
            body = await response.json()
        elapsed = time.perf_counter() - started
    assert response.status == 200
    assert body["delay"] == 0.3
    assert body["args"] == {"n": "7"}
    assert 0.3 <= elapsed < 2.0


async def test_delays_overlap_on_the_server(base: str) -> None:
    """Five half-second delays at once end in about half a second: the server does not serialise."""
    async with aiohttp.ClientSession() as session:

        async def one(i: int) -> int:
            async with session.get(f"{base}/delay/0.5?i={i}") as response:
                return response.status

        started = time.perf_counter()
        statuses = await asyncio.gather(*(one(i) for i in range(5)))
        elapsed = time.perf_counter() - started
    assert statuses == [200] * 5
    assert elapsed < 1.5


@pytest.mark.parametrize("value", ["-1", "abc", "nan", "inf", "30.5"])
async def test_delay_rejects_bad_values(base: str, value: str) -> None:
    status, body, _ = await fetch(f"{base}/delay/{value}")
    assert status == 400
    assert b"delay must be" in body


async def test_get_echoes_args_and_headers(base: str) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{base}/get?a=1&b=two", headers={"X-Scenario": "09"}) as response,
    ):
        body = await response.json()
    assert response.status == 200
    assert body["args"] == {"a": "1", "b": "two"}
    assert body["headers"]["X-Scenario"] == "09"
    assert body["url"].endswith("/get?a=1&b=two")


async def test_bytes_gives_that_many(base: str) -> None:
    status, body, content_type = await fetch(f"{base}/bytes/1000")
    assert status == 200
    assert len(body) == 1000
    assert content_type == "application/octet-stream"
    _, again, _ = await fetch(f"{base}/bytes/1000")
    assert again != body  # random, not a fixed pattern


@pytest.mark.parametrize("value", ["-1", "x", "1.5", str(MAX_BYTES + 1)])
async def test_bytes_rejects_bad_counts(base: str, value: str) -> None:
    status, body, _ = await fetch(f"{base}/bytes/{value}")
    assert status == 400
    assert b"byte count must be" in body


@pytest.mark.parametrize("code", [200, 204, 404, 418, 503, 599])
async def test_status_answers_with_that_code(base: str, code: int) -> None:
    status, _, _ = await fetch(f"{base}/status/{code}")
    assert status == code


@pytest.mark.parametrize("value", ["100", "199", "600", "abc"])
async def test_status_rejects_codes_it_cannot_answer(base: str, value: str) -> None:
    status, body, _ = await fetch(f"{base}/status/{value}")
    assert status == 400
    assert b"status must be" in body


@pytest.mark.parametrize("path", ["/", "/nothing", "/delay", "/delay/1/2", "/bytes/"])
async def test_unknown_paths_are_404(base: str, path: str) -> None:
    status, _, _ = await fetch(f"{base}{path}")
    assert status == 404


async def test_stops_cleanly_and_frees_its_thread() -> None:
    before = {t.name for t in threading.enumerate()}
    with LocalServer() as url:
        status, _, _ = await fetch(f"{url}/get")
        assert status == 200
    assert "loopviz-http" not in {t.name for t in threading.enumerate()} - before
    with pytest.raises(aiohttp.ClientConnectionError):
        await fetch(f"{url}/get")


def test_http_base_uses_the_url_it_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HTTP_BASE, "http://127.0.0.1:9/")
    with http_base() as base:
        assert base == "http://127.0.0.1:9"


async def test_http_base_starts_a_server_when_none_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(HTTP_BASE, raising=False)
    with http_base() as base:
        status, _, _ = await fetch(f"{base}/get")
    assert status == 200
