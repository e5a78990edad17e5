"""What ``loopviz PATH`` names: a folder of scenarios, one program, or a saved trace."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from loopviz.exits import LoopvizError
from loopviz.trace import file_kind


@dataclass(frozen=True)
class Target:
    kind: Literal["folder", "program", "trace"]
    path: Path


def resolve(path: str | Path) -> Target:
    """Classify ``path`` (a file by its content), so that a wrong one fails before the UI;
    raises ``LoopvizError``."""
    target = Path(path).expanduser()
    if target.is_dir():
        return Target("folder", target)
    if not target.exists():
        raise LoopvizError(f"{path}: no such file or folder")
    return Target(file_kind(target), target)
