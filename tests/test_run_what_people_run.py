"""Recording what people run, as they run it: a module (``-m``), a console script found on
PATH, a program reading its standard input, a program stopped with Ctrl-C (its own exit
status kept), the CI gate on a program recorded on the spot, and the app's command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_record, wait_for, write_program

from loopviz import cli, exits
from loopviz.app.app import LoopvizApp
from loopviz.app.screens.run import RunScreen
from loopviz.app.target import Run, Target
from loopviz.model.timeline import Timeline
from loopviz.record.code import is_console_script
from loopviz.trace import End, EndReason, read_trace

LOOPVIZ = [sys.executable, "-m", "loopviz"]

MAIN = """\
import asyncio, sys

async def main():
    await asyncio.create_task(asyncio.sleep(0.01), name="nap")
    print("args", sys.argv[1:])

asyncio.run(main())
"""


def test_record_a_module_as_python_m_runs_it(tmp_path: Path) -> None:
    package = tmp_path / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    main = write_program(package, MAIN, "__main__.py")
    trace = tmp_path / "m.trace.jsonl"
    command = [*LOOPVIZ, "record", "-m", "app", "-o", str(trace), "--", "a", "-b"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "args ['a', '-b']\n"
    timeline = Timeline.from_file(trace)
    assert timeline.header is not None and timeline.header.program == str(main)
    assert "nap" in {info.name for info in timeline.tasks}
    summary = subprocess.run(
        [*LOOPVIZ, "summary", str(trace)], capture_output=True, text=True, timeout=60
    )
    assert summary.stdout.startswith("app: exited, status 0\n")  # as named: not __main__.py
    missing = [*LOOPVIZ, "record", "-m", "no_such_module", "-o", str(trace)]
    gone = subprocess.run(missing, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert gone.returncode == 1  # as python -m says it
    assert f"{sys.executable}: No module named no_such_module\n" in gone.stderr


def test_a_console_script_on_path_is_recorded_and_summarised(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = write_program(bin_dir, f"#!{sys.executable}\n{MAIN}", "greet")
    script.chmod(0o755)
    not_python = write_program(bin_dir, "#!/bin/sh\necho hi\n", "shell-thing")
    not_python.chmod(0o755)
    env = os.environ | {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    trace = tmp_path / "greet.trace.jsonl"
    command = [*LOOPVIZ, "record", "greet", "-o", str(trace), "--", "x"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "args ['x']\n"
    assert "nap" in {info.name for info in Timeline.from_file(trace).tasks}
    summary = subprocess.run(
        [*LOOPVIZ, "summary", str(script)], capture_output=True, text=True, timeout=60, env=env
    )
    assert summary.returncode == 0, summary.stderr
    assert summary.stdout.startswith("greet: exited, status 0\n")
    refused = subprocess.run(
        [*LOOPVIZ, "record", "shell-thing"], capture_output=True, text=True, timeout=60, env=env
    )
    assert refused.returncode == 2
    assert refused.stderr == f"loopviz: shell-thing: {not_python} is not a Python program\n"


def test_standard_input_reaches_the_program(tmp_path: Path) -> None:
    program = write_program(
        tmp_path,
        """
        import asyncio

        async def main():
            line = await asyncio.to_thread(input)
            print("read", line)

        asyncio.run(main())
        """,
    )
    command = [*LOOPVIZ, "record", str(program), "-o", str(tmp_path / "t.trace.jsonl")]
    done = subprocess.run(command, input="x\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "read x\n"


CTRL_C = """\
import asyncio, sys

async def main():
    print("ready", flush=True)
    try:
        await asyncio.sleep(30)
    finally:
        if sys.argv[1] == "fail":
            raise RuntimeError("clean-up failed")

try:
    asyncio.run(main())
except KeyboardInterrupt:
    print("stopped")
