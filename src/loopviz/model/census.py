"""The run's census: how many tasks run, are ready and wait, per screen column.

Three thousand lanes cannot be read one by one; a few rows over them can say when tasks
piled up in the ready queue, how many were in flight, and how late the loop got to them.
Asking every lane per column would cost tasks x columns per frame, so the census keeps
run-wide prefix sums instead: one pass over the events in time order (``Timeline.changes``)
records each event's change of the counts (a byte), and every ``EVERY`` events a
checkpoint of the counts, their integral over time and their sum over events. A column's
average is then the difference of two prefix sums, each found from its checkpoint in at
most ``EVERY`` steps, whatever the number of tasks. The same pass lists every wait in the
ready queue and every step, by when they ended, for the loop's lag per column and for
jumping to the worst of them.

Pure Python and compact (``array``): about 21 bytes per record of a busy server's trace.
It can be fed a live run (``update``); late records that reorder the last events are
folded in again from the checkpoint before them.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left
from dataclasses import dataclass
from itertools import islice

from loopviz.model.facts import State
from loopviz.model.timeline import Timeline

EVERY = 32  # events between checkpoints: a query walks at most this many
_MASK = EVERY - 1

# A change of state as one byte: (before + 1) * 5 + (after + 1), -1 being "no state".
_CODES = 5
# What each code does to the counts of (waiting, ready, running).
_DELTAS: list[tuple[int, int, int]] = []
for _code in range(_CODES * _CODES):
    _delta = [0, 0, 0]
    _before, _after = _code // _CODES - 1, _code % _CODES - 1
    if 0 <= _before <= State.RUNNING:
        _delta[_before] -= 1
    if 0 <= _after <= State.RUNNING:
        _delta[_after] += 1
    _DELTAS.append((_delta[0], _delta[1], _delta[2]))
_NONE = 0  # the code of an event that changes no task's state
# Task ids fit 4 bytes; a damaged trace's wider one makes its array take 8 from then on.
_TASK_MIN, _TASK_MAX = -(2**31), 2**31 - 1


class RangeMax:
    """A list of lengths that answers "the longest from i to j" in O(BLOCK + blocks): the
    loop's lag of a column zoomed out to the whole run spans most of them."""

    BLOCK = 64

    def __init__(self) -> None:
        self.values = array("q")
        self._blocks = array("q")  # the longest of each whole block

    def append(self, value: int) -> None:
        values = self.values
        values.append(value)
        if not len(values) % self.BLOCK:
            self._blocks.append(max(values[-self.BLOCK :]))

    def truncate(self, n: int) -> None:
        del self.values[n:]
        del self._blocks[n // self.BLOCK :]

    def max(self, i: int, j: int) -> int:
        """The longest of ``values[i:j]`` (0: none)."""
        if j <= i:
            return 0
        size, values = self.BLOCK, self.values
        first, last = -(-i // size), j // size  # the whole blocks inside
        if first >= last:
            return max(values[i:j])
        best = max(self._blocks[first:last])
        if i < first * size:
            best = max(best, max(values[i : first * size]))
        if last * size < j:
            best = max(best, max(values[last * size : j]))
        return best


@dataclass(frozen=True, slots=True)
class CensusColumn:
    """One column of the census: how many tasks were running, ready and waiting (on
    average over the column: its time, or its events in step order), the share of it the
    loop was busy (None: no loop then) and the longest a task that left the ready queue in
    it had waited there (the loop's lag, 0: none left)."""

    running: float
    ready: float
    waiting: float
    busy: float | None
    lag: int


@dataclass(frozen=True, slots=True)
class Stretch:
    """A task's stretch in one state: a wait in the ready queue, or a step."""

    task: int
    start: int
    length: int


class Census:
    """Counts of tasks per state over the run, as prefix sums (see the module's doc)."""

    def __init__(self, timeline: Timeline, *, fold: bool = True) -> None:
        """Count ``timeline``'s events now, or (``fold`` False) as ``update`` is called."""
        self.timeline = timeline
        self._codes = array("B")  # per event in time order: its change, as a code
        # Per checkpoint c, the state before event c * EVERY: the counts (waiting, ready,
        # running), their integral over time up to that event's time, their sum over the
        # events before it, and how many ready waits and steps had ended.
        self._counts = array("i")
        self._area = array("d")
        self._sum = array("d")
        self._marks = array("i")  # per checkpoint: len(ready waits), len(steps)
        self._now = [0, 0, 0]  # the counts after the last event folded in
        self._area_now = [0.0, 0.0, 0.0]
        self._sum_now = [0.0, 0.0, 0.0]
        self._last_t = 0
        # Waits in the ready queue in the order they ended (their task and length), and steps.
        self._ready_at = array("i")  # the event that ended it
        self._ready_len = RangeMax()
        self._ready_task = array("i")  # (made "q" by a task id too wide: ``_task``)
        self._step_at = array("i")  # the event that ended it
        self._step_len = array("q")
        self._step_task = array("i")
        self._epoch = 0  # how many reorderings of the events this has seen
        if fold:
            self.update()

    # --- building ----------------------------------------------------------------------------
    def update(self, most: int | None = None) -> bool:
        """Fold in the events that arrived since (a live run), again from the checkpoint
        before any that late records moved; at ``most`` events at a time (a caller counting
        a big trace beside a screen lets it draw in between). True once every event is in."""
        timeline = self.timeline
        self._epoch, changed = timeline.reordered_since(self._epoch)
        if changed is not None and changed < len(self._codes):
            self._rewind(max(0, changed - 1) // EVERY)
        count = timeline.moment_count()
        if len(self._codes) == count:
            return True
        codes, deltas = self._codes, _DELTAS
        counts, area, sums, marks = self._counts, self._area, self._sum, self._marks
        ready_at, ready_len, ready_task = self._ready_at, self._ready_len, self._ready_task
        step_at, step_len, step_task = self._step_at, self._step_len, self._step_task
        w, r, x = self._now
        aw, ar, ax = self._area_now
        sw, sr, sx = self._sum_now
        last = self._last_t
        k = len(codes)
        ready, running = State.READY, State.RUNNING
        stop = count if most is None else min(count, k + most)
        for t, task, before, after, since in islice(timeline.changes(k), stop - k):
            if t != last:
                dt = t - last
                aw += w * dt
                ar += r * dt
                ax += x * dt
                last = t
            if not k & _MASK:  # the state before event k, at its time
                counts.extend((w, r, x))
                area.extend((aw, ar, ax))
                sums.extend((sw, sr, sx))
                marks.extend((len(ready_at), len(step_at)))
            if before != after:
                code = (before + 1) * _CODES + after + 1
                dw, dr, dx = deltas[code]
                w += dw
                r += dr
                x += dx
                if before == ready:
                    ready_at.append(k)
                    ready_len.append(t - since)
                    if not _TASK_MIN <= task <= _TASK_MAX:
                        ready_task = self._ready_task = array("q", ready_task)
                    ready_task.append(task)
                elif before == running:
                    step_at.append(k)
                    step_len.append(t - since)
                    if not _TASK_MIN <= task <= _TASK_MAX:
                        step_task = self._step_task = array("q", step_task)
                    step_task.append(task)
            else:
                code = _NONE
            codes.append(code)
            sw += w
            sr += r
            sx += x
            k += 1
        self._now, self._area_now, self._sum_now = [w, r, x], [aw, ar, ax], [sw, sr, sx]
        self._last_t = last
        return k == count

    def _rewind(self, checkpoint: int) -> None:
        """Forget the events from checkpoint ``checkpoint`` on, to fold them in again (the
        events before it have not moved, nor has its own time)."""
        c3, c2, start = checkpoint * 3, checkpoint * 2, checkpoint * EVERY
        self._now = list(self._counts[c3 : c3 + 3])
        self._area_now = list(self._area[c3 : c3 + 3])
        self._sum_now = list(self._sum[c3 : c3 + 3])
        self._last_t = self.timeline.moment_time(start) if start else 0
        ready, steps = self._marks[c2], self._marks[c2 + 1]
        del self._codes[start:]
        del self._counts[c3:], self._area[c3:], self._sum[c3:], self._marks[c2:]
        del self._ready_at[ready:], self._ready_task[ready:]
        self._ready_len.truncate(ready)
        del self._step_at[steps:], self._step_len[steps:], self._step_task[steps:]

    # --- queries -----------------------------------------------------------------------------
    def _state(self, m: int, x: int) -> tuple[list[int], list[float], list[float]]:
        """After the first ``m`` events: the counts, their integral over time up to ``x``
        (at or after the ``m``-th event's time) and their sum over those events."""
        if m <= 0:
            return [0, 0, 0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
        c = (m - 1) // EVERY
        start = c * EVERY
        c3 = c * 3
        counts = list(self._counts[c3 : c3 + 3])
        area = list(self._area[c3 : c3 + 3])
        sums = list(self._sum[c3 : c3 + 3])
        times = self.timeline.moment_times(start, m)
        prev = times[0]
        codes = self._codes
        for j, t in enumerate(times):
            if t != prev:
                dt = t - prev
                area[0] += counts[0] * dt
                area[1] += counts[1] * dt
                area[2] += counts[2] * dt
                prev = t
            code = codes[start + j]
            if code:
                dw, dr, dx = _DELTAS[code]
                counts[0] += dw
                counts[1] += dr
                counts[2] += dx
            sums[0] += counts[0]
            sums[1] += counts[1]
            sums[2] += counts[2]
        dt = x - prev
        return counts, [a + n * dt for a, n in zip(area, counts, strict=True)], sums

    def counts_after(self, index: int) -> tuple[int, int, int]:
        """(running, ready, waiting) just after event ``index`` (-1: before the first)."""
        counts, _, _ = self._state(index + 1, 0)
        return counts[2], counts[1], counts[0]

    def columns(self, edges: list[int], steps: list[int] | None = None) -> list[CensusColumn]:
        """The census of the columns between ``edges`` (times). In step order ``steps``
        gives each column's first event (and, last, the one after the window): a column's
        counts are then the average over its events of the counts just after each, and a
        column of no width is its events' clock reading. Costs O(columns x EVERY)."""
        timeline = self.timeline
        self.update()
        loop = [timeline.loop_totals(x) for x in edges]
        # The events before each edge: those of the columns before it.
        if steps is None:
            steps = [timeline.moment_index(x - 1) + 1 for x in edges]
            by_steps = False
        else:
            by_steps = True
        at = [self._state(m, x) for m, x in zip(steps, edges, strict=True)]
        ends, lengths = self._ready_at, self._ready_len
        result = []
        for c in range(len(edges) - 1):
            a, b = edges[c], edges[c + 1]
            (_, area0, sum0), (n1, area1, sum1) = at[c], at[c + 1]
            events = steps[c + 1] - steps[c]
            if by_steps and events:
                avg = [(sum1[i] - sum0[i]) / events for i in range(3)]
            elif b > a:
                avg = [(area1[i] - area0[i]) / (b - a) for i in range(3)]
            else:
                avg = [float(n) for n in n1]
            busy0, idle0 = loop[c]
            busy1, idle1 = loop[c + 1]
            busy_time, idle_time = busy1 - busy0, idle1 - idle0
            busy: float | None = None
            if busy_time + idle_time:
                busy = busy_time / (busy_time + idle_time)
            elif b <= a:
                is_open, idle, _ = timeline.loop_at(a)
                busy = (0.0 if idle else 1.0) if is_open else None
            i0, i1 = bisect_left(ends, steps[c]), bisect_left(ends, steps[c + 1])
            lag = lengths.max(i0, i1)
            result.append(CensusColumn(avg[2], avg[1], avg[0], busy, lag))
        return result

    # --- the worst ---------------------------------------------------------------------------
    def longest_ready(self, rank: int = 0) -> Stretch | None:
        """The ``rank``-th longest wait in the ready queue (0: the longest; the most starved
        task), None past the last. Ties: the earliest first."""
        self.update()
        found = _ranked(self._ready_task, self._ready_at, self._ready_len.values, rank)
        if found is None:
            return None
        task, end, length = found
        return Stretch(task, self.timeline.moment_time(end) - length, length)

    def longest_step(self, rank: int = 0) -> Stretch | None:
        """The ``rank``-th longest finished step of any task (0: the longest)."""
        self.update()
        found = _ranked(self._step_task, self._step_at, self._step_len, rank)
        if found is None:
            return None
        task, end, length = found
        return Stretch(task, self.timeline.moment_time(end) - length, length)


def _ranked(
    tasks: array[int], where: array[int], lengths: array[int], rank: int
) -> tuple[int, int, int] | None:
    """(task, where, length) of the ``rank``-th longest, of equal ones the earliest."""
    if not 0 <= rank < len(lengths):
        return None
    top = heapq.nsmallest(rank + 1, range(len(lengths)), key=lambda i: (-lengths[i], i))
    i = top[rank]
    return tasks[i], where[i], lengths[i]
