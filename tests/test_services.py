"""Real services recorded as people run them: uvicorn (``uvicorn.run(app)`` with default
settings, and the ``uvicorn`` command found on PATH), hypercorn (whose worker runs in a child
process), uvloop, and the CI gate on a server stopped with Ctrl-C. Each server is asked by a
client in the test on 127.0.0.1 (an ephemeral port), then stopped with SIGINT."""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import pytest
from conftest import line_of, open_run, write_program

from loopviz import cli, exits
from loopviz.app.app import LoopvizApp
from loopviz.app.target import resolve
from loopviz.model import words
from loopviz.model.timeline import Timeline
from loopviz.trace import End, EndReason, read_trace

LOOPVIZ = [sys.executable, "-m", "loopviz"]
HAS_UVLOOP = importlib.util.find_spec("uvloop") is not None
# uvicorn asks for uvloop when it is installed: then a traced run needs --no-uvloop.
TRACED = ["--no-uvloop"] if HAS_UVLOOP else []
# The console scripts of the packages this Python has (uvicorn, hypercorn) come first.
ENV = os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
SERVING = re.compile(r"http://127\.0\.0\.1:(\d+)")

APP = """\
import asyncio, time


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/block":
        time.sleep(0.2)  # blocks the loop 200 ms
    else:
        await asyncio.sleep(0.01)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, port=0)
"""


