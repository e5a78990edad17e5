"""The narration: one plain sentence saying what the step at the playhead did and why."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.widgets import Static

from loopviz.app.palette import component_style
from loopviz.model import words
from loopviz.model.steps import Step
from loopviz.model.timeline import Timeline


class Narration(Static):
    """The step at the playhead in words, led by its number ("step 16 of 40")."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"narration--caption"}

    def show(self, timeline: Timeline | None, step: Step | None, *, live: bool) -> None:
        if timeline is None:
            self.update("")
            return
        text = Text()
        index = step.index if step is not None else -1
        caption = words.step_caption(index, timeline.moment_count(), live)
        text.append(caption, style=component_style(self, "narration--caption"))
        text.append(f"  {words.narrate(timeline, step) if step is not None else words.FIRST_STEP}")
        self.update(text)
