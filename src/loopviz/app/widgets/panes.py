"""The run view's panes: inspector, source, output, event log and summary.

Each pane is told the timeline, the playhead and the selected task (method calls down) and
redraws only when what it shows changed, so playback at 30 frames a second stays cheap.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from rich.style import Style
from rich.syntax import Syntax
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from loopviz.app.palette import BLOCKING, READY, RUNNING, WAITING
from loopviz.model.timeline import Interval, State, Timeline
from loopviz.report.summary import concurrency_gain, findings, outcome_text
from loopviz.trace import Cause, EndReason, Stream, Wait
from loopviz.units import format_time

READY_BECAUSE = {
    Cause.START: "new task, first step due",
    Cause.YIELD: "it yielded and is due again",
    Cause.TIMER: "its timer fired",
    Cause.FUTURE: "a future it awaited was resolved",
    Cause.TASK: "the task it awaited finished",
    Cause.IO: "its socket is ready",
    Cause.CANCEL: "it was cancelled",
    Cause.EXECUTOR: "its executor job finished",
}
END_REASON = {
    EndReason.EXITED: "exited",
    EndReason.TIMEOUT: "killed after the timeout",
    EndReason.INTERRUPTED: "stopped",
    EndReason.SIGNAL: "killed by a signal",
}


def position(timeline: Timeline, task_id: int, t: int) -> tuple[str, int] | None:
    """Where the task's own code is at ``t``: the line it runs or is suspended at."""
    interval = timeline.state_at(task_id, t)
    if interval is None or interval.state is State.DONE:
        return None
    # Ready intervals (overdue, then woken) have no line: it is where the task was suspended.
    while interval.state is State.READY and not interval.line and interval.start > 0:
        before = timeline.state_at(task_id, interval.start - 1)
        if before is None or before.state is State.DONE:
            break
        interval = before
    if interval.line:
        return interval.file, interval.line
    info = timeline.task(task_id)
    return (info.coro_file, info.coro_line) if info.coro_line else None


def describe(interval: Interval) -> str:
    """The state in plain words: "waiting: sleep 1.0 s", "ready: its timer fired"."""
    if interval.state is State.WAITING:
        return f"waiting: {interval.detail}" if interval.detail else "waiting"
    if interval.state is State.READY:
        why = READY_BECAUSE.get(interval.kind, "")
        if interval.overdue:
            why = "overdue: its deadline passed while the loop was busy"
        return f"ready: {why}" if why else "ready"
    return interval.state.name.lower()


class Inspector(Static):
    """The selected task at the playhead: state, place, family, totals so far. One short
    line per fact (the pane cuts long ones) so that all of them fit a small screen."""

    def show(self, timeline: Timeline | None, t: int, task_id: int) -> None:
        if timeline is None or not task_id:
            self.update("no task selected")
            return
        info = timeline.task(task_id)
        text = Text()
        text.append(f"{info.name}", style="bold")
        text.append(f"  {info.coro}\n", style="dim")
        interval = timeline.state_at(task_id, t)
        if interval is None:
            text.append(f"not created yet (at {format_time(info.created)})\n")
        elif interval.state is State.DONE:
            text.append(f"done: {outcome_text(timeline, task_id)}\n")
        else:
            text.append(describe(interval) + "\n", style=_state_style(interval))
        where = position(timeline, task_id, t)
        family = [f"at {Path(where[0]).name}:{where[1]}"] if where is not None else []
        if info.parent:
            family.append(f"parent: {timeline.task(info.parent).name}")
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
            style="dim",
        )
        self.update(text)


def _state_style(interval: Interval) -> Style:
    """The inspector's state line in its lane colour."""
    if interval.state is State.RUNNING:
        return RUNNING[1]
    if interval.state is State.READY:
        return READY[1]
    return WAITING.get(interval.kind, WAITING[Wait.FUTURE])[1]


@lru_cache(maxsize=16)
def _highlighted(path: str, search: tuple[Path, ...]) -> list[Text] | None:
    """A source file as highlighted lines (cached: files do not change during a session).

    A trace recorded elsewhere names files that are not here: then a file of the same name
    in one of the ``search`` folders (beside the trace, the bundled scenarios) stands in.
    """
    candidates = [Path(path), *(folder / Path(path).name for folder in search)]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        return None
    try:
        code = found.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return Syntax(code, "python", theme="ansi_dark").highlight(code).split("\n")


class SourcePane(VerticalScroll, can_focus=False):
    """The program's source: ▶ where the selected task is, • where the others are."""

    def __init__(self, *, search: tuple[Path, ...] = (), id: str | None = None) -> None:
        super().__init__(id=id)
        self.search = search
        self._shown: tuple | None = None
        self._body = Static(classes="code")

    def compose(self):
        yield self._body

    def show(self, timeline: Timeline | None, t: int, task_id: int) -> None:
        if timeline is None or timeline.header is None:
            return
        here = position(timeline, task_id, t) if task_id else None
        path = here[0] if here else timeline.header.program
        others = frozenset(
            where[1]
            for other in timeline.alive_at(t)[:200]
            if other != task_id
            and (where := position(timeline, other, t)) is not None
            and where[0] == path
        )
        key = (path, here[1] if here else 0, others)
        if key == self._shown:
            return
        self._shown = key
        lines = _highlighted(path, self.search)
        if lines is None:
            self._body.update(f"cannot read {path}")
            return
        self.border_title = Path(path).name
        width = len(str(len(lines)))
        text = Text()
        current = here[1] if here else 0
        for number, line in enumerate(lines, 1):
            mark = "▶" if number == current else "•" if number in others else " "
            text.append(f"{mark}{number:>{width}} ", style="bold yellow" if mark != " " else "dim")
            row = line.copy()
            if number == current:
                row.stylize("on grey23")
            text.append_text(row)
            text.append("\n")
        self._body.update(text)
        if current:
            self.scroll_to(y=max(0, current - self.size.height // 2), animate=False)


class OutputPane(VerticalScroll, can_focus=False):
    """What the program printed up to the playhead (stderr in red)."""

    TAIL = 300

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._count = -1
        self._body = Static()

    def compose(self):
        yield self._body

    def show(self, timeline: Timeline | None, t: int) -> None:
        lines = timeline.output_until(t) if timeline is not None else []
        if len(lines) == self._count:
            return
        self._count = len(lines)
        text = Text()
        if len(lines) > self.TAIL:
            text.append(f"… {len(lines) - self.TAIL} earlier lines\n", style="dim")
        for _, stream, line in lines[-self.TAIL :]:
            text.append(line + "\n", style="red" if stream == Stream.STDERR else "")
        self._body.update(text)
        self.scroll_end(animate=False)


class EventLog(Static):
    """The events around the playhead in plain words; the current one stands out."""

    def show(self, timeline: Timeline | None, t: int) -> None:
        if timeline is None:
            self.update("")
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        moments = timeline.events_around(t, 2, 1)
        current = max((m.t for m in moments if m.t <= t), default=None)
        for moment in moments:
            style = "bold reverse" if moment.t == current else "dim" if moment.t > t else ""
            text.append(f"{format_time(moment.t):>10}  {moment.text}", style=style)
            text.append("\n")
        text.rstrip()
        self.update(text if moments else Text("no events yet", style="dim"))


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
