"""Whether ``record --window`` keeps memory and the trace flat on a long, busy run.

Records a program that runs 100-task gathers flat out (about 150,000 records a second) for
``--seconds`` with ``--window``, and every ``--every`` seconds prints the resident memory of
the recording process and of the recorded one (``/proc``), and the trace file's size. With a
window they stop growing once the first window has passed; ``--window 0`` records it all.

    python benchmarks/bench_window.py [--seconds 60] [--window 10] [--every 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

PROGRAM = """\
    import asyncio
    import sys
    import time


    async def worker(n):
        await asyncio.sleep(0)
        return n


    async def main(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            await asyncio.gather(*(worker(i) for i in range(100)))


    asyncio.run(main(float(sys.argv[1])))
"""


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    kb = [int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")]
    return kb[0] / 1024 if kb else 0.0  # (none once it is a zombie)


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--window", type=float, default=10)
    parser.add_argument("--every", type=float, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        program = Path(folder) / "busy.py"
        program.write_text(textwrap.dedent(PROGRAM))
        trace = Path(folder) / "busy.trace.jsonl"
        window = ["--window", str(args.window)] if args.window else []
        command = [sys.executable, "-m", "loopviz", "record", str(program), "-o", str(trace)]
        command += ["--timeout", "0", *window, "--", str(args.seconds)]
        print(" ".join(command[1:]))
        print(f"{'t (s)':>6} {'recorder MB':>12} {'program MB':>11} {'trace MB':>9}")
        begin = time.monotonic()
        recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = begin + args.seconds + 120
        while recorder.poll() is None and time.monotonic() < deadline:
            time.sleep(args.every)
            program_mb = sum(rss_mb(child) for child in children(recorder.pid))
            size = trace.stat().st_size / 1e6 if trace.exists() else 0
            elapsed = time.monotonic() - begin
            print(f"{elapsed:6.0f} {rss_mb(recorder.pid):12.1f} {program_mb:11.1f} {size:9.1f}")
        recorder.wait(timeout=max(deadline - time.monotonic(), 1))
        print((recorder.stderr.read() if recorder.stderr else b"").decode().strip())


if __name__ == "__main__":
    main()
