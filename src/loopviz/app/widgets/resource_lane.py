"""A resource's lane in the timeline: its level as bars, the words on them.

Each column is a bar as high as the resource's level there relative to its capacity (or its
highest level, for a queue without a limit): the permits in use, the items queued, the
parties arrived, a lock held. Columns where tasks wait on it take another look. Where it
stays the same over several columns, the bar says who holds it and how many wait
(``words.resource_bar``), as far as the columns leave room.
"""

from __future__ import annotations

from loopviz.app.palette import BLANK, Cell, Looks, bar
from loopviz.model import words
from loopviz.model.facts import ResourceColumn, ResourceInfo
from loopviz.model.timeline import Timeline


def resource_cells(
    timeline: Timeline, info: ResourceInfo, columns: list[ResourceColumn | None], looks: Looks
) -> list[Cell]:
    """The lane's cells, one per screen column (``columns`` as the screen shows them)."""
    peak = timeline.resources.peak(info.id)
    marks = looks.marks
    calm, waiting, text = marks["resource"], marks["resource-waiting"], marks["resource-text"]
    cells = [
        BLANK if col is None else (bar(col.level, peak), waiting if col.waiters else calm)
        for col in columns
    ]
    start = 0
    for end in range(1, len(columns) + 1):  # runs of columns that look the same
        if end < len(columns) and columns[end] == columns[start]:
            continue
        column = columns[start]
        if column is not None:
            room = end - start - 1  # a column left between one run's words and the next's
            said = words.resource_bar(timeline, info, column, room)
            look = cells[start][1]  # on a full bar, reversed out of it; else in its colour
            look = look + text if cells[start][0] == bar(1, 1) else look
            cells[start : start + len(said)] = [(char, look) for char in said]
        start = end
    return cells