def serve(
    command: Sequence[str],
    folder: Path,
    paths: Sequence[str],
    timeout: float = 30,
    ready: int = 0,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in ``folder`` until it says where it serves (and, given ``ready``,
    that so many workers started up), GET each of ``paths`` there, then stop it with SIGINT
    as Ctrl-C would. Its output (stdout and stderr) and exit status; every wait has a
    deadline."""
    proc = subprocess.Popen(
        command,
        cwd=folder,
        env=ENV,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        port = None
        started = 0
        while port is None or started < ready:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            if line is None:
                pytest.fail(f"{command} ended before serving:\n{''.join(seen)}")
            seen.append(line)
            found = SERVING.search(line)
            port = int(found.group(1)) if found else port
            started += "Application startup complete" in line
        for path in paths:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as reply:
                assert reply.read() in (b"hello", b"ok")
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout)
    except (queue.Empty, subprocess.TimeoutExpired):
        pytest.fail(f"{command} did not serve or stop in {timeout} s:\n{''.join(seen)}")
    except OSError as error:  # refused, reset: say what the service had printed
        pytest.fail(f"{command} did not answer ({error}):\n{''.join(seen)}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    reader.join(10)
    while (line := lines.get_nowait() if not lines.empty() else None) is not None:
        seen.append(line)
    return subprocess.CompletedProcess(list(command), proc.returncode, "".join(seen), "")


def request_tasks(trace: Path) -> list[str]:
    """The coroutines of the tasks uvicorn ran a request in."""
    tasks = Timeline.from_file(trace).tasks
    return [info.coro for info in tasks if info.coro.endswith("run_asgi")]


@pytest.fixture(scope="module")
def app_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("uvicorn")  # a test extra
    folder = tmp_path_factory.mktemp("service")
    write_program(folder, APP, "main.py")
    return folder


@pytest.fixture(scope="module")
def uvicorn_run(app_folder: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``python main.py`` calling ``uvicorn.run(app)`` with default settings, recorded and
    asked three times (once on a route that blocks 200 ms)."""
    trace = app_folder / "run.trace.jsonl"
    command = [*LOOPVIZ, "record", "main.py", "-o", str(trace), *TRACED]
    return serve(command, app_folder, ["/", "/", "/block"]), trace


def test_uvicorn_run_with_default_settings_is_traced(
    uvicorn_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    done, trace = uvicorn_run
    assert done.returncode == 0, done.stdout  # uvicorn handles Ctrl-C and exits 0
    assert len(request_tasks(trace)) == 3
    assert "never started" not in done.stdout
    if HAS_UVLOOP:
        run_line = line_of(trace.parent / "main.py", "uvicorn.run(app")
        assert (
            f"loopviz: uvicorn asked for uvloop at main.py:{run_line}; --no-uvloop gave it a "
            "traced asyncio loop instead\n" in done.stdout
        )
    end = read_trace(trace).records[-1]
    assert isinstance(end, End) and (end.status, end.reason) == (0, EndReason.INTERRUPTED)


def test_the_gate_fires_on_a_server_stopped_with_ctrl_c(
    uvicorn_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, trace = uvicorn_run
    assert cli.main(["summary", str(trace)]) == exits.OK
    assert cli.main(["summary", str(trace), "--max-block", "100"]) == exits.BLOCKED
    assert cli.main(["summary", str(trace), "--max-block", "300"]) == exits.OK


def test_the_uvicorn_command_found_on_path_is_traced(app_folder: Path) -> None:
    trace = app_folder / "command.trace.jsonl"
    command = [*LOOPVIZ, "record", "uvicorn", "-o", str(trace), *TRACED]
    done = serve([*command, "--", "main:app", "--port", "0"], app_folder, ["/", "/"])
    assert done.returncode == 0, done.stdout
    assert len(request_tasks(trace)) == 2
    header = read_trace(trace).header
    assert Path(header.program).name == "uvicorn" and header.argv == ["main:app", "--port", "0"]


@pytest.mark.skipif(not HAS_UVLOOP, reason="uvloop is not installed (pip install uvloop)")
def test_uvloop_is_named_with_who_asked_for_it_and_the_way_out(app_folder: Path) -> None:
    trace = app_folder / "uvloop.trace.jsonl"
    command = [*LOOPVIZ, "record", "uvicorn", "-o", str(trace), "--", "main:app", "--port", "0"]
    done = serve(command, app_folder, ["/"])
    assert done.returncode == 0, done.stdout
    (notice,) = [line for line in done.stdout.splitlines() if "asked for uvloop" in line]
    # No '(created from uvicorn:8)': uvicorn made it, none of the program's own code on the
    # way, and the console script's stub (bin/uvicorn) is uvicorn's, not the program's.
    assert notice == (
        "loopviz: uvicorn asked for uvloop, which loopviz cannot trace: its event loop is not"
        " in this trace; record with --no-uvloop to give it a traced asyncio loop instead"
    )
    assert "never started" not in done.stdout
    assert Timeline.from_file(trace).tasks == []
    # The summary does not call the loop's time "no loop running": it names the loop.
    text = subprocess.run(
        [*LOOPVIZ, "summary", str(trace)], capture_output=True, text=True, timeout=60
    )
    assert text.stdout.startswith("uvicorn: ")
    assert "no loop running" not in text.stdout
    assert re.search(
        r"\n  no traced loop +[\d.]+ m?s \(\d+%\): the program ran uvloop.Loop, which loopviz "
        r"cannot trace \(see Warnings\)\n",
        text.stdout,
    ), text.stdout
    summary = json.loads(
        subprocess.run(
            [*LOOPVIZ, "summary", str(trace), "--json"], capture_output=True, timeout=60
        ).stdout
    )
    assert summary["untraced_loops"] == ["uvloop.Loop"]


def test_hypercorn_s_worker_process_is_followed_and_traced(app_folder: Path) -> None:
    """The hypercorn command runs its server in a worker process even for one worker."""
    pytest.importorskip("hypercorn")  # a test extra
    trace = app_folder / "hypercorn.trace.jsonl"
    command = [*LOOPVIZ, "record", "hypercorn", "-o", str(trace), "--"]
    done = serve([*command, "main:app", "--bind", "127.0.0.1:0"], app_folder, ["/", "/"])
    assert done.returncode == 0, done.stdout
    assert "not follow" not in done.stdout and "never started" not in done.stdout
    timeline = Timeline.from_file(trace)
    workers = [p for p in timeline.processes if p.loops]
    assert len(workers) == 1 and workers[0].proc > 0, timeline.processes
    (worker,) = workers
    assert f"[{worker.pid}]" in done.stdout  # the worker logs its pid: the same process
    handlers = [info for info in timeline.tasks if info.handler == "app"]
    assert len(handlers) == 2 and {info.process for info in handlers} == {worker.proc}
    # hypercorn's tasks are hypercorn's, though its modules are in a folder named asyncio.
    hypercorn = [info for info in timeline.tasks if "/hypercorn/asyncio/" in info.coro_file]
    assert hypercorn and not any(info.internal for info in hypercorn)
    assert not any(words.label(info).startswith("asyncio:") for info in hypercorn)
    (worker_serve,) = [info for info in hypercorn if info.coro == "worker_serve"]
    assert words.created_by(timeline, worker_serve) == "hypercorn"


def test_uvicorn_s_two_workers_are_followed_and_serve_requests(app_folder: Path) -> None:
    trace = app_folder / "workers.trace.jsonl"
    command = [*LOOPVIZ, "record", "uvicorn", "-o", str(trace), *TRACED, "--"]
    arguments = ["main:app", "--port", "0", "--workers", "2"]
    # Both workers must be up before the requests: uvicorn says so for each.
    done = serve([*command, *arguments], app_folder, ["/"] * 6, ready=2)
    assert done.returncode == 0, done.stdout
    timeline = Timeline.from_file(trace)
    workers = [p for p in timeline.processes if p.loops]
    assert len(workers) == 2, timeline.processes
    supervisor = timeline.processes[0]
    assert supervisor.loops == 0 and {p.ppid for p in workers} == {supervisor.pid}
    requests = [info for info in timeline.tasks if info.coro.endswith("run_asgi")]
    assert len(requests) == 6, (timeline.processes, done.stdout)
    assert {info.process for info in requests} <= {p.proc for p in workers}
    assert "never started" not in done.stdout
    if HAS_UVLOOP:  # both workers asked for it: said once
        assert done.stdout.count("asked for uvloop") == 1, done.stdout


def test_a_request_task_is_named_by_the_handler_it_runs(
    uvicorn_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    """uvicorn's protocol creates a request task outside any task, running its own
    ``run_asgi``: the task is labelled by the program's function it runs, ``app``, and
    said to be created by uvicorn."""
    _, trace = uvicorn_run
    timeline = Timeline.from_file(trace)
    requests = [info for info in timeline.tasks if info.coro.endswith("run_asgi")]
    assert [info.handler for info in requests] == ["app"] * 3
    assert {words.label(info) for info in requests} == {"app"}
    assert {words.created_by(timeline, info) for info in requests} == {"uvicorn"}


SERVER = """\
import asyncio, time


async def handle(reader, writer):
    await reader.readline()
    time.sleep(0.2)  # blocks the loop 200 ms
    writer.write(b"HTTP/1.0 200 OK\\r\\n\\r\\nok")
    await writer.drain()
    writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(f"serving on http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


asyncio.run(main())
"""


def test_a_server_ended_by_ctrl_c_exits_130_and_4_past_max_block(tmp_path: Path) -> None:
    write_program(tmp_path, SERVER, "server.py")
    trace = tmp_path / "server.trace.jsonl"
    command = [*LOOPVIZ, "record", "server.py", "-o", str(trace)]
    done = serve(command, tmp_path, ["/"])
    assert done.returncode == exits.INTERRUPTED  # the interrupt ended it, as plain Python
    assert cli.main(["summary", str(trace)]) == exits.INTERRUPTED
    assert cli.main(["summary", str(trace), "--max-block", "100"]) == exits.BLOCKED


async def test_the_app_shows_request_tasks_among_the_program_s_lanes(
    uvicorn_run: tuple[subprocess.CompletedProcess[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn's request tasks run the program's ``app``: they have lanes of their own,
    labelled ``app``, not folded away with asyncio's and libraries' tasks."""
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    _, trace = uvicorn_run
    app = LoopvizApp(resolve(trace))
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_run(pilot)
        timeline = screen.timeline
        assert timeline is not None
        requests = [info.id for info in timeline.tasks if info.handler == "app"]
        rows = {row.key: row for row in screen.view._rows if row.kind == "task"}
        assert len(requests) == 3 and [rows[task].label for task in requests] == ["app"] * 3
