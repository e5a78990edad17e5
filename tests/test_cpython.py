"""The CPython private parts the recording loop relies on (``record/cpython.py``) are all
where it expects them on the Python running the tests: CI runs this on 3.11, 3.12 and 3.13."""

from __future__ import annotations

from loopviz.record import cpython


def test_every_private_the_loop_relies_on_is_there() -> None:
    assert cpython.missing() == []


def test_a_missing_private_is_named() -> None:
    saved = cpython.PRIVATE
    cpython.PRIVATE = (*saved, ("Task", "_no_such_field"))
    try:
        assert cpython.missing() == ["Task._no_such_field"]
    finally:
        cpython.PRIVATE = saved


def test_the_coroutine_behind_an_await_iterator_is_found() -> None:
    async def inner() -> None:
        pass

    coro = inner()
    try:
        assert cpython.wrapped_coroutine(coro.__await__()) is coro
    finally:
        coro.close()
