"""The recorded process's memory over a long run that names every task apart.

The program starts tasks in gathers of 200 as fast as it can, each with a name of its own,
for ``--seconds``, recorded as ``loopviz record`` does (``Recording``, the trace to a
temporary file); the recorded process's resident memory is printed every ten seconds. Its
table of interned strings is bounded, so the memory should stay flat after the first
seconds (it grew 2.2 MB/s when every name was kept).

    python benchmarks/bench_recorder_memory.py [--seconds 120]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench_live import PROGRAM, rss_mb

from loopviz.record.process import Recording


def measure(seconds: float) -> None:
    folder = Path(tempfile.mkdtemp())
    program = folder / "names.py"
    program.write_text(PROGRAM)
    trace = folder / "names.trace.jsonl"
    recording = Recording(program, trace, args=[str(seconds)], timeout=seconds + 60)
    recording.start()
    assert recording._proc is not None
    pid, started = recording._proc.pid, time.monotonic()
    print(" time  recorded process MB  trace MB")
    while recording.running:
        time.sleep(10 - (time.monotonic() - started) % 10)
        if recording.running:
            size = trace.stat().st_size / 1e6
            print(f"{time.monotonic() - started:5.0f}  {rss_mb(pid):19.1f}  {size:8.0f}")
    result = recording.wait()
    print(f"{result.events:,} events; {trace.stat().st_size / 1e6:.0f} MB of trace")
    trace.unlink()
    program.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=120.0)
    measure(parser.parse_args().seconds)


if __name__ == "__main__":
    main()
