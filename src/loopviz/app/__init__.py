"""The Textual app: pick a scenario, watch it run live, then step and play its timeline."""

from __future__ import annotations

import sys

from loopviz import exits
from loopviz.app.target import resolve
from loopviz.exits import LoopvizError


def run_app(path: str | None = None) -> int:
    """Open ``path`` (default: the bundled scenarios). A bad path, or no terminal, is a
    ``LoopvizError`` before the UI starts."""
    from loopviz.catalog import bundled_folder

    target = resolve(path if path is not None else bundled_folder())
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise LoopvizError("the app needs a terminal; without one, see loopviz --help")
    from loopviz.app.app import LoopvizApp

    LoopvizApp(target).run()
    return exits.OK


__all__ = ["run_app"]
