"""The search bar under the timeline: a query typed at ``/`` filters the lanes as it is typed.

It only reads keys and says what it is told: it posts what the user typed (``Changed``) and
whether they kept or cleared the filter (``Closed``); the screen finds the tasks and tells
it what matched (``show_result``).
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label, Static

from loopviz.model import words


class SearchBar(Horizontal):
    """A one-line query, hidden until opened."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "clear", "Clear", show=False)]

    class Changed(Message):
        def __init__(self, query: str) -> None:
            super().__init__()
            self.query = query

    class Closed(Message):
        """The user is done: ``keep`` the filter (enter) or clear it (escape)."""

        def __init__(self, keep: bool) -> None:
            super().__init__()
            self.keep = keep

    def compose(self) -> ComposeResult:
        yield Label(f"/ {words.SEARCH_PROMPT} ", id="search-prompt")
        yield Input(placeholder=words.SEARCH_PLACEHOLDER, id="search-query")
        yield Static(words.SEARCH_KEYS, id="search-result")

    def open(self) -> None:
        """Show the bar with the query so far, ready to be edited."""
        self.add_class("-open")
        self.query_one(Input).focus()

    def close(self, clear: bool) -> None:
        self.remove_class("-open")
        if clear:
            with self.prevent(Input.Changed):
                self.query_one(Input).value = ""
            self.show_result(words.SEARCH_KEYS)

    def show_result(self, said: str) -> None:
        self.query_one("#search-result", Static).update(said)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Closed(keep=bool(event.value.strip())))

    def action_clear(self) -> None:
        self.post_message(self.Closed(keep=False))
