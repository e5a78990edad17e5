"""What a timeline answers, as text, for comparing two builds of a model: every query the
app, the reports and the census ask, at every event's time and between them.

``answers`` gives, per query (and per task for a task's queries), a digest of its answers
and their count, so a stored copy names the query that changed; ``golden`` writes them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from loopviz.model.census import Census
from loopviz.model.columns import even_edges, loop_columns, task_columns
from loopviz.model.facts import State
from loopviz.model.timeline import Timeline


def _times(timeline: Timeline) -> list[int]:
    """Every event's time, a hair either side, and the ends."""
    moments = sorted({timeline.moment_time(i) for i in range(timeline.moment_count())})
    near = {x + d for x in moments for d in (-1, 0, 1)} | {0, timeline.end, timeline.end + 5}
    times = sorted(x for x in near if x >= 0)
    if len(times) > 600:  # a big trace: an even sample of them
        step = len(times) / 600
        times = [times[int(i * step)] for i in range(600)]
    return times


def _digest(lines: Iterable[object]) -> list[object]:
    texts = [repr(line) for line in lines]
    return [hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16], len(texts)]


def answers(timeline: Timeline) -> dict[str, list[object]]:
    """Per query, (digest, count) of what it answers."""
    times = _times(timeline)
    ids = [info.id for info in timeline.tasks]
    found: dict[str, list[object]] = {}
    found["tasks"] = _digest(timeline.tasks)
    found["end"] = _digest([timeline.end, timeline.finished, timeline.exit, timeline.warnings])
    count = timeline.moment_count()
    found["moments"] = _digest(timeline.moment(i) for i in range(count))
    found["changes"] = _digest(timeline.changes())
    found["moment_index"] = _digest(timeline.moment_index(x) for x in times)
    found["next_event"] = _digest(timeline.next_event(x) for x in times)
    found["prev_event"] = _digest(timeline.prev_event(x) for x in times)
    found["events_around"] = _digest(timeline.events_around(x, 3, 3) for x in times[::7])
    found["alive_at"] = _digest(timeline.alive_at(x) for x in times)
    found["loop"] = _digest(
        [timeline.loop_spans(), timeline.loop_start]
        + [(timeline.loop_totals(x), timeline.loop_at(x)) for x in times]
    )
    found["blocking"] = _digest(timeline.blocking)
    found["jobs"] = _digest(
        [timeline.job_spans(worker) for worker in timeline.workers]
        + [timeline.jobs_at(x) for x in times]
    )
    found["output"] = _digest(timeline.output_until(x) for x in times[::5])
    found["totals"] = _digest(
        [timeline.totals(), timeline.cut_until] + [timeline.totals(None, x) for x in times[::9]]
    )
    resources = timeline.resources.all
    found["resources"] = _digest(
        (timeline.waits_on(r.id), [timeline.waiters_at(r.id, x) for x in times[::5]])
        for r in resources
    )
    edges = even_edges(0, max(timeline.end, 1), 97)
    census = Census(timeline)
    found["census"] = _digest(
        [census.columns(edges), census.longest_ready(), census.longest_step(1)]
    )
    found["loop_columns"] = _digest(loop_columns(timeline, edges))
    sample = ids if len(ids) <= 60 else ids[:: len(ids) // 60]
    for task in sample:
        per = [
            timeline.intervals(task),
            timeline.intervals(task, times[len(times) // 3], times[2 * len(times) // 3]),
            timeline.sums(task, times),
            timeline.totals(task),
            timeline.blocks_of(task),
            timeline.cut_short(task),
            [timeline.state_at(task, x) for x in times],
            [timeline.position(task, x) for x in times],
            [timeline.next_event(x, task) for x in times[::3]],
            [timeline.prev_event(x, task) for x in times[::3]],
            [timeline.wait_kind_in(task, a, b) for a, b in zip(times, times[5:], strict=False)],
            [list(timeline.runs(task, state)) for state in State],
            timeline.wait_time(task, {0, 1, 2, 4, 8, 10}),
            task_columns(timeline, task, edges),
        ]
        found[f"task {task}"] = _digest(per)
    return found


def golden(traces: Iterable[Path], out: Path) -> None:
    """Write the answers of each trace (by file name) to ``out``."""
    stored = {path.name: answers(Timeline.from_file(path)) for path in traces}
    out.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
