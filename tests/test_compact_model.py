"""The compact model answers as the model did before it was packed in arrays: every query,
on recorded traces and a 3,000-task server's, compared with the answers stored from the
earlier model (``fixtures/model_answers.json``, written by ``model_answers.golden``); and
a timeline fed a trace a slice at a time, asked questions in between (a live run), answers
as one built at once.

Each runs both ways: with the compiled fold (``model/_fold.c``, skipped where it is not
built) and with the pure-Python code. The two also build the very same model, every array
and field of it, from recorded traces, windowed ones, a child process's, traces whose lines
are written oddly, and hundreds of damaged ones."""

from __future__ import annotations

import json
import random
from array import array
from collections.abc import Iterator
from pathlib import Path

import pytest
from model_answers import answers
from server_trace import server_trace

from loopviz.model import timeline as timeline_module
from loopviz.model.census import Census
from loopviz.model.timeline import Timeline
from loopviz.trace import TraceError, read_trace

FIXTURES = Path(__file__).parent / "fixtures"
STORED = json.loads((FIXTURES / "model_answers.json").read_text())
RECORDED = sorted(name for name in STORED if name != "server.trace.jsonl")
COMPILED = timeline_module._FOLD


@pytest.fixture(params=["compiled", "pure"])
def fold(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Build with the compiled fold, or with the pure-Python code."""
    if request.param == "pure":
        monkeypatch.setattr(timeline_module, "_FOLD", None)
    elif COMPILED is None:
        pytest.skip("the compiled fold is not built here (or LOOPVIZ_PURE_PYTHON is set)")
    return str(request.param)


def differences(found: dict[str, list[object]], stored: dict[str, list[object]]) -> list[str]:
    return [
        query
        for query in sorted(stored.keys() | found.keys())
        if found.get(query) != stored.get(query)
    ]


@pytest.mark.parametrize("name", RECORDED)
def test_a_recorded_trace_answers_as_before(name: str, fold: str) -> None:
    found = answers(Timeline.from_file(FIXTURES / name))
    assert differences(found, STORED[name]) == []


def test_a_servers_trace_answers_as_before(tmp_path: Path, fold: str) -> None:
    found = answers(Timeline.from_file(server_trace(tmp_path)))
    assert differences(found, STORED["server.trace.jsonl"]) == []


@pytest.mark.parametrize("name", ["17_thousand_tasks.trace.jsonl", "10_blocking_call.trace.jsonl"])
def test_fed_a_slice_at_a_time_it_answers_as_built_at_once(name: str, fold: str) -> None:
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


def state(value: object) -> object:
    """Everything a model holds, as plain values (arrays as their bytes), to compare two."""
    if isinstance(value, array):
        return value.typecode, value.tobytes()
    if isinstance(value, dict):
        return sorted((repr(key), state(item)) for key, item in value.items())
    if isinstance(value, list | tuple):
        return [state(item) for item in value]
    slots = getattr(type(value), "__slots__", None)
    if type(value).__module__.startswith("loopviz.model.") and slots is not None:
        return [(name, state(getattr(value, name))) for name in slots if name != "moments"]
    if type(value).__module__.startswith("loopviz.model.") and hasattr(value, "__dict__"):
        return state(vars(value))
    return repr(value)


def built(path: Path, monkeypatch: pytest.MonkeyPatch, compiled: bool, **options: int) -> object:
    """The whole state of the model ``from_file`` builds, one way or the other (or its error)."""
    with monkeypatch.context() as patch:
        patch.setattr(timeline_module, "_FOLD", COMPILED if compiled else None)
        try:
            timeline = Timeline.from_file(path, **options)
        except TraceError as exc:
            return str(exc)
    # (``_timing``: which record types were met the slow way, a memo, not the model)
    return state({name: value for name, value in vars(timeline).items() if name != "_timing"})


def lines_of(name: str) -> list[str]:
    return (FIXTURES / name).read_text().splitlines()


def odd_numbers(lines: list[str], rng: random.Random) -> list[str]:
    """A step's, a wake-up's or an idle span's numbers (its tag too) replaced by odd ones,
    written as the recorder writes (no spaces): the compiled fold reads such lines itself."""
    lines = list(lines)
    for _ in range(rng.randrange(1, 4)):
        i = rng.randrange(1, len(lines))
        record = json.loads(lines[i])
        if record[0] not in (3, 4, 5, 7):
            continue
        k = rng.randrange(0, len(record) + 1)
        odd = (-1, 0, 1, 7, 10**9, 10**17, 10**18 - 1, 10**18, -(10**17), 2**63 - 1, 2**63)
        if k == 0:  # a tag that is one only in its low 32 bits
            record[0] += rng.choice((2**32, -(2**32), 2**31))
        elif k == len(record):
            record.append(rng.choice(odd))  # a field too many, or a deadline
        else:
            record[k] = rng.choice((*odd, record[k] + rng.randrange(-5, 6)))
        lines[i] = json.dumps(record, separators=(",", ":"))
    return lines


def variants(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Traces that take every way through the fold, each written to a file."""

    def written(name: str, lines: list[str], end: str = "\n") -> tuple[str, Path]:
        path = tmp_path / f"{name}.trace.jsonl"
        path.write_text("\n".join(lines) + end)
        return name, path

    rng = random.Random(20261203)
    for name in RECORDED:
        yield name, FIXTURES / name
    yield "server", server_trace(tmp_path)
    many = lines_of("17_thousand_tasks.trace.jsonl")
    half = len(many) // 2
    until = json.loads(many[half])[1]
    # --window: the records before ``until`` were dropped, what comes later is kept.
    yield written("windowed", [*many[:half], f"[20,0,{until},0,5,6,7,1]", *many[half:]])
    paused = [*many[:half], f"[20,{until},{until + 10**6},1]", *many[half:]]
    yield written("paused", paused)
    # A child process's records, in sections between Process records.
    child = [line for line in lines_of("gather.trace.jsonl")[1:]]
    process = [*many[:half], '[23,5,1,4242,1,"child"]', *child, '[23,6,0,1,0,"prog"]']
    yield written("child", process + many[half:])
    gather = lines_of("gather.trace.jsonl")
    yield written("cut short", gather, end="")  # no newline at the end
    yield written("cut mid-line", [*gather, gather[-5][:7]], end="")
    yield written("spaces", [line.replace(",", ", ") for line in gather])
    yield written("carriage returns", [line + "\r" for line in gather])
    blanks = [line for one in gather for line in (one, "", " ")]
    yield written("blank lines", blanks)
    yield written("blank lines, cut mid-line", [*blanks, gather[-5][:7]], end="")
    yield written("bad line", [*gather[:40], "[4,1,2", *gather[40:]])
    # The watchdog reports steps that are not in the trace (their records went missing), or
    # that were short after all, while other tasks run.
    reported = list(gather)
    for i in range(len(reported) - 1, 5, -9):
        record = json.loads(reported[i])
        if record[0] in (4, 5):  # a step: reported before it, as running since it began
            since = record[1] + rng.choice((0, 0, -7, 5))
            reported.insert(i, f"[9,{record[1] + 10},{since},{record[2]},0]")
    yield written("reported steps", reported)
    yield written("leading zeros", [*gather[:40], "[4,01,2,3]", *gather[40:]])
    yield written("minus zero", [*gather[:40], "[7,-0,5,1]", *gather[40:]])
    for n in range(150):
        yield written(f"odd numbers {n}", odd_numbers(gather if n % 2 else many[:400], rng))


def test_compiled_and_pure_folds_build_the_same_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if COMPILED is None:
        pytest.skip("the compiled fold is not built here (or LOOPVIZ_PURE_PYTHON is set)")
    refused = 0
    for name, path in variants(tmp_path):
        compiled = built(path, monkeypatch, compiled=True)
        assert compiled == built(path, monkeypatch, compiled=False), name
        refused += isinstance(compiled, str)
    assert 0 < refused < 100  # some odd lines are errors, most are read (or repaired)
    blocking = FIXTURES / "10_blocking_call.trace.jsonl"  # a lower blocking threshold
    compiled = built(blocking, monkeypatch, True, max_block_ns=10**6)
    assert compiled == built(blocking, monkeypatch, False, max_block_ns=10**6)


def test_compiled_and_pure_folds_agree_on_damaged_traces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_damaged_traces import mutants

    if COMPILED is None:
        pytest.skip("the compiled fold is not built here (or LOOPVIZ_PURE_PYTHON is set)")
    for n, how, lines in mutants():
        path = tmp_path / f"m{n}.trace.jsonl"
        path.write_text("\n".join(line.replace(", ", ",") for line in lines) + "\n")
        compiled = built(path, monkeypatch, compiled=True)
        assert compiled == built(path, monkeypatch, compiled=False), (n, how)


def test_the_compiled_sort_by_time_is_pythons() -> None:
    if COMPILED is None:
        pytest.skip("the compiled fold is not built here (or LOOPVIZ_PURE_PYTHON is set)")
    rng = random.Random(5)
    for n in (0, 1, 2, 1000, 50_000):
        for spread in (1, 5, 2**40, 2**64):  # equal times, few, a service's, any at all
            low = -(2**63) if spread == 2**64 else 0
            times = array("q", (low + rng.randrange(spread) for _ in range(n)))
            assert list(COMPILED.order(times)) == sorted(range(n), key=times.__getitem__)


def random_trace(rng: random.Random, count: int) -> list[str]:
    """A trace of ``count`` random records, most of them steps, wake-ups and idle spans, with
    times that mostly go on and sometimes back, odd values among the usual: every case the
    compiled fold folds itself or leaves to Python."""
    header = {
        "format": "loopviz-trace", "version": 5, "loopviz": "x", "python": "3",
        "program": "/p.py", "started": "2024",
        "block_threshold_ns": rng.choice([100_000_000, 1_000_000, 50_000]),
    }  # fmt: skip
    lines = [json.dumps(header), '[0,1,"/p.py"]', '[0,2,"f"]', "[1,1,1,5,2]", "[13,0,1,0]"]
    t, tasks = 10, 0
    for _ in range(count):
        odd = rng.random() < 0.3
        t += (
            rng.choice([0, 1, 10_000, 2_000_000, -50, -3_000_000]) if odd else rng.randrange(50_000)
        )
        t = max(t, 0)
        kind = rng.random()
        if not tasks or kind < 0.05:
            tasks += 1
            lines.append(f"[2,{t},{tasks},{-tasks},2,1,0,0,[]]")
            continue
        task = rng.choice([*range(1, tasks + 1), 999])
        dur = rng.randrange(1, 100_000)
        if rng.random() < 0.2:
            dur = rng.choice([0, 60_000, 2_000_000, 150_000_000, -1])
        if kind < 0.35:
            lines.append(f"[4,{t},{task},{dur}]")
        elif kind < 0.65:
            wait = rng.choice([0, 1, 1, 2, 3, 4, 10, 12, 17, -1])
            detail = rng.choice([0, 1, 7, 2**31, -(2**31) - 5, 10**17])
            site = rng.choice([0, 1, 1, 2**31 + 3, -1])
            timeout = rng.choice([0, 0, 1_000, 5_000_000, 10**17, -5_000_000])
            deadline = "" if timeout == 0 and rng.random() < 0.5 else f",{timeout}"
            lines.append(f"[5,{t},{task},{dur},{wait},{detail},{site}{deadline}]")
        elif kind < 0.85:
            cause = rng.choice([0, 1, 2, 2, 3, 5, 6, 8, 9, 10, 11, -1])
            ref = rng.choice([0, 0, 1, 3, -2])
            lines.append(f"[3,{t},{task},{cause}{'' if ref == 0 else f',{ref}'}]")
        elif kind < 0.93:
            lines.append(f"[7,{t},{dur},-1]")
        elif kind < 0.96:  # the watchdog: a step running since t (or a little before)
            lines.append(f"[9,{t + 100},{t - rng.choice([0, 10])},{task},{rng.choice([0, 1])}]")
        elif kind < 0.98:
            lines.append(f"[6,{t},{task},{max(dur, 0)},0,0]")
        else:  # a loop stopped or running, a pause, a callback
            loop = f"[13,{t},1,{rng.randrange(4)}]"
            lines.append(rng.choice([loop, f"[20,{t},{t + 1000},1]", f"[8,{t},{dur},2]"]))
    return lines


def test_compiled_and_pure_folds_agree_on_random_traces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if COMPILED is None:
        pytest.skip("the compiled fold is not built here (or LOOPVIZ_PURE_PYTHON is set)")
    rng = random.Random(1)
    for n in range(80):
        path = tmp_path / f"r{n}.trace.jsonl"
        path.write_text("\n".join(random_trace(rng, rng.choice([20, 200, 2000]))) + "\n")
        assert built(path, monkeypatch, compiled=True) == built(path, monkeypatch, False), n
