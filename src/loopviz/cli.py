"""The ``loopviz`` command: the app with no subcommand; ``record``, ``summary``, ``steps``,
``export``.

This is the one place that parses arguments, prints what a command found and maps errors to
exit codes (``exits``): library modules raise ``LoopvizError`` or return results, and every
error reaches the user as one line starting with ``loopviz:``, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from loopviz import __version__, exits
from loopviz.compiled import PURE_PYTHON
from loopviz.exits import LoopvizError

if TYPE_CHECKING:
    from loopviz.model.timeline import Timeline
    from loopviz.record.program import Program

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


def _timeout(text: str) -> float | None:
    """Seconds, or None for 0: no limit."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 (no limit) or more, not {text}")
    return value or None


PROGRAM_HELP = (
    "PROGRAM is a Python file or a command on PATH that is a Python script (uvicorn, pytest, "
    "hypercorn); -m MODULE runs a module as python -m does. Arguments after -- go to the "
    "program."
)


def _add_program(parser: argparse.ArgumentParser, what: str) -> None:
    """The program to run, as on a ``python`` command line, and how to record it."""
    parser.add_argument("target", nargs="?", metavar="PROGRAM", help=what)
    parser.add_argument("-m", dest="module", metavar="MODULE", help="run a module, as python -m")
    parser.add_argument(
        "--no-uvloop",
        action="store_true",
        help="give a program that asks for uvloop (which loopviz cannot trace) a traced "
        "asyncio loop instead",
    )
    parser.add_argument(
        "--follow-children",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="record the Python processes the program starts too (multiprocessing, a "
        "subprocess of Python, a server's workers), into the same trace, each as a process "
        "of its own (default: on; loopviz says which it could not follow)",
    )


def _add_block_threshold(parser: argparse.ArgumentParser, when: str = "") -> None:
    parser.add_argument(
        "--block-threshold",
        type=_positive,
        default=100.0,
        metavar="MS",
        help=f"{when}a step longer than MS milliseconds blocks the loop (100)",
    )


