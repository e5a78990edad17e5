"""The timeline widget: one lane per task, drawn with the Line API.

Each frame asks the model only for the rows on screen (``model.columns``: one value per
column), so its cost follows the screen size, not the trace size. Rendered
lanes are cached per row under a generation key that changes when the data, the time window
or the width changes; moving the playhead or the selection only repaints what it touches.

The playhead and the selected task are the screen's: the view is bound to them
(``data_bind``) and reports clicks up (``TaskClicked``).
"""

from __future__ import annotations

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

from loopviz.app.axis import tick_label, tick_step
from loopviz.app.palette import BLANK, CHARS, MARKS, Cell, Looks, component_style
from loopviz.model import words
from loopviz.model.columns import loop_columns, task_columns
from loopviz.model.facts import TaskInfo
from loopviz.model.timeline import Timeline

MIN_LABEL, MAX_LABEL = 13, 28  # lane label column: marker + name + space
HEADER_ROWS = 2  # the time axis and the loop lane stay put while lanes scroll
MIN_SPAN = 1_000  # 1 µs: zooming further shows nothing new


@dataclass(frozen=True, slots=True)
class Row:
    kind: str  # "loop", "worker" or "task"
    key: int | str  # task id or worker name
    label: str
    dim: bool = False  # the loop, workers and asyncio's own tasks: not the program's tasks


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

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.timeline: Timeline | None = None
        self.t0 = 0
        self.span = 1_000_000_000
        self._rows: list[Row] = []
        self._longest = 0
        self._row_of_task: dict[int, int] = {}
        self._generation = 0
        self._cache: dict[int, tuple[tuple[int, int, int, int], list[Cell], Strip]] = {}
        self._looks: Looks | None = None

    # --- styles -------------------------------------------------------------------------
    @property
    def looks(self) -> Looks:
        """The lane cells in this widget's component styles, read once per style change."""
        if self._looks is None:
            self._looks = Looks(self._component_style)
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
        if timeline is not None:
            self._rows.append(Row("loop", 0, "loop", True))
            self._rows.extend(Row("worker", w, w, True) for w in timeline.workers)
            tasks = timeline.tasks
            self._rows.extend(_task_row(info) for info in tasks if not info.internal)
            self._rows.extend(_task_row(info) for info in tasks if info.internal)
        self._row_of_task = {
            int(row.key): index for index, row in enumerate(self._rows) if row.kind == "task"
        }
        # asyncio's own tasks, shut down last, do not widen the labels (the lanes would jump).
        labels = (row.label for row in self._rows if not (row.kind == "task" and row.dim))
        self._longest = max(map(len, labels), default=0)
        self.virtual_size = Size(0, HEADER_ROWS + max(0, len(self._rows) - 1))

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

    def set_window(self, t0: int, span: int) -> None:
        span = max(MIN_SPAN, int(span))
        t0 = max(0, int(t0))
        if (t0, span) != (self.t0, self.span):
            self.t0, self.span = t0, span
            self._cache.clear()
            self.refresh()

    def time_at_column(self, column: int) -> int:
        return self.t0 + self.span * column // max(1, self.columns)

    def column_of(self, t: int) -> int | None:
        columns = self.columns
        if columns == 0 or not self.t0 <= t < self.t0 + self.span:
            return None
        return (t - self.t0) * columns // self.span

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

    def task_at_y(self, y: int) -> int | None:
        """The task whose lane is drawn on screen row ``y``."""
        if y < HEADER_ROWS:
            return None
        index = y - HEADER_ROWS + 1 + int(self.scroll_y)
        if index < len(self._rows) and self._rows[index].kind == "task":
            return self._rows[index].key  # type: ignore[return-value]
        return None

    # --- drawing ----------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            return self._axis(width)
        index = 0 if y == 1 else y - HEADER_ROWS + 1 + int(self.scroll_y)
        if self.timeline is None or index >= len(self._rows):
            return Strip.blank(width)
        row = self._rows[index]
        looks = self.looks
        key = (self._generation, self.t0, self.span, width)
        cached = self._cache.get(index)
        if cached is None or cached[0] != key:
            cells = self._cells(row)
            strip = Strip(self._segments(cells), len(cells))
            cached = self._cache[index] = (key, cells, strip)
        _, cells, strip = cached
        label = self._label(row, looks)
        column = self.column_of(self.playhead)
        if column is not None and column < len(cells):
            char, style = cells[column]
            marks = looks.marks
            mark = Strip([Segment("│" if char == " " else char, style + marks["playhead"])], 1)
            future = strip.crop(column + 1).apply_style(marks["future"])  # not happened yet
            strip = Strip.join([strip.crop(0, column), mark, future])
        return Strip.join([label, strip]).adjust_cell_length(width)

    def _label(self, row: Row, looks: Looks) -> Strip:
        selected = row.kind == "task" and row.key == self.selected
        style = looks.marks["selected" if selected else "muted"] if selected or row.dim else Style()
        width = self.label_width
        text = ("▶" if selected else " ") + shorten(row.label, width - 2)
        return Strip([Segment(text.ljust(width - 1), style), Segment(" ")], width)

    def _cells(self, row: Row) -> list[Cell]:
        timeline, columns = self.timeline, self.columns
        if timeline is None or columns == 0:
            return []
        t1 = self.t0 + self.span
        looks = self.looks
        if row.kind == "loop":
            busy_cell, idle = looks.busy, looks.idle
            return [
                BLANK if busy is None else busy_cell if busy else idle
                for busy in loop_columns(timeline, self.t0, t1, columns)
            ]
        if row.kind == "worker":
            # Column arithmetic inline: a worker can have thousands of jobs in the window,
            # and asking the widget its size per job cost more than the rest of the frame.
            cells = [BLANK] * columns
            running = looks.running
            t0, span, end = self.t0, self.span, timeline.end
            for job in timeline.job_spans(str(row.key), t0, t1):
                first = max(0, (job.start - t0) * columns // span)
                last = min(columns - 1, ((job.end or end) - t0) * columns // span)
                cells[first : last + 1] = [running] * (last + 1 - first)
            return cells
        task_id = int(row.key)
        task_cell = looks.task_cell
        cells = [task_cell(col) for col in task_columns(timeline, task_id, self.t0, t1, columns)]
        info = timeline.task(task_id)
        mark = looks.end_mark(info.outcome)
        column = self.column_of(info.ended) if info.ended is not None else None
        if mark is not None and column is not None:
            cells[column] = mark
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

    def _axis(self, width: int) -> Strip:
        columns = self.columns
        if columns < 8:
            return Strip.blank(width)
        step = tick_step(self.span, columns, 12)
        chars = [" "] * columns
        first = -(-self.t0 // step) * step
        for tick in range(first, self.t0 + self.span, step):
            column = self.column_of(tick)
            if column is None:
                continue
            label = "╵" + tick_label(tick, step)
            if column + len(label) <= columns:
                chars[column : column + len(label)] = label
        axis = Segment("".join(chars), self.looks.marks["axis"])
        return Strip([Segment(" " * self.label_width), axis]).adjust_cell_length(width)

    # --- mouse ------------------------------------------------------------------------------
    def on_resize(self, event: events.Resize) -> None:
        self.border_subtitle = self.looks.legend(self.outer_size.width - 4)  # inside the corners

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        task_id = self.task_at_y(offset.y) if offset is not None else None
        if task_id is not None:
            self.post_message(self.TaskClicked(task_id))

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
        """Scale the window by ``factor`` keeping ``around`` at the same column."""
        span = max(MIN_SPAN, int(self.span * factor))
        if factor > 1 and span >= self._whole_span():  # no further out than the whole run
            self.fit()
            return
        fraction = (around - self.t0) / self.span if self.span else 0
        self.set_window(around - int(span * fraction), span)

    def pan(self, fraction: float) -> None:
        self.set_window(self.t0 + int(self.span * fraction), self.span)

    def fit(self) -> None:
        self.set_window(0, self._whole_span())

    def _whole_span(self) -> int:
        end = self.timeline.end if self.timeline is not None else 0
        return max(MIN_SPAN, end + end // 50)


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
    return Row("task", info.id, words.label(info), info.internal)
