"""The README's examples run as written: a newcomer's first copy-and-paste must work."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_from_python_recipe_records_and_reads_a_run(capsys) -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## From Python") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    program = """
async def main():
    async def nap():
        await asyncio.sleep(0.01)
    await asyncio.gather(nap(), nap())
"""
    exec(compile(program + code.group(1), "README.md", "exec"), {"__name__": "readme"})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) >= 3  # main and its two children, with their totals
    assert all(re.fullmatch(r"Task-\d+ Totals\(running=\d+, .*steps=[1-9]\d*\)", x) for x in lines)
