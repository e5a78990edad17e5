"""Readable times, shared by the model's texts, the app and the summary so they agree."""

from __future__ import annotations


def format_time(ns: int) -> str:
    """A duration or a moment in ns with three or four significant digits: "1.002 s",
    "35.0 ms", "12 µs", "850 ns"."""
    value = abs(ns)
    sign = "-" if ns < 0 else ""
    for scale, unit in ((1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "µs")):
        if value >= scale - scale // 2000:  # 999.6 ms is "1.000 s", not "1000 ms"
            x = value / scale
            if unit == "s":
                digits = 3 if x < 10 else 2 if x < 100 else 1
            else:
                digits = 2 if x < 10 else 1 if x < 100 else 0
            if unit == "µs" and x >= 10:
                digits = 0
            return f"{sign}{x:.{digits}f} {unit}"
    return f"{sign}{value} ns"


def format_short(ns: int) -> str:
    """A duration the program asked for, to two significant digits as a person writes it:
    "1.0 s", "0.15 s", "50 ms" (a ``sleep(1)`` is recorded as a hair under one second)."""
    secs = float(f"{ns / 1e9:.2g}")
    if secs >= 0.1:
        text = f"{secs:g}"
        return f"{text}.0 s" if text.isdigit() else f"{text} s"
    if ns >= 1_000_000:
        return f"{float(f'{ns / 1e6:.2g}'):g} ms"
    return format_time(ns)


def seconds(ns: int) -> float:
    """ns as seconds, for JSON and CSV (microsecond precision is plenty)."""
    return round(ns / 1e9, 6)
