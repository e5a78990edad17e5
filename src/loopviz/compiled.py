"""Which optional compiled accelerators are in use.

setup.py builds each `_*.c` module where a C compiler is present; where none is, the module
that would use it runs its pure-Python code instead, with the same behaviour. Setting
LOOPVIZ_PURE_PYTHON=1 forces the pure-Python code (CI tests both ways).
"""

import importlib
import os
from types import ModuleType

PURE_PYTHON = "LOOPVIZ_PURE_PYTHON"

_in_use: dict[str, bool] = {}


def accelerator(name: str) -> ModuleType | None:
    """The compiled module `name` (say "loopviz.record._steps"), or None to use pure Python."""
    module = None
    if not os.environ.get(PURE_PYTHON):
        try:
            module = importlib.import_module(name)
        except ImportError:
            module = None
    _in_use[name] = module is not None
    return module


def in_use() -> dict[str, bool]:
    """Each accelerator asked for so far: whether its compiled module is in use."""
    return dict(_in_use)
