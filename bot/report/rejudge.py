"""A bundle's verdicts recomputed from its numbers with the publishing run's rules.

In the fork-safe mode the bundle comes from the pull request's own code: its numbers are what that
code computed (nothing can check them), but its verdicts, counts and gate need not be believed.
`mrbot publish` recomputes them here with the trusted .mrbot.yml and says where they disagreed."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from bot.compare.diff import UNKNOWN, MetricRow, MetricRule
from bot.compare.judge import AUTO_WITHOUT_HISTORY, gap_json, judge
from bot.compare.splits import Splits
from bot.report.model import PIPELINE_FAILED, Report

# report.json writes non-finite floats as these strings (JSON has no inf/NaN): read them back as numbers.
_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


@dataclass(frozen=True)
class Disagreement:
    what: str  # "test.acc" or "gate" or "verdict"
    bundle: str
    here: str

    def __str__(self) -> str:
        return f"{self.what}: bundle {self.bundle}, here {self.here}"


def rejudge(
    report: Report, rules: list[MetricRule], splits: Splits, fail_on_regression: bool
) -> tuple[Report, list[Disagreement]]:
    """The report with every judgement made again here, and where the bundle's differed."""
    if _failed_before_results(report):
        # No metrics to judge: the run failed, which the status says whatever the bundle claims.
        return report, []
    base: dict[str, dict[str, Any]] = {}
    head: dict[str, dict[str, Any]] = {}
    unreadable: dict[str, str] = {}
    for row in report.metrics:
        if row.old is not None:
            base.setdefault(row.path, {})[row.name] = _number(row.old)
        if row.new is not None:
            head.setdefault(row.path, {})[row.name] = _number(row.new)
        if row.verdict == UNKNOWN and row.old is None:
            unreadable[row.path] = row.note or "could not be read"
    history = (
        {(row.path, row.name): row.history for row in report.metrics if row.history is not None}
        if report.history
        else None
    )
    baselines = {
        name: {(row.path, row.name): row.baselines.get(name) for row in report.metrics} for name in report.baselines
    }
    judgement = judge(base, head, rules, splits, fail_on_regression, unreadable, history, baselines)
    warnings = [warning for warning in report.warnings if not warning.startswith(AUTO_WITHOUT_HISTORY)]
    judged = replace(
        report,
        metrics=judgement.rows,
        counts=judgement.counts,
        verdict=judgement.verdict,
        summary=judgement.summary,
        gate_failed=judgement.gate_failed,
        gaps=[gap_json(gap) for gap in judgement.gaps],
        warnings=warnings + judgement.warnings,
    )
    return judged, _disagreements(report, judged)


def _failed_before_results(report: Report) -> bool:
    failure = report.pipeline.get("failure") or {}
    return report.verdict == PIPELINE_FAILED and bool(failure) and failure.get("step") != "dvc push" and not report.metrics


def _number(value: Any) -> Any:
    return _NON_FINITE.get(value, value) if isinstance(value, str) else value


def _disagreements(bundle: Report, here: Report) -> list[Disagreement]:
    theirs = {(row.path, row.name): row for row in bundle.metrics}
    found = []
    for row in here.metrics:
        claimed: MetricRow | None = theirs.get((row.path, row.name))
        claimed_verdict = _row_verdict(claimed) if claimed else "absent"
        if claimed_verdict != _row_verdict(row):
            found.append(Disagreement(row.name, claimed_verdict, _row_verdict(row)))
    if bundle.gate_failed != here.gate_failed:
        found.append(Disagreement("gate", _gate(bundle.gate_failed), _gate(here.gate_failed)))
    if bundle.verdict != here.verdict:
        found.append(Disagreement("verdict", bundle.verdict, here.verdict))
    return found


def _row_verdict(row: MetricRow) -> str:
    return row.verdict if row.judged else f"{row.verdict} (context)"


def _gate(failed: bool) -> str:
    return "failed" if failed else "passed"
