"""The command palette offers the current screen's controls, so every key has a command."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider


class ControlsProvider(Provider):
    """One command per binding of the screen the palette was opened from, including those
    the footer leaves out; a binding's tooltip is its full name where the footer's is short."""

    def _controls(self) -> Iterator[tuple[Binding, Callable[[], Awaitable[bool]]]]:
        seen: set[str] = set()
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if not binding.description or binding.action in seen or binding.system:
                continue
            seen.add(binding.action)
            yield binding, partial(self.app.run_action, binding.action, active.node)

    async def discover(self) -> Hits:
        for binding, run in self._controls():
            yield DiscoveryHit(_name(binding), run, help=_key_help(binding))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for binding, run in self._controls():
            score = matcher.match(_name(binding))
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(_name(binding)),
                    run,
                    help=_key_help(binding),
                )


def _name(binding: Binding) -> str:
    return binding.tooltip or binding.description


def _key_help(binding: Binding) -> str:
    return f"key: {binding.key_display or binding.key}"
