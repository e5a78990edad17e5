"""The one table of how states look: the lanes draw from it and the legend is built from it,
so the two cannot drift apart.

Here are each look's character and name; its colour is the stylesheet's (``loopviz.tcss``,
component class ``timeline--NAME`` of the timeline view), read back as a Rich style by
``Looks``. The inspector colours a task's state with the same names and colours.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from loopviz.model import words
from loopviz.model.columns import Column
from loopviz.model.facts import State
from loopviz.trace import Outcome, Wait

Cell = tuple[str, Style]
BLANK: Cell = (" ", Style())

# Waiting kinds that look alike to a reader share a look; the legend names each group once.
# ``wait_for`` waits on what it wraps (a task, on 3.11), as a task awaited under
# ``asyncio.timeout`` is: both look like waiting on a task, in every scenario.
WAIT_GROUPS: tuple[tuple[str, tuple[Wait, ...]], ...] = (
    ("sleep", (Wait.SLEEP,)),
    ("io", (Wait.IO, Wait.HTTP)),
    ("lock", (Wait.LOCK, Wait.SEMAPHORE, Wait.CONDITION, Wait.EVENT, Wait.BARRIER)),
    ("queue", (Wait.QUEUE_GET, Wait.QUEUE_PUT, Wait.QUEUE_JOIN)),
    ("task", (Wait.TASK, Wait.GATHER, Wait.TASK_GROUP, Wait.TIMEOUT)),
    ("executor", (Wait.EXECUTOR,)),
    ("future", (Wait.FUTURE,)),
)
_WAIT_LOOK: dict[int, str] = {kind: f"wait-{name}" for name, kinds in WAIT_GROUPS for kind in kinds}

# The character of each look a lane cell can have.
CHARS = {
    "running": "█",
    "ready": "▓",
    "blocking": "█",
    "busy": "█",
    "idle": "░",
    "raised": "✗",  # how a task ended, marked where its lane stops; a normal return has none
    "cancelled": "⊘",
    **{f"wait-{name}": "▒" for name, _ in WAIT_GROUPS},
    "gap": "┊",  # the program's start-up, folded into one column
    "group": "─",  # the folded lane of asyncio's and libraries' tasks: where they exist
}
# The colour-blind-safe look: what hue alone told apart differs by a letter too.
LETTERS = {
    "blocking": "!",
    **{f"wait-{name}": name[0] for name, _ in WAIT_GROUPS},
}
GHOST = "╌"  # a wait cut short, drawn on in its own look, faintly, to where it would have ended
# Styles without a cell of their own: the playhead's column, what lies after it (dimmed), the
# selected task's label, the labels of the loop, workers and asyncio's tasks, the time axis,
# what makes a ghost of a wait's look, the bars of each row of the census, a resource's bars
# (where tasks wait on it, too) and the words on them, and the step of the task that woke the
# selected one.
MARKS = (
    "playhead",
    "future",
    "selected",
    "muted",
    "axis",
    "ghost",
    *(f"census-{row}" for row in words.CENSUS_ROWS),
    "resource",
    "resource-waiting",
    "resource-text",
    "waker",
)
# A value in a census row or a folded group's lane, as a bar an eighth of a cell high or more.
BARS = " ▁▂▃▄▅▆▇█"


def bar(value: float, peak: float) -> str:
    """The bar of ``value`` on a scale up to ``peak``: blank for none, ▁ for the least."""
    if value <= 0 or peak <= 0:
        return " "
    return BARS[max(1, min(8, round(value / peak * 8)))]


STATE_LOOKS = ("running", "ready", *(f"wait-{name}" for name, _ in WAIT_GROUPS))


def component_style(widget: Widget, name: str) -> Style:
    """A component class of ``widget`` as a Rich style of its own: only what the stylesheet
    sets for it (colours, text style), so it can be laid over any other."""
    return widget.get_component_rich_style(name, partial=True)


def wait_look(kind: int) -> str:
    """The look of a task waiting on ``kind`` ("wait-sleep", ...)."""
    return _WAIT_LOOK.get(kind, "wait-future")


def state_look(state: State, kind: int) -> str:
    """The look of a task's state (running, ready or waiting on ``kind``)."""
    if state is State.RUNNING:
        return "running"
    if state is State.READY:
        return "ready"
    return wait_look(kind)


