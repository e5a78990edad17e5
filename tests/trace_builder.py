"""Hand-built traces for model tests: interns strings and sites the way the recorder does."""

from __future__ import annotations

from pathlib import Path

from loopviz.record.sources import source_record
from loopviz.trace import (
    Header,
    Site,
    Str,
    TaskCreated,
    encode_header,
    encode_records,
)

MS = 1_000_000
S = 1_000_000_000


class TraceBuilder:
    def __init__(self, program: str = "/tmp/prog.py", block_threshold_ns: int = 100 * MS) -> None:
        self.program = program
        self.header = Header(
            loopviz="test",
            python="3.11",
            program=program,
            started="2024-01-01T00:00:00",
            block_threshold_ns=block_threshold_ns,
        )
        self.records: list = []
        self._strs: dict[str, int] = {}
        self._sites: dict[tuple[str, int], int] = {}

    def s(self, text: str) -> int:
        """The Str id of ``text``, emitting the Str record the first time."""
        if text not in self._strs:
            self._strs[text] = len(self._strs) + 1
            self.records.append(Str(self._strs[text], text))
        return self._strs[text]

    def site(self, line: int, file: str | None = None) -> int:
        key = (file or self.program, line)
        if key not in self._sites:
            file_id = self.s(key[0])
            self._sites[key] = len(self._sites) + 1
            self.records.append(Site(self._sites[key], file_id, line))
        return self._sites[key]

    def task(self, t: int, task: int, name: str, parent: int = 0, line: int = 0) -> TaskCreated:
        record = TaskCreated(
            t, task, self.s(name), self.s(f"{name}_coro"), self.site(1), parent,
            self.site(line) if line else 0,
        )  # fmt: skip
        self.records.append(record)
        return record

    def source(self, path: Path) -> None:
        """Vouch for a source file as the recorder does: the app shows only those."""
        self.records.append(source_record(str(path)))

    def add(self, *records) -> None:
        self.records.extend(records)

    def write(self, path: Path) -> Path:
        path.write_bytes(encode_header(self.header) + encode_records(self.records))
        return path
