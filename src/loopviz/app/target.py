"""What ``loopviz PATH`` names: a folder of scenarios, one program (a file, a command on
``PATH`` that is a Python script, or a module), or a saved trace."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from loopviz.exits import LoopvizError
from loopviz.record.program import find_program
from loopviz.trace import file_kind


@dataclass(frozen=True)
class Run:
    """How to run a program named on the command line: its arguments, a timeout in seconds
    (None: it runs until it ends or is stopped), whether uvloop is replaced, the seconds of
    the run kept (``--window``; None: all)."""

    args: tuple[str, ...] = ()
    timeout: float | None = None
    no_uvloop: bool = False
    window: float | None = None


@dataclass(frozen=True)
class Target:
    kind: Literal["folder", "program", "trace"]
    path: Path  # for a module, the current folder joined with its name
    module: str = ""  # a module run as python -m
    run: Run = field(default_factory=Run)


def resolve(path: str | Path, run: Run | None = None) -> Target:
    """Classify ``path`` (a file by its content; a command on PATH), so that a wrong one
    fails before the UI; raises ``LoopvizError``."""
    run = run or Run()
    target = Path(path).expanduser()
    if target.is_dir():
        return Target("folder", target, run=run)
    if not target.exists():
        if os.sep in str(path):
            raise LoopvizError(f"{path}: no such file or folder")
        return Target("program", find_program(str(path)).path, run=run)
    return Target(file_kind(target), target, run=run)
