"""Damaged traces: hundreds of mutants of a real recorded trace (lines dropped, repeated or
swapped, fields replaced by out-of-range or wrong-typed values, records cut short or grown)
are read, summarised, narrated and exported without a crash: either a one-line ``TraceError``
or a result, with the damage named in the reading warnings."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from loopviz.model.steps import steps
from loopviz.model.timeline import MAX_T, Timeline
from loopviz.report.export import write_chrome, write_csv
from loopviz.report.summary import render_table, to_json
from loopviz.report.transcript import json_lines
from loopviz.trace import TraceError

FIXTURE = Path(__file__).parent / "fixtures" / "gather.trace.jsonl"
MUTANTS = 300
ODD_VALUES = (-1, 0, 1, 10**18, -(10**18), 2**63, "x", None, 1.5, [], 99_999)


def mutate(lines: list[str], rng: random.Random) -> tuple[list[str], str]:
    """One random damage to one event line (the header is left alone: see test_trace)."""
    lines = list(lines)
    i = rng.randrange(1, len(lines))
    record = json.loads(lines[i])
    how = rng.choice(("drop", "repeat", "swap", "field", "tag", "cut", "grow", "nudge"))
    if how == "drop":
        del lines[i]
    elif how == "repeat":
        lines.insert(i, lines[rng.randrange(1, len(lines))])
    elif how == "swap":
        j = rng.randrange(1, len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif how == "field" and len(record) > 1:
        record[rng.randrange(1, len(record))] = rng.choice(ODD_VALUES)
    elif how == "tag":
        record[0] = rng.randrange(0, 25)
    elif how == "cut":
        record = record[: rng.randrange(1, len(record) + 1)]
    elif how == "grow":
        record.append(rng.randrange(100))
    else:
        record = [v + rng.randrange(-5, 6) if type(v) is int else v for v in record]
    if how in ("field", "tag", "cut", "grow", "nudge"):
        lines[i] = json.dumps(record)
    return lines, how


def mutants() -> list[tuple[int, str, list[str]]]:
    rng = random.Random(20261203)
    source = FIXTURE.read_text().splitlines()
    made = []
    for n in range(MUTANTS):
        lines, hows = source, []
        for _ in range(rng.randrange(1, 4)):
            lines, how = mutate(lines, rng)
            hows.append(how)
        made.append((n, "+".join(hows), lines))
    return made


def test_hundreds_of_damaged_traces_never_crash_a_reader(tmp_path: Path) -> None:
    outcomes: Counter[str] = Counter()
    for n, how, lines in mutants():
        path = tmp_path / f"m{n}.trace.jsonl"
        path.write_text("\n".join(lines) + "\n")
        try:
            timeline = Timeline.from_file(path)
        except TraceError as exc:
            assert "\n" not in str(exc) and str(exc).startswith(str(path)), (how, exc)
            outcomes["refused"] += 1
            continue
        try:
            to_json(timeline)
            render_table(timeline)
            for _ in json_lines(timeline):
                pass
            for _ in steps(timeline):
                pass
            write_chrome(timeline, io.StringIO())
            write_csv(timeline, io.StringIO())
        except Exception as exc:  # the bug this test is for: say which damage did it
            pytest.fail(f"mutant {n} ({how}) crashed a report: {exc!r}")
        for info in timeline.tasks:  # whatever was left out, what is left adds up
            totals = timeline.totals(info.id)
            assert min(totals.running, totals.ready, totals.waiting) >= 0, (n, how)
        assert 0 <= timeline.end <= MAX_T, (n, how)
        outcomes["read with warnings" if timeline.warnings else "read"] += 1
    print(dict(outcomes))
    assert sum(outcomes.values()) == MUTANTS
    assert outcomes["refused"] and outcomes["read"]  # both kinds of damage were met


@pytest.mark.parametrize("command", [["summary"], ["steps", "--json"], ["export"]])
def test_a_refused_trace_is_one_line_and_exit_2(tmp_path: Path, command: list[str]) -> None:
    lines = FIXTURE.read_text().splitlines()
    lines[5] = '[3, "not a time", 1, 0]'
    path = tmp_path / "bad.trace.jsonl"
    path.write_text("\n".join(lines) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "loopviz", command[0], str(path), *command[1:]],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"loopviz: {path}:6: ")


def damaged(tmp_path: Path, change: Callable[[list[str]], None]) -> Path:
    lines = FIXTURE.read_text().splitlines()
    change(lines)
    path = tmp_path / "damaged.trace.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("version", "said"),
    [('"2"', "'2' is not a format version"), ("0", "0 is not a format version")],
)
def test_a_version_that_is_no_version_is_refused(tmp_path: Path, version: str, said: str) -> None:
    def change(lines: list[str]) -> None:
        lines[0] = lines[0].replace('"version":1', f'"version":{version}')

    with pytest.raises(TraceError, match=said):
        Timeline.from_file(damaged(tmp_path, change))


def test_a_line_nested_a_million_deep_is_one_line_of_error(tmp_path: Path) -> None:
    path = damaged(tmp_path, lambda lines: lines.insert(3, "[" * 1_000_000))
    with pytest.raises(TraceError, match=r":4: malformed event"):
        Timeline.from_file(path)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda lines: lines.insert(20, lines[16]), "task 2 is announced twice"),
        (lambda lines: lines.append(f"[3,{2**63 - 1},2,1,0]"), "impossible time"),
        (lambda lines: lines.insert(20, "[4,5,2,10]"), "records of task 2 are out of time order"),
        (lambda lines: lines.append("[4,300000000,2,10]"), "task 2 runs after it ended"),
        (lambda lines: lines.append("[3,9000000,2,77,0]"), "unknown reason, 77"),
    ],
)
def test_damage_the_rest_survives_is_named_in_the_warnings(
    tmp_path: Path, change: Callable[[list[str]], None], said: str
) -> None:
    timeline = Timeline.from_file(damaged(tmp_path, change))
    (warning,) = timeline.warnings
    assert said in warning and warning.startswith("the trace is damaged (")
    assert timeline.end < 10**12  # the run is as long as it was, not 292 years
