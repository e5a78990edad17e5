"""The inspector: the selected task at the playhead (or the selected coroutine's group over
the run, a child process, or the selected resource at the playhead), one short line per
fact."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.widgets import Static

from loopviz.app.palette import STATE_LOOKS, component_style, state_look
from loopviz.model import words
from loopviz.model.facts import State
from loopviz.model.groups import Group, GroupStats
from loopviz.model.processes import ProcessInfo
from loopviz.model.timeline import Timeline


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
        text.append(words.label(info), style=component_style(self, "inspector--name"))
        text.append(f"  {info.coro}\n", style=muted)
        interval = timeline.state_at(task_id, t)
        if interval is None:
            text.append(words.not_created(info) + "\n")
        elif interval.state is State.DONE:
            text.append(words.state(timeline, interval) + "\n")
        else:
            look = state_look(interval.state, interval.kind)
            text.append(
                words.state(timeline, interval) + "\n",
                style=component_style(self, f"inspector--{look}"),
            )
        for line in words.family(timeline, info, t, timeline.position(task_id, t)):
            text.append(line + "\n")
        text.append("\n".join(words.time_spent(timeline.totals(task_id, until=t))), style=muted)
        self.update(text)

    def show_group(self, timeline: Timeline, group: Group, stats: GroupStats) -> None:
        """A coroutine's group over the run so far: its tasks, how they ended, the spread of
        their lifetimes and of their time in the ready queue."""
        muted = component_style(self, "inspector--muted")
        text = Text()
        text.append(
            words.group_label(group, stats.count), style=component_style(self, "inspector--name")
        )
        lines = words.group_facts(timeline, group, stats)
        text.append(f"  {group.coro}\n", style=muted)
        text.append("\n".join(lines))
        self.update(text)

    def show_process(
        self, info: ProcessInfo, tasks: int, busy: int, untraced: list[str], over: bool
    ) -> None:
        """A child process loopviz followed: its command, when it started and how it ended,
        its loops (``untraced``: those it could not trace) and tasks."""
        text = Text()
        text.append(words.process(info), style=component_style(self, "inspector--name"))
        text.append("\n")
        facts = words.process_facts(info, tasks, busy, untraced, over)
        text.append(facts[0] + "\n", style=component_style(self, "inspector--muted"))
        text.append("\n".join(facts[1:]))
        self.update(text)

    def show_resource(self, timeline: Timeline, resource_id: int, t: int) -> None:
        """A lock, semaphore, event, condition, queue or barrier at the playhead: where it was
        made, its capacity, who holds it and who waits in line now, its totals so far."""
        muted = component_style(self, "inspector--muted")
        text = Text()
        text.append(
            words.resource(timeline, resource_id), style=component_style(self, "inspector--name")
        )
        text.append("\n")
        info = timeline.resources.get(resource_id)
        if info is None:
            self.update(text)
            return
        text.append("\n".join(words.resource_facts(timeline, resource_id, t)) + "\n")
        text.append("\n".join(words.resource_totals(timeline, info)), style=muted)
        self.update(text)
