"""``python -m loopviz``: the same as the ``loopviz`` command."""

from loopviz.cli import main

raise SystemExit(main())
