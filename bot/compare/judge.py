"""The judgement of a report: rows, counts, verdict, summary and gate from two sides' numbers and the
rules. One function, so the job that measured the numbers and the trusted run that publishes a
fork's bundle (bot/report/rejudge.py) judge the same way. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from bot.compare.diff import (
    UNCHANGED,
    MetricRow,
    MetricRule,
    Values,
    compare_metrics,
    count_verdicts,
    find_rule,
    overall_verdict,
    regressions,
    summarize,
)
from bot.compare.noise import MIN_POINTS
from bot.compare.splits import Gap, Splits, pair_splits

AUTO_WITHOUT_HISTORY = "No threshold applied to"


@dataclass(frozen=True)
class Judgement:
    rows: list[MetricRow]
    counts: dict[str, int]
    verdict: str
    summary: str
    gaps: list[Gap]
    gate_failed: bool
    warnings: list[str] = field(default_factory=list)  # about the rules, e.g. an `auto` threshold with no history


def judge(
    base: Values,
    head: Values,
    rules: list[MetricRule],
    splits: Splits,
    fail_on_regression: bool,
    base_unreadable: Mapping[str, str] | None = None,
    history: Mapping[tuple[str, str], tuple[float | None, ...]] | None = None,
    baselines: Mapping[str, Mapping[tuple[str, str], Any]] | None = None,
) -> Judgement:
    """`history` None: the base branch's history was not read; `baselines`: name -> (path, name) -> value."""
    diff = compare_metrics(base, head, rules, base_unreadable, history)
    rows, gaps = pair_splits(diff.rows, splits)
    if baselines:
        rows = [
            replace(row, baselines={name: values.get((row.path, row.name)) for name, values in baselines.items()})
            for row in rows
        ]
    counts = count_verdicts(rows)
    judged = replace(diff, rows=rows, counts=counts)
    return Judgement(
        rows=rows,
        counts=counts,
        verdict=overall_verdict(counts),
        summary=_summary(rows, counts),
        gaps=gaps,
        gate_failed=fail_on_regression and bool(regressions(judged)),
        warnings=_auto_without_history(rows, rules, history is not None),
    )


def gap_json(gap: Gap) -> dict[str, Any]:
    return {"name": gap.name, "train": gap.train, "test": gap.test, "base": gap.base, "head": gap.head, "grew": gap.grew}


def _summary(rows: list[MetricRow], counts: dict[str, int]) -> str:
    """'2 improved, 3 unchanged (1 within noise)'; train rows shown as context are not counted."""
    summary = summarize(counts)
    quiet = sum(1 for row in rows if row.within_noise and row.judged)
    if quiet:
        unchanged = f"{counts[UNCHANGED]} {UNCHANGED}"
        summary = summary.replace(unchanged, f"{unchanged} ({quiet} within noise)")
    return summary


def _auto_without_history(rows: list[MetricRow], rules: list[MetricRule], history_read: bool) -> list[str]:
    """Metrics whose `auto` threshold had too little history to mean anything: judged without one."""
    names = []
    for row in rows:
        rule = find_rule(rules, row.path, row.name)
        if rule and rule.threshold and rule.threshold.auto is not None and row.noise is None and row.change:
            names.append(row.name)
    if not names:
        return []
    why = (
        f"it has fewer than {MIN_POINTS} readable commits" if history_read else "history is off (--history 0 or history: 0)"
    )
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return [f"{AUTO_WITHOUT_HISTORY} {shown}: an auto threshold needs the spread of the base branch's history, and {why}"]
