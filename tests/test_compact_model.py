"""The compact model answers as the model did before it was packed in arrays: every query,
on recorded traces and a 3,000-task server's, compared with the answers stored from the
earlier model (``fixtures/model_answers.json``, written by ``model_answers.golden``); and
a timeline fed a trace a slice at a time, asked questions in between (a live run), answers
as one built at once."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from model_answers import answers
from server_trace import server_trace

from loopviz.model.census import Census
from loopviz.model.timeline import Timeline
from loopviz.trace import read_trace

FIXTURES = Path(__file__).parent / "fixtures"
STORED = json.loads((FIXTURES / "model_answers.json").read_text())
RECORDED = sorted(name for name in STORED if name != "server.trace.jsonl")


def differences(found: dict[str, list[object]], stored: dict[str, list[object]]) -> list[str]:
    return [
        query
        for query in sorted(stored.keys() | found.keys())
        if found.get(query) != stored.get(query)
    ]


@pytest.mark.parametrize("name", RECORDED)
def test_a_recorded_trace_answers_as_before(name: str) -> None:
    found = answers(Timeline.from_file(FIXTURES / name))
    assert differences(found, STORED[name]) == []


def test_a_servers_trace_answers_as_before(tmp_path: Path) -> None:
    found = answers(Timeline.from_file(server_trace(tmp_path)))
    assert differences(found, STORED["server.trace.jsonl"]) == []


@pytest.mark.parametrize("name", ["17_thousand_tasks.trace.jsonl", "10_blocking_call.trace.jsonl"])
def test_fed_a_slice_at_a_time_it_answers_as_built_at_once(name: str) -> None:
    trace = read_trace(FIXTURES / name)
    rng = random.Random(name)
    live = Timeline(trace.header)
    census = Census(live, fold=False)
    records = trace.records
    done = 0
    while done < len(records):
        step = rng.randint(1, 40)
        live.add(records[done : done + step])
        done += step
        # What a viewer asks meanwhile builds the lazy parts (order, sums) a slice at a time.
        live.moment_index(live.end // 2)
        census.update()
        for info in live.tasks[-3:]:
            live.sums(info.id, [0, live.end // 3, live.end])
    assert differences(answers(live), STORED[name]) == []
