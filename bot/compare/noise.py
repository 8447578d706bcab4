"""The base branch's history of a metric: its run-to-run spread, and where head lands in it. Pure."""

from __future__ import annotations

import math
import statistics
from typing import Sequence

from bot.results import is_finite_number

# With fewer readable points than this, a spread says nothing: `auto` thresholds fall back to none.
MIN_POINTS = 3
DEFAULT_K = 2.0


def readable(history: Sequence[float | None]) -> list[float]:
    # A float first: nearly every value is one (10,000 metrics' histories at scale).
    return [value for value in history
            if (math.isfinite(value) if type(value) is float else is_finite_number(value))]


def spread(history: Sequence[float | None]) -> float | None:
    """The median absolute successive difference of the readable points: robust to one odd run, and,
    unlike deviations from the median, not inflated by a slow trend. For steady Gaussian run-to-run
    noise it is about 0.95 times its standard deviation. None below MIN_POINTS points."""
    values = readable(history)
    if len(values) < MIN_POINTS:
        return None
    return statistics.median(abs(later - earlier) for earlier, later in zip(values, values[1:]))


def position(history: Sequence[float | None], head: object) -> str:
    """Where head lands among the readable history: "above all 10", "below all 10", "within range"."""
    values = readable(history)
    if not values or not is_finite_number(head):
        return ""
    if head > max(values):
        return f"above all {len(values)}"
    if head < min(values):
        return f"below all {len(values)}"
    return "within range"
