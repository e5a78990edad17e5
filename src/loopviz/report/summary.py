"""``loopviz summary``: what a run did, as a table or one JSON object, and what looks wrong.

It only lays out what ``model.analysis`` finds, in the words of ``model.words``.
``docs/summary-json.md`` describes the JSON keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loopviz.model import words
from loopviz.model.analysis import concurrency_gain, findings, longest_step, peak_waiting
from loopviz.model.timeline import Timeline
from loopviz.trace import EndReason
from loopviz.units import format_time, seconds

MAX_ROWS = 50  # tasks (and warnings) listed in the table; the JSON keeps all
NAME_WIDTH = 28
OUTCOME_WIDTH = 32


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
            }
        )
    return {
        "program": timeline.header.program if timeline.header else "",
        "wall_s": seconds(timeline.end),
        "loop_busy_s": seconds(busy),
        "loop_idle_s": seconds(idle),
        "concurrency_gain": round(concurrency_gain(timeline), 3),
        "peak_waiting": peak,
        "peak_waiting_at_s": seconds(peak_t),
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
        "warnings": [
            {"lint": f.lint, "t_s": seconds(f.t), "text": f.text} for f in findings(timeline)
        ],
        "reading_warnings": timeline.warnings,
    }


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def render_table(timeline: Timeline, max_rows: int = MAX_ROWS) -> str:
    """The summary as aligned plain text."""
    lines: list[str] = []
    program = Path(timeline.header.program).name if timeline.header else "the program"
    lines.append(f"{program}: {words.program_end(timeline)}")
    lines.append("")
    lines.append(f"Tasks ({len(timeline.tasks):,})")
    header = ("name", "coroutine", "created by", "outcome", "running", "ready", "waiting", "steps")
    rows = [header]
    for info in timeline.tasks[:max_rows]:
        totals = timeline.totals(info.id)
        parent = words.created_by(timeline, info)
        rows.append(
            (
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
    widths = [max(len(row[c]) for row in rows) for c in range(len(header))]
    for row in rows:
        cells = [
            cell.ljust(widths[c]) if c < 4 else cell.rjust(widths[c]) for c, cell in enumerate(row)
        ]
        lines.append("  " + "  ".join(cells).rstrip())
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
    if longest is not None:
        at = f" at {words.where(longest.file, longest.line)}" if longest.file else ""
        who = words.task(timeline, longest.task)
        facts.append(("longest step", f"{format_time(longest.duration)} ({who}{at})"))
    tasks = "task" if peak == 1 else "tasks"
    facts.append(("peak waiting", f"{peak:,} {tasks} at once (at {format_time(peak_t)})"))
    facts.append(("concurrency gain", f"{concurrency_gain(timeline):.2f}"))
    width = max(len(label) for label, _ in facts)
    lines += [f"  {label.ljust(width)}  {value}" for label, value in facts]

    found = findings(timeline)
    lines.append("")
    lines.append(f"Warnings ({len(found):,})" if found else "No warnings")
    lines += [f"  {finding.text}" for finding in found[:max_rows]]
    if len(found) > max_rows:
        lines.append(f"  … and {len(found) - max_rows:,} more (--json lists them all)")
    return "\n".join(lines) + "\n"
