"""``loopviz export``: Trace Event JSON and CSV from a hand-built trace, and bad input."""

from __future__ import annotations

import csv
import io
import json

from trace_builder import MS, S, TraceBuilder

from loopviz import cli, exits
from loopviz.trace import (
    Cause,
    End,
    EndReason,
    Finished,
    Idle,
    Job,
    JobPhase,
    LoopMark,
    LoopPhase,
    Output,
    Ready,
    Stream,
    Wait,
    Waited,
)

# The intervals of the small trace's main task; empty ones (the ready instant before the
# first step) are left out.
MAIN_STATES = ["running", "waiting", "ready", "running", "waiting", "ready", "running"]


def small_trace() -> TraceBuilder:
    """main waits on a job in a thread pool, then sleeps past its deadline, then returns."""
    b = TraceBuilder()
    fetch, worker = b.s("fetch"), b.s("ThreadPoolExecutor-0_0")
    b.add(LoopMark(0, 1, LoopPhase.OPENED))
    b.task(0, 1, "main")
    b.add(
        Ready(0, 1, Cause.START),
        Job(1 * MS, 7, JobPhase.SUBMITTED, 0, fetch, 1),
        Waited(0, 1, 2 * MS, Wait.EXECUTOR, 7, b.site(5)),
        Job(2 * MS, 7, JobPhase.STARTED, worker, fetch, 1),
        Idle(2 * MS, 48 * MS, -1),
        Job(50 * MS, 7, JobPhase.FINISHED, worker, fetch, 1),
        Ready(50 * MS, 1, Cause.EXECUTOR, 7),
        Output(51 * MS, Stream.STDOUT, "fetched"),
        Waited(51 * MS, 1, 1 * MS, Wait.SLEEP, 0, b.site(6), timeout=100 * MS),
        Ready(400 * MS, 1, Cause.TIMER),  # 248 ms late: overdue
        Finished(400 * MS, 1, 1 * MS, 0, b.s("42")),
        LoopMark(402 * MS, 1, LoopPhase.CLOSED),
        End(S // 2, 0, EndReason.EXITED),
    )
    return b


def export(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["export", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_chrome_trace_has_a_thread_per_task_loop_and_worker(tmp_path, capsys):
    trace = small_trace().write(tmp_path / "t.jsonl")
    out_path = tmp_path / "t.json"
    code, out, err = export(capsys, str(trace), "-o", str(out_path))
    assert (code, out, err) == (0, "", "")
    events = json.loads(out_path.read_text())["traceEvents"]
    threads = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert sorted(threads.values()) == ["loop", "task main", "thread ThreadPoolExecutor-0_0"]
    by_thread: dict[str, list[dict]] = {}
    for event in events:
        if event["ph"] in "Xi":
            by_thread.setdefault(threads[event["tid"]], []).append(event)
    main = by_thread["task main"]
    assert [e["cat"] for e in main] == MAIN_STATES
    assert all(e["ph"] == "X" and e["dur"] >= 0 for e in main)
    waiting = main[1]
    assert waiting["name"] == "waiting: fetch() (job 7)"
    assert waiting["args"]["site"].endswith("prog.py:5")
    assert (waiting["ts"], waiting["dur"]) == (2000, 48000)  # microseconds
    overdue = main[5]
    assert overdue["args"]["overdue"] and (overdue["ts"], overdue["dur"]) == (152000, 248000)
    [job] = by_thread["thread ThreadPoolExecutor-0_0"]
    assert (job["name"], job["ts"], job["dur"]) == ("fetch", 2000, 48000)
    loop = by_thread["loop"]
    assert [e["name"] for e in loop if e["ph"] == "X"] == ["busy", "idle", "busy"]
    [line] = [e for e in loop if e["ph"] == "i"]
    assert (line["name"], line["ts"]) == ("fetched", 51000)


def test_csv_has_one_row_per_interval(tmp_path, capsys):
    trace = small_trace().write(tmp_path / "t.jsonl")
    code, out, _ = export(capsys, str(trace), "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == [
        "task_id",
        "task",
        "state",
        "start_s",
        "end_s",
        "detail",
        "file",
        "line",
    ]
    assert [row["state"] for row in rows] == MAIN_STATES
    sleeping = rows[4]
    assert sleeping["detail"] == "sleep 0.1 s" and sleeping["line"] == "6"
    assert (float(sleeping["start_s"]), float(sleeping["end_s"])) == (0.052, 0.152)
    # Contiguous: each interval starts where the previous one ended.
    assert all(rows[i]["end_s"] == rows[i + 1]["start_s"] for i in range(len(rows) - 1))


def test_export_of_a_bad_trace_is_one_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "not.jsonl"
    path.write_text("[1, 2, 3]\n")
    code, out, err = export(capsys, str(path))
    assert code == exits.USAGE and out == ""
    assert err.splitlines() == [f"loopviz: {path}:1: not a loopviz trace"]


def test_export_to_dash_writes_standard_output(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    trace = small_trace().write(tmp_path / "t.jsonl")
    code, out, err = export(capsys, str(trace), "--format", "csv", "-o", "-")
    assert (code, err) == (0, "")
    assert out.splitlines()[0].startswith("task_id,task,state,")
    assert not (tmp_path / "-").exists()


def test_export_to_an_unwritable_place_is_exit_2(tmp_path, capsys):
    trace = small_trace().write(tmp_path / "t.jsonl")
    code, _, err = export(capsys, str(trace), "-o", str(tmp_path / "missing" / "t.json"))
    assert code == exits.USAGE
    [line] = err.splitlines()
    assert line.startswith("loopviz: cannot write ")
