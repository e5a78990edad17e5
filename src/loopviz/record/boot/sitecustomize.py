"""loopviz's bootstrap of a Python process started by a recorded program (``--follow-children``).

This folder is first on ``PYTHONPATH`` in the recorded program's environment, so every Python
process it starts imports this module at start-up, as Python imports any ``sitecustomize``.
It takes its folder out of ``sys.path`` again, has the process recorded too
(``loopviz.record.follow``) and runs the ``sitecustomize`` it hides, if there is one.
"""

import importlib
import os
import sys


def _boot() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    try:
        from loopviz.record import follow

        follow.start()
    except Exception:  # a Python without loopviz (or another version of it): not followed,
        pass  # and the recording says so; the process runs as it would
    me = sys.modules.pop(__name__)
    try:
        importlib.import_module("sitecustomize")  # the one this module hides, if any
    except ImportError:
        sys.modules[__name__] = me  # (Python's import of this module expects to find it)


_boot()
