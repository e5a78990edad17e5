"""loopviz: make the asyncio event loop visible.

The package is layered, each layer importing only those below it (checked by import-linter):
``cli``; ``app`` (the Textual viewer); ``report`` (summary, exports); ``model`` (the timeline
built from a trace, pure Python) beside ``record`` (the instrumented loop and the recording
process); ``trace`` (the trace format, their contract). docs/architecture.md has the map.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
