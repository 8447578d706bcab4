"""Compare base and head results: rows with changes and verdicts. Pure functions, no I/O."""

from __future__ import annotations

import fnmatch
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping

from bot.compare.noise import spread
from bot.results import is_number, single

HIGHER = "higher"
LOWER = "lower"

IMPROVED = "improved"
REGRESSED = "regressed"
UNCHANGED = "unchanged"
NEW = "new"
REMOVED = "removed"
# A value that cannot be compared as a number (text, list, bool) and changed.
CHANGED = "changed"
# One side could not be read, so nothing can be said.
UNKNOWN = "unknown"

# Rows: what needs a reviewer's eye first. Summary: the way people say it ("2 improved, 1 regressed").
VERDICT_ORDER = (REGRESSED, IMPROVED, CHANGED, NEW, REMOVED, UNKNOWN, UNCHANGED)
SUMMARY_ORDER = (IMPROVED, REGRESSED, CHANGED, NEW, REMOVED, UNKNOWN, UNCHANGED)

_LOWER_IS_BETTER_WORDS = ("loss", "error", "rmse", "mae", "mse", "latency")

# path -> flattened metric name -> value
Values = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Threshold:
    """A move no larger than this counts as unchanged."""

    absolute: float | None = None
    relative_pct: float | None = None
    # `auto`: K times the spread of the base branch's history (compare/noise.py)
    auto: float | None = None


@dataclass(frozen=True)
class MetricRule:
    pattern: str
    direction: str | None = None
    threshold: Threshold | None = None


@dataclass(frozen=True)
class MetricRow:
    path: str
    name: str
    old: Any
    new: Any
    change: float | None
    change_pct: float | None
    direction: str
    verdict: str
    note: str = ""
    # The base branch's last commits' values, oldest first (None: unreadable there); None: not read.
    history: tuple[float | None, ...] | None = None
    noise: float | None = None  # the spread of `history` (compare/noise.py), where it has enough points
    within_noise: bool = False  # moved, but by no more than an `auto` threshold allows
    split: str = ""  # "train" or "test" when paired with the other side (compare/splits.py)
    judged: bool = True  # False: shown as context, not counted in the verdict or the gate
    baselines: dict[str, Any] = field(default_factory=dict)  # extra baseline name -> its value


@dataclass(frozen=True)
class ParamRow:
    path: str
    name: str
    old: Any
    new: Any


@dataclass(frozen=True)
class MetricsDiff:
    rows: list[MetricRow]
    counts: dict[str, int] = field(default_factory=dict)


# A last name part that only names the data split ("loss.test") says nothing of the direction: the part before does.
_SPLIT_LEAVES = {"train", "training", "test", "eval", "val", "valid", "validation", "holdout"}


def default_direction(name: str) -> str:
    parts = name.lower().split(".")
    while len(parts) > 1 and parts[-1] in _SPLIT_LEAVES:
        parts.pop()
    leaf = parts[-1]
    if leaf.endswith("_time") or leaf == "time" or any(word in leaf for word in _LOWER_IS_BETTER_WORDS):
        return LOWER
    return HIGHER


def find_rule(rules: list[MetricRule], path: str, name: str) -> MetricRule | None:
    """The first rule whose pattern matches `name` or `path:name` wins."""
    for rule in rules:
        if fnmatch.fnmatchcase(name, rule.pattern) or fnmatch.fnmatchcase(f"{path}:{name}", rule.pattern):
            return rule
    return None


