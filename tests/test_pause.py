"""``record --paused``: SIGUSR1 starts and stops recording; the pauses are gaps, and a task
made before recording started is known when it runs. A real program, real signals."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from conftest import write_program

from loopviz.model import words
from loopviz.model.facts import State
from loopviz.model.timeline import Timeline
from loopviz.report.summary import render_table
from loopviz.trace import Gap, GapReason, read_trace

SERVICE = """\
    import asyncio
    import os
    import signal
    import sys


    async def early(ready):
        await ready.wait()
        for _ in range(3):
            await asyncio.sleep(0.01)


    async def main():
        ready = asyncio.Event()
        task = asyncio.create_task(early(ready), name="early")
        await asyncio.sleep(0.01)
        print("waiting", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.readline)  # the test resumes recording
        ready.set()
        await task
        late = asyncio.create_task(asyncio.sleep(0.02), name="late")
        await asyncio.sleep(0)
        os.kill(os.getpid(), signal.SIGUSR1)  # stop recording again
        await late  # it ends unseen
        for _ in range(5):
            await asyncio.sleep(0.01)
        print("done", flush=True)


    asyncio.run(main())
"""


def _wait_until(check, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"gave up after {timeout} s waiting for {what}"
        time.sleep(0.02)


def test_sigusr1_starts_and_stops_a_paused_recording(tmp_path):
    program = write_program(tmp_path, SERVICE)
    trace = tmp_path / "service.trace.jsonl"
    command = [sys.executable, "-m", "loopviz", "record", str(program), "-o", str(trace)]
    recorder = subprocess.Popen(
        [*command, "--paused"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert recorder.stdout is not None and recorder.stdin is not None
        assert recorder.stdout.readline() == "waiting\n"
        recorder.send_signal(signal.SIGUSR1)  # to loopviz: passed on to the program
        _wait_until(lambda: b"[20," in trace.read_bytes(), "recording to resume")
        recorder.stdin.write("go\n")
        recorder.stdin.close()
        out = recorder.stdout.read()
        assert recorder.wait(timeout=30) == 0
    finally:
        recorder.kill()
    assert out == "done\n"  # the program's own output, unchanged
    gaps = [r for r in read_trace(trace).records if isinstance(r, Gap)]
    assert [gap.reason for gap in gaps] == [GapReason.PAUSED, GapReason.PAUSED]
    first, second = gaps
    assert first.t < first.until <= second.t < second.until
    timeline = Timeline.from_file(trace)
    assert timeline.pauses == [(first.t, first.until), (second.t, second.until)]
    # Neither busy nor idle while paused: drawn as no loop.
    assert timeline.loop_at((first.t + first.until) // 2)[0] is False
    assert not timeline.loop_spans(first.t + 1, first.until - 1)
    busy, idle = timeline.loop_totals()
    assert busy + idle <= second.t - first.until
    # Made before recording started, the task is known by its name when it runs.
    early = next(info for info in timeline.tasks if info.name == "early")
    assert early.coro == "early"
    ran = [i for i in timeline.intervals(early.id) if i.state is State.RUNNING]
    assert ran and ran[0].start >= first.until
    assert words.paused(timeline.pauses) in render_table(timeline)
    # A task that ended while paused ends as the pause does, not "never finished".
    late = next(info for info in timeline.tasks if info.name == "late")
    assert late.ended == second.until and late.outcome is not None