class Looks:
    """The cells and marks of the lanes, styled by ``style(name)`` (a widget's component
    classes); built once per change of the stylesheet, so equal cells share one Style and
    merge into one segment."""

    def __init__(self, style: Callable[[str], Style], *, letters: bool = False) -> None:
        chars = CHARS | LETTERS if letters else CHARS
        self.cells: dict[str, Cell] = {name: (char, style(name)) for name, char in chars.items()}
        self.marks: dict[str, Style] = {name: style(name) for name in MARKS}
        cells = self.cells
        self.running, self.ready, self.blocking = (
            cells["running"],
            cells["ready"],
            cells["blocking"],
        )
        self.busy, self.idle = cells["busy"], cells["idle"]
        self.gap, self.group = cells["gap"], cells["group"]
        self._end: dict[int, Cell] = {
            Outcome.ERROR: cells["raised"],
            Outcome.CANCELLED: cells["cancelled"],
        }
        self._waiting: dict[int, Cell] = {kind: cells[look] for kind, look in _WAIT_LOOK.items()}
        self._waiting_else = cells["wait-future"]
        ghost = self.marks["ghost"]
        self._ghosts: dict[int, Cell] = {
            kind: (GHOST, cell[1] + ghost) for kind, cell in self._waiting.items()
        }
        self._ghost_else = (GHOST, self._waiting_else[1] + ghost)
        self._ticks: dict[Cell, Cell] = {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Looks) and (self.cells, self.marks) == (other.cells, other.marks)

    __hash__ = None  # type: ignore[assignment]

    def end_mark(self, outcome: int | None) -> Cell | None:
        """The mark where a task's lane stops: raised, cancelled, none for a return."""
        return self._end.get(outcome) if outcome is not None else None

    def ran_tick(self, under: Cell) -> Cell:
        """A column where a step ran but another state took most of it: a thin running-coloured
        tick on the dominant state's colour, so a task that mostly waits does not look busy."""
        tick = self._ticks.get(under)
        if tick is None:
            char, style = under
            bgcolor = style.color if char != " " else None
            tick = self._ticks[under] = ("▏", Style(color=self.running[1].color, bgcolor=bgcolor))
        return tick

    def ghost(self, kind: int) -> Cell:
        """A wait of ``kind`` cut short, drawn on faintly."""
        return self._ghosts.get(kind, self._ghost_else)

    def task_cell(self, column: Column) -> Cell:
        state = column.state
        if state is None or state is State.DONE:
            if column.ghost:
                return self.ghost(column.kind)
            cell = BLANK
        elif state is State.RUNNING:
            return self.blocking if column.blocking else self.running
        elif state is State.READY:
            cell = self.ready
        else:
            cell = self._waiting.get(column.kind, self._waiting_else)
        if column.ran and state is not None:  # the frame's inner loop: the cached tick first
            return self._ticks.get(cell) or self.ran_tick(cell)
        return cell

    def legend(self, width: int | None = None) -> Text:
        """Swatch and name of every look a lane can have (the swatches are the lanes' own
        cells); the waiting kinds follow "waiting:". Where that exceeds ``width``: shorter
        names, then without the loop lane's two looks (the one lane labelled "loop")."""
        full = self._legend({}, "waiting: ")
        if width is None or len(full) <= width:
            return full
        short = self._legend(_SHORT_NAMES, "wait: ")
        return short if len(short) <= width else self._legend(_SHORT_NAMES, "wait: ", loop=False)

    def _legend(self, names: dict[str, str], waiting: str, loop: bool = True) -> Text:
        cells = self.cells
        entries: list[tuple[Cell, str]] = [
            (self.running, "running"),
            (self.ready, "ready"),
            (self.blocking, "blocking"),
            *((cells[f"wait-{name}"], name) for name, _ in WAIT_GROUPS),
            (self.ran_tick(cells["wait-sleep"]), "short step"),
            (cells["raised"], "raised"),
            (cells["cancelled"], "cancelled"),
            (self.ghost(Wait.SLEEP), "cut short"),
        ]
        if loop:
            entries += [(self.busy, "loop busy"), (self.idle, "idle")]
        text = Text()
        for (char, style), name in entries:
            if name == "sleep":
                text.append(waiting)
            text.append(char, style)
            apart = " " if char.isalpha() else ""  # a letter and its name: "s sleep"
            text.append(f"{apart}{names.get(name, name)} ")
        text.rstrip()
        return text


# Shorter names, for a legend that would not fit with the full ones.
_SHORT_NAMES = {
    "running": "run",
    "blocking": "block",
    "executor": "exec",
    "short step": "step",
    "cancelled": "cancel",
    "loop busy": "busy",
    "cut short": "cut",
}
