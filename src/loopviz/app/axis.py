"""The time axis: how times map to screen columns, and ticks (a step that keeps labels
apart, and labels as precise as the step)."""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field

from loopviz.model.columns import even_edges

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
