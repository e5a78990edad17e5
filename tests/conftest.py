"""Helpers shared by the tests: waiting with a deadline, opening a run, reading a pane (the app
tests); writing a program, recording it in a child process, finding a line in a file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Static

from loopviz.app.screens.run import RunScreen


async def wait_for(
    pilot: Pilot[None], predicate: Callable[[], object], what: str, timeout: float = 10.0
) -> None:
    """Let the app run until ``predicate()`` holds; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout} s waiting for {what}")
        await pilot.pause(0.02)


async def open_run(pilot: Pilot[None]) -> RunScreen:
    """The run screen once its trace is loaded and shown."""
    screen = pilot.app.screen
    assert isinstance(screen, RunScreen)
    await wait_for(pilot, lambda: screen.timeline is not None, "the trace to load")
    await pilot.pause()
    return screen


def text_of(where: App[None] | Screen[None], selector: str) -> str:
    """The text a Static shows (on the app's current screen, or on ``where``)."""
    screen = where.screen if isinstance(where, App) else where
    return str(screen.query_one(selector, Static).content)


def line_of(path: Path, marker: str) -> int:
    """The number of the first line of ``path`` that holds ``marker``.

    A line that calls ``line_of(`` is passed over, so a test can name a marker in its own file.
    """
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if marker in line and "line_of(" not in line:
            return number
    raise AssertionError(f"no line of {path} holds {marker!r}")


def write_program(folder: Path, source: str, name: str = "prog.py") -> Path:
    """Write the dedented ``source`` to ``folder / name``; its path."""
    path = folder / name
    path.write_text(textwrap.dedent(source))
    return path


def run_loopviz(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``python -m loopviz ARGS`` in a child process, its output captured as text."""
    command = [sys.executable, "-m", "loopviz", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def run_record(
    program: Path,
    *options: str,
    args: tuple[str, ...] = (),
    trace: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run ``python -m loopviz record PROGRAM -o TRACE [OPTIONS] [-- ARGS]`` in a child process.

    TRACE is ``trace``, or PROGRAM with the suffix ``.trace.jsonl``; the finished run and TRACE.
    """
    trace = trace or program.with_suffix(".trace.jsonl")
    command = [sys.executable, "-m", "loopviz", "record", str(program), "-o", str(trace)]
    command += [*options, *(["--", *args] if args else [])]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    return done, trace
