"""The ``loopviz`` command: the app with no subcommand; ``record``, ``summary``, ``export``.

Each subcommand lives in the module of its idea; this file only parses arguments and maps
errors to exit codes with a one-line message (never a traceback).
"""

from __future__ import annotations

import argparse
import sys

from loopviz import __version__

# Exit codes, documented in the README.
EXIT_OK = 0
EXIT_PROGRAM_FAILED = 1  # the recorded program raised or exited non-zero
EXIT_USAGE = 2  # bad arguments, a file that is missing or not a trace
EXIT_TIMEOUT = 3  # the program was killed after --timeout
EXIT_BLOCKED = 4  # summary --max-block: a step blocked the loop for longer
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="loopviz",
        description="See what the asyncio event loop does. With no command, open the app.",
    )
    parser.add_argument("--version", action="version", version=f"loopviz {__version__}")
    parser.add_argument(
        "path",
        nargs="?",
        help="a folder of scenarios, one program or a saved trace to open in the app",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    rec = sub.add_parser("record", help="run a program under the recorder and save its trace")
    rec.add_argument("program", help="the Python program to run")
    rec.add_argument("-o", "--output", help="trace file to write (default: PROGRAM.trace.jsonl)")
    rec.add_argument("--timeout", type=float, default=60.0, help="kill after S seconds (60)")
    rec.add_argument(
        "--block-threshold",
        type=float,
        default=100.0,
        metavar="MS",
        help="a step longer than MS milliseconds blocks the loop (100)",
    )
    rec.add_argument("args", nargs=argparse.REMAINDER, help="-- then the program's arguments")

    summ = sub.add_parser("summary", help="print what a trace (or a program, recorded first) did")
    summ.add_argument("target", help="a trace file, or a program to record first")
    summ.add_argument("--json", action="store_true", help="print one JSON object")
    summ.add_argument(
        "--max-block",
        type=float,
        metavar="MS",
        help="exit 4 if any step blocked the loop for longer than MS milliseconds",
    )
    summ.add_argument("--timeout", type=float, default=60.0, help="when recording: kill after S")

    exp = sub.add_parser("export", help="convert a trace for other tools")
    exp.add_argument("trace", help="a trace file")
    exp.add_argument(
        "--format",
        choices=["chrome", "csv"],
        default="chrome",
        help="chrome: Trace Event JSON for Perfetto / chrome://tracing; csv: one row per interval",
    )
    exp.add_argument("-o", "--output", help="file to write (default: standard output)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "record":
        from loopviz.process import record_command

        return record_command(args)
    if args.command == "summary":
        from loopviz.summary import summary_command

        return summary_command(args)
    if args.command == "export":
        from loopviz.export import export_command

        return export_command(args)
    from loopviz.app import run_app

    return run_app(args.path)


if __name__ == "__main__":
    sys.exit(main())
