"""The loop panel: the event loop's own state at the playhead, as the lists it keeps."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from loopviz.app.palette import component_style
from loopviz.model import words
from loopviz.model.facts import LoopSnapshot
from loopviz.model.timeline import Timeline

# How many entries of each list show before "+N more": the ready queue matters most.
SHOWN = {"ready": 5, "timers": 4, "io": 3, "jobs": 3, "lines": 3}


class LoopPanel(Static):
    """What runs, the ready queue in the order the loop will run it, the timers soonest
    first, the I/O waits, the executor jobs and who waits in line for each lock, semaphore,
    event or queue, just after the step at the playhead."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "loop-panel--heading",
        "loop-panel--running",
        "loop-panel--blocking",
        "loop-panel--overdue",
        "loop-panel--muted",
    }

    def show(self, timeline: Timeline | None, loop: LoopSnapshot | None) -> None:
        if timeline is None or loop is None:
            self.update("")
            return
        self._timeline = timeline
        self._text = text = Text(no_wrap=True, overflow="ellipsis")
        running = self._style("blocking" if loop.blocking_since is not None else "running")
        text.append(words.panel_running(timeline, loop), style=running if loop.running else "")
        t = loop.t
        ready = loop.ready[: SHOWN["ready"]]
        self._section(
            "ready", len(loop.ready), ((words.queue_entry(timeline, q, t), False) for q in ready)
        )
        # Overdue timers are the soonest: they fell due while a step held the loop.
        shown = SHOWN["timers"]
        late = [(words.overdue_entry(timeline, q), True) for q in loop.overdue[:shown]]
        timers = [(words.timer_entry(timeline, p, t), False) for p in loop.timers[:shown]]
        count = len(loop.overdue) + len(loop.timers)
        self._section("timers", count, (late + timers)[:shown])
        io = loop.io[: SHOWN["io"]]
        self._section("io", len(loop.io), ((words.io_entry(timeline, p), False) for p in io))
        jobs = loop.jobs[: SHOWN["jobs"]]
        self._section("jobs", len(loop.jobs), ((words.job_entry(timeline, j), False) for j in jobs))
        if loop.lines:  # only for programs that wait on locks, semaphores, events or queues
            lines = loop.lines[: SHOWN["lines"]]
            entries = ((words.line_entry(timeline, line, t), False) for line in lines)
            self._section("lines", len(loop.lines), entries)
        self.update(text)

    def _style(self, name: str) -> Style:
        return component_style(self, f"loop-panel--{name}")

    def _section(self, what: str, count: int, entries: Iterable[tuple[str, bool]]) -> None:
        text = self._text
        text.append(f"\n{words.panel_heading(what, count)}", style=self._style("heading"))
        if not count:
            text.append(f" {words.PANEL_NOTHING}", style=self._style("muted"))
        for said, overdue in entries:
            text.append(f"\n {said}", style=self._style("overdue") if overdue else "")
        if count > SHOWN[what]:
            text.append(f"\n {words.more(count - SHOWN[what])}", style=self._style("muted"))
