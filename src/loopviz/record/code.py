"""What the recorder makes of code: the program's own or a library's, what being suspended in
a library function means, and short names and reprs for what it shows.

A task's records point at the program's own code (where it was created, where it waits) and
name the library function it waits in; both come from walking frames or coroutines, so each
code object is classified once (:class:`CodeBook`) and its facts cached on a :class:`CodeInfo`.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import reprlib
import sys
import sysconfig
from collections.abc import Iterable
from pathlib import Path
from types import CodeType
from typing import Any

from loopviz.trace import Wait

_PACKAGE_DIR = str(Path(__file__).parent.parent) + os.sep
_SCENARIO_DIR = str(Path(__file__).parent.parent / "scenarios") + os.sep
_ASYNCIO_DIR = os.path.dirname(asyncio.__file__)

# Library functions a task can be suspended in, by qualified name, and what they mean.
_ASYNCIO_WAITS = {
    "sleep": Wait.SLEEP,
    "Lock.acquire": Wait.LOCK,
    "Semaphore.acquire": Wait.SEMAPHORE,
    "BoundedSemaphore.acquire": Wait.SEMAPHORE,
    "Event.wait": Wait.EVENT,
    "Barrier.wait": Wait.EVENT,
    "Condition.wait": Wait.CONDITION,
    "Condition.wait_for": Wait.CONDITION,
    "Queue.get": Wait.QUEUE_GET,
    "Queue.put": Wait.QUEUE_PUT,
    "wait_for": Wait.TIMEOUT,
    "TaskGroup.__aexit__": Wait.GATHER,
    "TaskGroup._aexit": Wait.GATHER,
    "wait": Wait.FUTURE,
    "as_completed": Wait.FUTURE,
}
_IO_WORDS = ("read", "recv", "write", "send", "drain", "connect", "accept", "sendfile")


def wait_kind_of(qualname: str, filename: str) -> int | None:
    """What being suspended inside this library function means, if it says."""
    if filename.startswith(_ASYNCIO_DIR):
        kind = _ASYNCIO_WAITS.get(qualname)
        if kind is not None:
            return kind
    name = qualname.rsplit(".", 1)[-1].lower()
    if any(word in name for word in _IO_WORDS):
        return Wait.IO
    return None


def library_prefixes() -> tuple[str, ...]:
    """Where library code lives: the standard library, site-packages, loopviz itself, and
    code without a file (``<frozen ...>``, ``<string>``)."""
    paths = sysconfig.get_paths()
    dirs = {paths["stdlib"], paths["platstdlib"], paths["purelib"], paths["platlib"]}
    dirs |= {p for p in sys.path if p.endswith(("site-packages", "dist-packages"))}
    return (*(d.rstrip(os.sep) + os.sep for d in dirs if d), _PACKAGE_DIR, "<")


class CodeInfo:
    """What the recorder needs to know of one code object, computed once."""

    __slots__ = ("code", "coro", "kind", "library", "name", "sites")

    def __init__(self, code: CodeType, library: bool, kind: int | None) -> None:
        self.code = code
        self.library = library
        self.kind = kind  # Wait kind when a task is suspended in it (library code only)
        self.name = 0  # Str of its qualified name, once used
        self.coro: tuple[int, int] | None = None  # (Str of its name, Site of its def), once used
        # Sites by instruction offset: working out a line number is slow; few places recur.
        self.sites: dict[int, int] = {}


class CodeBook:
    """Classifies code objects as the program's own or a library's, once each.

    ``codes`` is public for the hot paths: ``codes.get(id(code)) or book.info(code)`` spares
    a call for code seen before (hashing a code object is slow: they are kept by ``id``).
    """

    def __init__(self, user_files: Iterable[str] = ()) -> None:
        self.codes: dict[int, CodeInfo] = {}
        self._library = library_prefixes()
        # The program's own files count as its code even where libraries live.
        self._user = (*(str(Path(p).resolve()) for p in user_files), _SCENARIO_DIR)

    def info(self, code: CodeType) -> CodeInfo:
        info = self.codes.get(id(code))
        if info is None:
            filename = code.co_filename
            library = filename.startswith(self._library) and not filename.startswith(self._user)
            kind = wait_kind_of(code.co_qualname, filename) if library else None
            info = self.codes[id(code)] = CodeInfo(code, library, kind)  # keeps code alive
        return info


_short_repr = reprlib.Repr()  # results are shown, not kept: a few dozen characters will do
_short_repr.maxstring = _short_repr.maxother = 60
_PLAIN = frozenset({type(None), bool, int, float})  # their repr is short and quick


def short_text(value: Any) -> str:
    """A result as shown: its repr, cut short (results are shown, not kept)."""
    try:
        return repr(value) if type(value) in _PLAIN else _short_repr.repr(value)
    except Exception:
        return "<unrepresentable>"


def callable_name(func: Any) -> str:
    """A stable, readable name for a callback or job (never a repr with an address)."""
    while isinstance(func, functools.partial):
        if isinstance(getattr(func.func, "__self__", None), contextvars.Context) and func.args:
            func = func.args[0]  # asyncio.to_thread's partial(context.run, func, ...)
        else:
            func = func.func
    name = getattr(func, "__qualname__", None) or type(func).__qualname__
    return str(name)
