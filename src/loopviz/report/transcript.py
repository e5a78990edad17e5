"""The run as narrated steps on the command line (``loopviz steps``): text for handouts, JSON
Lines for grading and tests. ``docs/steps-json.md`` documents the JSON; the sentences come
from ``words``, the loop's state from ``model.steps``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from loopviz.model import words
from loopviz.model.facts import JobState, LoopSnapshot
from loopviz.model.steps import Step, steps
from loopviz.model.timeline import Timeline
from loopviz.units import format_time, seconds


def lines(timeline: Timeline) -> Iterator[str]:
    """One line per step: number, time, sentence."""
    for step in steps(timeline):
        said = words.narrate(timeline, step)
        yield f"{step.index + 1:>5}  {format_time(step.moment.t):>9}  {said}"


def json_lines(timeline: Timeline) -> Iterator[dict[str, Any]]:
    """One object per step, as ``docs/steps-json.md`` says."""
    for step in steps(timeline):
        yield step_json(timeline, step)


def step_json(timeline: Timeline, step: Step) -> dict[str, Any]:
    task = step.moment.task
    return {
        "i": step.index + 1,  # as the app counts them: "step 1 of 40"
        "t_s": seconds(step.moment.t),
        "task": words.label_of(timeline, task) if task else None,
        "kind": words.step_kind(step),
        "text": words.narrate(timeline, step),
        "loop": loop_json(timeline, step.loop),
    }


def loop_json(timeline: Timeline, loop: LoopSnapshot) -> dict[str, Any]:
    return {
        "state": words.loop_state(loop),
        "running": words.label_of(timeline, loop.running) if loop.running else None,
        "blocking": loop.blocking_since is not None,
        "ready": [words.label_of(timeline, queued.task) for queued in loop.ready],
        "overdue": [
            {"task": words.label_of(timeline, late.task), "due_s": seconds(late.interval.start)}
            for late in loop.overdue
        ],
        "timers": [
            {
                "task": words.label_of(timeline, parked.task),
                "due_s": seconds(parked.interval.deadline or 0),
                "what": words.timer_what(timeline, parked.interval),
            }
            for parked in loop.timers
        ],
        "io": [
            {"task": words.label_of(timeline, p.task), "what": words.io_what(timeline, p.interval)}
            for p in loop.io
        ],
        "executor": [_job_json(timeline, job) for job in loop.jobs],
        "resources": [
            {
                "resource": words.resource(timeline, line.resource),
                "holders": [
                    words.label_of(timeline, h.task)
                    for h in timeline.resources.holders_at(line.resource, loop.t)
                ],
                "waiting": [words.label_of(timeline, task) for task in line.tasks],
            }
            for line in loop.lines
        ],
    }


def _job_json(timeline: Timeline, job: JobState) -> dict[str, Any]:
    return {
        "job": words.job(timeline, job.job),
        "worker": job.worker or None,
        "state": words.job_state(job.worker),
    }
