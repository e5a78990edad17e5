"""``loopviz export``: a trace's timeline for other tools.

``chrome`` writes the Trace Event Format (JSON) that Perfetto and chrome://tracing open: one
thread per task with its running, ready and waiting intervals, a "loop" thread with busy and
idle spans and the blocking steps, one thread per executor worker, the program's output
lines as instant events, each wake-up as a flow arrow from the waker's step to the woken
task's next step, and each lock, semaphore, event or queue's level as a counter track.
``csv`` writes one row per task interval. Events are encoded one by one into a buffer
written out a megabyte at a time, so a million-event trace does not need its whole export
in memory.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import msgspec

from loopviz.model import words
from loopviz.model.facts import Interval, State
from loopviz.model.timeline import Timeline
from loopviz.units import seconds

CSV_COLUMNS = ("task_id", "task", "state", "start_s", "end_s", "detail", "file", "line")
_PID = 1
_LOOP_TID = 1
_CHUNK = 1 << 20  # bytes of encoded events per write
_STATE_NAMES = {state: state.name.lower() for state in State}


def task_intervals(timeline: Timeline, task_id: int) -> Iterator[tuple[Interval, int]]:
    """The task's intervals up to its end (DONE left out), each with its end time."""
    for interval in timeline.intervals(task_id):
        if interval.state != State.DONE:
            yield interval, timeline.end if interval.end is None else interval.end


def _us(ns: int) -> float:
    """Microseconds: an int over 1000 is already the nearest float to three decimals."""
    return ns / 1000


# One Trace Event Format event, as msgspec encodes it.
TraceEvent = dict[str, object]


def _event(
    name: str, cat: str, tid: int, start: int, end: int, args: TraceEvent | None = None
) -> TraceEvent:
    event = {
        "name": name, "cat": cat, "ph": "X", "ts": _us(start), "dur": _us(end - start),
        "pid": _PID, "tid": tid,
    }  # fmt: skip
    if args:
        event["args"] = args
    return event


def _thread(tid: int, name: str) -> Iterator[TraceEvent]:
    yield {"name": "thread_name", "ph": "M", "pid": _PID, "tid": tid, "args": {"name": name}}
    yield {
        "name": "thread_sort_index",
        "ph": "M",
        "pid": _PID,
        "tid": tid,
        "args": {"sort_index": tid},
    }


def chrome_events(timeline: Timeline) -> Iterator[TraceEvent]:
    """Trace Event Format events, thread by thread."""
    program = Path(timeline.header.program).name if timeline.header else "program"
    yield {"name": "process_name", "ph": "M", "pid": _PID, "args": {"name": program}}
    yield from _thread(_LOOP_TID, "loop")
    end = timeline.end
    for span in timeline.loop_spans():
        yield _event(
            span.label, "loop", _LOOP_TID, span.start, end if span.end is None else span.end
        )
    for step in timeline.blocking:
        who = words.name(timeline, step.task) if step.task else "callback"
        args: TraceEvent = {"task": who, "site": f"{step.file}:{step.line}" if step.file else ""}
        yield _event("blocked", "blocking", _LOOP_TID, step.start, step.start + step.duration, args)
    for t, stream, text in timeline.output_until(end):
        yield {
            "name": text,
            "cat": "stderr" if stream == 2 else "stdout",
            "ph": "i",
            "s": "p",
            "ts": _us(t),
            "pid": _PID,
            "tid": _LOOP_TID,
        }
    tid = _LOOP_TID
    for worker in timeline.workers:
        tid += 1
        yield from _thread(tid, words.worker(worker))
        for span in timeline.job_spans(worker):
            yield _event(span.label, "job", tid, span.start, end if span.end is None else span.end)
    tids = {info.id: tid + n for n, info in enumerate(timeline.tasks, 1)}
    flows = itertools.count(1)
    for info in timeline.tasks:
        tid = tids[info.id]
        yield from _thread(tid, words.task(timeline, info.id))
        for interval, stop in task_intervals(timeline, info.id):
            if interval.state is State.READY and interval.ref in tids and interval.end:
                flow = next(flows)
                yield from _wake_up(timeline, interval, tids[interval.ref], tid, flow)
            fields: TraceEvent = {}
            detail = words.detail(timeline, interval)
            if detail:
                fields["detail"] = detail
            if interval.file:
                fields["site"] = f"{interval.file}:{interval.line}"
            if interval.overdue:
                fields["overdue"] = True
            name = words.state(timeline, interval)
            yield _event(name, _STATE_NAMES[interval.state], tid, interval.start, stop, fields)
    yield from _counters(timeline)


def _wake_up(
    timeline: Timeline, ready: Interval, waker: int, woken: int, flow_id: int
) -> Iterator[TraceEvent]:
    """A flow arrow from the waker's step (where it made the task ready) to the woken task's
    next step. Both ends must fall inside a slice of their thread: a task made ready as its
    waker's step ended is drawn from that step's last microsecond."""
    start = ready.start
    before = timeline.state_at(ready.ref, start - 1)
    if before is not None and before.state is State.RUNNING and before.end == start:
        start -= 1
    flow: TraceEvent = {"name": "wake-up", "cat": "wake-up", "id": flow_id, "pid": _PID}
    yield {**flow, "ph": "s", "ts": _us(start), "tid": waker}
    yield {**flow, "ph": "f", "bp": "e", "ts": _us(ready.end or start), "tid": woken}


def _counters(timeline: Timeline) -> Iterator[TraceEvent]:
    """Each resource's level (holders, permits in use, items queued) as a counter track."""
    for info in timeline.resources.all:
        name = words.resource(timeline, info.id)
        for t, level in zip(*timeline.resources.levels(info.id), strict=True):
            yield {"name": name, "ph": "C", "ts": _us(t), "pid": _PID, "args": {"level": level}}


def write_chrome(timeline: Timeline, out: TextIO) -> None:
    """One event a line; msgspec encodes into a shared buffer, far cheaper than json.dumps."""
    encode_into = msgspec.json.Encoder().encode_into
    events = chrome_events(timeline)
    buffer = bytearray(b'{"displayTimeUnit":"ms","traceEvents":[\n')
    encode_into(next(events), buffer, -1)  # the process name: there is always one
    for event in events:
        buffer += b",\n"
        encode_into(event, buffer, -1)
        if len(buffer) >= _CHUNK:
            out.write(buffer.decode())
            buffer.clear()
    buffer += b"\n]}\n"
    out.write(buffer.decode())


def write_csv(timeline: Timeline, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for info in timeline.tasks:
        writer.writerows(
            (
                info.id,
                words.label(info),
                _STATE_NAMES[interval.state],
                seconds(interval.start),
                seconds(stop),
                words.detail(timeline, interval),
                interval.file,
                interval.line or "",
            )
            for interval, stop in task_intervals(timeline, info.id)
        )
