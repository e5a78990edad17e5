"""What to run: a Python file, a console script found on ``PATH`` (``uvicorn``, ``pytest``), or
a module (``-m``), named as on a ``python`` command line, and how the recorded process is
told of it."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from loopviz.exits import LoopvizError
from loopviz.trace import is_python_script


@dataclass(frozen=True)
class Program:
    """``path``: the file run as ``__main__``; for a ``module`` run as ``python -m`` does,
    the folder it is run from (the current one)."""

    path: Path
    module: str = ""

    @property
    def name(self) -> str:
        """How the user named it: the file's name, or the module's."""
        return self.module or self.path.name

    @property
    def stem(self) -> str:
        return self.module or self.path.stem

    def command(self) -> list[str]:
        """The recorded process's arguments that name it (``loopviz.record.child``)."""
        return ["-m", self.module] if self.module else [str(self.path)]


def module(name: str) -> Program:
    """``python -m name``: the module is looked up by the recorded process, as by Python."""
    return Program(Path.cwd(), name)


def find_program(name: str) -> Program:
    """The file ``name`` names, else the command of that name on ``PATH`` if it is a Python
    script (a console script). Raises ``LoopvizError``; a folder is one too."""
    path = Path(name).expanduser()
    if path.is_dir():
        raise LoopvizError(f"{name}: a folder, not a program")
    if path.exists():
        return Program(path)
    found = shutil.which(name) if os.sep not in name else None
    if found is None:
        where = "" if os.sep in name else ", nor a command on PATH"
        raise LoopvizError(f"{name}: no such file{where}")
    if not is_python_script(Path(found)):
        raise LoopvizError(f"{name}: {found} is not a Python program")
    return Program(Path(found))