def _recorder() -> str:
    """Whether recordings use the compiled step path (record/_steps.c, built where a C compiler
    was at install), said without importing the recorder."""
    if importlib.util.find_spec("loopviz.record._steps") is None:
        return "compiled recorder: not built here: pure Python"
    if os.environ.get(PURE_PYTHON):
        return f"compiled recorder: off ({PURE_PYTHON}=1), pure Python"
    return "compiled recorder: in use"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="loopviz",
        usage="loopviz [PATH | -m MODULE] [--timeout S] [--window S] [--no-uvloop] [-- ARGS] "
        "| loopviz COMMAND ...",
        description=(
            "See what the asyncio event loop does. With no command, open the app on PATH: "
            "a folder of scenarios, one program (a file, or a command on PATH that is a "
            "Python script) or a saved trace (default: the bundled scenarios); -m MODULE "
            "runs a module. A program runs until it ends or you stop it (x), unless "
            "--timeout S; arguments after -- go to it. --window S keeps only about the last "
            "S seconds of it, in the trace and in the app (which then holds at most about "
            "three windows of records while it renews its view)."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"loopviz {__version__}; {_recorder()}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", prog="loopviz")

    rec = sub.add_parser(
        "record",
        help="run a program under the recorder and save its trace",
        usage="loopviz record [PROGRAM | -m MODULE] [-o TRACE] [--timeout S] "
        "[--block-threshold MS] [--window S] [--paused | --pausable] [--no-uvloop] "
        "[--no-follow-children] [-- ARGS]",
        description="Run a program under the recorder and save its trace. Its standard "
        "input, output and exit status are its own.",
        epilog=PROGRAM_HELP,
    )
    _add_program(rec, "the program to run")
    rec.add_argument("-o", "--output", help="trace file to write (default: PROGRAM.trace.jsonl)")
    rec.add_argument(
        "--timeout",
        type=_timeout,
        default=None,
        metavar="S",
        help="kill after S seconds (default: never, as the program run alone)",
    )
    _add_block_threshold(rec)
    rec.add_argument(
        "--window",
        type=_positive,
        metavar="S",
        help="keep only about the last S seconds of the run (between S and 1.5 S), in "
        "memory and in the trace: older records are dropped whole, the loop's totals kept",
    )
    pausing = rec.add_mutually_exclusive_group()
    pausing.add_argument(
        "--paused",
        action="store_true",
        help="start with recording paused: SIGUSR1 to loopviz (or to the program) starts it, "
        "and stops it again, for a service that misbehaves only sometimes; the pauses show "
        "as gaps",
    )
    pausing.add_argument(
        "--pausable",
        action="store_true",
        help="record from the start; SIGUSR1 pauses and resumes (a program that handles "
        "SIGUSR1 itself keeps it for its own use)",
    )

    summ = sub.add_parser(
        "summary",
        help="print what a trace (or a program, recorded first) did",
        usage="loopviz summary [TRACE | PROGRAM | -m MODULE] [--json] [--max-block MS] "
        "[--block-threshold MS] [--timeout S] [--no-uvloop] [-- ARGS]",
        epilog=PROGRAM_HELP + " Exit status: 2 for a bad trace or usage; else 4 when "
        "--max-block finds a longer step, whatever the run's own end; else the run's own end "
        "(0, 1 failed, 3 timed out, 130 ended by Ctrl-C).",
    )
    _add_program(summ, "a trace file, or a program to record first")
    summ.add_argument("--json", action="store_true", help="print one JSON object")
    summ.add_argument(
        "--max-block",
        type=_positive,
        metavar="MS",
        help="exit 4 if any step blocked the loop for longer than MS milliseconds (when "
        "recording, steps from MS on are recorded as blocking)",
    )
    _add_block_threshold(summ, "when recording: ")
    summ.add_argument(
        "--timeout",
        type=_timeout,
        default=60.0,
        metavar="S",
        help="when recording: kill after S (60)",
    )

    steps = sub.add_parser(
        "steps",
        help="print the run step by step, each step said in words (a transcript)",
        usage="loopviz steps [TRACE | PROGRAM | -m MODULE] [--json] [--block-threshold MS] "
        "[--timeout S] [--no-uvloop] [-- ARGS]",
        description=(
            "Print every event of a run (of a trace, or of a program recorded first) with a "
            "sentence saying what happened and why. --json prints one object per line with "
            "the loop's state after the step: running task, ready queue, timers, I/O, executor."
        ),
        epilog=PROGRAM_HELP,
    )
    _add_program(steps, "a trace file, or a program to record first")
    steps.add_argument("--json", action="store_true", help="print JSON Lines, one step a line")
    _add_block_threshold(steps, "when recording: ")
    steps.add_argument(
        "--timeout",
        type=_timeout,
        default=60.0,
        metavar="S",
        help="when recording: kill after S (60)",
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


def build_app_parser() -> argparse.ArgumentParser:
    """The app's own command line, ``loopviz [PATH | -m MODULE] ...`` (its help is the
    main parser's: ``loopviz --help``)."""
    parser = _Parser(prog="loopviz", add_help=False)
    parser.add_argument("target", nargs="?")
    parser.add_argument("-m", dest="module")
    parser.add_argument("--timeout", type=_timeout, default=None)
    parser.add_argument("--window", type=_positive, default=None)
    parser.add_argument("--no-uvloop", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Everything after "--" belongs to the recorded program, options included.
    own, program_args = (
        (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    )
    if not own or (own[0] not in COMMANDS and own[0] not in ("-h", "--help", "--version")):
        return _app(build_app_parser().parse_args(own), program_args)
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


def _app(args: argparse.Namespace, program_args: list[str]) -> int:
    from loopviz.app import run_app

    if args.module and args.target:
        return fail(f"either a PATH or -m {args.module}, not both", exits.USAGE)
    try:
        return run_app(
            args.target,
            module=args.module,
            args=program_args,
            timeout=args.timeout,
            no_uvloop=args.no_uvloop,
            window=args.window,
        )
    except LoopvizError as exc:
        return fail(str(exc), exc.code)


def _input_file(path: str, what: str) -> Path:
    """``path`` as a file to read, or the one-line error every command gives for it."""
    file = Path(path)
    if file.is_dir():
        raise LoopvizError(f"{path}: a folder, not {what}")
    if not file.exists():
        raise LoopvizError(f"{path}: no such file")
    return file


def _program(args: argparse.Namespace) -> Program:
    """What to run: ``-m MODULE``, else the file or the command on PATH named."""
    from loopviz.record.program import find_program, module

    if args.module is not None:
        if args.target is not None:
            raise LoopvizError(f"{args.command}: either {args.target} or -m {args.module}")
        return module(args.module)
    if args.target is None:
        wanted = "PROGRAM" if args.command == "record" else "TRACE, PROGRAM"
        raise LoopvizError(
            f"{args.command}: the following arguments are required: {wanted} or -m MODULE "
            "(see --help)"
        )
    return find_program(args.target)


def record_command(args: argparse.Namespace) -> int:
    """``loopviz record``: run a program, save its trace, say where and how it ended."""
    from loopviz.model import words
    from loopviz.record.process import record_program
    from loopviz.trace import is_trace

    program = _program(args)
    if not program.module and is_trace(program.path):
        path = program.path
        raise LoopvizError(f"{path} is a trace, not a program: open it with 'loopviz {path}'")
    output = Path(args.output) if args.output else Path.cwd() / f"{program.stem}.trace.jsonl"
    if not output.parent.is_dir():
        raise LoopvizError(f"cannot write the trace: no such folder: {output.parent}")
    pause = "paused" if args.paused else "pausable" if args.pausable else ""
    if pause:
        say(words.pause_notice(os.getpid(), paused=args.paused))
    try:
        result = record_program(
            program,
            output,
            args=args.args,
            timeout=args.timeout,
            block_threshold_ms=args.block_threshold,
            echo=True,
            stdin=True,
            no_uvloop=args.no_uvloop,
            follow_children=args.follow_children,
            window=args.window,
            pause=pause,
        )
    except OSError as exc:
        raise LoopvizError(f"cannot record {program.name}: {exc.strerror or exc}") from None
    say(words.trace_written(str(output), result.events))
    named = args.module or args.target  # as the user named it
    notes = words.untraced(named, result.loops, result.untraced, result.followed)
    for note in notes:
        say(note)
    if not notes and _never_started_a_loop(result.loops, result.reason, result.status):
        say(words.no_event_loop(named))
    if result.held_open:
        say(words.held_open(named))
    code = _run_code(result.reason, result.status)
    if code != exits.OK:
        how = words.ending(result.reason, result.status, result.error, timeout=args.timeout)
        say(f"{named} {how}")
    return code


def _run_code(reason: int | None, status: int | None) -> int:
    """The exit code a run's own end means, the same for a program recorded now and for a
    saved trace: its own exit status (0, or 1 for any failure), unless it was killed after
    its timeout (3) or ended by the interrupt itself (130; a program that handles Ctrl-C and
    exits 0 gives 0, one whose clean-up fails gives 1, as run alone)."""
    from loopviz.trace import EndReason, ended_by_interrupt

    if reason == EndReason.TIMEOUT:
        return exits.TIMEOUT
    if not status:
        return exits.OK
    if reason == EndReason.INTERRUPTED and ended_by_interrupt(status):
        return exits.INTERRUPTED
    return exits.PROGRAM_FAILED


def _never_started_a_loop(loops: int, reason: int | None, status: int | None) -> bool:
    """A program that ended well without opening an event loop (worth saying: loopviz
    records asyncio, and an empty trace would otherwise puzzle)."""
    from loopviz.trace import EndReason

    return not loops and reason == EndReason.EXITED and status == 0


def summary_command(args: argparse.Namespace) -> int:
    """``loopviz summary``: the table or JSON; exit 4 past ``--max-block``, whatever the
    run's own end (a server stopped by Ctrl-C is gated too)."""
    from loopviz.model import words
    from loopviz.report.summary import render_table, to_json

    timeline = _load(args, args.max_block)
    for warning in timeline.warnings:
        say(warning)
    program = words.program_name(timeline)
    exit = timeline.exit
    if not timeline.untraced and _never_started_a_loop(
        timeline.loops_opened, exit.reason, exit.status
    ):
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
        if offenders:
            code = exits.BLOCKED
    return code


def steps_command(args: argparse.Namespace) -> int:
    """``loopviz steps``: the transcript, as text or JSON Lines."""
    from loopviz.report.transcript import json_lines, lines

    timeline = _load(args)
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


def _load(args: argparse.Namespace, max_block_ms: float | None = None) -> Timeline:
    """The timeline of a trace, or of a program recorded first into a temporary trace. A
    file is known by its content: a trace starts with its header, whatever its name. Steps
    from ``max_block_ms`` on count as blocking: recorded so, or in a trace recorded with a
    higher threshold, found from the steps' recorded lengths. Raises ``LoopvizError``."""
    from loopviz.model.timeline import Timeline
    from loopviz.record.process import record_program
    from loopviz.trace import file_kind

    limit_ns = None if max_block_ms is None else int(max_block_ms * 1e6)
    if args.module is None and args.target is not None:
        path = Path(args.target)
        if path.is_dir():
            raise LoopvizError(f"{args.target}: a folder, not a trace or a program")
        if path.exists() and file_kind(path) == "trace":
            return Timeline.from_file(path, limit_ns)  # never whole in memory
    program = _program(args)
    threshold_ms = args.block_threshold
    if max_block_ms is not None:
        threshold_ms = min(threshold_ms, max_block_ms)
    with tempfile.TemporaryDirectory(prefix="loopviz-") as folder:
        try:
            result = record_program(
                program,
                Path(folder) / f"{program.stem}.trace.jsonl",
                args=args.args,
                timeout=args.timeout,
                block_threshold_ms=threshold_ms,
                no_uvloop=args.no_uvloop,
                follow_children=args.follow_children,
            )
        except OSError as exc:
            raise LoopvizError(f"cannot record {program.name}: {exc.strerror or exc}") from None
        return Timeline.from_file(result.trace_path)