"""


@pytest.mark.parametrize(("how", "status"), [("clean", 0), ("fail", 1)])
def test_ctrl_c_keeps_the_programs_own_exit_status(tmp_path: Path, how: str, status: int) -> None:
    """A program that handles Ctrl-C and exits 0 is 0; one whose clean-up then fails is 1:
    both as the program run alone, and the trace says it was interrupted."""
    program = write_program(tmp_path, CTRL_C)
    trace = tmp_path / "t.trace.jsonl"

    def interrupted(command: list[str]) -> subprocess.CompletedProcess[str]:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        return subprocess.CompletedProcess(command, proc.returncode, out, err)

    plain = interrupted([sys.executable, str(program), how])
    recorded = interrupted([*LOOPVIZ, "record", str(program), "-o", str(trace), "--", how])
    assert plain.returncode == recorded.returncode == status
    end = read_trace(trace).records[-1]
    assert isinstance(end, End) and (end.status, end.reason) == (status, EndReason.INTERRUPTED)
    if how == "fail":
        assert recorded.stderr.splitlines()[-1] == (
            f"loopviz: {program} was interrupted (stopped by the user), then failed: "
            "RuntimeError: clean-up failed"
        )
        summary = subprocess.run(
            [*LOOPVIZ, "summary", str(trace)], capture_output=True, text=True, timeout=60
        )
        assert summary.returncode == 1


def test_summary_of_a_program_gates_a_step_below_the_default_threshold(tmp_path: Path) -> None:
    """``summary prog.py --max-block 50`` records with a 50 ms threshold: a 60 ms step gates."""
    program = write_program(
        tmp_path,
        """
        import asyncio, time

        async def main():
            time.sleep(0.06)  # blocks 60 ms

        asyncio.run(main())
        """,
    )
    done = subprocess.run(
        [*LOOPVIZ, "summary", str(program), "--max-block", "50"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == exits.BLOCKED
    (line,) = done.stderr.splitlines()
    assert line.startswith("loopviz: over --max-block 50 ms: task main() blocked the loop 6")
    assert line.endswith(" ms at prog.py:5")


def test_max_block_reads_a_saved_trace_below_its_threshold(tmp_path: Path) -> None:
    """A trace recorded at 100 ms still holds each step's length: --max-block 50 finds a
    60 ms step in it; without --max-block the summary does not call it blocking."""
    program = write_program(
        tmp_path, "import asyncio, time\n\nasync def main():\n    time.sleep(0.06)\n\n"
        "asyncio.run(main())\n"
    )  # fmt: skip
    done, trace = run_record(program)
    assert done.returncode == 0
    assert cli.main(["summary", str(trace)]) == exits.OK
    assert cli.main(["summary", str(trace), "--max-block", "50"]) == exits.BLOCKED


@pytest.mark.parametrize("as_module", [False, True])
async def test_the_app_runs_a_program_with_its_arguments_and_no_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_module: bool
) -> None:
    """``loopviz prog.py -- a b`` and ``loopviz -m prog -- a b``: the arguments reach the
    program; it runs with no timeout unless one is asked for."""
    program = write_program(tmp_path, MAIN)
    monkeypatch.chdir(tmp_path)
    run = Run(args=("a", "b"))
    if as_module:
        target = Target("program", tmp_path / "prog", module="prog", run=run)
    else:
        target = Target("program", program, run=run)
    app = LoopvizApp(target)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunScreen)

        def ended() -> bool:
            return screen.timeline is not None and screen.timeline.finished

        await wait_for(pilot, ended, "the run to end", timeout=30)
        assert screen.recording is not None and screen.recording.timeout is None
        timeline = screen.timeline
        assert timeline is not None and timeline.exit.status == 0
        assert timeline.output_until(timeline.end)[-1][2] == "args ['a', 'b']"


# --- a package's console script, or its __main__, is not the program's own code ----------------

# pip's console script, exactly as pip writes it (bin/pytest): the program run, but none of its
# code is the user's.
PIP_STUB = """\
#!{python}
# -*- coding: utf-8 -*-
import re
import sys
from tinyserve import main
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""

# An installed runner, as uvicorn or pytest is: it imports the user's module and runs it.
TINYSERVE = """\
import asyncio, importlib, os, sys

async def serve(app):
    await app()

def run(name):
    sys.path.insert(0, os.getcwd())
    asyncio.run(serve(importlib.import_module(name).app))
    return 0

def main():
    return run(sys.argv[1])
"""

