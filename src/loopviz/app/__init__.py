"""The Textual app: pick a scenario, watch it run live, then step and play its timeline."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from loopviz import exits
from loopviz.app.target import Run, Target, resolve
from loopviz.exits import LoopvizError


def run_app(
    path: str | None = None,
    *,
    module: str | None = None,
    args: Sequence[str] = (),
    timeout: float | None = None,
    no_uvloop: bool = False,
    window: float | None = None,
) -> int:
    """Open ``path`` (default: the bundled scenarios), or run ``module`` as ``python -m``
    does. A program given so runs with ``args``, killed after ``timeout`` seconds if given
    (None: it runs until it ends or is stopped), keeping the last ``window`` seconds of it
    if given. A bad path, or no terminal, is a
    ``LoopvizError`` before the UI starts."""
    from loopviz.catalog import bundled_folder

    run = Run(tuple(args), timeout, no_uvloop, window)
    if module is not None:
        target = Target("program", Path.cwd() / module, module=module, run=run)
    else:
        target = resolve(path if path is not None else bundled_folder(), run)
    if (args or timeout is not None or window is not None) and target.kind != "program":
        raise LoopvizError(
            f"{target.path}: arguments, --timeout and --window are for a program to run"
        )
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise LoopvizError("the app needs a terminal; without one, see loopviz --help")
    from loopviz.app.app import LoopvizApp

    LoopvizApp(target).run()
    return exits.OK


__all__ = ["run_app"]
