"""The one table of how states look: the lanes draw from it and the legend is built from it,
so the two cannot drift apart.

Colours are explicit RGB rather than ANSI names, which Textual maps through the theme (ANSI
red and magenta both came out as the same red). Hues are kept apart on purpose: blocking is
the only red, ready (yellow, a denser shade) looks like no waiting kind, and each waiting kind
has a hue of its own.
"""

from __future__ import annotations

from functools import lru_cache

from rich.style import Style
from rich.text import Text

from loopviz.trace import Wait

Cell = tuple[str, Style]

RUNNING_COLOUR = "#4fd04f"
RUNNING: Cell = ("█", Style(color=RUNNING_COLOUR))
READY: Cell = ("▓", Style(color="#f2e250"))
BLOCKING: Cell = ("█", Style(color="#ff2d2d", bold=True))
BUSY: Cell = ("█", Style(color="#e4e4e4"))
IDLE: Cell = ("░", Style(color="#6c6c6c"))
BLANK: Cell = (" ", Style())

# Waiting kinds that look alike to a reader share a colour; the legend names each group once.
WAIT_GROUPS: tuple[tuple[str, str, tuple[Wait, ...]], ...] = (
    ("sleep", "#5f87ff", (Wait.SLEEP, Wait.TIMEOUT)),
    ("io", "#00c8d7", (Wait.IO,)),
    ("lock", "#d75fd7", (Wait.LOCK, Wait.SEMAPHORE, Wait.CONDITION, Wait.EVENT)),
    ("queue", "#a987ff", (Wait.QUEUE_GET, Wait.QUEUE_PUT)),
    ("task", "#c0c0c0", (Wait.TASK, Wait.GATHER)),
    ("executor", "#ff8f1f", (Wait.EXECUTOR,)),
    ("future", "#8a8aa8", (Wait.FUTURE,)),
)
WAITING: dict[int, Cell] = {
    kind: ("▒", Style(color=colour)) for _, colour, kinds in WAIT_GROUPS for kind in kinds
}

# How a task ended, marked where its lane stops; a normal return needs no mark.
RAISED: Cell = ("✗", Style(color="#ff5f5f", bold=True))
CANCELLED: Cell = ("⊘", Style(color="#8a8a8a"))

PLAYHEAD = Style(bgcolor="#b2b2b2", color="black")
FUTURE = Style(dim=True)  # what lies after the playhead


@lru_cache(maxsize=64)  # one Style per look, so equal cells merge into one segment
def ran_tick(under: Cell) -> Cell:
    """A column where a step ran but another state took most of it: a thin running-coloured
    tick on the dominant state's colour, so a task that mostly waits does not look busy."""
    char, style = under
    return ("▏", Style(color=RUNNING_COLOUR, bgcolor=style.color if char != " " else None))


LEGEND_ENTRIES: tuple[tuple[Cell, str], ...] = (
    (RUNNING, "running"),
    (READY, "ready"),
    (BLOCKING, "blocking"),
    *((WAITING[kinds[0]], name) for name, _, kinds in WAIT_GROUPS),
    (ran_tick(WAITING[Wait.SLEEP]), "short step"),
    (RAISED, "raised"),
    (CANCELLED, "cancelled"),
    (BUSY, "loop busy"),
    (IDLE, "idle"),
)


# Shorter names, for a legend that would not fit with the full ones.
_SHORT_NAMES = {
    "running": "run",
    "blocking": "block",
    "executor": "exec",
    "short step": "step",
    "cancelled": "cancel",
    "loop busy": "busy",
}


def legend(width: int | None = None) -> Text:
    """Swatch and name of every look a lane can have (the swatches are the lanes' own cells);
    the waiting kinds follow "waiting:". Where that exceeds ``width``: shorter names, then
    without the loop lane's two looks (the one lane labelled "loop")."""
    full = _legend({}, "waiting: ")
    if width is None or len(full) <= width:
        return full
    short = _legend(_SHORT_NAMES, "wait: ")
    return short if len(short) <= width else _legend(_SHORT_NAMES, "wait: ", loop=False)


def _legend(names: dict[str, str], waiting: str, loop: bool = True) -> Text:
    text = Text()
    for (char, style), name in LEGEND_ENTRIES if loop else LEGEND_ENTRIES[:-2]:
        if name == "sleep":
            text.append(waiting)
        text.append(char, style)
        text.append(f"{names.get(name, name)} ")
    text.rstrip()
    return text
