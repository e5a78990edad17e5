"""The summary pane: the run as a whole, in the words and numbers of ``loopviz summary``."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from loopviz.app.palette import component_style
from loopviz.model import words
from loopviz.model.analysis import concurrency_gain, findings
from loopviz.model.timeline import Timeline


class SummaryPane(VerticalScroll, can_focus=False):
    """The run as a whole, in the words and numbers of ``loopviz summary`` (the same
    functions): how it ended and the warnings first, so a small pane still shows them; the
    rest scrolls."""

    MAX_FINDINGS = 5
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        f"summary--{name}" for name in ("error", "failed", "ok", "warning", "blocking")
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._body = Static()

    def compose(self) -> ComposeResult:
        yield self._body

    LIVE_GAIN_TASKS = 1000

    def show(self, timeline: Timeline | None, message: str = "", *, live: bool = False) -> None:
        error, failed, ok, warning, blocking = (
            component_style(self, f"summary--{name}")
            for name in ("error", "failed", "ok", "warning", "blocking")
        )
        text = Text()
        if message:
            text.append(message + "\n", style=error)
        if timeline is None:
            self._body.update(text)
            return
        exit = timeline.exit
        if not timeline.finished:
            said = "running…" if live else words.UNFINISHED
            text.append(said + "\n", style=warning)
        elif exit.status is not None:
            fine = exit.status == 0 and not exit.error
            text.append(f"program {words.program_end(timeline)}\n", style=ok if fine else failed)
        found = findings(timeline)
        for finding in found[: self.MAX_FINDINGS]:
            style = blocking if finding.lint == "blocking" else warning
            text.append(f"⚠ {finding.text}\n", style=style)
        if len(found) > self.MAX_FINDINGS:
            text.append(f"⚠ {words.more_warnings(len(found) - self.MAX_FINDINGS)}\n", style=warning)
        busy, _ = timeline.loop_totals()
        # The gain walks every task: a live run of many is counted once it ends (a frame of
        # the live view stays short).
        counted = not live or len(timeline.tasks) <= self.LIVE_GAIN_TASKS
        gain = concurrency_gain(timeline) if counted else None
        text.append(words.run_figures(timeline, busy, gain) + "\n")
        if timeline.kept_from:
            text.append(f"{words.not_kept(timeline)}\n")
        if timeline.pauses:
            text.append(f"{words.paused(timeline.pauses)}\n")
        for problem in timeline.warnings:
            text.append(f"⚠ {problem}\n", style=warning)
        text.rstrip()
        self._body.update(text)
