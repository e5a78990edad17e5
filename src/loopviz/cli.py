"""The ``loopviz`` command: the app with no subcommand; ``record``, ``summary``, ``steps``,
``export``.

This is the one place that parses arguments, prints what a command found and maps errors to
exit codes (``exits``): library modules raise ``LoopvizError`` or return results, and every
error reaches the user as one line starting with ``loopviz:``, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from loopviz import __version__, exits
from loopviz.exits import LoopvizError

if TYPE_CHECKING:
    from loopviz.model.timeline import Timeline

COMMANDS = ("record", "summary", "steps", "export")


def say(message: str) -> None:
    """A note or an error for the user, one line on stderr (stdout is the command's result)."""
    print(f"loopviz: {message}", file=sys.stderr)


def fail(message: str, code: int) -> int:
    """Say what went wrong; return the exit code to use."""
    say(message)
    return code


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line like every other loopviz error."""

    def error(self, message: str) -> NoReturn:
        where = self.prog.removeprefix("loopviz").strip()
        raise SystemExit(
            fail(f"{where + ': ' if where else ''}{message} (see --help)", exits.USAGE)
        )


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

    steps = sub.add_parser(
        "steps",
        help="print the run step by step, each step said in words (a transcript)",
        description=(
            "Print every event of a run (of a trace, or of a program recorded first) with a "
            "sentence saying what happened and why. --json prints one object per line with "
            "the loop's state after the step: running task, ready queue, timers, I/O, executor."
        ),
    )
    steps.add_argument("target", help="a trace file, or a program to record first")
    steps.add_argument("--json", action="store_true", help="print JSON Lines, one step a line")
    steps.add_argument(
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
            return fail(f"unexpected arguments after {argv[0]}: {' '.join(argv[1:])}", exits.USAGE)
        try:
            return run_app(argv[0] if argv else None)
        except LoopvizError as exc:
            return fail(str(exc), exc.code)
    # Everything after "--" belongs to the recorded program, options included.
    own, program_args = (
        (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    )
    args = build_parser().parse_args(own)
    args.args = program_args
    command: Callable[[argparse.Namespace], int] = {
        "record": record_command,
        "summary": summary_command,
        "steps": steps_command,
        "export": export_command,
    }[args.command]
    try:
        return command(args)
    except LoopvizError as exc:
        return fail(str(exc), exc.code)
    except BrokenPipeError:  # piped into head: stop quietly, and keep exit from retrying
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return exits.OK


def _input_file(path: str, what: str) -> Path:
    """``path`` as a file to read, or the one-line error every command gives for it."""
    file = Path(path)
    if file.is_dir():
        raise LoopvizError(f"{path}: a folder, not {what}")
    if not file.exists():
        raise LoopvizError(f"{path}: no such file")
    return file


def record_command(args: argparse.Namespace) -> int:
    """``loopviz record``: run a program, save its trace, say where and how it ended."""
    from loopviz.model import words
    from loopviz.record.process import record_program
    from loopviz.trace import is_trace

    program = _input_file(args.program, "a program")
    if is_trace(program):
        raise LoopvizError(f"{program} is a trace, not a program: open it with 'loopviz {program}'")
    output = Path(args.output) if args.output else Path.cwd() / f"{program.stem}.trace.jsonl"
    if not output.parent.is_dir():
        raise LoopvizError(f"cannot write the trace: no such folder: {output.parent}")
    try:
        result = record_program(
            program,
            output,
            args=args.args,
            timeout=args.timeout,
            block_threshold_ms=args.block_threshold,
            echo=True,
        )
    except OSError as exc:
        raise LoopvizError(f"cannot record {program}: {exc.strerror or exc}") from None
    say(words.trace_written(str(output), result.events))
    if _never_started_a_loop(result.loops, result.reason, result.status):
        say(words.no_event_loop(str(program)))
    if result.held_open:
        say(words.held_open(str(program)))
    code = _run_code(result.reason, result.status)
    if code != exits.OK:
        how = words.ending(result.reason, result.status, result.error, timeout=args.timeout)
        say(f"{program} {how}")
    return code


def _run_code(reason: int | None, status: int | None) -> int:
    """The exit code a run's own end means, the same for a program recorded now and for a
    saved trace."""
    from loopviz.trace import EndReason

    if reason == EndReason.TIMEOUT:
        return exits.TIMEOUT
    if reason == EndReason.INTERRUPTED:
        return exits.INTERRUPTED
    return exits.PROGRAM_FAILED if status else exits.OK


def _never_started_a_loop(loops: int, reason: int | None, status: int | None) -> bool:
    """A program that ended well without opening an event loop (worth saying: loopviz
    records asyncio, and an empty trace would otherwise puzzle)."""
    from loopviz.trace import EndReason

    return not loops and reason == EndReason.EXITED and status == 0


def summary_command(args: argparse.Namespace) -> int:
    """``loopviz summary``: the table or JSON; exit 4 past ``--max-block``."""
    from loopviz.model import words
    from loopviz.report.summary import render_table, to_json

    timeline = _load(args.target, args.timeout)
    for warning in timeline.warnings:
        say(warning)
    program = Path(timeline.header.program).name if timeline.header else args.target
    exit = timeline.exit
    if _never_started_a_loop(timeline.loops_opened, exit.reason, exit.status):
        say(words.no_event_loop(program))
    if args.json:
        json.dump(to_json(timeline), sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_table(timeline))
    code = _run_code(exit.reason, exit.status) if timeline.finished else exits.OK
    if code != exits.OK:
        say(f"{program} {words.program_end(timeline)}")
    if args.max_block is not None:
        limit = args.max_block * 1e6
        offenders = [step for step in timeline.blocking if step.duration > limit]
        for step in offenders:
            say(f"over --max-block {args.max_block:g} ms: {words.blocked(timeline, step)}")
        if offenders and code == exits.OK:
            code = exits.BLOCKED
    return code


def steps_command(args: argparse.Namespace) -> int:
    """``loopviz steps``: the transcript, as text or JSON Lines."""
    from loopviz.report.transcript import json_lines, lines

    timeline = _load(args.target, args.timeout)
    for warning in timeline.warnings:
        say(warning)
    write = sys.stdout.write
    if args.json:
        for step in json_lines(timeline):
            write(json.dumps(step, ensure_ascii=False) + "\n")
    else:
        for line in lines(timeline):
            write(line + "\n")
    return exits.OK


def export_command(args: argparse.Namespace) -> int:
    """``loopviz export``: a trace as Chrome trace events or CSV, to a file or stdout."""
    from loopviz.model.timeline import Timeline
    from loopviz.report.export import write_chrome, write_csv

    timeline = Timeline.from_file(_input_file(args.trace, "a trace"))
    for warning in timeline.warnings:
        say(warning)
    write: Callable[[Timeline, TextIO], None] = (
        write_chrome if args.format == "chrome" else write_csv
    )
    with ExitStack() as stack:
        out: TextIO = sys.stdout
        if args.output and args.output != "-":
            try:
                out = stack.enter_context(open(args.output, "w", encoding="utf-8", newline=""))
            except OSError as exc:
                raise LoopvizError(f"cannot write {args.output}: {exc.strerror or exc}") from None
        write(timeline, out)
        out.flush()
    return exits.OK


def _load(target: str, timeout: float | None) -> Timeline:
    """The timeline of a trace, or of a program recorded first into a temporary trace. A
    file is known by its content: a trace starts with its header, whatever its name.
    Raises ``LoopvizError``."""
    from loopviz.model.timeline import Timeline
    from loopviz.record.process import record_program
    from loopviz.trace import file_kind

    path = _input_file(target, "a trace or a program")
    if file_kind(path) == "trace":
        return Timeline.from_file(path)

    with tempfile.TemporaryDirectory(prefix="loopviz-") as folder:
        try:
            result = record_program(
                path, Path(folder) / f"{path.stem}.trace.jsonl", timeout=timeout
            )
        except OSError as exc:
            raise LoopvizError(f"cannot record {target}: {exc.strerror or exc}") from None
        return Timeline.from_file(result.trace_path)