def compare_metric(
    path: str,
    name: str,
    old: Any,
    new: Any,
    rule: MetricRule | None = None,
    old_missing_reason: str = "",
    history: tuple[float | None, ...] | None = None,
) -> MetricRow:
    direction = (rule.direction if rule and rule.direction else None) or default_direction(name)
    old, new = single(old), single(new)
    note = ""
    noise = spread(history) if history is not None else None

    def row(verdict: str, change: float | None = None, change_pct: float | None = None, quiet: bool = False) -> MetricRow:
        return MetricRow(path, name, old, new, change, change_pct, direction, verdict, note, history, noise, quiet)

    if old is None and old_missing_reason:
        note = old_missing_reason
        return row(UNKNOWN)
    if old is None:
        return row(NEW)
    if new is None:
        return row(REMOVED)
    if not (is_number(old) and is_number(new)):
        if old == new:
            return row(UNCHANGED)
        too_large = any(isinstance(value, int) and not isinstance(value, bool) for value in (old, new))
        note = "too large for a float: compared as text" if too_large else "not a number: compared as text"
        return row(CHANGED)
    if not math.isfinite(new):
        note = f"head value is {new}"
        return row(UNCHANGED if old == new else REGRESSED)
    if not math.isfinite(old):
        note = f"base value is {old}"
        return row(IMPROVED)

    change = new - old
    change_pct = (change / abs(old) * 100.0) if old != 0 else None
    threshold = rule.threshold if rule else None
    if change == 0 or _within(threshold, change, change_pct):
        return row(UNCHANGED, change, change_pct)
    if threshold and threshold.auto is not None and noise is not None and _at_most(abs(change), threshold.auto * noise):
        return row(UNCHANGED, change, change_pct, quiet=True)
    better = change > 0 if direction == HIGHER else change < 0
    return row(IMPROVED if better else REGRESSED, change, change_pct)


def _within(threshold: Threshold | None, change: float, change_pct: float | None) -> bool:
    if threshold is None:
        return False
    # Inclusive, with float tolerance: 0.80 -> 0.79 is a move of exactly 0.01.
    if threshold.absolute is not None and _at_most(abs(change), threshold.absolute):
        return True
    return (
        threshold.relative_pct is not None
        and change_pct is not None
        and _at_most(abs(change_pct), threshold.relative_pct)
    )


def _at_most(value: float, limit: float) -> bool:
    return value <= limit or math.isclose(value, limit, rel_tol=1e-9)


def compare_metrics(
    base: Values,
    head: Values,
    rules: list[MetricRule] | None = None,
    base_unreadable: Mapping[str, str] | None = None,
    history: Mapping[tuple[str, str], tuple[float | None, ...]] | None = None,
) -> MetricsDiff:
    """Every metric of either side, regressions first. `base_unreadable` maps path -> why;
    `history` (path, name) -> the base branch's values, oldest first."""
    rules = rules or []
    base_unreadable = base_unreadable or {}
    empty = () if history is not None else None  # history was read, and this metric has none
    history = history or {}
    rows = []
    for path in sorted(set(base) | set(head)):
        old_values, new_values = base.get(path, {}), head.get(path, {})
        for name in sorted(set(old_values) | set(new_values)):
            rows.append(
                compare_metric(
                    path,
                    name,
                    old_values.get(name),
                    new_values.get(name),
                    find_rule(rules, path, name),
                    base_unreadable.get(path, ""),
                    history.get((path, name), empty),
                )
            )
    rows.sort(key=lambda row: VERDICT_ORDER.index(row.verdict))
    return MetricsDiff(rows, count_verdicts(rows))


def count_verdicts(rows: list[MetricRow]) -> dict[str, int]:
    """Rows shown only as context (a train split) are not counted."""
    return dict(Counter(row.verdict for row in rows if row.judged))


def compare_params(base: Values, head: Values) -> list[ParamRow]:
    """Params whose value differs between base and head (added and removed included)."""
    rows = []
    for path in sorted(set(base) | set(head)):
        old_values, new_values = base.get(path, {}), head.get(path, {})
        for name in sorted(set(old_values) | set(new_values)):
            old, new = old_values.get(name), new_values.get(name)
            if old != new:
                rows.append(ParamRow(path, name, old, new))
    return rows


def overall_verdict(counts: Mapping[str, int]) -> str:
    if counts.get(REGRESSED):
        return REGRESSED
    if counts.get(IMPROVED):
        return IMPROVED
    if any(counts.get(verdict) for verdict in (CHANGED, NEW, REMOVED, UNKNOWN)):
        return CHANGED
    return UNCHANGED


def summarize(counts: Mapping[str, int]) -> str:
    """'2 improved, 1 regressed' in a fixed order; 'no metrics' when there are none."""
    parts = [f"{counts[verdict]} {verdict}" for verdict in SUMMARY_ORDER if counts.get(verdict)]
    return ", ".join(parts) if parts else "no metrics"


def regressions(diff: MetricsDiff) -> list[MetricRow]:
    return [row for row in diff.rows if row.verdict == REGRESSED and row.judged]
