"""The Textual app: pick a scenario, watch it run live, then step and play its timeline."""

from __future__ import annotations

import sys

from loopviz import exits
from loopviz.app.target import TargetError, resolve


def run_app(path: str | None = None) -> int:
    """Open ``path`` (default: the bundled scenarios); a bad path exits 2 before the UI."""
    from loopviz.catalog import bundled_folder

    try:
        target = resolve(path if path is not None else bundled_folder())
    except TargetError as exc:
        print(f"loopviz: {exc}", file=sys.stderr)
        return exits.USAGE
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("loopviz: the app needs a terminal; without one, see loopviz --help", file=sys.stderr)
        return exits.USAGE
    from loopviz.app.app import LoopvizApp

    LoopvizApp(target).run()
    return exits.OK


__all__ = ["run_app"]
