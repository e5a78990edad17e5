"""Finding tasks by what a user remembers of them: a name, a coroutine, a file, a state.

A query is words, all of which a task must match: a plain word matches a task's name, its
label, its coroutine or the file of its coroutine or of the line that created it (any part,
ignoring case); ``name:``, ``coro:``, ``file:`` narrow a word to one of those, and
``state:`` picks the tasks in a state (``words.SEARCH_STATES``) at a moment, the playhead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from loopviz.model import words
from loopviz.model.facts import TaskInfo
from loopviz.model.timeline import Timeline

FIELDS = ("name", "coro", "file", "state")


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: (field, word) pairs, field "" for a plain word; ``unknown`` lists the
    states asked for that are none (the query then matches no task)."""

    text: str
    terms: tuple[tuple[str, str], ...]
    unknown: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.terms)


def parse(text: str) -> Query:
    terms = []
    unknown = []
    for word in text.split():
        field, colon, value = word.partition(":")
        field = field.lower()
        if not colon or field not in FIELDS or not value:
            field, value = "", word
        value = value.lower()
        if field == "state" and value not in words.SEARCH_STATES:
            unknown.append(value)
        terms.append((field, value))
    return Query(text.strip(), tuple(terms), tuple(unknown))


def matches(timeline: Timeline, query: Query, t: int) -> list[int]:
    """The tasks that match every word of ``query`` (states at ``t``), in creation order."""
    if not query or query.unknown:
        return []
    found = []
    for info in timeline.tasks:
        if all(_matches(timeline, info, field, value, t) for field, value in query.terms):
            found.append(info.id)
    return found


def _matches(timeline: Timeline, info: TaskInfo, field: str, value: str, t: int) -> bool:
    if field == "state":
        interval = timeline.state_at(info.id, t)
        return interval is not None and words.SEARCH_STATES[value] == interval.state
    texts: list[str] = []
    if field in ("", "name"):
        texts += [info.name, words.label(info)]
    if field in ("", "coro"):
        texts.append(info.coro)
    if field in ("", "file"):
        texts += [PurePath(info.coro_file).name, PurePath(info.created_file).name]
    return any(value in text.lower() for text in texts)
