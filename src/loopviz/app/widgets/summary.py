"""The summary pane: the run as a whole, in the words and numbers of ``loopviz summary``."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from loopviz.app.palette import BLOCKING
from loopviz.model.timeline import Timeline
from loopviz.report.summary import concurrency_gain, findings
from loopviz.trace import EndReason
from loopviz.units import format_time

END_REASON = {
    EndReason.EXITED: "exited",
    EndReason.TIMEOUT: "killed after the timeout",
    EndReason.INTERRUPTED: "stopped",
    EndReason.SIGNAL: "killed by a signal",
}


class SummaryPane(VerticalScroll, can_focus=False):
    """The run as a whole, in the words and numbers of ``loopviz summary`` (the same
    functions): how it ended and the warnings first, so a small pane still shows them; the
    rest scrolls."""

    MAX_FINDINGS = 5

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._body = Static()

    def compose(self):
        yield self._body

    def show(self, timeline: Timeline | None, message: str = "", *, live: bool = False) -> None:
        text = Text()
        if message:
            text.append(message + "\n", style="bold red")
        if timeline is None:
            self._body.update(text)
            return
        exit = timeline.exit
        if not timeline.finished:
            if live:
                text.append("running…\n", style="yellow")
            else:
                text.append("the trace ends early (the run did not finish)\n", style="yellow")
        elif exit.status is not None:
            how = END_REASON.get(exit.reason, "ended")
            ok = exit.status == 0 and not exit.error
            text.append(f"program {how}, status {exit.status}", style="green" if ok else "red")
            text.append(f": {exit.error}\n" if exit.error else "\n", style="bold red")
        found = findings(timeline)
        for finding in found[: self.MAX_FINDINGS]:
            style = BLOCKING[1] if finding.lint == "blocking" else "yellow"
            text.append(f"⚠ {finding.format()}\n", style=style)
        if len(found) > self.MAX_FINDINGS:
            text.append(f"⚠ … {len(found) - self.MAX_FINDINGS} more warnings\n", style="yellow")
        wall = timeline.end
        busy, _ = timeline.loop_totals()
        text.append(f"wall {format_time(wall)}")
        if wall:
            text.append(f" · loop busy {100 * busy / wall:.0f}%")
            text.append(f" · concurrency gain {concurrency_gain(timeline):.2f}")
        own = sum(not info.internal for info in timeline.tasks)
        internal = len(timeline.tasks) - own
        text.append(f" · {own} task{'s' if own != 1 else ''}")
        text.append(f" (+{internal} of asyncio)\n" if internal else "\n")
        for warning in timeline.warnings:
            text.append(f"⚠ {warning}\n", style="yellow")
        text.rstrip()
        self._body.update(text)
