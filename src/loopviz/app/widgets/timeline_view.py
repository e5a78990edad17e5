"""The timeline widget: one lane per task, drawn with the Line API.

Each frame asks the model only for the rows on screen (``model.columns``: one value per
column), so its cost follows the screen size, not the trace size. Which time each column
shows is the axis's (``axis.TimeAxis``). Rendered lanes are cached per row under a key that
changes when the data or the axis changes; moving the playhead or the selection only
repaints what it touches.

The playhead and the selected task are the screen's: the view is bound to them
(``data_bind``) and reports clicks on tasks up (``TaskClicked``). What it folds (the
program's start-up, the lane of asyncio's and libraries' tasks) and its look (``letters``)
are its own.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from loopviz.app.axis import TimeAxis, tick_label, tick_step
from loopviz.app.palette import BLANK, CHARS, MARKS, Cell, Looks, component_style
from loopviz.model import words
from loopviz.model.columns import loop_columns, task_columns
from loopviz.model.facts import TaskInfo
from loopviz.model.timeline import Timeline

MIN_LABEL, MAX_LABEL = 13, 28  # lane label column: marker + name + space
HEADER_ROWS = 2  # the time axis and the loop lane stay put while lanes scroll
MIN_SPAN = 1_000  # 1 µs: zooming further shows nothing new


GROUP = "group"  # the row key of the folded lane of asyncio's and libraries' tasks


@dataclass(frozen=True, slots=True)
class Row:
    kind: str  # "loop", "worker", "task" or GROUP
    key: int | str  # task id or worker name
    label: str
    dim: bool = False  # the loop, workers, asyncio's and libraries' tasks: not the program's


class TimelineView(ScrollView, can_focus=True, inherit_bindings=False):
    """Lanes over a time window ``[t0, t0 + span)``; the screen owns the controls, the
    playhead and the selection."""

    DEFAULT_CSS = """
    TimelineView { scrollbar-size-horizontal: 0; }
    """
    # Every look of a lane (``palette``); their colours are in loopviz.tcss.
    COMPONENT_CLASSES: ClassVar[set[str]] = {f"timeline--{name}" for name in (*CHARS, *MARKS)}

    class TaskClicked(Message):
        def __init__(self, task_id: int) -> None:
            super().__init__()
            self.task_id = task_id

    class Moved(Message):
        """The user zoomed or panned with the mouse: the window is theirs now."""

    playhead: var[int] = var(0, init=False)  # bound to the screen's
    selected: var[int] = var(0, init=False)  # bound to the screen's
    letters: var[bool] = var(False, init=False)  # each wait kind marked by a letter too

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.timeline: Timeline | None = None
        self.t0 = 0
        self.span = 1_000_000_000
        self.group_open = False  # the lane of asyncio's and libraries' tasks, unfolded
        self.startup_shown = False  # the program's start-up drawn to scale, not folded
        self._rows: list[Row] = []
        self._grouped: list[TaskInfo] = []  # the tasks folded into the group's lane
        self._group_text = ""  # its label, as long as its lane leaves room for
        self._group_spill = 0  # how many of the lane's columns the label runs on over
        self._longest = 0
        self._row_of_task: dict[int, int] = {}
        self._generation = 0
        self._cache: dict[int, tuple[tuple[int, TimeAxis], list[Cell], Strip]] = {}
        self._looks: Looks | None = None
        self._time_axis: TimeAxis | None = None

    # --- styles -------------------------------------------------------------------------
    @property
    def looks(self) -> Looks:
        """The lane cells in this widget's component styles, read once per style change."""
        if self._looks is None:
            self._looks = Looks(self._component_style, letters=self.letters)
        return self._looks

    def _component_style(self, name: str) -> Style:
        return component_style(self, f"timeline--{name}")

    def notify_style_update(self) -> None:
        """The stylesheet changed (a theme, a focus): the looks are read again when the
        component styles are, and cached lanes drawn with other ones are dropped."""
        super().notify_style_update()
        if self._looks is not None:
            self.call_later(self._restyle, self._looks)
            self._looks = None

    def _restyle(self, before: Looks) -> None:
        if self.looks != before:
            self._cache.clear()
            self.border_subtitle = self.looks.legend(self.outer_size.width - 4)
            self.refresh()

    def watch_letters(self) -> None:
        if self._looks is not None:
            before, self._looks = self._looks, None
            self._restyle(before)

    # --- data ---------------------------------------------------------------------------
    def set_timeline(self, timeline: Timeline | None) -> None:
        self.timeline = timeline
        self._rows = []
        self._row_of_task = {}
        self.data_changed()

    def data_changed(self) -> None:
        """The model grew (a live run): rebuild the row list and drop cached lanes."""
        self._generation += 1
        self._cache.clear()
        self._sync_rows()
        self.refresh()

    def _sync_rows(self) -> None:
        timeline = self.timeline
        self._rows = []
        self._grouped = []
        if timeline is not None:
            self._rows.append(Row("loop", 0, "loop", True))
            self._rows.extend(Row("worker", w, w, True) for w in timeline.workers)
            tasks = timeline.tasks
            self._rows.extend(_task_row(info) for info in tasks if not info.library)
            self._grouped = [info for info in tasks if info.library]
            if self._grouped:
                self._rows.append(Row(GROUP, GROUP, "", True))
            if self.group_open:
                self._rows.extend(_task_row(info) for info in self._grouped)
        self._row_of_task = {
            int(row.key): index for index, row in enumerate(self._rows) if row.kind == "task"
        }
        # asyncio's and libraries' tasks, often last, do not widen the labels (the lanes
        # would jump); the group's label runs on over its empty lane.
        labels = [row.label for row in self._rows if row.kind != GROUP and not row.dim]
        if timeline is not None and timeline.loop_start:  # the folded start-up's words
            labels.append(words.start_up(timeline.loop_start)[0])
        self._longest = max(map(len, labels), default=0)
        self.virtual_size = Size(0, HEADER_ROWS + max(0, len(self._rows) - 1))

    def toggle_group(self) -> None:
        """Fold or unfold the lane of asyncio's and libraries' tasks."""
        self.group_open = not self.group_open
        self.data_changed()

    def toggle_startup(self) -> None:
        """Show the program's start-up to scale, or fold it into one column; then fit."""
        self.startup_shown = not self.startup_shown
        self.data_changed()
        self.fit()

    @property
    def task_ids(self) -> list[int]:
        return [row.key for row in self._rows if row.kind == "task"]  # type: ignore[misc]

    # --- the window -----------------------------------------------------------------------
    @property
    def label_width(self) -> int:
        """Wide enough for the longest name, within a quarter of the width."""
        fits = min(self._longest + 2, MAX_LABEL, self.size.width // 4)
        return max(MIN_LABEL, fits)

    @property
    def columns(self) -> int:
        return max(0, self.size.width - self.label_width)

    @property
    def origin(self) -> int:
        """Where the window can start: the first loop's start while the start-up is folded."""
        if self.startup_shown or self.timeline is None:
            return 0
        return self.timeline.loop_start

    @property
    def axis(self) -> TimeAxis:
        """Which time each column shows: the window, after the folded start-up's column when
        the window starts at the first loop."""
        axis = self._time_axis
        gap = self._gap_shown()
        if axis is None or (axis.t0, axis.span, axis.columns, axis.gap) != (
            self.t0, self.span, self.columns, gap,
        ):  # fmt: skip
            axis = self._time_axis = TimeAxis(self.t0, self.span, self.columns, gap)
        return axis

    def _gap_shown(self) -> bool:
        origin = self.origin
        return origin > 0 and self.t0 == origin

    def shows(self, t: int) -> bool:
        """Whether ``t`` is on screen (in the folded start-up's column, or the window)."""
        return (0 if self._gap_shown() else self.t0) <= t < self.t0 + self.span

    def set_window(self, t0: int, span: int) -> None:
        span = max(MIN_SPAN, int(span))
        t0 = max(self.origin, int(t0))
        if (t0, span) != (self.t0, self.span):
            self.t0, self.span = t0, span
            self._cache.clear()
            self.refresh()

    def time_at_column(self, column: int) -> int:
        return self.axis.time_at(column)

    def column_of(self, t: int) -> int | None:
        return self.axis.column_of(t)

    def watch_playhead(self, before: int, t: int) -> None:
        old, new = self.column_of(before), self.column_of(t)
        if old != new:
            height, left = self.size.height, self.label_width
            self.refresh(*(Region(left + c, 0, 1, height) for c in (old, new) if c is not None))

    def watch_selected(self, before: int, task_id: int) -> None:
        for index in (self._row_of_task.get(before), self._row_of_task.get(task_id)):
            if index is not None:
                self.refresh_line(HEADER_ROWS - 1 + index)
        self.scroll_to_task(task_id)

    def scroll_to_task(self, task_id: int) -> None:
        index = self._row_of_task.get(task_id)
        if index is None:
            return
        y = index - 1  # scrolled rows start after the loop row
        visible = self.size.height - HEADER_ROWS
        if y < self.scroll_y:
            self.scroll_to(y=y, animate=False)
        elif visible > 0 and y >= self.scroll_y + visible:
            self.scroll_to(y=y - visible + 1, animate=False)

    def row_at_y(self, y: int) -> Row | None:
        """The row drawn on screen row ``y`` (None: the axis, or below the last)."""
        if y < HEADER_ROWS:
            return self._rows[0] if y == 1 and self._rows else None
        index = y - HEADER_ROWS + 1 + int(self.scroll_y)
        return self._rows[index] if index < len(self._rows) else None

    def task_at_y(self, y: int) -> int | None:
        """The task whose lane is drawn on screen row ``y``."""
        row = self.row_at_y(y)
        return row.key if row is not None and row.kind == "task" else None  # type: ignore[return-value]

    # --- drawing ----------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            return self._axis_row(width)
        index = 0 if y == 1 else y - HEADER_ROWS + 1 + int(self.scroll_y)
        if self.timeline is None or index >= len(self._rows):
            return Strip.blank(width)
        row = self._rows[index]
        looks = self.looks
        axis = self.axis
        key = (self._generation, axis)
        cached = self._cache.get(index)
        if cached is None or cached[0] != key:
            cells = self._cells(row, axis)
            strip = Strip(self._segments(cells), len(cells))
            cached = self._cache[index] = (key, cells, strip)
        _, cells, strip = cached
        label = self._label(row, looks)
        column = axis.column_of(self.playhead)
        if column is not None and column < len(cells):
            char, style = cells[column]
            marks = looks.marks
            if not (row.kind == GROUP and column < self._group_spill):  # words stay whole
                style += marks["playhead"]
            mark = Strip([Segment("│" if char == " " else char, style)], 1)
            future = strip.crop(column + 1).apply_style(marks["future"])  # not happened yet
            strip = Strip.join([strip.crop(0, column), mark, future])
        return Strip.join([label, strip]).adjust_cell_length(width)

    def _label(self, row: Row, looks: Looks) -> Strip:
        width = self.label_width
        if row.kind == GROUP:  # its words run on over its lane (``_group_cells``)
            marker = "▾" if self.group_open else "▸"
            text = (marker + self._group_text).ljust(width)[:width]
            return Strip([Segment(text, looks.marks["muted"])], width)
        selected = row.kind == "task" and row.key == self.selected
        style = looks.marks["selected" if selected else "muted"] if selected or row.dim else Style()
        text = ("▶" if selected else " ") + shorten(row.label, width - 2)
        return Strip([Segment(text.ljust(width - 1), style), Segment(" ")], width)

    def _group_label(self, width: int, blank: int) -> str:
        """The longest wording of the group's label that fits its label column and the
        ``blank`` columns its lane leaves empty at its start."""
        forms = words.folded_group(len(self._grouped))
        return next((form for form in forms if len(form) <= width - 1 + blank), forms[-1])

    def _cells(self, row: Row, axis: TimeAxis) -> list[Cell]:
        timeline, columns = self.timeline, axis.columns
        if timeline is None or columns == 0:
            return []
        looks = self.looks
        if row.kind == "loop":
            busy_cell, idle = looks.busy, looks.idle
            cells = [
                BLANK if busy is None else busy_cell if busy else idle
                for busy in loop_columns(timeline, axis.edges)
            ]
        elif row.kind == "worker":
            jobs = timeline.job_spans(str(row.key), axis.edges[0], axis.edges[-1])
            cells = self._spans_cells(axis, looks.running, ((job.start, job.end) for job in jobs))
        elif row.kind == GROUP:
            cells = self._group_cells(axis, looks)
        else:
            task_id = int(row.key)
            task_cell = looks.task_cell
            cells = [task_cell(col) for col in task_columns(timeline, task_id, axis.edges)]
            info = timeline.task(task_id)
            mark = looks.end_mark(info.outcome)
            column = axis.column_of(info.ended) if info.ended is not None else None
            if mark is not None and column is not None:
                cells[column] = mark
        if axis.first and cells[0] is BLANK:  # the folded start-up
            cells[0] = looks.gap
        return cells

    def _spans_cells(
        self, axis: TimeAxis, cell: Cell, spans: Iterable[tuple[int, int | None]]
    ) -> list[Cell]:
        """``cell`` in every column a span [start, end) touches (None: still open)."""
        # Local names and a bisect per span: a worker can have thousands of jobs in the
        # window, and asking the widget its size per job cost more than the rest of the frame.
        columns, edges = axis.columns, axis.edges
        end = self.timeline.end if self.timeline is not None else 0
        cells = [BLANK] * columns
        for start, stop in spans:
            first = max(0, bisect_right(edges, start) - 1)
            last = min(columns - 1, bisect_right(edges, end if stop is None else stop) - 1)
            cells[first : last + 1] = [cell] * (last + 1 - first)
        return cells

    def _group_cells(self, axis: TimeAxis, looks: Looks) -> list[Cell]:
        """Where the folded tasks exist, after the rest of the group's label."""
        t0, t1 = axis.edges[0], axis.edges[-1]
        spans = (
            (info.created, info.ended)
            for info in self._grouped
            if info.created < t1 and (info.ended is None or info.ended >= t0)
        )
        cells = self._spans_cells(axis, looks.group, spans)
        blank = next((c for c, cell in enumerate(cells) if cell is not BLANK), len(cells))
        width = self.label_width
        self._group_text = self._group_label(width, blank)
        rest = self._group_text[width - 1 :]
        muted = looks.marks["muted"]
        cells[: len(rest)] = [(char, muted) for char in rest]
        self._group_spill = len(rest)
        return cells

    @staticmethod
    def _segments(cells: list[Cell]) -> list[Segment]:
        """Merge runs of equal cells so a lane is a handful of segments."""
        segments: list[Segment] = []
        run_char, run_style, run = "", None, 0
        for char, style in cells:
            if style is run_style and char == run_char:
                run += 1
                continue
            if run:
                segments.append(Segment(run_char * run, run_style))
            run_char, run_style, run = char, style, 1
        if run:
            segments.append(Segment(run_char * run, run_style))
        return segments

    def _axis_row(self, width: int) -> Strip:
        axis, columns = self.axis, self.columns
        if columns < 8:
            return Strip.blank(width)
        step = tick_step(self.span, columns - axis.first, 12)
        chars = [" "] * columns
        first = -(-self.t0 // step) * step
        for tick in range(first, self.t0 + self.span, step):
            column = axis.column_of(tick)
            if column is None:
                continue
            label = "╵" + tick_label(tick, step)
            if column + len(label) <= columns:
                chars[column : column + len(label)] = label
        style = self.looks.marks["axis"]
        label_width = self.label_width
        start = ""
        if axis.first:  # the folded start-up: its length beside its column
            chars[0] = self.looks.gap[0]
            forms = words.start_up(self.t0)
            start = next((form for form in forms if len(form) < label_width), forms[-1])
        elif self.timeline is not None and self.timeline.loop_start:  # shown: where it ends
            column = axis.column_of(self.timeline.loop_start)
            if column is not None and chars[column] == " ":
                chars[column] = self.looks.gap[0]
        left = Segment(start.rjust(label_width - 1)[-(label_width - 1) :] + " ", style)
        return Strip([left, Segment("".join(chars), style)]).adjust_cell_length(width)

    # --- mouse ------------------------------------------------------------------------------
    def on_resize(self, event: events.Resize) -> None:
        self.border_subtitle = self.looks.legend(self.outer_size.width - 4)  # inside the corners

    def on_click(self, event: events.Click) -> None:
        """A task's lane selects it; the group's lane and the start-up's mark unfold them."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:  # the start-up's words and column
            started = self.timeline.loop_start if self.timeline is not None else 0
            if started and offset.x < self.label_width + self.axis.first:
                self.toggle_startup()
            return
        row = self.row_at_y(offset.y)
        if row is not None and row.kind == GROUP:
            self.toggle_group()
        elif row is not None and row.kind == "task":
            self.post_message(self.TaskClicked(int(row.key)))

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._wheel(event, 1)

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._wheel(event, -1)

    def _wheel(self, event: events.MouseEvent, direction: int) -> None:
        """Ctrl+wheel (or any wheel when the lanes fit) zooms at the pointer; shift pans."""
        event.stop()
        event.prevent_default()
        offset = event.get_content_offset(self)
        if offset is None:
            return
        column = max(0, offset.x - self.label_width)
        if event.shift:
            self.pan(direction * 0.1)
            self.post_message(self.Moved())
        elif event.ctrl or self.max_scroll_y == 0 or offset.y < HEADER_ROWS:
            self.zoom(1.25 if direction > 0 else 0.8, self.time_at_column(column))
            self.post_message(self.Moved())
        else:
            self.scroll_to(y=self.scroll_y + direction * 2, animate=False)

    def zoom(self, factor: float, around: int) -> None:
        """Scale the window by ``factor`` keeping ``around`` at the same column. Zooming out
        stops at the whole run, then goes on only as far as a wait cut short would have."""
        span = max(MIN_SPAN, int(self.span * factor))
        whole = self._span_to(self.timeline.end if self.timeline is not None else 0)
        if factor > 1 and span >= whole:
            if self.t0 == self.origin and self.span >= whole:
                horizon = self.timeline.cut_until if self.timeline is not None else 0
                span = min(span, max(whole, self._span_to(horizon)))
            else:
                span = whole
            self.set_window(self.origin, span)
            return
        fraction = (around - self.t0) / self.span if self.span else 0
        self.set_window(around - int(span * fraction), span)

    def pan(self, fraction: float) -> None:
        self.set_window(self.t0 + int(self.span * fraction), self.span)

    def fit(self) -> None:
        """The whole run: from the first loop's start (or 0) to the end."""
        self.set_window(self.origin, self._span_to(self.timeline.end if self.timeline else 0))

    def _span_to(self, end: int) -> int:
        """The span from the origin that shows ``end`` with a little room after it."""
        span = max(0, end - self.origin)
        return max(MIN_SPAN, span + span // 50)


def shorten(name: str, width: int) -> str:
    """Cut in the middle, where names that share a prefix and a number differ least:
    "blocking/…beat-1"."""
    if len(name) <= width:
        return name
    if width < 4:
        return name[:width]
    tail = (width - 1) // 2
    return name[: width - 1 - tail] + "…" + name[len(name) - tail :]


def _task_row(info: TaskInfo) -> Row:
    return Row("task", info.id, words.label(info), info.library)
