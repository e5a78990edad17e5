"""The loopviz Textual app: app-wide concerns only (styles, commands, opening targets)."""

from __future__ import annotations

from textual.app import App

from loopviz.app.commands import ControlsProvider
from loopviz.app.screens.picker import PickerScreen
from loopviz.app.screens.run import RunScreen
from loopviz.app.target import Run, Target, resolve
from loopviz.exits import LoopvizError


class LoopvizApp(App[None]):
    CSS_PATH = "loopviz.tcss"
    COMMANDS = App.COMMANDS | {ControlsProvider}
    TITLE = "loopviz"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012 (Textual's)

    def __init__(self, target: Target) -> None:
        super().__init__()
        self.target = target

    def on_mount(self) -> None:
        self.open_target(self.target)

    def open_target(self, target: Target, title: str = "") -> None:
        if target.kind == "folder":
            self.push_screen(PickerScreen(target.path))
        else:
            live = target.kind == "program"
            self.push_screen(
                RunScreen(target.path, live=live, title=title, module=target.module, run=target.run)
            )

    def on_picker_screen_open(self, message: PickerScreen.Open) -> None:
        """Open what the user named inside the app; a bad path is a notification."""
        try:
            target = resolve(message.path, Run(args=message.args))
        except LoopvizError as exc:
            self.notify(str(exc), severity="error")
            return
        self.open_target(target, message.title)
