"""The optional compiled accelerators: the compiled module, or None for pure Python.

setup.py builds each `_*.c` module where a C compiler is present; where none is, the module
that would use it runs its pure-Python code instead, with the same behaviour. Setting
LOOPVIZ_PURE_PYTHON=1 forces the pure-Python code (CI tests both ways).
"""

import importlib
import os
from types import ModuleType

PURE_PYTHON = "LOOPVIZ_PURE_PYTHON"


def accelerator(name: str) -> ModuleType | None:
    """The compiled module `name` (say "loopviz.record._steps"), or None to use pure Python."""
    if os.environ.get(PURE_PYTHON):
        return None
    try:
        return importlib.import_module(name)
    except ImportError:  # not built here
        return None
