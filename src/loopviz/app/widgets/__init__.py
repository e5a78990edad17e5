"""The run view's widgets: the timeline and the panes beside it."""
