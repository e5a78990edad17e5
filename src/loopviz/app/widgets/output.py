"""The output pane: what the program printed up to the playhead."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from loopviz.app.palette import component_style
from loopviz.model.timeline import Timeline
from loopviz.trace import Stream


class OutputPane(VerticalScroll, can_focus=False):
    """What the program printed up to the playhead (stderr in red)."""

    TAIL = 300
    COMPONENT_CLASSES: ClassVar[set[str]] = {"output--stderr", "output--earlier"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._count = -1
        self._body = Static()

    def compose(self) -> ComposeResult:
        yield self._body

    def show(self, timeline: Timeline | None, t: int) -> None:
        lines = timeline.output_until(t) if timeline is not None else []
        if len(lines) == self._count:
            return
        self._count = len(lines)
        text = Text()
        if len(lines) > self.TAIL:
            text.append(
                f"… {len(lines) - self.TAIL} earlier lines\n",
                style=component_style(self, "output--earlier"),
            )
        stderr = component_style(self, "output--stderr")
        for _, stream, line in lines[-self.TAIL :]:
            text.append(line + "\n", style=stderr if stream == Stream.STDERR else "")
        self._body.update(text)
        self.scroll_end(animate=False)
