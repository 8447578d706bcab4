"""metrics.txt: the head's metrics in OpenMetrics text format, for GitLab's merge request metrics
widget (`artifacts: reports: metrics:`). GitLab reads each line as `name value`, ignoring `#` comments,
so everything identifying a metric goes into its name: no labels."""

from __future__ import annotations

import math
import re
from pathlib import Path

from bot.compare.diff import MetricRow
from bot.report.model import Report
from bot.results import is_number

METRICS_TXT = "metrics.txt"

_NOT_NAME_CHARACTER = re.compile(r"[^A-Za-z0-9_]+")


def metric_name(text: str) -> str:
    """A valid OpenMetrics name (no colons: those are reserved for recording rules)."""
    name = _NOT_NAME_CHARACTER.sub("_", text).strip("_") or "metric"
    return f"_{name}" if name[0].isdigit() else name


def format_number(value: float | int) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "+Inf" if value > 0 else "-Inf"
        return repr(value)
    return str(value)


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def openmetrics_text(report: Report) -> str:
    """One gauge per numeric head metric; names from the metric (and its file when there are several)."""
    rows = [row for row in report.metrics if row.new is not None and is_number(row.new)]
    with_path = len({row.path for row in rows}) > 1
    lines, taken = [], set()
    for row in rows:
        name = _unique(metric_name(f"{row.path}_{row.name}" if with_path else row.name), taken)
        lines += [
            f"# TYPE {name} gauge",
            f"# HELP {name} {_escape_help(_describe(row))}",
            f"{name} {format_number(row.new)}",
        ]
    best = next((run for run in report.experiments if run.get("best")), None)
    for metric, value in (best or {}).get("metrics", {}).items():
        if is_number(value):
            name = _unique(metric_name(f"best_experiment_{metric}"), taken)
            described = _escape_help(f"{metric} of the best experiment, {best['name']}")
            lines += [f"# TYPE {name} gauge", f"# HELP {name} {described}", f"{name} {format_number(value)}"]
    return "\n".join([*lines, "# EOF"]) + "\n"


def _describe(row: MetricRow) -> str:
    return f"{row.path}: {row.name} ({row.direction} is better)"


def _unique(name: str, taken: set[str]) -> str:
    # "a.b" and "a_b" give the same name; OpenMetrics forbids a family twice.
    candidate, suffix = name, 2
    while candidate in taken:
        candidate, suffix = f"{name}_{suffix}", suffix + 1
    taken.add(candidate)
    return candidate


def write_openmetrics(report: Report, out_dir: Path) -> Path:
    path = out_dir / METRICS_TXT
    path.write_text(openmetrics_text(report), encoding="utf-8")
    return path
