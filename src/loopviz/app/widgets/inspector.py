"""The inspector: the selected task at the playhead, one short line per fact."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.widgets import Static

from loopviz.app.palette import STATE_LOOKS, component_style, state_look
from loopviz.app.widgets.source import position
from loopviz.model import words
from loopviz.model.facts import State
from loopviz.model.timeline import Timeline
from loopviz.units import format_time


class Inspector(Static):
    """The selected task at the playhead: state, place, family, totals so far. One short
    line per fact (the pane cuts long ones) so that all of them fit a small screen."""

    # The state line takes its lane's colour (``palette``); the colours are in loopviz.tcss.
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "inspector--name",
        "inspector--muted",
        *(f"inspector--{look}" for look in STATE_LOOKS),
    }

    def show(self, timeline: Timeline | None, t: int, task_id: int) -> None:
        if timeline is None or not task_id:
            self.update("no task selected")
            return
        info = timeline.task(task_id)
        muted = component_style(self, "inspector--muted")
        text = Text()
        text.append(f"{info.name}", style=component_style(self, "inspector--name"))
        text.append(f"  {info.coro}\n", style=muted)
        interval = timeline.state_at(task_id, t)
        if interval is None:
            text.append(f"not created yet (at {format_time(info.created)})\n")
        elif interval.state is State.DONE:
            text.append(words.state(timeline, interval) + "\n")
        else:
            look = state_look(interval.state, interval.kind)
            text.append(
                words.state(timeline, interval) + "\n",
                style=component_style(self, f"inspector--{look}"),
            )
        where = position(timeline, task_id, t)
        family = [f"at {words.where(*where)}"] if where is not None else []
        if info.parent:
            family.append(f"parent: {words.name(timeline, info.parent)}")
        if family:
            text.append(" · ".join(family) + "\n")
        children = [c for c in info.children if timeline.task(c).created <= t]  # so far
        if children:
            names = ", ".join(timeline.task(c).name for c in children[:6])
            more = f" +{len(children) - 6}" if len(children) > 6 else ""
            text.append(f"children: {names}{more}\n")
        totals = timeline.totals(task_id, until=t)
        steps = f"{totals.steps} step{'s' if totals.steps != 1 else ''}"
        text.append(
            f"ran {format_time(totals.running)} · {steps}\n"
            f"ready {format_time(totals.ready)} · waited {format_time(totals.waiting)}",
            style=muted,
        )
        self.update(text)
