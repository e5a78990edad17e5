"""The source pane: the program's code, with the line where each task is."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from loopviz.app.palette import component_style
from loopviz.model import words
from loopviz.model.timeline import Timeline
from loopviz.trace import FIRST_WITH_SOURCES, MAX_SOURCE


@lru_cache(maxsize=16)
def _highlighted(
    path: str, vouched: tuple[int, str] | None, search: tuple[Path, ...]
) -> list[Text] | str:
    """A source file as highlighted lines (cached until a re-run, which reads them again), or
    why it is not shown (``words.source_withheld``).

    Only the file the trace vouches for (``vouched``: its size and SHA-256, from its
    ``Source`` record) is shown, never
    any file a trace names. A trace recorded elsewhere names files that are not here: then a
    file of the same name in one of the ``search`` folders (beside the trace, the bundled
    scenarios) stands in, if it is that file. (A trace older than format 5 vouches for none:
    ``vouched`` is None, and only a Python file of up to ``MAX_SOURCE`` bytes is shown.)
    """
    if vouched is not None and not vouched[1]:
        return words.source_withheld(path, "too big")
    candidates = [Path(path), *(folder / Path(path).name for folder in search)]
    why = "missing"
    for candidate in candidates:
        try:
            if not candidate.is_file():
                continue
            with candidate.open("rb") as file:
                data = file.read(MAX_SOURCE + 1)
        except OSError:
            continue
        if vouched is None:
            if candidate.suffix != ".py" or len(data) > MAX_SOURCE:
                why = "old trace"
                continue
        elif (len(data), hashlib.sha256(data).hexdigest()) != vouched:
            why = "changed"
            continue
        code = data.decode("utf-8", errors="replace")
        return list(Syntax(code, "python", theme="ansi_dark").highlight(code).split("\n"))
    return words.source_withheld(path, why)


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
        vouched = timeline.sources.get(path)
        lines: list[Text] | str
        if vouched is None and timeline.header.version >= FIRST_WITH_SOURCES:
            lines = words.source_withheld(path, "unlisted")
        else:
            said = (vouched.size, vouched.sha256) if vouched is not None else None
            lines = _highlighted(path, said, self.search)
        if isinstance(lines, str):
            self._body.update(lines)
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
