"""``loopviz summary``: what a run did, as a table or one JSON object, and what looks wrong.

It only lays out what ``model.analysis`` finds, in the words of ``model.words``.
``docs/summary-json.md`` describes the JSON keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loopviz.model import words
from loopviz.model.analysis import (
    Finding,
    concurrency_gain,
    findings,
    longest_step,
    peak_waiting,
)
from loopviz.model.timeline import Timeline
from loopviz.trace import EndReason
from loopviz.units import format_time, seconds

MAX_ROWS = 50  # tasks (and warnings) listed in the table; the JSON keeps all
NAME_WIDTH = 28
OUTCOME_WIDTH = 32
COMMAND_WIDTH = 60


def to_json(timeline: Timeline) -> dict[str, Any]:
    busy, idle = timeline.loop_totals()
    peak, peak_t = peak_waiting(timeline)
    longest = longest_step(timeline)
    tasks = []
    for info in timeline.tasks:
        totals = timeline.totals(info.id)
        tasks.append(
            {
                "id": info.id,
                "name": info.name,
                "label": words.label(info),
                "coro": info.coro,
                "parent": info.parent,
                "created_s": seconds(info.created),
                "ended_s": None if info.ended is None else seconds(info.ended),
                "outcome": words.task_outcome(timeline, info.id),
                "running_s": seconds(totals.running),
                "ready_s": seconds(totals.ready),
                "waiting_s": seconds(totals.waiting),
                "steps": totals.steps,
                "process": info.process,
                "handler": info.handler,
            }
        )
    return {
        "program": timeline.header.program if timeline.header else "",
        "wall_s": seconds(timeline.end),
        "loop_busy_s": seconds(busy),
        "loop_idle_s": seconds(idle),
        "loop_stopped_s": seconds(timeline.loop_stopped()),
        "not_kept_s": seconds(timeline.kept_from),
        "paused_s": seconds(sum(until - start for start, until in timeline.pauses)),
        "concurrency_gain": round(concurrency_gain(timeline), 3),
        "peak_waiting": peak,
        "peak_waiting_at_s": seconds(peak_t),
        "untraced_loops": timeline.untraced_loops.get(0, []),
        "longest_step": None
        if longest is None
        else {
            "task": longest.task,
            "file": longest.file,
            "line": longest.line,
            "start_s": seconds(longest.start),
            "duration_s": seconds(longest.duration),
        },
        "exit": {
            "status": timeline.exit.status,
            "reason": None
            if timeline.exit.reason is None
            else EndReason(timeline.exit.reason).name,
            "error": timeline.exit.error,
        },
        "tasks": tasks,
        "blocking": [
            {
                "task": step.task,
                "file": step.file,
                "line": step.line,
                "start_s": seconds(step.start),
                "duration_s": seconds(step.duration),
                "ongoing": step.ongoing,
            }
            for step in timeline.blocking
        ],
        "resources": resources_json(timeline),
        "processes": processes_json(timeline),
        "warnings": [_finding_json(timeline, f) for f in findings(timeline)],
        "reading_warnings": timeline.warnings,
    }


def processes_json(timeline: Timeline) -> list[dict[str, Any]]:
    """The run's processes, when loopviz followed any child: the program's own (0) first."""
    if not timeline.processes:
        return []
    tasks = [0] * len(timeline.processes)
    for info in timeline.tasks:
        tasks[info.process] += 1
    return [
        {
            "process": p.proc,
            "pid": p.pid,
            "ppid": p.ppid,
            "label": words.process(p),
            "command": p.command,
            "started_s": seconds(p.started),
            "loops": p.loops,
            "untraced_loops": timeline.untraced_loops.get(p.proc, []),
            "loop_busy_s": seconds(busy),
            "loop_idle_s": seconds(idle),
            "tasks": count,
            **(
                {}
                if p.proc == 0
                else {
                    "ended_s": None if p.ended is None else seconds(p.ended),
                    "exit_status": p.status,
                    "end": words.process_end(p, timeline.finished),
                }
            ),
        }
        for p, count in zip(timeline.processes, tasks, strict=True)
        for busy, idle in [timeline.loop_totals() if p.proc == 0 else p.loop_totals(timeline.end)]
    ]


def _finding_json(timeline: Timeline, finding: Finding) -> dict[str, Any]:
    found: dict[str, Any] = {"lint": finding.lint, "t_s": seconds(finding.t), "text": finding.text}
    if finding.tasks:
        found["tasks"] = [words.name(timeline, task) for task in finding.tasks]
    return found


def resources_json(timeline: Timeline) -> list[dict[str, Any]]:
    """The program's locks, semaphores, events, conditions, queues and barriers."""
    listed = []
    for info in timeline.resources.all:
        totals = timeline.resources.totals(info.id, timeline.waits_on, timeline.end)
        listed.append(
            {
                "id": info.id,
                "kind": words.resource_kind(info.kind).replace(" ", "-"),
                "name": info.name or None,
                "site": words.where(info.file, info.line) if info.file else None,
                "nth": info.nth,
                "capacity": info.capacity or None,
                "max_in_use": totals.max_in_use,
                "max_waiters": totals.max_waiters,
                "wait_s": seconds(totals.wait),
                "acquisitions": totals.uses,
                "longest_hold_s": seconds(totals.longest_hold),
            }
        )
    return listed


