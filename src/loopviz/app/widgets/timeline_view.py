"""The timeline widget: one lane per task, drawn with the Line API.

Each frame asks the model only for the rows on screen (``model.columns``: one value per
column), so its cost follows the screen size, not the trace size. Which time each column
shows is the axis's: ``axis.TimeAxis`` in time, ``axis.StepAxis`` in step order (one column
per event). Each keeps its own window; switching carries the events in view over. Rendered
lanes are cached per row under a key that changes when the data or the axis changes; moving
the playhead or the selection only repaints what it touches.

Thousands of tasks stay navigable: the tasks of a coroutine that made more than
``groups.FOLD_AT`` are gathered under one row (``CORO``), folded, which draws how many were
alive and says their lifetimes and ready times; a filter (the screen's search) leaves only
the tasks that match; the census strip over the lanes (``census.Census``, given by the
screen) counts the tasks running, ready and waiting per column, the loop's busy share and
its lag.

The playhead (a time, and the step at it) and the selection (a task, or a coroutine's
group) are the screen's: the view is bound to them (``data_bind``) and reports clicks up
(``TaskClicked``, ``GroupClicked``, ``StepClicked``). What it folds (the program's
start-up, the lane of asyncio's and libraries' tasks, the groups), what it shows (the
census, the filter) and its look (``letters``) are its own.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import ClassVar, Generic, TypeVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from loopviz.app.axis import (
    StepAxis,
    TimeAxis,
    steps_between,
    tick_label,
    tick_step,
    zoomed_steps,
)
from loopviz.app.palette import BLANK, CHARS, MARKS, Cell, Looks, bar, component_style
from loopviz.app.widgets.resource_lane import resource_cells
from loopviz.model import words
from loopviz.model.census import Census, CensusColumn
from loopviz.model.columns import loop_columns, task_columns
from loopviz.model.facts import TaskInfo
from loopviz.model.groups import FOLD_AT, Grouping, GroupStats, Lives, Tally
from loopviz.model.timeline import Timeline
from loopviz.model.wakers import wake_at
from loopviz.model.words import shorten
from loopviz.trace import Outcome

MIN_LABEL, MAX_LABEL = 13, 28  # lane label column: marker + name + space
HEADER_ROWS = 2  # the time axis and the loop lane stay put while lanes scroll (and the census)
MIN_SPAN = 1_000  # 1 µs: zooming further shows nothing new
MIN_STEPS = 4  # in step order: the fewest events a window shows

Axis = TimeAxis | StepAxis


GROUP = "group"  # the row key of the folded lane of asyncio's and libraries' tasks
PROCESS = "process"  # a child process's row (key: its number), over its tasks' lanes
CORO = "coro"  # the row kind of a coroutine's group (its key: ``groups.group_key``)
RESOURCES = "resources"  # the row key of the head of the resources' lanes, which folds them
RESOURCE = "resource"  # the row kind of a resource's lane (its key: the resource's id)
CENSUS_ROWS = words.CENSUS_ROWS  # the census strip's rows, over the loop's lane
LANES_UNDER_CENSUS = 3  # a pane too short to show this many lanes under it starts without it


_K = TypeVar("_K", int, str)
_L = TypeVar("_L", bound=Lives)


@dataclass(slots=True)
class _Kept(Generic[_L]):
    """A row's lives (``groups.Lives``) for the filter they were made under, as of the data's
    ``generation``."""

    filter: object
    lives: _L
    generation: int = -1


@dataclass(frozen=True, slots=True)
class Row:
    kind: str  # "loop", "worker", "task", GROUP, CORO, PROCESS, RESOURCES or RESOURCE
    key: int | str  # task id, worker name, group key, process number or resource id
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

    class GroupClicked(Message):
        """A click on a coroutine's group: it is selected (and folded or unfolded)."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    class ProcessClicked(Message):
        """A click on a child process's row: it is selected (and folded or unfolded)."""

        def __init__(self, proc: int) -> None:
            super().__init__()
            self.proc = proc

    class ResourceClicked(Message):
        """A click on a resource's lane: it is selected."""

        def __init__(self, resource_id: int) -> None:
            super().__init__()
            self.resource_id = resource_id

    class ResourcesClicked(Message):
        """A click on the head of the resources' lanes: they are folded or unfolded."""

    class StepClicked(Message):
        """A click on a column in step order: go to that event."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    class Moved(Message):
        """The user zoomed or panned with the mouse: the window is theirs now."""

    playhead: var[int] = var(0, init=False)  # bound to the screen's
    step: var[int] = var(-1, init=False)  # bound to the screen's: the event at the playhead
    selected: var[int] = var(0, init=False)  # bound to the screen's
    selected_group: var[str] = var("", init=False)  # bound to the screen's: a group's key
    selected_resource: var[int] = var(0, init=False)  # bound to the screen's: a resource's id
    selected_process: var[int] = var(0, init=False)  # bound to the screen's: a child's number
    letters: var[bool] = var(False, init=False)  # each wait kind marked by a letter too

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.timeline: Timeline | None = None
        self.t0 = 0
        self.span = 1_000_000_000
        self.by_steps = False  # drawn in step order (``StepAxis``), not in time
        self.first_step = 0  # the step window: its first event...
        self.step_count = 1  # ...and how many it spans
        self._switched: tuple[tuple[int, int], tuple[int, int]] | None = (
            None  # before, after a switch
        )
        self._group_open = [False, False]  # asyncio's and libraries' lane unfolded, per axis
        self.resources_open = True  # the resources' lanes shown under the tasks
        self._resources_text = ""  # the head of their lanes' words, as long as room allows
        self._waits: dict[int, list[tuple[int, int]]] = {}  # per resource, for the data so far
        # The task whose step woke the selected one at the playhead, and that step's columns;
        # and what it was found for.
        self._waker: tuple[int, range] | None = None
        self._waker_for: tuple[object, ...] = ()
        self.startup_shown = False  # the program's start-up drawn to scale, not folded
        self._rows: list[Row] = []
        self._grouped: list[TaskInfo] = []  # the tasks folded into the group's lane
        self._group_text = ""  # its label, as long as its lane leaves room for
        self.grouping = Grouping()  # the tasks by coroutine
        self._members: dict[str, list[int]] = {}  # a group's tasks shown (all, or the filter's)
        self._folded: dict[str, bool] = {}  # groups the user folded or unfolded
        self._processes: dict[int, list[int]] = {}  # a child process's tasks shown
        self._folded_processes: set[int] = set()  # child processes the user folded
        # Per group: its spreads, and the data they were worked out from.
        self._stats: dict[str, tuple[tuple[object, ...], GroupStats]] = {}
        # What each group's and each child process's row draws, kept as data arrives.
        self._tallies: dict[str, _Kept[Tally]] = {}
        self._process_lives: dict[int, _Kept[Lives]] = {}
        self.filter: frozenset[int] | None = None  # the tasks a search left (None: all)
        self.census: Census | None = None
        self._census_shown: bool | None = None  # the user's choice (None: shown at scale)
        self._census_was_shown = False  # as drawn at the last resize
        # The census per column, and each of its rows drawn, for one axis and the data so far.
        self._census_cache: tuple[tuple[object, ...], list[CensusColumn | None]] | None = None
        self._census_rows: dict[str, tuple[list[Cell], Strip]] = {}
        self._longest = 0
        self._row_of_task: dict[int, int] = {}
        self._row_of_group: dict[str, int] = {}
        self._generation = 0
        # Per row: its cells, drawn, and how many of its first columns are words.
        self._cache: dict[int, tuple[tuple[int, Axis], list[Cell], Strip, int]] = {}
        # Seconds spent working out lanes since the data last changed, and by then: what a
        # redraw of the whole view costs (a live run's screen paces its redraws by it).
        self._drawing = 0.0
        self.redraw_cost = 0.0
        self._looks: Looks | None = None
        self._time_axis: TimeAxis | None = None
        self._step_axis: StepAxis | None = None

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
    def set_timeline(self, timeline: Timeline | None, census: Census | None = None) -> None:
        self.timeline = timeline
        self.census = census
        self.grouping = Grouping()
        self._stats, self._tallies, self._process_lives = {}, {}, {}  # the old model's
        self._rows = []
        self._row_of_task = {}
        self.data_changed()

    def set_census(self, census: Census | None) -> None:
        """The census of the run, once counted (a big trace's takes a second or two)."""
        self.census = census
        self.data_changed()

    def data_changed(self) -> None:
        """The model grew (a live run): rebuild the row list and drop cached lanes."""
        self.redraw_cost, self._drawing = self._drawing, 0.0
        self._generation += 1
        self._cache.clear()
        self._waits.clear()
        self._step_axis = None  # new events, maybe between the ones in view
        self._sync_rows()
        self.refresh()

    def _sync_rows(self) -> None:
        timeline = self.timeline
        rows: list[Row] = []
        self._grouped = []
        self._members = {}
        if timeline is not None:
            self.grouping.update(timeline)
            rows.append(Row("loop", 0, "loop", True))
            rows.extend(Row("worker", w, words.worker(w), True) for w in timeline.workers)
            tasks = timeline.tasks
            shown = self.filter
            if shown is not None:  # what matches, wherever it would be folded
                rows.extend(self._grouped_rows([info for info in tasks if info.id in shown]))
            else:  # a library's task running the program's own function is the program's
                theirs = [info.library and not info.handler for info in tasks]
                own = [info for info, its in zip(tasks, theirs, strict=True) if not its]
                rows.extend(self._process_rows(own))
                self._grouped = [info for info, its in zip(tasks, theirs, strict=True) if its]
                if self._grouped:
                    rows.append(Row(GROUP, GROUP, "", True))
                if self.group_open:
                    rows.extend(self._grouped_rows(self._grouped))
            resources = timeline.resources.all
            if resources:
                rows.append(Row(RESOURCES, RESOURCES, "", True))
                if self.resources_open:
                    rows.extend(Row(RESOURCE, r.id, words.resource_label(r)) for r in resources)
        self._rows = rows
        self._row_of_task = {int(r.key): i for i, r in enumerate(rows) if r.kind == "task"}
        self._row_of_group = {str(r.key): i for i, r in enumerate(rows) if r.kind == CORO}
        # asyncio's and libraries' tasks, often last, do not widen the labels (the lanes
        # would jump); the group's label runs on over its empty lane.
        labels = [row.label for row in rows if row.kind not in (GROUP, RESOURCES) and not row.dim]
        if timeline is not None and timeline.loop_start:  # the folded start-up's words
            labels.append(words.start_up(timeline.loop_start, bool(timeline.kept_from))[0])
        self._longest = max(map(len, labels), default=0)
        self.virtual_size = Size(0, self.header_rows + max(0, len(rows) - 1))

    def _grouped_rows(self, tasks: list[TaskInfo]) -> list[Row]:
        """Rows for ``tasks`` in creation order, where the tasks of a folding group (of more
        than ``FOLD_AT`` tasks here, or one the user folded) are gathered under its row, at
        its first task's place."""
        of_task = self.grouping.of_task
        members: dict[str, list[int]] = {}
        for info in tasks:
            members.setdefault(of_task[info.id].key, []).append(info.id)
        self._members.update(members)
        rows: list[Row] = []
        done: set[str] = set()
        for info in tasks:
            group = of_task[info.id]
            key = group.key
            if not self._headed(key):
                rows.append(_task_row(info))
                continue
            if key in done:
                continue
            done.add(key)
            rows.append(Row(CORO, key, words.group_label(group, len(members[key])), info.library))
            if not self.folded(key):
                timeline = self.timeline
                assert timeline is not None
                infos = [timeline.task(task) for task in members[key]]
                rows.extend(
                    Row("task", info.id, said, info.library)
                    for info, said in zip(infos, words.member_labels(infos), strict=True)
                )
        return rows

    def _process_rows(self, tasks: list[TaskInfo]) -> list[Row]:
        """The program's process's rows (``_grouped_rows``), then each child process loopviz
        followed as a row over its own (unless the user folded it)."""
        timeline = self.timeline
        assert timeline is not None
        self._processes = {}
        if not timeline.processes:
            return self._grouped_rows(tasks)
        of_process: dict[int, list[TaskInfo]] = {}
        for info in tasks:
            of_process.setdefault(info.process, []).append(info)
        rows = self._grouped_rows(of_process.get(0, []))
        for process in timeline.processes[1:]:
            mine = of_process.get(process.proc, [])
            if not mine and not process.loops:  # no event loop of its own: nothing to draw
                continue
            self._processes[process.proc] = [info.id for info in mine]
            rows.append(Row(PROCESS, process.proc, words.process_row(process, len(mine))))
            if process.proc not in self._folded_processes:
                rows.extend(self._grouped_rows(mine))
        return rows

    def process_tasks(self, proc: int) -> list[int]:
        """The tasks of child process ``proc`` that its row is over (the search's, if any)."""
        return self._processes.get(proc, [])

    def toggle_process(self, proc: int) -> None:
        """Fold a child process's lanes into its row, or unfold them."""
        self._folded_processes ^= {proc}
        self.data_changed()

    def _headed(self, key: str) -> bool:
        """Whether a group has a row of its own: it folds by default, or the user folded it."""
        return len(self._members.get(key, ())) > FOLD_AT or key in self._folded

    def folded(self, key: str) -> bool:
        """Whether a group's tasks are folded into its row."""
        return self._folded.get(key, len(self._members.get(key, ())) > FOLD_AT)

    def toggle_fold(self, key: str) -> None:
        """Fold a coroutine's group into one row, or unfold it (a group small enough to be
        unfolded from the start goes back to its tasks' places)."""
        if self.folded(key) and len(self._members.get(key, ())) <= FOLD_AT:
            self._folded.pop(key, None)
        else:
            self._folded[key] = not self.folded(key)
        self.data_changed()

    def group_of(self, task_id: int) -> str:
        """The key of the group a task belongs to, if it has more than one task shown."""
        group = self.grouping.of_task.get(task_id)
        if group is None or len(self._members.get(group.key, ())) < 2:
            return ""
        return group.key

    def members(self, key: str) -> list[int]:
        """A group's tasks shown (all of them, or those the filter leaves), in creation order."""
        return self._members.get(key, [])

    def has_row(self, kind: str, key: int | str) -> bool:
        """Whether a task (``"task"``) or a group (``CORO``) has a row of its own now."""
        rows = self._row_of_task if kind == "task" else self._row_of_group
        return key in rows

    def reveal_task(self, task_id: int) -> bool:
        """Unfold what hides a task (asyncio's and libraries' lane, its group); False if the
        filter leaves it out."""
        if self.filter is not None and task_id not in self.filter:
            return False
        if task_id in self._row_of_task:
            return True
        info = self.timeline.task(task_id) if self.timeline is not None else None
        if info is not None and info.library and self.filter is None and not self.group_open:
            self._group_open[self.by_steps] = True
            self.data_changed()
        key = self.group_of(task_id)
        if key and task_id not in self._row_of_task and self.folded(key):
            self._folded[key] = False
            self.data_changed()
        return task_id in self._row_of_task

    def set_filter(self, tasks: frozenset[int] | None) -> None:
        """Show only ``tasks`` (None: every task)."""
        if tasks != self.filter:
            self.filter = tasks
            self.data_changed()
            self.scroll_to(y=0, animate=False)

    def group_stats(self, key: str) -> GroupStats:
        """A group's spreads over the run so far (of its tasks shown), worked out again only
        when the run or the filter changed."""
        timeline = self.timeline
        assert timeline is not None
        data = (timeline.end, len(timeline.tasks), self.filter)
        cached = self._stats.get(key)
        if cached is not None and cached[0] == data:
            return cached[1]
        found = self._tally(key).stats(timeline)
        self._stats[key] = (data, found)
        return found

    def _tally(self, key: str) -> Tally:
        """What a group's row draws, kept up to date as its tasks come and end."""
        members = self._members.get(key, self.grouping.groups[key].tasks)
        return self._kept(self._tallies, key, members, Tally)

    def _kept(self, store: dict[_K, _Kept[_L]], key: _K, tasks: list[int], make: type[_L]) -> _L:
        """``store``'s lives of ``tasks`` under ``key``: the tasks new since, and the ends
        since, taken in once per change of the data; made anew when the filter changed."""
        assert self.timeline is not None
        held = store.get(key)
        if held is None or held.filter is not self.filter:
            held = store[key] = _Kept(self.filter, make())
        if held.generation != self._generation:
            held.generation = self._generation
            held.lives.update(self.timeline)
            held.lives.add(self.timeline, tasks[held.lives.count :])
        return held.lives

    # --- the census -------------------------------------------------------------------------
    @property
    def census_shown(self) -> bool:
        """Whether the census strip is over the lanes: at scale (more than ``FOLD_AT``
        tasks) in a pane tall enough to show lanes under it too (80x24: not), unless the user
        said otherwise."""
        if self._census_shown is not None:
            return self._census_shown
        room = self.size.height >= HEADER_ROWS + len(CENSUS_ROWS) + LANES_UNDER_CENSUS
        return room and self.timeline is not None and len(self.timeline.tasks) > FOLD_AT

    def toggle_census(self) -> None:
        self._census_shown = not self.census_shown
        self.data_changed()

    @property
    def header_rows(self) -> int:
        """The rows that stay put while lanes scroll: the axis, the census, the loop."""
        return HEADER_ROWS + (len(CENSUS_ROWS) if self.census_shown else 0)

    @property
    def group_open(self) -> bool:
        """Whether the lane of asyncio's and libraries' tasks is unfolded (each axis keeps
        its own: in step order it starts folded, whatever the time view shows)."""
        return self._group_open[self.by_steps]

    def toggle_group(self) -> None:
        """Fold or unfold the lane of asyncio's and libraries' tasks."""
        self._group_open[self.by_steps] = not self.group_open
        self.data_changed()

    def toggle_resources(self) -> None:
        """Fold or unfold the resources' lanes."""
        self.resources_open = not self.resources_open
        self.data_changed()

    def toggle_startup(self) -> None:
        """Show the program's start-up to scale, or fold it into one column; then fit (in
        step order there is no start-up column: events come one after another)."""
        self.startup_shown = not self.startup_shown
        self.data_changed()
        if not self.by_steps:
            self.fit()

    @property
    def task_ids(self) -> list[int]:
        return [row.key for row in self._rows if row.kind == "task"]  # type: ignore[misc]

    @property
    def selectable(self) -> list[Row]:
        """The rows a user can select, in order: tasks, coroutines' groups, child processes
        and resources."""
        return [row for row in self._rows if row.kind in ("task", CORO, PROCESS, RESOURCE)]

    # --- the window -----------------------------------------------------------------------
    @property
    def label_width(self) -> int:
        """Wide enough for the longest name, within a quarter of the width."""
        fits = min(self._longest + 2, MAX_LABEL, self.size.width // 4)
        return max(MIN_LABEL, fits)

    @property
    def columns(self) -> int:
        # Not under the vertical scrollbar, which is drawn over the last columns.
        return max(0, self.scrollable_content_region.width - self.label_width)

    @property
    def origin(self) -> int:
        """Where the window can start: the first loop's start while the start-up is folded."""
        if self.startup_shown or self.timeline is None:
            return 0
        return self.timeline.loop_start

    @property
    def axis(self) -> Axis:
        """Which time (or which event, in step order) each column shows."""
        if self.by_steps and self.timeline is not None:
            return self.step_axis
        return self.time_axis

    @property
    def step_axis(self) -> StepAxis:
        """The step window: events one after another, a column (or several) each. A window
        of one event per column stays so when the columns change (the scrollbar comes or
        goes, the terminal is resized), rather than squeezing two events into one."""
        axis = self._step_axis
        assert self.timeline is not None
        columns = self.columns
        if axis is not None and self.step_count == axis.count == axis.columns != columns:
            self.step_count = columns
        if axis is None or (axis.start, axis.count, axis.columns) != (
            self.first_step, self.step_count, columns,
        ):  # fmt: skip
            axis = StepAxis(self.first_step, self.step_count, columns, self.timeline)
            self._step_axis = axis
        return axis

    @property
    def time_axis(self) -> TimeAxis:
        """The time window, after the folded start-up's column when the window starts at the
        first loop."""
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

    def set_steps(self, first: int, count: int) -> None:
        """The step window: ``count`` events from event ``first``."""
        total = self.timeline.moment_count() if self.timeline is not None else 0
        count = max(MIN_STEPS, int(count))
        first = max(0, min(int(first), total - 1))
        if (first, count) != (self.first_step, self.step_count):
            self.first_step, self.step_count = first, count
            self._cache.clear()
            self.refresh()

    def reveal(self, t: int, step: int) -> None:
        """Bring the playhead (at ``t``, on event ``step``) on screen, centred, if it is off."""
        if self.by_steps and self.timeline is not None:
            shown = self.step_axis.shown
            if step >= 0 and not self.first_step <= step < self.first_step + shown:
                self.set_steps(step - shown // 2, self.step_count)
        elif not self.shows(t):
            self.set_window(t - self.span // 2, self.span)

    def time_at_column(self, column: int) -> int:
        return self.time_axis.time_at(column)

    def column_of(self, t: int) -> int | None:
        return self.axis.column_of(t)

    def playhead_columns(self) -> range:
        """The columns the playhead covers (one; in step order, its event's)."""
        return self.axis.playhead(self.playhead, self.step)

    def watch_playhead(self, before: int, t: int) -> None:
        self._refresh_waker()
        if not self.by_steps:
            old, new = self.column_of(before), self.column_of(t)
            self._refresh_columns(range(0) if old is None else range(old, old + 1))
            self._refresh_columns(range(0) if new is None else range(new, new + 1))
            if old != new:
                self._refresh_census_labels()

    def watch_step(self, before: int, step: int) -> None:
        """Repaint the old and new columns of the playhead (the axis row marks it too)."""
        self._refresh_waker()
        if self.by_steps and self.timeline is not None:
            axis = self.step_axis
            self._refresh_columns(axis.column_of_step(before))
            self._refresh_columns(axis.column_of_step(step))
            self.refresh_line(0)  # the axis: the step's number, labels kept off it
            self._refresh_census_labels()

    def _refresh_census_labels(self) -> None:
        """The census rows' labels say their values at the playhead's column."""
        if self.census_shown:
            self.refresh(Region(0, 1, self.label_width, len(CENSUS_ROWS)))

    def _refresh_columns(self, columns: range) -> None:
        if columns:
            left = self.label_width + columns.start
            self.refresh(Region(left, 0, len(columns), self.size.height))

    def watch_selected(self, before: int, task_id: int) -> None:
        self._refresh_waker()
        for index in (self._row_of_task.get(before), self._row_of_task.get(task_id)):
            if index is not None:
                self.refresh_line(self.header_rows - 1 + index)
        self.scroll_to_task(task_id)

    def watch_selected_group(self, before: str, key: str) -> None:
        self._refresh_waker()
        for index in (self._row_of_group.get(before), self._row_of_group.get(key)):
            if index is not None:
                self.refresh_line(self.header_rows - 1 + index)
        self.scroll_to_group(key)

    def watch_selected_resource(self, before: int, resource_id: int) -> None:
        self._refresh_waker()
        for index in (self._row_of(RESOURCE, before), self._row_of(RESOURCE, resource_id)):
            if index is not None:
                self.refresh_line(self.header_rows - 1 + index)
        self.scroll_to_resource(resource_id)

    def watch_selected_process(self, before: int, proc: int) -> None:
        self._refresh_waker()
        for index in (self._row_of(PROCESS, before), self._row_of(PROCESS, proc)):
            if index is not None:
                self.refresh_line(self.header_rows - 1 + index)
        self._scroll_to_row(self._row_of(PROCESS, proc))

    def _row_of(self, kind: str, key: int | str) -> int | None:
        return next(
            (i for i, row in enumerate(self._rows) if row.kind == kind and row.key == key), None
        )

    def scroll_to_resource(self, resource_id: int) -> None:
        self._scroll_to_row(self._row_of(RESOURCE, resource_id))

    def scroll_to_task(self, task_id: int) -> None:
        self._scroll_to_row(self._row_of_task.get(task_id))

    def scroll_to_group(self, key: str) -> None:
        self._scroll_to_row(self._row_of_group.get(key))

    def _scroll_to_row(self, index: int | None) -> None:
        if index is None:
            return
        y = index - 1  # scrolled rows start after the loop row
        visible = self.size.height - self.header_rows
        if y < self.scroll_y:
            self.scroll_to(y=y, animate=False)
        elif visible > 0 and y >= self.scroll_y + visible:
            self.scroll_to(y=y - visible + 1, animate=False)

    def row_at_y(self, y: int) -> Row | None:
        """The row drawn on screen row ``y`` (None: the axis, the census, or below the last)."""
        header = self.header_rows
        if y < header:
            return self._rows[0] if y == header - 1 and self._rows else None
        index = y - header + 1 + int(self.scroll_y)
        return self._rows[index] if index < len(self._rows) else None

    def task_at_y(self, y: int) -> int | None:
        """The task whose lane is drawn on screen row ``y``."""
        row = self.row_at_y(y)
        return row.key if row is not None and row.kind == "task" else None  # type: ignore[return-value]

    # --- who woke the selected task ---------------------------------------------------------
    def waker(self) -> tuple[int, range] | None:
        """The task whose step woke the selected task, while the playhead is on that wake-up
        (the task ready, or running the step it led to), and the columns of that step."""
        timeline = self.timeline
        key = (self.selected, self.selected_group, self.selected_resource, self.playhead,
               self.step, self.axis, self._generation)  # fmt: skip
        if key == self._waker_for:
            return self._waker
        self._waker_for, self._waker = key, None
        if timeline is None or not self.selected or self.selected_group or self.selected_resource:
            return None
        wake = wake_at(timeline, self.selected, self.playhead)
        if wake is not None and wake.waker in self._row_of_task:
            self._waker = (wake.waker, _span_columns(self.axis, wake.start, wake.end))
        return self._waker

    def _refresh_waker(self) -> None:
        """Repaint the lanes of the waker before and after the selection or playhead moved."""
        before = self._waker
        after = self.waker()
        if after != before:
            for found in (before, after):
                index = self._row_of_task.get(found[0]) if found else None
                if index is not None:
                    self.refresh_line(self.header_rows - 1 + index)

    # --- drawing ----------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            return self._axis_row(width)
        if self.timeline is None:
            return Strip.blank(width)
        header = self.header_rows
        if y < header - 1:  # the census
            return self._census_row(CENSUS_ROWS[y - 1], width)
        index = 0 if y == header - 1 else y - header + 1 + int(self.scroll_y)
        if index >= len(self._rows):
            return Strip.blank(width)
        row = self._rows[index]
        axis = self.axis
        key = (self._generation, axis)
        cached = self._cache.get(index)
        if cached is None or cached[0] != key:
            started = time.perf_counter()
            cells, spill = self._lane(row, axis)
            strip = Strip(self._segments(cells), len(cells))
            cached = self._cache[index] = (key, cells, strip, spill)
            self._drawing += time.perf_counter() - started
        _, cells, strip, spill = cached
        waker = self.waker() if row.kind == "task" else None
        keep = range(0)
        if waker is not None and waker[0] == row.key and waker[1]:
            keep = waker[1]  # under the playhead too: the wake-up is in the waker's step
            cells = self._marked(cells, keep, self.looks.marks["waker"])
            strip = Strip(self._segments(cells), len(cells))
        label = self._label(row, self.looks)
        lane = self._with_playhead(cells, strip, spill, keep)
        return Strip.join([label, lane]).adjust_cell_length(width)

    @staticmethod
    def _marked(cells: list[Cell], columns: range, style: Style) -> list[Cell]:
        """``cells`` with ``style`` laid over those in ``columns``."""
        marked = list(cells)
        for column in columns:
            if column < len(marked):
                char, under = marked[column]
                marked[column] = (char, under + style)
        return marked

    def _with_playhead(
        self, cells: list[Cell], strip: Strip, spill: int = 0, keep: range = range(0)
    ) -> Strip:
        """A row's lane with the playhead's column marked and what lies after it dimmed;
        the words on its first ``spill`` columns are kept whole, and the cells of ``keep``
        keep their look."""
        axis = self.axis
        cover = axis.playhead(self.playhead, self.step)
        if not cover or cover.start >= len(cells):
            return strip
        marks = self.looks.marks
        # In step order the playhead's column is what a learner reads (each task just
        # after the step): its cells keep their look, marked where a lane is empty.
        steps = self.by_steps
        marked = []
        for column in cover:
            char, style = cells[column]
            if column >= spill and (char == " " or not (steps or column in keep)):
                style += marks["playhead"]
            marked.append(Segment("│" if char == " " else char, style))
        future = strip.crop(cover.stop).apply_style(marks["future"])  # not happened yet
        return Strip.join([strip.crop(0, cover.start), Strip(marked, len(cover)), future])

    def _label(self, row: Row, looks: Looks) -> Strip:
        width = self.label_width
        if row.kind == GROUP:  # its words run on over its lane (``_group_cells``)
            marker = "▾" if self.group_open else "▸"
            text = (marker + self._group_text).ljust(width)[:width]
            return Strip([Segment(text, looks.marks["muted"])], width)
        if row.kind == RESOURCES:  # its words run on over its lane
            marker = "▾" if self.resources_open else "▸"
            text = (marker + self._resources_text).ljust(width)[:width]
            return Strip([Segment(text, looks.marks["muted"])], width)
        if row.kind == CORO:
            selected = row.key == self.selected_group
            marker = "▸" if self.folded(str(row.key)) else "▾"
            text = marker + shorten(row.label, width - 2)
        elif row.kind == RESOURCE:
            selected = row.key == self.selected_resource
            text = ("▶" if selected else " ") + shorten(row.label, width - 2)
        elif row.kind == PROCESS:
            selected = row.key == self.selected_process
            marker = "▸" if row.key in self._folded_processes else "▾"
            text = marker + words.fit_process_row(row.label, width - 2)
        else:
            selected = row.kind == "task" and row.key == self.selected and not self.selected_group
            waker = self._waker is not None and self._waker[0] == row.key
            text = ("▶" if selected else "»" if waker else " ") + shorten(row.label, width - 2)
        style = looks.marks["selected" if selected else "muted"] if selected or row.dim else Style()
        return Strip([Segment(text.ljust(width - 1), style), Segment(" ")], width)

    def _group_label(self, width: int, blank: int) -> str:
        """The longest wording of the group's label that fits its label column and the
        ``blank`` columns its lane leaves empty at its start."""
        forms = words.folded_group(len(self._grouped))
        return next((form for form in forms if len(form) <= width - 1 + blank), forms[-1])

    def _cells(self, row: Row, axis: Axis) -> list[Cell]:
        """The row's cells, one per screen column."""
        return self._lane(row, axis)[0]

    def _lane(self, row: Row, axis: Axis) -> tuple[list[Cell], int]:
        """The row's cells, one per screen column, and how many of the first are words."""
        timeline, columns = self.timeline, axis.columns
        if timeline is None or columns == 0:
            return [], 0
        looks = self.looks
        if row.kind == GROUP:
            return self._group_cells(axis, looks)
        if row.kind == CORO:
            return self._coro_cells(str(row.key), axis, looks)
        if row.kind == RESOURCES:
            return self._resources_head(columns, looks)
        if row.kind == RESOURCE:
            return self._resource_cells(int(row.key), axis, looks), 0
        if row.kind == PROCESS:  # how many of its tasks were alive; a failure's end marked
            tasks = self._processes.get(int(row.key), [])
            counts = self._kept(self._process_lives, int(row.key), tasks, Lives).alive(axis.edges)
            peak = max(counts, default=0)
            style = looks.group[1]
            cells = axis.spread([(bar(count, peak), style) for count in counts], BLANK)
            process = timeline.processes[int(row.key)]
            end = axis.column_of(process.ended) if process.ended is not None else None
            if end is not None:  # how it ended, after its end where there is room
                failed = looks.end_mark(Outcome.ERROR) if process.status else None
                if failed is not None:
                    cells[end] = failed
                said = f" {words.process_end(process, over=True)}"
                if end + 1 + len(said) <= len(cells):
                    muted = looks.marks["muted"]
                    cells[end + 1 : end + 1 + len(said)] = [(char, muted) for char in said]
            return cells, 0
        if row.kind == "loop":
            busy_cell, idle = looks.busy, looks.idle
            cells = [
                BLANK if busy is None else busy_cell if busy else idle
                for busy in loop_columns(timeline, axis.edges)
            ]
        elif row.kind == "worker":
            jobs = timeline.job_spans(str(row.key), axis.edges[0], axis.edges[-1])
            cells = self._spans_cells(axis, looks.running, ((job.start, job.end) for job in jobs))
        else:
            task_id = int(row.key)
            task_cell = looks.task_cell
            ties = axis.ties if isinstance(axis, StepAxis) else None
            columns_of = task_columns(timeline, task_id, axis.edges, ties)
            cells = [task_cell(col) for col in columns_of]
        cells = axis.spread(cells, BLANK)
        if row.kind == "task":
            info = timeline.task(int(row.key))
            mark = looks.end_mark(info.outcome)
            column = axis.column_of(info.ended) if info.ended is not None else None
            if mark is not None and column is not None:
                cells[column] = mark
        if axis.first and cells[0] is BLANK:  # the folded start-up
            cells[0] = looks.gap
        return cells, 0

    def _resources_head(self, columns: int, looks: Looks) -> tuple[list[Cell], int]:
        """The head of the resources' lanes: its words, run on over its empty lane."""
        assert self.timeline is not None
        width = self.label_width
        forms = words.resources_group(self.timeline.resources.all)
        self._resources_text = next(
            (form for form in forms if len(form) <= width - 1 + columns // 2), forms[-1]
        )
        rest = self._resources_text[width - 1 :]
        muted = looks.marks["muted"]
        cells = [BLANK] * columns
        cells[: len(rest)] = [(char, muted) for char in rest[:columns]]
        return cells, len(rest)

    def _resource_cells(self, resource_id: int, axis: Axis, looks: Looks) -> list[Cell]:
        """A resource's level, holders and waiters per column (``resource_lane``)."""
        timeline = self.timeline
        assert timeline is not None
        info = timeline.resources.get(resource_id)
        if info is None:
            return [BLANK] * axis.columns
        waits = self._waits.get(resource_id)
        if waits is None:
            waits = self._waits[resource_id] = timeline.waits_on(resource_id)
        found = timeline.resources.columns(resource_id, axis.edges, waits, timeline.end)
        cells = resource_cells(timeline, info, axis.spread(found, None), looks)
        if axis.first and cells and cells[0] is BLANK:  # the folded start-up
            cells[0] = looks.gap
        return cells

    def _coro_cells(self, key: str, axis: Axis, looks: Looks) -> tuple[list[Cell], int]:
        """How many of a group's tasks were alive per column, as bars; over its first
        columns, how long they lived and waited in the ready queue."""
        assert self.timeline is not None
        counts = self._tally(key).alive(axis.edges)
        peak = max(counts, default=0)
        style = looks.group[1]
        cells = axis.spread([(bar(count, peak), style) for count in counts], BLANK)
        forms = words.group_brief(self.group_stats(key))
        room = len(cells) // 2
        text = next((form for form in forms if len(form) < room), "")
        if text:
            text += " "
        muted = looks.marks["muted"]
        cells[: len(text)] = [(char, muted) for char in text]
        return cells, len(text)

    def _census_row(self, name: str, width: int) -> Strip:
        """One row of the census strip: bars to the scale of its highest value in view; its
        label says its value in the playhead's column."""
        looks = self.looks
        census = self._census_columns()
        cells, strip = self._census_rows.get(name) or self._census_cells(name, census)
        cover = self.axis.playhead(self.playhead, self.step)
        at = census[cover.start] if cover and cover.start < len(census) else None
        text = " " + shorten(words.census_value(name, at), self.label_width - 2)
        muted = looks.marks["muted"]
        label = Strip([Segment(text.ljust(self.label_width - 1), muted), Segment(" ")])
        return Strip.join([label, self._with_playhead(cells, strip)]).adjust_cell_length(width)

    def _census_cells(
        self, name: str, census: list[CensusColumn | None]
    ) -> tuple[list[Cell], Strip]:
        """A census row's bars, drawn once per census of the columns."""
        looks = self.looks
        style = looks.marks[f"census-{name}"]
        if name in ("busy", "running"):  # shares: the whole column is the top
            values = [getattr(col, name) or 0.0 if col is not None else 0.0 for col in census]
            peak = 1.0
        elif name == "lag":
            values = [float(col.lag) if col is not None else 0.0 for col in census]
            threshold = self.timeline.block_threshold if self.timeline is not None else 0
            peak = max(max(values, default=0.0), threshold)
        else:
            values = [getattr(col, name) if col is not None else 0.0 for col in census]
            peak = max(max(values, default=0.0), 1.0)
        cells: list[Cell] = [(bar(value, peak), style) for value in values]
        if self.census is None and cells and name == CENSUS_ROWS[0]:
            said = words.CENSUS_COUNTING[: len(cells)]
            cells[: len(said)] = [(char, looks.marks["muted"]) for char in said]
        drawn = self._census_rows[name] = (cells, Strip(self._segments(cells), len(cells)))
        return drawn

    def _census_columns(self) -> list[CensusColumn | None]:
        """The census per screen column, counted again only when the axis, the run or the
        look changed."""
        axis = self.axis
        timeline = self.timeline
        progress = (timeline.end, timeline.moment_count()) if timeline is not None else ()
        key = (axis, self.census, *progress, self._looks)
        if self._census_cache is not None and self._census_cache[0] == key:
            return self._census_cache[1]
        self._census_rows = {}
        columns: list[CensusColumn | None] = [None] * axis.columns
        if self.census is not None and axis.columns:
            steps = axis.steps if isinstance(axis, StepAxis) else None
            found: list[CensusColumn | None] = list(self.census.columns(axis.edges, steps))
            columns = axis.spread(found, None)
        self._census_cache = (key, columns)
        return columns

    def _spans_cells(
        self, axis: Axis, cell: Cell, spans: Iterable[tuple[int, int | None]]
    ) -> list[Cell]:
        """``cell`` in every bucket of ``axis.edges`` a span [start, end) touches (None:
        still open)."""
        # Local names and a bisect per span: a worker can have thousands of jobs in the
        # window, and asking the widget its size per job cost more than the rest of the frame.
        edges = axis.edges
        columns = len(edges) - 1
        end = self.timeline.end if self.timeline is not None else 0
        cells = [BLANK] * columns
        for start, stop in spans:
            first = max(0, bisect_right(edges, start) - 1)
            last = min(columns - 1, bisect_right(edges, end if stop is None else stop) - 1)
            cells[first : last + 1] = [cell] * (last + 1 - first)
        return cells

    def _group_cells(self, axis: Axis, looks: Looks) -> tuple[list[Cell], int]:
        """Where the folded tasks exist, after the rest of the group's label."""
        t0, t1 = axis.edges[0], axis.edges[-1]
        spans = (
            (info.created, info.ended)
            for info in self._grouped
            if info.created < t1 and (info.ended is None or info.ended >= t0)
        )
        cells = axis.spread(self._spans_cells(axis, looks.group, spans), BLANK)
        blank = next((c for c, cell in enumerate(cells) if cell is not BLANK), len(cells))
        width = self.label_width
        self._group_text = self._group_label(width, blank)
        rest = self._group_text[width - 1 :]
        muted = looks.marks["muted"]
        cells[: len(rest)] = [(char, muted) for char in rest]
        return cells, len(rest)

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
        if isinstance(axis, StepAxis):
            return self._step_axis_row(axis, width)
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
            dropped = self.timeline is not None and bool(self.timeline.kept_from)
            forms = words.start_up(self.t0, dropped)
            start = next((form for form in forms if len(form) < label_width), forms[-1])
        elif self.timeline is not None and self.timeline.loop_start:  # shown: where it ends
            column = axis.column_of(self.timeline.loop_start)
            if column is not None and chars[column] == " ":
                chars[column] = self.looks.gap[0]
        left = Segment(start.rjust(label_width - 1)[-(label_width - 1) :] + " ", style)
        return Strip([left, Segment("".join(chars), style)]).adjust_cell_length(width)

    def _step_axis_row(self, axis: StepAxis, width: int) -> Strip:
        """Step numbers (with the time now and then), "step" in the labels' column, and the
        playhead's step number from its column on, the other labels kept off it."""
        columns = axis.columns
        cover = axis.column_of_step(self.step)
        number = f"{self.step + 1}".ljust(len(cover))
        # From the playhead's column on, or ending there at the right edge.
        start = min(cover.start, columns - len(number)) if cover else 0
        clear = range(max(0, start), start + len(number)) if cover else range(0)
        chars = [" "] * columns
        for column, label in axis.ticks(clear):
            chars[column : column + len(label)] = label
        chars[clear.start : clear.stop] = number[len(number) - len(clear) :]
        marks = self.looks.marks
        style = marks["axis"]
        text = "".join(chars)
        segments = [Segment(words.STEP_AXIS.rjust(self.label_width - 1) + " ", style)]
        if cover:  # the playhead's column marked, the rest of its number not dimmed
            edges = sorted({0, clear.start, cover.start, cover.stop, clear.stop, columns})
            for a, b in pairwise(edges):
                look = marks["playhead"] if a in cover else Style() if a in clear else style
                segments.append(Segment(text[a:b], look))
        else:
            segments.append(Segment(text, style))
        return Strip(segments).adjust_cell_length(width)

    # --- mouse ------------------------------------------------------------------------------
    def on_resize(self, event: events.Resize) -> None:
        self.border_subtitle = self.looks.legend(self.outer_size.width - 4)  # inside the corners
        if self.census_shown != self._census_was_shown:  # room for it came or went
            self._census_was_shown = self.census_shown
            self.data_changed()
        # Panes below that grow (a longer narration) leave fewer rows: keep the selection in.
        if self.selected_group:
            self.scroll_to_group(self.selected_group)
        else:
            self.scroll_to_task(self.selected)

    def on_click(self, event: events.Click) -> None:
        """A task's lane selects it, a coroutine's group's row selects and unfolds (or folds)
        it; asyncio's and libraries' lane and the start-up's mark unfold them.
        In step order a click on a column also goes to that step."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        row = self.row_at_y(offset.y)
        if self.by_steps and self.timeline is not None and offset.x >= self.label_width:
            index = self.step_axis.step_at(offset.x - self.label_width)
            if index is not None and (row is None or row.kind not in (GROUP, CORO, RESOURCES)):
                self.post_message(self.StepClicked(index))
        if offset.y == 0 and not self.by_steps:  # the start-up's words and column
            started = self.timeline.loop_start if self.timeline is not None else 0
            if started and offset.x < self.label_width + self.axis.first:
                self.toggle_startup()
            return
        if row is not None and row.kind == GROUP:
            self.toggle_group()
        elif row is not None and row.kind == RESOURCES:
            self.post_message(self.ResourcesClicked())
        elif row is not None and row.kind == RESOURCE:
            self.post_message(self.ResourceClicked(int(row.key)))
        elif row is not None and row.kind == PROCESS:
            self.post_message(self.ProcessClicked(int(row.key)))
        elif row is not None and row.kind == CORO:
            self.post_message(self.GroupClicked(str(row.key)))
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
        elif event.ctrl or self.max_scroll_y == 0 or offset.y < self.header_rows:
            if self.by_steps and self.timeline is not None:
                axis = self.step_axis
                at = axis.step_at(column)
                around = at if at is not None else axis.start + axis.shown
            else:
                around = self.time_at_column(column)
            self.zoom(1.25 if direction > 0 else 0.8, around)
            self.post_message(self.Moved())
        else:
            self.scroll_to(y=self.scroll_y + direction * 2, animate=False)

    def zoom(self, factor: float, around: int | None = None) -> None:
        """Scale the window by ``factor`` keeping ``around`` (a time, or an event in step
        order; the playhead by default) at the same column. Zooming out stops at the whole
        run, then in time goes on only as far as a wait cut short would have."""
        if self.by_steps and self.timeline is not None:
            axis = self.step_axis
            first, count = zoomed_steps(axis, factor, self.step if around is None else around)
            total = self.timeline.moment_count()
            if factor > 1 and count >= total:
                self.fit()
            else:
                self.set_steps(first, count)
            return
        around = self.playhead if around is None else around
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
        if self.by_steps and self.timeline is not None:
            shown = self.step_axis.shown
            self.set_steps(self.first_step + round(shown * fraction), self.step_count)
        else:
            self.set_window(self.t0 + int(self.span * fraction), self.span)

    def fit(self) -> None:
        """The whole run: from the first loop's start (or 0) to the end; in step order,
        every event."""
        if self.by_steps and self.timeline is not None:
            self.set_steps(0, self.timeline.moment_count())
        else:
            self.set_window(self.origin, self._span_to(self.timeline.end if self.timeline else 0))

    def follow_end(self) -> None:
        """A live run's newest events in view: in time the whole run, in step order every
        event while they fit, then the last screenful at a column each."""
        if self.by_steps and self.timeline is not None:
            total, columns = self.timeline.moment_count(), max(1, self.columns)
            self.set_steps(max(0, total - columns), min(total, columns))
        else:
            self.fit()

    def use_steps(self, on: bool) -> None:
        """Draw the run in step order (one column per event) or in time. The events in view
        stay in view (in step order at most one per column, so each step moves the
        playhead, which stays where it was on screen); switching back without moving the
        window gives back the one before."""
        if on == self.by_steps:
            return
        before = self._window()
        self.by_steps = on
        self._sync_rows()  # each axis folds asyncio's and libraries' lane its own way
        self._cache.clear()
        switched, self._switched = self._switched, None
        if switched is not None and switched[1] == before:
            window = switched[0]
        elif self.timeline is None:
            window = self._window()
        elif on:
            window = self._steps_for_time()
        else:
            window = self._time_for_steps()
        if on:
            self.set_steps(*window)
        else:
            self.set_window(*window)
        self._switched = (before, self._window())
        self.refresh()

    def _window(self) -> tuple[int, int]:
        """The window of the axis shown: (t0, span), or (first event, count)."""
        return (self.first_step, self.step_count) if self.by_steps else (self.t0, self.span)

    def _steps_for_time(self) -> tuple[int, int]:
        """The events of the time window, as many as fit a column each around the playhead."""
        assert self.timeline is not None
        t0 = 0 if self._gap_shown() else self.t0
        first, count = steps_between(self.timeline, t0, self.t0 + self.span)
        columns, step = max(1, self.columns), max(0, self.step)
        if count > columns or not first <= step < first + count:
            count = min(max(count, MIN_STEPS), columns)
            at = (self.playhead - self.t0) / self.span if self.span else 0.5
            first = step - round(max(0.0, min(1.0, at)) * count)
        return first, count

    def _time_for_steps(self) -> tuple[int, int]:
        """The time from the first event in view to the last, with a little room."""
        assert self.timeline is not None
        axis = self.step_axis
        total = self.timeline.moment_count()
        if not total:
            return self.t0, self.span
        last = max(axis.start, min(axis.start + axis.shown, total) - 1)
        t0, t1 = self.timeline.moment_time(axis.start), self.timeline.moment_time(last)
        return t0, (t1 - t0) + (t1 - t0) // 50 + 1

    def _span_to(self, end: int) -> int:
        """The span from the origin that shows ``end`` with a little room after it."""
        span = max(0, end - self.origin)
        return max(MIN_SPAN, span + span // 50)


def _span_columns(axis: Axis, start: int, end: int) -> range:
    """The screen columns of ``axis`` that the span [start, end) touches (none off screen)."""
    edges = axis.edges
    if len(edges) < 2 or end <= edges[0] or start >= edges[-1]:
        return range(0)
    first = max(0, bisect_right(edges, start) - 1)
    last = min(len(edges) - 2, bisect_right(edges, max(start, end - 1)) - 1)
    width = axis.width if isinstance(axis, StepAxis) else 1
    return range(first * width, min(axis.columns, (last + 1) * width))


def _task_row(info: TaskInfo) -> Row:
    return Row("task", info.id, words.label(info), info.library)
