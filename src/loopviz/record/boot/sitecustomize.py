"""loopviz's bootstrap of a Python process started by a recorded program (``--follow-children``).

This folder is first on ``PYTHONPATH`` in the recorded program's environment, so every Python
process it starts imports this module at start-up, as Python imports any ``sitecustomize``.
It takes its folder out of ``sys.path`` again and runs the ``sitecustomize`` it hides, if
there is one. It says who the process is to the recording process at once (so the recording
knows it followed it), and has it recorded (``loopviz.record.follow``) once it imports
asyncio: a child that never does starts as quickly as it would.
"""

from __future__ import annotations

import importlib
import os
import sys

MYPY = False  # no typing at start-up: every Python child of the program imports this
if MYPY:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import IO


class _OnAsyncio:
    """Has the process recorded right after asyncio is first imported (a ``sys.meta_path``
    finder; importlib.abc's base class would cost more at start-up than all the rest)."""

    def __init__(self, stream: IO[bytes], path: str) -> None:
        self.stream = stream
        self.path = path
        self.pid = os.getpid()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != "asyncio":
            return None
        sys.meta_path.remove(self)
        spec: ModuleSpec | None = None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                break
        loader = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return None
        stock_exec = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            del loader.exec_module
            stock_exec(module)
            self.follow()

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec

    def follow(self) -> None:
        try:
            from loopviz.protocol import connect_child
            from loopviz.record import follow

            stream: IO[bytes] | None = self.stream
            if os.getpid() != self.pid:  # a child made by fork before asyncio was imported
                follow.let_go(self.stream)
                stream = connect_child(self.path)
            if stream is not None:
                follow.start(stream)
        except Exception:  # never the program's problem
            pass


def _boot() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    try:
        from loopviz.protocol import connect_child, follow_spec

        spec = follow_spec()
        stream = connect_child(spec[0]) if spec is not None else None
        if spec is not None and stream is not None:
            waiter = _OnAsyncio(stream, spec[0])
            if "asyncio" in sys.modules:
                waiter.follow()
            else:
                sys.meta_path.insert(0, waiter)
    except Exception:  # a Python without loopviz (or another version of it): not followed,
        pass  # and the recording says so; the process runs as it would
    me = sys.modules.pop(__name__)
    try:
        importlib.import_module("sitecustomize")  # the one this module hides, if any
    except ImportError:
        sys.modules[__name__] = me  # (Python's import of this module expects to find it)


_boot()
