"""Finding the scenarios of a folder and reading their titles, without running them.

A scenario is a ``.py`` file; its module docstring's first line is its title and the rest
says what to watch for. Docstrings are read with :mod:`ast`, so listing a folder never
imports or executes a program. Files whose names start with ``_`` are helpers, not scenarios.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

HTTP_MARKER = "# loopviz: needs-http-server"


@dataclass(frozen=True)
class Scenario:
    path: Path
    name: str  # the file name without ".py": "03_gather"
    title: str
    description: str

    @property
    def source(self) -> str:
        """The program's text, read when asked for (it may have changed since discovery)."""
        return self.path.read_text(encoding="utf-8", errors="replace")


def read_scenario(path: Path) -> Scenario:
    """Title and description from the docstring; a file that does not parse is still listed."""
    name = path.stem
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as exc:
        return Scenario(path, name, name, f"This file has a syntax error (line {exc.lineno}).")
    except (OSError, ValueError) as exc:
        return Scenario(path, name, name, f"This file cannot be read: {exc}.")
    doc = ast.get_docstring(tree) or ""
    title, _, rest = doc.strip().partition("\n")
    return Scenario(path, name, title.strip() or name, rest.strip())


def discover(folder: str | Path) -> list[Scenario]:
    """The scenarios directly in ``folder``, sorted by file name (their teaching order)."""
    paths = sorted(
        p for p in Path(folder).iterdir() if p.suffix == ".py" and not p.name.startswith("_")
    )
    return [read_scenario(p) for p in paths if p.is_file()]


def bundled_folder() -> Path:
    """The scenarios that ship inside the installed package."""
    return Path(__file__).resolve().parent / "scenarios"


def needs_http_server(path: str | Path) -> bool:
    """Whether the program asks for the local HTTP server (a line holding only the marker)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return any(line.strip() == HTTP_MARKER for line in text.splitlines())
