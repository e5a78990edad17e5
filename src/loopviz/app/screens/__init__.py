"""The app's screens: the scenario picker, the run view and the path prompt."""