APP = """\
import asyncio

async def nap():
    await asyncio.sleep(0.001)

async def app():
    await asyncio.create_task(nap(), name="nap")
"""


def _served(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """A runner installed in a site-packages folder with its pip stub, the user's app in a
    project folder: the stub, the project and an environment that finds the runner."""
    site = tmp_path / "venv" / "lib" / "site-packages"
    (site / "tinyserve").mkdir(parents=True)
    write_program(site / "tinyserve", TINYSERVE, "__init__.py")
    write_program(site / "tinyserve", "import sys\nfrom tinyserve import main\nsys.exit(main())\n")
    (site / "tinyserve" / "prog.py").rename(site / "tinyserve" / "__main__.py")
    (tmp_path / "venv" / "bin").mkdir()
    stub = write_program(tmp_path / "venv" / "bin", PIP_STUB.format(python=sys.executable), "serve")
    stub.chmod(0o755)
    project = tmp_path / "project"
    project.mkdir()
    write_program(project, APP, "app.py")
    return stub, project, os.environ | {"PYTHONPATH": str(site)}


def _sites(trace: Path) -> dict[str, tuple[str, int]]:
    """Where each task was created, by its name as the summary says it."""
    timeline = Timeline.from_file(trace)
    return {info.coro: (info.created_file, info.created_line) for info in timeline.tasks}


@pytest.mark.parametrize("how", ["stub", "-m"])
def test_an_installed_runner_s_stub_or_main_is_not_where_the_program_made_its_tasks(
    tmp_path: Path, how: str
) -> None:
    """``loopviz record serve`` (a pip stub) and ``loopviz record -m tinyserve``: the
    runner's task is made by the runner (no site of the program's own), the app's at the
    app's line; no sentence names the stub or the runner's ``__main__.py`` as the program's."""
    stub, project, env = _served(tmp_path)
    trace = tmp_path / "t.trace.jsonl"
    program = [str(stub)] if how == "stub" else ["-m", "tinyserve"]
    command = [*LOOPVIZ, "record", *program, "-o", str(trace), "--", "app"]
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    sites = _sites(trace)
    assert sites["serve"] == ("", 0)  # asyncio.run in the runner: nothing of the program's
    assert sites["nap"] == (str(project / "app.py"), 7)
    steps = subprocess.run(
        [*LOOPVIZ, "steps", str(trace)], capture_output=True, text=True, timeout=60
    ).stdout
    # The runner's task runs the app: named for it (as uvicorn's is), made by the runner.
    assert "The program creates task app; it is next to run." in steps
    assert "app creates task nap at app.py:7; it is next to run." in steps
    assert "serve:" not in steps
    assert "__main__.py" not in steps
    summary = subprocess.run(
        [*LOOPVIZ, "summary", str(trace)], capture_output=True, text=True, timeout=60
    ).stdout
    assert summary.startswith(f"{'serve' if how == 'stub' else 'tinyserve'}: exited, status 0\n")
    rows = [line.split()[:3] for line in summary.splitlines()[4:6]]
    assert rows == [["app", "serve", "tinyserve"], ["nap", "nap", "app"]]


def test_a_program_the_user_wrote_that_calls_a_runner_is_still_their_own(tmp_path: Path) -> None:
    """Ending as a stub does (``sys.exit(main())`` of an imported ``main``) does not make the
    user's own file a library's: without the stub's ``sys.argv[0]`` fix-up it is theirs."""
    _stub, project, env = _served(tmp_path)
    script = write_program(
        project,
        "import sys\nfrom tinyserve import main\nif __name__ == '__main__':\n"
        "    sys.exit(main())\n",
        "serve_app.py",
    )
    trace = tmp_path / "t.trace.jsonl"
    command = [*LOOPVIZ, "record", str(script), "-o", str(trace), "--", "app"]
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert _sites(trace)["serve"] == (str(script), 4)


PYTEST_ASYNC_TEST = """\
import asyncio

import pytest

async def nap():
    await asyncio.sleep(0.001)

@pytest.mark.asyncio
async def test_nap():
    await asyncio.create_task(nap())
"""


@pytest.mark.parametrize("how", ["stub", "-m"])
def test_a_test_run_by_pytest_is_created_by_pytest_not_at_its_stub(
    tmp_path: Path, how: str
) -> None:
    """``loopviz steps pytest`` (the venv's stub) and ``-m pytest``: the test's task has no
    site in pytest's stub (it read 'created at pytest:8') nor in its ``__main__.py``; the
    task the test makes is at the test's line."""
    pytest.importorskip("pytest_asyncio")
    stub = Path(sys.executable).with_name("pytest")
    if how == "stub" and not is_console_script(str(stub)):
        pytest.skip(f"{stub} is not pip's console script")
    test = write_program(tmp_path, PYTEST_ASYNC_TEST, "test_nap.py")
    program = [str(stub)] if how == "stub" else ["-m", "pytest"]
    args = ["-q", "-p", "no:cacheprovider", str(test)]
    command = [*LOOPVIZ, "steps", *program, "--", *args]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "The program creates task test_nap(); it is next to run." in done.stdout
    assert "test_nap() creates task nap() at test_nap.py:10;" in done.stdout
    assert "pytest:" not in done.stdout
    assert "__main__.py" not in done.stdout
    assert "as asyncio.run() finishes;" in done.stdout


PIP_TEMPLATE_BODY = PIP_STUB.format(python="/venv/bin/python")

SETUPTOOLS_STUB = """\
#!/venv/bin/python
# EASY-INSTALL-ENTRY-SCRIPT: 'demo==1.0','console_scripts','demo'
import re
import sys

# for compatibility with easy_install; see #2198
__requires__ = 'demo==1.0'

try:
    from importlib.metadata import distribution
except ImportError:
    try:
        from importlib_metadata import distribution
    except ImportError:
        from pkg_resources import load_entry_point


def importlib_load_entry_point(spec, group, name):
    dist_name, _, _ = spec.partition('==')
    matches = (
        entry_point
        for entry_point in distribution(dist_name).entry_points
        if entry_point.group == group and entry_point.name == name
    )
    return next(matches).load()


globals().setdefault('load_entry_point', importlib_load_entry_point)


if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw?|\\.exe)?$', '', sys.argv[0])
    sys.exit(load_entry_point('demo==1.0', 'console_scripts', 'demo')())
"""

UV_STUB = """\
#!/venv/bin/python
# -*- coding: utf-8 -*-
import sys
from demo import main
if __name__ == "__main__":
    if sys.argv[0].endswith("-script.pyw"):
        sys.argv[0] = sys.argv[0][:-11]
    elif sys.argv[0].endswith(".exe"):
        sys.argv[0] = sys.argv[0][:-4]
    sys.exit(main())
"""


@pytest.mark.parametrize(
    ("text", "stub"),
    [
        (PIP_TEMPLATE_BODY, True),
        (SETUPTOOLS_STUB, True),
        (UV_STUB, True),
        # The user's own: no fix-up of sys.argv[0], a main of its own, a fix-up but no exit.
        (PIP_TEMPLATE_BODY.replace("    sys.argv[0] = re.sub", "    x = len"), False),
        ("import sys\ndef main():\n    return 0\nif __name__ == '__main__':\n"
         "    sys.argv[0] = sys.argv[0].removesuffix('-script.pyw')\n    sys.exit(main())\n",
         False),
        (PIP_TEMPLATE_BODY.replace("    sys.exit(main())\n", "    main()\n"), False),
        (PIP_TEMPLATE_BODY + "print('and more')\n", False),
        (PIP_TEMPLATE_BODY + "#" * 5000 + "\n", False),  # a stub is short
        ("-script.pyw (", False),  # not Python
    ],
)  # fmt: skip
def test_a_console_script_stub_is_known_by_its_content(
    tmp_path: Path, text: str, stub: bool
) -> None:
    path = tmp_path / "demo"
    path.write_text(text)
    assert is_console_script(str(path)) is stub
