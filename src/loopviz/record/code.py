"""What the recorder makes of code: the program's own or a library's, what being suspended in
a library function means, and short names and reprs for what it shows.

A task's records point at the program's own code (where it was created, where it waits) and
name the library function it waits in; both come from walking frames or coroutines, so each
code object is classified once (:class:`CodeBook`) and its facts cached on a :class:`CodeInfo`.
A few library functions say more than their name: the request an aiohttp call makes, the
size of a task group; those facts are read from their frames (:func:`frame_values`).
"""

from __future__ import annotations

import ast
import asyncio
import contextvars
import functools
import os
import reprlib
import sys
import sysconfig
import warnings
from collections.abc import Iterable
from pathlib import Path
from types import CodeType, CoroutineType, FrameType
from typing import Any
from urllib.parse import urlsplit

from loopviz.trace import ARG_CHARS, MAX_ARGS, Arg, Wait

_PACKAGE_DIR = str(Path(__file__).parent.parent) + os.sep
_SCENARIO_DIR = str(Path(__file__).parent.parent / "scenarios") + os.sep
_ASYNCIO_DIR = os.path.dirname(asyncio.__file__)
_AIOHTTP_PART = f"{os.sep}aiohttp{os.sep}"

# Not a trace kind: ``wait_for``, which waits on what it wraps (its ``fut``) under a deadline.
WAIT_FOR = -1

