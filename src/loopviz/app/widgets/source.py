"""The source pane: the program's code, with the line where each task is."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from loopviz.app.palette import component_style
from loopviz.model.timeline import Timeline


@lru_cache(maxsize=16)
def _highlighted(path: str, search: tuple[Path, ...]) -> list[Text] | None:
    """A source file as highlighted lines (cached until a re-run, which reads them again).

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
    return list(Syntax(code, "python", theme="ansi_dark").highlight(code).split("\n"))


class SourcePane(VerticalScroll, can_focus=False):
    """The program's source: ▶ where the selected task is, • where the others are."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"source--mark", "source--number", "source--current"}

    def __init__(self, *, search: tuple[Path, ...] = (), id: str | None = None) -> None:
        super().__init__(id=id)
        self.search = search
        self._shown: tuple[str, int, frozenset[int]] | None = None
        self._body = Static(classes="code")

    def compose(self) -> ComposeResult:
        yield self._body

    def reread(self) -> None:
        """Read the source files again when next shown: the program is run again, maybe
        edited since."""
        _highlighted.cache_clear()
        self._shown = None

    def show(self, timeline: Timeline | None, t: int, task_id: int) -> None:
        if timeline is None or timeline.header is None:
            return
        here = timeline.position(task_id, t) if task_id else None
        path = here[0] if here else timeline.header.program
        others = frozenset(
            where[1]
            for other in timeline.alive_at(t)[:200]
            if other != task_id
            and (where := timeline.position(other, t)) is not None
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
        marked, plain = (component_style(self, f"source--{n}") for n in ("mark", "number"))
        for number, line in enumerate(lines, 1):
            mark = "▶" if number == current else "•" if number in others else " "
            text.append(f"{mark}{number:>{width}} ", style=marked if mark != " " else plain)
            row = line.copy()
            if number == current:
                row.stylize(component_style(self, "source--current"))
            text.append_text(row)
            text.append("\n")
        self._body.update(text)
        if current:
            self.scroll_to(y=max(0, current - self.size.height // 2), animate=False)
