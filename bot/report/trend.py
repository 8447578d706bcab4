"""A metric's base-branch history as one table cell: a Unicode sparkline with head's value marked."""

from __future__ import annotations

from typing import Any, Sequence

from bot.compare.noise import position
from bot.results import is_finite_number

BLOCKS = "▁▂▃▄▅▆▇█"
UNREADABLE = "·"
# A bundle may hold any length; a cell shows the last this many commits.
MAX_POINTS = 50
MIN_TREND = 2


def sparkline(history: Sequence[float | None] | None, head: Any) -> str:
    """'▃▄▄▅▄▅ → ▇ above all 6': history oldest first, then head, on one scale; '' without history."""
    if not history:
        return ""
    history = list(history)[-MAX_POINTS:]
    numbers = [value for value in history if is_finite_number(value)]
    if len(numbers) < MIN_TREND:
        return ""  # one point is the base value itself: no trend to show
    head_value = float(head) if is_finite_number(head) else None
    low = min(numbers + ([head_value] if head_value is not None else []))
    high = max(numbers + ([head_value] if head_value is not None else []))

    def block(value: float | None) -> str:
        if value is None or not is_finite_number(value):
            return UNREADABLE
        if high == low:
            return BLOCKS[len(BLOCKS) // 2]
        return BLOCKS[min(len(BLOCKS) - 1, int((value - low) / (high - low) * len(BLOCKS)))]

    line = "".join(block(value) for value in history)
    if head_value is None:
        return line
    where = position(history, head_value)
    return f"{line} → {block(head_value)}" + (f" {where}" if where else "")
