"""The picker: the scenarios of a folder, the highlighted one's description and source."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from loopviz.app.screens.path_prompt import PathPrompt
from loopviz.catalog import Scenario, bundled_folder, discover
from loopviz.model import words


class PickerScreen(Screen[None]):
    class Open(Message):
        """The user chose a file or folder to open (the app opens it: messages go up)."""

        def __init__(self, path: Path, title: str = "", args: tuple[str, ...] = ()) -> None:
            super().__init__()
            self.path = path
            self.title = title
            self.args = args  # the program's arguments

    BINDINGS: ClassVar[list[BindingType]] = [
        # priority: shown in the footer over the list's own (hidden) enter binding
        Binding("enter", "run", "Run", key_display="enter", priority=True),
        Binding("a", "arguments", "Run with arguments"),
        Binding("o", "open", "Open file"),
        Binding("q", "app.quit", "Quit"),
    ]

    def _place(self) -> str:
        """Where the scenarios come from, in words that do not depend on the machine."""
        folder = self.folder.resolve()
        if folder == bundled_folder().resolve():
            return "bundled scenarios"
        return f"{folder.name}/"

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.scenarios: list[Scenario] = []
        self._args: dict[Path, str] = {}  # the arguments last given to each program, as typed

    def compose(self) -> ComposeResult:
        yield Static(f" loopviz · {self._place()}", id="title")
        with Horizontal():
            yield OptionList(id="scenarios")
            with Vertical(id="about"):
                yield Static(id="description")
                with VerticalScroll(id="code"):
                    yield Static(id="listing")
        yield Footer()

    def on_mount(self) -> None:
        try:
            self.scenarios = discover(self.folder)
        except OSError as exc:
            self.notify(f"cannot list {self.folder}: {exc.strerror or exc}", severity="error")
        options = self.query_one(OptionList)
        options.border_title = "scenarios"
        self.query_one("#code").border_title = "source"
        options.add_options(
            Option(s.name if s.title == s.name else f"{s.name}\n[dim]{s.title}[/]")
            for s in self.scenarios
        )
        if not self.scenarios:
            options.add_option(Option("[dim]no scenarios in this folder[/]", disabled=True))
            self.query_one("#description", Static).update(
                "No scenarios here. Press o to open a program or a trace."
            )
        else:
            options.highlighted = 0
        options.focus()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if not self.scenarios:
            return
        scenario = self.scenarios[event.option_index]
        paragraphs = (" ".join(p.split()) for p in scenario.description.split("\n\n"))
        description = Text()
        description.append(scenario.title + "\n", style="bold")
        description.append("\n\n".join(paragraphs), style="")
        self.query_one("#description", Static).update(description)
        source: Syntax | str
        try:
            source = Syntax(scenario.source, "python", line_numbers=True, theme="ansi_dark")
        except OSError as exc:
            source = f"cannot read {scenario.path}: {exc.strerror or exc}"
        self.query_one("#listing", Static).update(source)
        self.query_one("#code").border_title = scenario.path.name

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if self.scenarios:
            self._run(self.scenarios[event.option_index])

    def action_run(self) -> None:
        index = self.query_one(OptionList).highlighted
        if index is not None and self.scenarios:
            self._run(self.scenarios[index])

    def _run(self, scenario: Scenario, args: tuple[str, ...] = ()) -> None:
        title = (
            scenario.name
            if scenario.title == scenario.name
            else f"{scenario.name} · {scenario.title}"
        )
        self.post_message(self.Open(scenario.path, title, args))

    def action_arguments(self) -> None:
        """Ask for the highlighted program's arguments (as a shell would split them), then
        run it with them."""
        index = self.query_one(OptionList).highlighted
        if index is None or not self.scenarios:
            return
        scenario = self.scenarios[index]

        def run(typed: str | None) -> None:
            if typed is None:
                return
            try:
                args = tuple(shlex.split(typed))
            except ValueError as exc:  # an unclosed quote
                self.notify(words.bad_arguments(str(exc)), severity="error")
                return
            self._args[scenario.path] = typed
            self._run(scenario, args)

        prompt = PathPrompt(
            f"Arguments for {scenario.path.name}",
            self._args.get(scenario.path, ""),
            placeholder="arguments, as in a shell: --port 8080 'two words'",
            empty_ok=True,
        )
        self.app.push_screen(prompt, run)

    def action_open(self) -> None:
        self.app.push_screen(PathPrompt("Open a program, a trace or a folder"), self._open)

    def _open(self, path: str | None) -> None:
        if path:
            self.post_message(self.Open(Path(path)))
