"""The optional compiled accelerators: every `_*.c` file under src/loopviz is one.

Each is built where a C compiler is present and skipped (with setuptools' warning) where not:
the module beside it then falls back to its pure-Python code, which behaves the same
(`loopviz.compiled` says which is in use; LOOPVIZ_PURE_PYTHON=1 forces the fallback).
"""

from pathlib import Path

from setuptools import Extension, setup

SOURCES = sorted(Path("src").glob("loopviz/**/_*.c"))

setup(
    ext_modules=[
        Extension(
            ".".join(source.with_suffix("").relative_to("src").parts),
            [str(source)],
            optional=True,
        )
        for source in SOURCES
    ]
)
