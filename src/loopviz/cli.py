"""The ``loopviz`` command: the app with no subcommand; ``record``, ``summary``, ``export``.

Each subcommand lives in the module of its idea; this file only parses arguments and maps
errors to exit codes with a one-line message (never a traceback).
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from loopviz import __version__

# Exit codes, documented in the README.
EXIT_OK = 0
EXIT_PROGRAM_FAILED = 1  # the recorded program raised or exited non-zero
EXIT_USAGE = 2  # bad arguments, a file that is missing or not a trace
EXIT_TIMEOUT = 3  # the program was killed after --timeout
EXIT_BLOCKED = 4  # summary --max-block: a step blocked the loop for longer
EXIT_INTERRUPTED = 130

COMMANDS = ("record", "summary", "export")


def fail(message: str, code: int) -> int:
    """Say what went wrong in one line on stderr; return the exit code to use."""
    print(f"loopviz: {message}", file=sys.stderr)
    return code


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line like every other loopviz error."""

    def error(self, message: str) -> NoReturn:
        where = self.prog.removeprefix("loopviz").strip()
        raise SystemExit(fail(f"{where + ': ' if where else ''}{message} (see --help)", EXIT_USAGE))


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="loopviz",
        usage="loopviz [PATH] | loopviz COMMAND ...",
        description=(
            "See what the asyncio event loop does. With no command, open the app on PATH: "
            "a folder of scenarios, one program or a saved trace (default: the bundled "
            "scenarios)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"loopviz {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", prog="loopviz")

    rec = sub.add_parser(
        "record",
        help="run a program under the recorder and save its trace",
        usage="loopviz record PROGRAM [-o TRACE] [--timeout S] [--block-threshold MS] [-- ARGS]",
        epilog="Arguments after -- go to the program.",
    )
    rec.add_argument("program", help="the Python program to run")
    rec.add_argument("-o", "--output", help="trace file to write (default: PROGRAM.trace.jsonl)")
    rec.add_argument("--timeout", type=_positive, default=60.0, help="kill after S seconds (60)")
    rec.add_argument(
        "--block-threshold",
        type=_positive,
        default=100.0,
        metavar="MS",
        help="a step longer than MS milliseconds blocks the loop (100)",
    )

    summ = sub.add_parser("summary", help="print what a trace (or a program, recorded first) did")
    summ.add_argument("target", help="a trace file, or a program to record first")
    summ.add_argument("--json", action="store_true", help="print one JSON object")
    summ.add_argument(
        "--max-block",
        type=_positive,
        metavar="MS",
        help="exit 4 if any step blocked the loop for longer than MS milliseconds",
    )
    summ.add_argument(
        "--timeout", type=_positive, default=60.0, help="when recording: kill after S"
    )

    exp = sub.add_parser("export", help="convert a trace for other tools")
    exp.add_argument("trace", help="a trace file")
    exp.add_argument(
        "--format",
        choices=["chrome", "csv"],
        default="chrome",
        help="chrome: Trace Event JSON for Perfetto / chrome://tracing; csv: one row per interval",
    )
    exp.add_argument("-o", "--output", help="file to write (default, or -: standard output)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or (argv[0] not in COMMANDS and not argv[0].startswith("-")):
        from loopviz.app import run_app

        if len(argv) > 1:
            return fail(f"unexpected arguments after {argv[0]}: {' '.join(argv[1:])}", EXIT_USAGE)
        return run_app(argv[0] if argv else None)
    # Everything after "--" belongs to the recorded program, options included.
    own, program_args = (
        (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    )
    args = build_parser().parse_args(own)
    args.args = program_args
    if args.command == "record":
        from loopviz.process import record_command

        return record_command(args)
    if args.command == "summary":
        from loopviz.summary import summary_command

        return summary_command(args)
    if args.command == "export":
        from loopviz.export import export_command

        return export_command(args)
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
