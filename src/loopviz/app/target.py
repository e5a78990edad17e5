"""What ``loopviz PATH`` names: a folder of scenarios, one program, or a saved trace."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from loopviz.trace import TraceError, parse_header


class TargetError(Exception):
    """A path the app cannot open; the message is one line."""


@dataclass(frozen=True)
class Target:
    kind: Literal["folder", "program", "trace"]
    path: Path


def resolve(path: str | Path) -> Target:
    """Classify ``path``, checking a trace's header so a wrong file fails before the UI."""
    target = Path(path).expanduser()
    if target.is_dir():
        return Target("folder", target)
    if not target.exists():
        raise TargetError(f"{path}: no such file or folder")
    try:
        with target.open("rb") as file:
            first = file.readline(4096)
    except OSError as exc:
        raise TargetError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if first.startswith(b"{"):  # known by content: a trace starts with its header
        try:
            parse_header(first, str(path))
        except TraceError as exc:
            if target.suffix != ".py":
                raise TargetError(str(exc)) from None
        else:
            return Target("trace", target)
    if target.suffix == ".py":
        return Target("program", target)
    try:
        parse_header(first, str(path))
    except TraceError as exc:
        raise TargetError(str(exc)) from None
    return Target("trace", target)