# Library functions a task can be suspended in, by qualified name, and what they mean.
_ASYNCIO_WAITS = {
    "sleep": Wait.SLEEP,
    "Lock.acquire": Wait.LOCK,
    "Semaphore.acquire": Wait.SEMAPHORE,
    "BoundedSemaphore.acquire": Wait.SEMAPHORE,
    "Event.wait": Wait.EVENT,
    "Barrier.wait": Wait.BARRIER,
    "Condition.wait": Wait.CONDITION,
    "Condition.wait_for": Wait.CONDITION,
    "Queue.get": Wait.QUEUE_GET,
    "Queue.put": Wait.QUEUE_PUT,
    "Queue.join": Wait.QUEUE_JOIN,
    "wait_for": WAIT_FOR,
    "TaskGroup.__aexit__": Wait.TASK_GROUP,
    "TaskGroup._aexit": Wait.TASK_GROUP,
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
    elif _AIOHTTP_PART in filename and (
        qualname == "ClientSession._request" or qualname.startswith("ClientResponse.")
    ):
        return Wait.HTTP
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


# A console script's stub is a few hundred bytes; a larger file is a program of its own.
_STUB_MAX = 4096


def is_console_script(path: str) -> bool:
    """Whether ``path`` is the stub that pip (or setuptools, or uv) writes for a package's
    console script (``bin/pytest``, ``bin/uvicorn``): it imports the entry point and, run as
    ``__main__``, strips ``-script.pyw`` or ``.exe`` from ``sys.argv[0]`` and exits with what
    the entry point returns::

        from pytest import console_main
        if __name__ == '__main__':
            sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
            sys.exit(console_main())

    Read once, at most a few kilobytes; a file that cannot be read or parsed is not one."""
    try:
        with open(path, "rb") as file:
            text = file.read(_STUB_MAX + 1)
        if len(text) > _STUB_MAX or b"-script" not in text:
            return False
        with warnings.catch_warnings():  # an odd escape is no warning of the program's
            warnings.simplefilter("ignore")
            tree = ast.parse(text, path)
    except (OSError, SyntaxError, ValueError):
        return False
    main = tree.body[-1] if tree.body else None
    if not isinstance(main, ast.If) or not _runs_as_main(main):
        return False
    *fix_up, last = main.body
    return _strips_script_suffix(fix_up) and _exits_with_entry_point(last, _imported(tree))


def _runs_as_main(node: ast.If) -> bool:
    """``if __name__ == "__main__":``"""
    if not isinstance(test := node.test, ast.Compare):
        return False
    left, right = test.left, test.comparators
    return (
        isinstance(left, ast.Name)
        and left.id == "__name__"
        and len(right) == 1
        and isinstance(right[0], ast.Constant)
        and right[0].value == "__main__"
    )


def _strips_script_suffix(statements: list[ast.stmt]) -> bool:
    """The stub's fix-up of ``sys.argv[0]``: ``re.sub(r'(-script\\.pyw|\\.exe)?$', ...)``
    (pip; ``pyw?``: setuptools), or uv's ``endswith("-script.pyw")``."""
    nodes = [node for statement in statements for node in ast.walk(statement)]
    return any(
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.replace("\\", "").startswith(("(-script.pyw", "-script.pyw"))
        for node in nodes
    ) and any(
        isinstance(node, ast.Assign) and any(_is_argv0(target) for target in node.targets)
        for node in nodes
    )


def _is_argv0(node: ast.expr) -> bool:
    """``sys.argv[0]``"""
    return (
        isinstance(node, ast.Subscript)
        and isinstance(argv := node.value, ast.Attribute)
        and argv.attr == "argv"
        and isinstance(argv.value, ast.Name)
        and argv.value.id == "sys"
        and isinstance(node.slice, ast.Constant)
        and node.slice.value == 0
    )


def _imported(tree: ast.Module) -> set[str]:
    """The names the module's own top-level statements import (``from pytest import
    console_main``; setuptools' ``load_entry_point``, imported in a ``try``)."""
    return {
        alias.asname or alias.name
        for statement in tree.body
        if not isinstance(statement, ast.If | ast.FunctionDef)
        for node in ast.walk(statement)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


def _exits_with_entry_point(node: ast.stmt, imported: set[str]) -> bool:
    """``sys.exit(main())`` of an imported ``main``, or setuptools'
    ``sys.exit(load_entry_point('pkg', 'console_scripts', 'name')())``."""
    if not isinstance(node, ast.Expr) or not isinstance(call := node.value, ast.Call):
        return False
    exits = call.func
    if not (
        isinstance(exits, ast.Attribute)
        and exits.attr == "exit"
        and isinstance(exits.value, ast.Name)
        and exits.value.id == "sys"
        and len(call.args) == 1
        and isinstance(entry := call.args[0], ast.Call)
    ):
        return False
    func = entry.func
    if isinstance(func, ast.Call):  # load_entry_point(...)()
        func = func.func
    return isinstance(func, ast.Name) and func.id in imported


class CodeInfo:
    """What the recorder needs to know of one code object, computed once."""

    __slots__ = ("args", "code", "coro", "kind", "library", "name", "sites")

    def __init__(self, code: CodeType, library: bool, kind: int | None) -> None:
        self.code = code
        self.library = library
        # Wait kind (or WAIT_FOR) when a task is suspended in it (library code only)
        self.kind = kind
        self.name = 0  # Str of its qualified name, once used
        self.coro: tuple[int, int] | None = None  # (Str of its name, Site of its def), once used
        self.args: tuple[tuple[str, ...], bool] | None = None  # arg_names(), once used
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
        files = [str(Path(p).resolve()) for p in user_files]
        # A console script's stub, run as the program (``loopviz record pytest``), is not the
        # program's code but the package's, wherever it lies: the sites of what the package
        # runs are in the code it runs (a test's), not at the stub's ``sys.exit(main())``.
        self._stubs = frozenset(f for f in files if is_console_script(f))
        # The program's own files count as its code even where libraries live.
        self._user = (*(f for f in files if f not in self._stubs), _SCENARIO_DIR)

    def info(self, code: CodeType) -> CodeInfo:
        info = self.codes.get(id(code))
        if info is None:
            filename = code.co_filename
            library = (
                filename.startswith(self._library) and not filename.startswith(self._user)
            ) or filename in self._stubs
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


def frame_values(frame: FrameType, names: Iterable[str]) -> list[Any] | None:
    """The values of some of a frame's locals (None if one is unbound).

    On 3.11 and 3.12 ``f_locals`` is a snapshot kept on the frame, which would keep values
    alive that the function later drops: it is emptied again (whatever reads ``f_locals``
    next fills it afresh). On 3.13 it is a view of the frame itself, left as it is.
    """
    values = frame.f_locals
    try:
        return [values[name] for name in names]
    except KeyError:
        return None
    finally:
        if type(values) is dict:
            values.clear()


def _arg(value: Any, name: str) -> Arg:
    """One argument as ``trace.Arg`` records it. Only plain values are shown (their repr is
    safe and quick); of anything else, the parameter's name (the value's own ``__repr__``
    could be slow or have side effects)."""
    kind = type(value)
    if kind is str:
        return value[: ARG_CHARS + 1]  # type: ignore[no-any-return]
    if kind is bool or value is None:
        return value  # type: ignore[no-any-return]
    if kind is int:
        return value if -_INT64 <= value < _INT64 else [name]  # JSON holds 64 bits
    if kind is float:
        return value if value - value == 0 else [repr(value)]  # inf and nan: not JSON
    if kind is bytes:
        text = repr(value[:ARG_CHARS])
        return [f"{text[:-1]}…{text[-1]}" if len(value) > ARG_CHARS else text]
    return [name]


_INT64 = 2**63
_SELF = frozenset({"self", "cls"})


def arg_names(code: CodeType) -> tuple[tuple[str, ...], bool]:
    """The parameters of a coroutine whose values a task's record shows (a method's
    ``self`` left out), and whether more follow them."""
    names = code.co_varnames[: code.co_argcount]
    if names and names[0] in _SELF:
        names = names[1:]
    return names[:MAX_ARGS], len(names) > MAX_ARGS


def first_args(coro: Any, names: tuple[str, ...], more: bool) -> tuple[Arg, ...] | None:
    """The values of a new task's coroutine's first parameters ``names`` (``arg_names``), as
    ``trace.Arg`` records them; None when they cannot be read (its frame is gone). On every
    task's path: the common values (str, int) are taken inline."""
    frame = coro.cr_frame if type(coro) is CoroutineType else getattr(coro, "gi_frame", None)
    if frame is None:
        return None
    values = frame.f_locals
    args: list[Arg] = []
    try:
        for name in names:
            value = values[name]
            kind = type(value)
            if kind is int and -_INT64 <= value < _INT64:
                args.append(value)
            elif kind is str:
                args.append(value[: ARG_CHARS + 1])
            else:
                args.append(_arg(value, name))
    except KeyError:  # unbound: deleted by an eager first step
        return None
    finally:
        if type(values) is dict:  # see frame_values
            values.clear()
    if more:
        args.append([])
    return tuple(args)


def http_request(coro: Any, qualname: str) -> str:
    """ "GET /delay/1": the request an aiohttp coroutine makes (``ClientSession._request``
    or a ``ClientResponse`` method), its method and path (not its query: it may hold keys)."""
    if qualname == "ClientSession._request":
        values = frame_values(coro.cr_frame, ("method", "str_or_url"))
        if values is None:
            return ""
        method, url = values
    else:
        values = frame_values(coro.cr_frame, ("self",))
        if values is None:
            return ""
        method, url = getattr(values[0], "method", ""), getattr(values[0], "url", "")
    path = urlsplit(url).path if isinstance(url, str) else getattr(url, "path", "")
    return f"{str(method).upper()} {path or '/'}"[:80]


def task_group_size(coro: Any) -> int:
    """How many of its tasks a task group, waited on in its ``__aexit__``, still runs (not
    done: the group hears of a task's end only in a later callback)."""
    values = frame_values(coro.cr_frame, ("self",))
    tasks = getattr(values[0], "_tasks", ()) if values else ()
    return sum(not task.done() for task in tasks)