def _aligned(rows: Sequence[Sequence[str]], left: int) -> list[str]:
    """Rows as columns: the first ``left`` flush left (names), the rest flush right (figures)."""
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    return [
        "  "
        + "  ".join(
            cell.ljust(widths[c]) if c < left else cell.rjust(widths[c])
            for c, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def render_table(timeline: Timeline, max_rows: int = MAX_ROWS) -> str:
    """The summary as aligned plain text."""
    lines: list[str] = []
    lines.append(f"{words.program_name(timeline)}: {words.program_end(timeline)}")
    lines.append("")
    nothing = words.no_loop_ran(timeline)
    if nothing is not None:  # (a program that failed to start, a trace cut at its start)
        return "\n".join([*lines, nothing, *_warnings(timeline, max_rows)]) + "\n"
    lines.append(f"Tasks ({len(timeline.tasks):,})")
    header = ("name", "coroutine", "created by", "outcome", "running", "ready", "waiting", "steps")
    several = timeline.processes  # several processes: each task's is said
    rows: list[tuple[str, ...]] = [("process", *header) if several else header]
    for info in timeline.tasks[:max_rows]:
        totals = timeline.totals(info.id)
        parent = words.created_by(timeline, info)
        process = (words.process(several[info.process]),) if several else ()
        rows.append(
            (
                *process,
                _cut(words.label(info), NAME_WIDTH),
                _cut(info.coro, NAME_WIDTH),
                _cut(parent, NAME_WIDTH),
                _cut(words.task_outcome(timeline, info.id), OUTCOME_WIDTH),
                f"{totals.running / 1e9:.3f}",
                f"{totals.ready / 1e9:.3f}",
                f"{totals.waiting / 1e9:.3f}",
                str(totals.steps),
            )
        )
    lines += _aligned(rows, left=4)
    left_out = len(timeline.tasks) - max_rows
    if left_out > 0:
        lines.append(f"  … and {left_out:,} more tasks (--json lists them all)")
    lines.append("  (running / ready / waiting in seconds)")

    lines.append("")
    lines.append("Run")
    busy, idle = timeline.loop_totals()
    peak, peak_t = peak_waiting(timeline)
    longest = longest_step(timeline)
    facts = [
        ("wall time", format_time(timeline.end)),
        ("loop busy", f"{format_time(busy)} ({_percent(busy, timeline.end)})"),
        ("loop idle", f"{format_time(idle)} ({_percent(idle, timeline.end)})"),
    ]
    paused = sum(until - start for start, until in timeline.pauses)
    outside = max(timeline.end - busy - idle - paused, 0)  # a pause is not known either way
    if outside:
        label, why = words.outside_loops(timeline)
        facts.append((label, f"{format_time(outside)} ({_percent(outside, timeline.end)}){why}"))
    children = [p for p in timeline.processes[1:] if p.loops]
    if children:  # the figures above are the program's own loop's
        busy = sum(p.loop_totals(timeline.end)[0] for p in children)
        facts.append(("children's loops", words.children_loops(len(children), busy)))
    untraced = words.untraced_children(timeline.untraced_loops)
    if untraced:
        facts.append(("untraced loops", untraced))
    if timeline.kept_from:
        facts.append(("not kept", words.not_kept(timeline)))
    if timeline.pauses:
        facts.append(("paused", words.paused(timeline.pauses)))
    if longest is not None:
        at = f" at {words.where(longest.file, longest.line)}" if longest.file else ""
        who = words.task(timeline, longest.task)
        facts.append(("longest step", f"{format_time(longest.duration)} ({who}{at})"))
    tasks = "task" if peak == 1 else "tasks"
    facts.append(("peak waiting", f"{peak:,} {tasks} at once (at {format_time(peak_t)})"))
    facts.append(("concurrency gain", words.gain(concurrency_gain(timeline))))
    width = max(len(label) for label, _ in facts)
    lines += [f"  {label.ljust(width)}  {value}" for label, value in facts]

    resources = resources_json(timeline)
    if resources:
        lines.append("")
        lines.append(f"Resources ({len(resources):,})")
        table: list[tuple[str, ...]] = [
            ("kind", "name", "site", "capacity", "fullest", "most waiting", "waited")
        ]
        for r in resources[:max_rows]:
            table.append(
                (
                    r["kind"],
                    _cut(
                        f"{r['name'] or '-'}{f' #{n}' if (n := r['nth']) > 1 else ''}", NAME_WIDTH
                    ),
                    r["site"] or "-",
                    "-" if r["capacity"] is None else str(r["capacity"]),
                    str(r["max_in_use"]),
                    str(r["max_waiters"]),
                    f"{r['wait_s']:.3f}",
                )
            )
        lines += _aligned(table, left=3)
        if len(resources) > max_rows:
            lines.append(f"  … and {len(resources) - max_rows:,} more (--json lists them all)")
        lines.append(
            "  (fullest: the most holders, permits in use, items queued or parties arrived at"
            " once, 1 for an event set; waited: seconds tasks spent waiting on it, in all)"
        )
        if any(r["nth"] > 1 for r in resources):
            lines.append("  (#2: the second of that name made at that site)")

    processes = processes_json(timeline)
    if processes:
        lines.append("")
        lines.append(f"Processes ({len(processes):,})")
        table = [("process", "command", "end", "pid", "started", "loops", "busy", "tasks")]
        for p in processes[:max_rows]:
            table.append(
                (
                    p["label"],
                    _cut(words.command(p["command"]), COMMAND_WIDTH),
                    p.get("end", "-"),
                    str(p["pid"] or "-"),
                    f"{p['started_s']:.3f}",
                    words.process_loops(p["loops"], p["untraced_loops"]),
                    f"{p['loop_busy_s']:.3f}",
                    str(p["tasks"]),
                )
            )
        lines += _aligned(table, left=3)
        lines.append("  (started: seconds into the run; busy: its loops' busy time, seconds)")
        if any(p.get("ended_s") is not None and p["exit_status"] is None for p in processes):
            lines.append(f"  ({words.STATUS_NOT_SEEN})")
        if len(processes) > max_rows:
            lines.append(f"  … and {len(processes) - max_rows:,} more (--json lists them all)")

    return "\n".join([*lines, *_warnings(timeline, max_rows)]) + "\n"


def _warnings(timeline: Timeline, max_rows: int) -> list[str]:
    found = findings(timeline)
    lines = ["", f"Warnings ({len(found):,})" if found else "No warnings"]
    lines += [f"  {finding.text}" for finding in found[:max_rows]]
    if len(found) > max_rows:
        lines.append(f"  … and {len(found) - max_rows:,} more (--json lists them all)")
    return lines
