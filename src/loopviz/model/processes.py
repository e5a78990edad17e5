"""The processes of a run: the program's own and the Python children loopviz followed.

A trace of several processes comes in sections: each ``Process`` record says whose the
records after it are. Each process numbers its own tasks, strings, sites, resources, jobs and
loops from 1, so a child's records are moved to an id space of their own before they are
folded in (:func:`localize`): an id ``n`` of process ``p`` becomes ``p * PROCESS_IDS + n``,
and the program's own keep theirs. Old traces, and runs with no children, have no sections.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from loopviz.trace import (
    Blocking,
    Callback,
    End,
    Exit,
    Finished,
    Gap,
    Idle,
    Job,
    LoopMark,
    Lost,
    Output,
    Problem,
    Process,
    ProgramError,
    Ran,
    Ready,
    Record,
    Renamed,
    Resource,
    Site,
    Source,
    Str,
    TaskCreated,
    Untraced,
    Use,
    Wait,
    Waited,
)

# Ids of process p start at p * PROCESS_IDS + 1. A power of two small enough that the ids of
# 127 children fit the model's 32-bit arrays (sites), large enough for a long run's names.
PROCESS_IDS = 1 << 24

# The fields of each record that hold an id (0: none), all moved alike whatever they name.
# Every record type is listed (a test checks it): a new one with ids must say which.
ID_FIELDS: dict[type, tuple[str, ...]] = {
    Str: ("id",),
    Site: ("id", "file", "code"),
    TaskCreated: ("task", "coro", "coro_site", "parent", "site"),  # and ``name``, below
    Ready: ("task", "ref"),
    Ran: ("task",),
    Waited: ("task", "site"),  # and ``detail``, below
    Finished: ("task", "detail"),
    Idle: (),
    Callback: ("name",),
    Blocking: ("task", "site"),
    Job: ("job", "worker", "fn", "task"),
    Output: (),
    Problem: ("task", "message"),
    LoopMark: ("loop",),
    ProgramError: (),
    End: (),
    Renamed: ("task",),  # and ``name``, below
    Resource: ("id", "name", "site"),
    Use: ("resource", "task"),
    Untraced: (),
    Process: (),
    Gap: (),
    Lost: (),
    Source: (),
    Exit: (),  # ``pid`` is the system's
}
# A child's loop is not the program's: its records are not drawn in the loop's lane.
LOOP_RECORDS = frozenset({Idle, Callback, LoopMark})
# Waits whose ``detail`` is a number (a count, a length), not an id.
_COUNTED = frozenset({Wait.GATHER, Wait.SLEEP, Wait.TASK_GROUP})


@dataclass(slots=True)
class ProcessInfo:
    """One process of the run: ``proc`` 0 is the program's own; ``ppid`` the pid of the
    process that started it; ``started`` when the trace first heard from it."""

    proc: int
    pid: int
    ppid: int
    command: str
    started: int
    loops: int = 0  # event loops it opened
    # A child's loop time (the program's is the timeline's loop lane): in select(), and in
    # loops closed so far; since when its loop is open (None: none is).
    idle: int = 0
    looped: int = 0
    open_since: int | None = None
    # When it ended (None: not known to have), and how: its exit status, minus the signal
    # that killed it (None: not known).
    ended: int | None = None
    status: int | None = None

    def loop_totals(self, end: int) -> tuple[int, int]:
        """A child's (busy, idle) loop time up to ``end``, the last time seen: its loops'
        time open but not waiting in select()."""
        looped = self.looped + (end - self.open_since if self.open_since is not None else 0)
        return max(looped - self.idle, 0), self.idle


def localize(record: Record, proc: int) -> Record | None:
    """``record`` of process ``proc`` (not 0) with its ids moved to that process's space
    (None: an id past the space, which would be another process's)."""
    base = proc * PROCESS_IDS
    moved: dict[str, Any] = {}
    for name in ID_FIELDS[type(record)]:
        value = getattr(record, name)
        if value >= PROCESS_IDS:
            return None
        if value > 0:
            moved[name] = base + value
    if isinstance(record, TaskCreated | Renamed) and record.name > 0:  # -N: "Task-N"
        moved["name"] = base + record.name
    elif isinstance(record, Waited) and record.detail > 0 and record.kind not in _COUNTED:
        moved["detail"] = base + record.detail
    if any(value >= base + PROCESS_IDS for value in moved.values()):
        return None
    return msgspec.structs.replace(record, **moved) if moved else record


def on_exit(processes: list[ProcessInfo], r: Exit) -> None:
    """A followed child ended: the first record that knows how says how, the earliest when.
    The child is the latest one with that pid (a pid is reused only after its process
    ended); a process loopviz did not follow is not in the list, and left out."""
    for info in reversed(processes[1:]):
        if info.pid == r.pid:
            if info.ended is None or r.t < info.ended:
                info.ended = r.t
            if r.known and info.status is None:
                info.status = r.status
            return
