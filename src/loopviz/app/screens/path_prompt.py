"""A one-line prompt: for a file name (open a file, save the trace), or a program's arguments."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class PathPrompt(ModalScreen[str | None]):
    """Asks for a path (or what ``placeholder`` says); dismisses with the text, or None on
    escape (or, unless ``empty_ok``, when left empty)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, prompt: str, value: str = "", placeholder: str = "path", empty_ok: bool = False
    ) -> None:
        super().__init__()
        self.prompt = prompt
        self.value = value
        self.placeholder = placeholder
        self.empty_ok = empty_ok

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Label(self.prompt)
            yield Input(self.value, placeholder=self.placeholder)
            yield Label("enter to confirm · escape to cancel", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        self.dismiss(text if text or self.empty_ok else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
