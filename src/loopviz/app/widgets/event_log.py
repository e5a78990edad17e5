"""The event log: the events around the playhead, in plain words."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.widgets import Static

from loopviz.app.palette import component_style
from loopviz.model import words
from loopviz.model.timeline import Timeline
from loopviz.units import format_time


class EventLog(Static):
    """The events around the playhead in plain words; the current one stands out."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"event-log--current", "event-log--future"}

    def show(self, timeline: Timeline | None, index: int) -> None:
        """The events around event ``index`` (the last one at the playhead)."""
        if timeline is None:
            self.update("")
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        first = max(index - 2, 0)
        shown = range(first, min(max(index + 2, first + 4), timeline.moment_count()))
        now, future = (component_style(self, f"event-log--{n}") for n in ("current", "future"))
        for i in shown:
            moment = timeline.moment(i)
            style = now if i == index else future if i > index else ""
            said = words.moment(timeline, moment)
            text.append(f"{format_time(moment.t):>10}  {said}", style=style)
            text.append("\n")
        text.rstrip()
        self.update(text if shown else Text("no events yet", style=future))
