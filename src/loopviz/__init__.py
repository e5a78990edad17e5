"""loopviz: make the asyncio event loop visible.

The package is layered; each layer imports only the ones below it:

- ``trace``: the trace format, the contract between recorder and viewer.
- ``recorder`` (the instrumented loop) and ``process`` (running a program in a child):
  they write traces and know nothing of the screen.
- ``timeline`` and ``summary``: the model built from a trace; pure Python.
- ``app``: the Textual viewer; it only reads the model.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
