"""The timeline's axes: how the run maps to screen columns, in time (``TimeAxis``) or in
step order (``StepAxis``), and their ticks. Both give ``edges`` in time, so the lanes are
drawn by the same functions (``model.columns``) whichever axis is shown."""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import TypeVar

from loopviz.model.columns import Ties, even_edges
from loopviz.model.steps import ties_after
from loopviz.model.timeline import Timeline
from loopviz.units import format_time

T = TypeVar("T")

_UNITS = ((1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "µs"), (1, "ns"))


def tick_step(span: int, columns: int, min_gap: int) -> int:
    """The smallest 1-2-5 step (ns) that keeps axis labels ``min_gap`` columns apart."""
    raw = max(1, math.ceil(span * min_gap / max(1, columns)))
    power: int = 10 ** int(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if power * mult >= raw:
            return power * mult
    return power * 10


def tick_label(t: int, step: int) -> str:
    """An axis label for ``t`` with just the precision ``step`` needs: ``0.5 s``, ``1.0002 s``."""
    index = next(i for i, (s, _) in enumerate(_UNITS) if step >= s // 10 or s == 1)
    while index > 0 and abs(t) >= 1000 * _UNITS[index][0]:
        index -= 1
    size, name = _UNITS[index]
    if t == 0:
        return f"0 {name}"
    digits = max(0, math.ceil(-math.log10(step / size)))
    return f"{t / size:.{digits}f} {name}"


@dataclass(frozen=True, slots=True)
class TimeAxis:
    """How times map to the lanes' columns: the window [t0, t0 + span) in equal columns,
    after one column for the program's start-up [0, t0) when ``gap`` (the window then starts
    where the first loop did). The one place that maps a time to a column and back, so
    another axis can take its place by giving other ``edges``."""

    t0: int
    span: int
    columns: int
    gap: bool = False
    edges: list[int] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        columns = max(0, self.columns)
        if self.gap and columns > 1:
            edges = [0, *even_edges(self.t0, self.t0 + self.span, columns - 1)]
        else:
            edges = even_edges(self.t0, self.t0 + self.span, columns) if columns else [self.t0]
        object.__setattr__(self, "edges", edges)

    @property
    def first(self) -> int:
        """The first column of the window proper (1 after the start-up gap's)."""
        return 1 if self.gap and self.columns > 1 else 0

    def column_of(self, t: int) -> int | None:
        """The column showing ``t``, None off screen."""
        edges = self.edges
        if not edges[0] <= t < edges[-1]:
            return None
        return bisect_right(edges, t) - 1

    def clamped(self, t: int) -> int:
        """The column showing ``t``, or the nearest edge column."""
        return max(0, min(self.columns - 1, bisect_right(self.edges, t) - 1))

    def time_at(self, column: int) -> int:
        """The time where ``column`` begins."""
        edges = self.edges
        return edges[max(0, min(column, len(edges) - 1))]

    def bucket_of(self, t: int) -> int | None:
        """The entry of ``edges`` showing ``t`` (each is one column here)."""
        return self.column_of(t)

    def spread(self, cells: list[T], fill: T) -> list[T]:
        """Per-edge values as screen columns: one each."""
        return cells

    def playhead(self, t: int, step: int) -> range:
        """The columns the playhead at time ``t`` covers (none off screen)."""
        column = self.column_of(t)
        return range(0) if column is None else range(column, column + 1)


@dataclass(frozen=True, slots=True)
class StepAxis:
    """The run in step order: events ``[start, start + count)`` side by side, each as wide
    as any other however long it took, so every step moves the playhead. Fewer events than
    columns get ``width`` columns each (and the window runs on to fill the screen); more
    share a column. Each bucket of events is one entry of ``edges``, the time of its first
    event; events sharing a clock reading make buckets of no width, which the lanes draw as
    the state after their last event (``ties``)."""

    start: int
    count: int
    columns: int
    timeline: Timeline = field(compare=False, repr=False)
    width: int = field(init=False, compare=False)
    steps: list[int] = field(init=False, compare=False, repr=False)  # each bucket's first
    edges: list[int] = field(init=False, compare=False, repr=False)
    ties: Ties = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        timeline, columns, start = self.timeline, max(0, self.columns), self.start
        total = timeline.moment_count()
        width, shown = step_width(self.count, columns)
        if width > 1 or shown == columns:
            wanted = list(range(start, start + shown + 1))
        else:
            wanted = [start + c * shown // columns for c in range(columns + 1)] if columns else []
        # Only the buckets of events the run has; the screen past its last event is blank.
        steps = [s for s in wanted[:-1] if s < total]
        steps.append(min(wanted[len(steps)], total) if wanted else start)
        times = [timeline.moment_time(s) for s in steps if s < total]
        edges = times + [timeline.end] * (len(steps) - len(times))
        ties = {
            b: tied
            for b in range(len(steps) - 1)
            if edges[b] == edges[b + 1] and (tied := ties_after(timeline, steps[b + 1] - 1))
        }
        for name, value in (("width", width), ("steps", steps), ("edges", edges), ("ties", ties)):
            object.__setattr__(self, name, value)

    @property
    def first(self) -> int:
        """No start-up column: events in order from the first."""
        return 0

    @property
    def shown(self) -> int:
        """How many events the window spans on screen (``count``, or more to fill it)."""
        return step_width(self.count, max(0, self.columns))[1]

    def bucket_of(self, t: int) -> int | None:
        """The bucket showing time ``t``: the last whose first event is at or before it
        (None outside the window; the run's end is in its last bucket)."""
        edges = self.edges
        last = self.steps[-1] >= self.timeline.moment_count()
        if len(edges) < 2 or not edges[0] <= t < edges[-1] + last:
            return None
        return min(bisect_right(edges, t) - 1, len(edges) - 2)

    def column_of(self, t: int) -> int | None:
        """The first screen column of the bucket showing ``t``."""
        bucket = self.bucket_of(t)
        return None if bucket is None else bucket * self.width

    def column_of_step(self, index: int) -> range:
        """The screen columns event ``index`` is drawn in (none off screen)."""
        steps = self.steps
        if len(steps) < 2 or not steps[0] <= index < steps[-1]:
            return range(0)
        first = (bisect_right(steps, index) - 1) * self.width
        return range(first, min(self.columns, first + self.width))

    def playhead(self, t: int, step: int) -> range:
        """The columns the playhead on event ``step`` covers."""
        return self.column_of_step(step)

    def step_at(self, column: int) -> int | None:
        """The event drawn at screen ``column`` (the first of its bucket); None past the last."""
        bucket = column // self.width if column >= 0 else -1
        return self.steps[bucket] if 0 <= bucket < len(self.steps) - 1 else None

    def spread(self, cells: list[T], fill: T) -> list[T]:
        """Per-bucket values as screen columns: ``width`` each, ``fill`` past the last event."""
        width, columns = self.width, self.columns
        spread = cells if width == 1 else [cell for cell in cells for _ in range(width)]
        if len(spread) >= columns:
            return spread[:columns]
        return spread + [fill] * (columns - len(spread))

    def ticks(self, clear: range = range(0)) -> list[tuple[int, str]]:
        """(column, label) of the axis: step numbers as people count them (from 1), and the
        time of the step now and then, labels kept apart and off the ``clear`` columns."""
        shown = self.shown
        number = len(f"{self.start + shown}") + 1  # "╵120"
        step = tick_step(shown, self.columns, number + 3)
        labels: list[tuple[int, str]] = []
        free = 0  # the first column not taken by a label
        timed = -TIMED_EVERY  # where the last label with a time began
        for n in range(-(-(self.start + 1) // step) * step, self.start + shown + 1, step):
            columns = self.column_of_step(n - 1)
            if not columns or columns.start < free:
                continue
            column = columns.start
            label = f"╵{n}"
            timed_label = f"{label} · {format_time(self.timeline.moment_time(n - 1))}"
            if column - timed >= TIMED_EVERY and column + len(timed_label) <= self.columns:
                label, timed = timed_label, column
            if column + len(label) > self.columns:
                break
            if clear and column <= clear.stop and clear.start <= column + len(label) + 1:
                continue
            labels.append((column, label))
            free = column + len(label) + 1
        return labels


TIMED_EVERY = 30  # columns between step labels that also say the time


def step_width(count: int, columns: int) -> tuple[int, int]:
    """(columns per event, events on screen) of a step window asked to span ``count``
    events: a whole number of columns each while they are fewer than the columns (the window
    then runs on to fill the screen), else one column holds several."""
    count = max(1, count)
    if count >= columns:
        return 1, count
    width = columns // count
    return width, -(-columns // width)


def zoomed_steps(axis: StepAxis, factor: float, around: int) -> tuple[int, int]:
    """(first, count) of the step window ``factor`` times as wide as ``axis``'s, event
    ``around`` kept where it is on screen. While events are wider than a column each zoom
    changes their width by at least a column, so every press shows a change."""
    columns, width, shown = axis.columns, axis.width, axis.shown
    target = shown * factor
    count = round(target)
    if width > 1 or target < columns:
        wanted = round(width / factor) if width > 1 else round(columns / max(target, 1))
        wanted = max(width + 1, wanted) if factor < 1 else min(width - 1, wanted)
        if wanted >= 1:
            count = columns // wanted
    count = max(1, count)
    _, now_shown = step_width(count, columns)
    fraction = (around - axis.start) / shown if shown else 0
    return around - round(fraction * now_shown), count


def steps_between(timeline: Timeline, t0: int, t1: int) -> tuple[int, int]:
    """(first, count) of the events in [t0, t1)."""
    first = timeline.moment_index(t0 - 1) + 1
    return first, timeline.moment_index(t1 - 1) + 1 - first
