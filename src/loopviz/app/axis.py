"""Time axis ticks: a step that keeps labels apart, and labels as precise as the step."""

from __future__ import annotations

import math

_UNITS = ((1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "µs"), (1, "ns"))


def tick_step(span: int, columns: int, min_gap: int) -> int:
    """The smallest 1-2-5 step (ns) that keeps axis labels ``min_gap`` columns apart."""
    raw = max(1, math.ceil(span * min_gap / max(1, columns)))
    power: int = 10 ** int(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if power * mult >= raw:
            return power * mult
    return power * 10


def tick_label(t: int, step: int) -> str:
    """An axis label for ``t`` with just the precision ``step`` needs: ``0.5 s``, ``1.0002 s``."""
    index = next(i for i, (s, _) in enumerate(_UNITS) if step >= s // 10 or s == 1)
    while index > 0 and abs(t) >= 1000 * _UNITS[index][0]:
        index -= 1
    size, name = _UNITS[index]
    if t == 0:
        return f"0 {name}"
    digits = max(0, math.ceil(-math.log10(step / size)))
    return f"{t / size:.{digits}f} {name}"
