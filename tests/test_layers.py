"""The layers depend only downward: checked on the source, so a stray import fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import loopviz

PACKAGE = Path(loopviz.__file__).parent

# module (or package folder) -> top-level names it must never import
FORBIDDEN = {
    "trace.py": {"asyncio", "textual", "loopviz.recorder", "loopviz.timeline", "loopviz.app"},
    "recorder.py": {"textual", "loopviz.timeline", "loopviz.app", "loopviz.summary"},
    "child.py": {"textual", "loopviz.timeline", "loopviz.app"},
    "process.py": {"textual", "loopviz.timeline", "loopviz.app", "loopviz.recorder"},
    "timeline.py": {"asyncio", "textual", "loopviz.recorder", "loopviz.process", "loopviz.app"},
    "units.py": {"asyncio", "textual"},
    "summary.py": {"asyncio", "textual", "loopviz.recorder", "loopviz.app"},
    "export.py": {"asyncio", "textual", "loopviz.recorder", "loopviz.app"},
    "app": {"asyncio.tasks", "loopviz.recorder", "loopviz.child"},
}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def violates(name: str, forbidden: set[str]) -> bool:
    return any(name == f or name.startswith(f + ".") for f in forbidden)


@pytest.mark.parametrize("where", sorted(FORBIDDEN))
def test_module_imports_only_from_below(where: str) -> None:
    target = PACKAGE / where
    files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
    assert files
    bad = {
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in files
        for name in imported(path)
        if violates(name, FORBIDDEN[where])
    }
    assert not bad
