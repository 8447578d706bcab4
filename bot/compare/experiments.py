"""A search's experiments side by side: the params that vary, the metrics that matter, ranked by one
metric in its direction, and the best one compared with the base as the main table compares head."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.compare.diff import HIGHER, MetricRow, MetricRule, compare_metric, default_direction, find_rule
from bot.results import is_finite_number
from bot.results.experiments import SUCCESS, Experiment

MAX_DEFAULT_METRICS = 4


@dataclass
class Ranking:
    experiments: list[Experiment]  # best first; failed ones last
    params: list[str]  # the columns of params: those whose value differs between experiments
    metrics: list[str]  # the columns of metrics; the first ranks them unless `sort` names another
    sort: str = ""
    direction: str = HIGHER
    best: str = ""  # the best experiment's name; "" when none succeeded with a value to rank by
    compared: list[MetricRow] = field(default_factory=list)  # the best against the base, per metric column
    notes: list[str] = field(default_factory=list)


def rank(
    experiments: list[Experiment],
    base: dict[str, Any],
    rules: list[MetricRule],
    wanted: list[str],
    moved: list[str],
    sort: str = "",
) -> Ranking:
    """`base`: flattened metric name -> the base's value; `moved`: the main table's metrics that
    changed, in its order (the default columns)."""
    measured = list(dict.fromkeys(name for experiment in experiments for name in experiment.metrics))
    notes = [f"Metric {name!r} of experiments.metrics is in no experiment" for name in wanted if name not in measured]
    metrics = [name for name in wanted if name in measured] or [name for name in moved if name in measured]
    metrics = (metrics or measured)[:len(wanted) or MAX_DEFAULT_METRICS]
    if sort and sort not in measured:
        notes.append(f"experiments.sort {sort!r} is in no experiment; ranked by {metrics[0] if metrics else 'nothing'}")
        sort = ""
    sort = sort or (metrics[0] if metrics else "")
    if sort and sort not in metrics:
        metrics.insert(0, sort)
    rule = find_rule(rules, "", sort) if sort else None
    direction = (rule.direction if rule and rule.direction else None) or default_direction(sort or "")
    ranked = sorted(experiments, key=lambda experiment: _rank_key(experiment, sort, direction))
    best = ranked[0] if ranked and _rank_key(ranked[0], sort, direction)[0] == 0 else None
    compared = [compare_metric("", name, base.get(name), best.metrics.get(name), find_rule(rules, "", name))
                for name in metrics] if best else []
    return Ranking(ranked, _varying(experiments), metrics, sort, direction, best.name if best else "", compared, notes)


def _rank_key(experiment: Experiment, sort: str, direction: str) -> tuple[int, float, str]:
    value = experiment.metrics.get(sort)
    if experiment.status != SUCCESS or not is_finite_number(value):
        return 1 if experiment.status == SUCCESS else 2, 0.0, experiment.name
    return 0, -float(value) if direction == HIGHER else float(value), experiment.name


def _varying(experiments: list[Experiment]) -> list[str]:
    names = list(dict.fromkeys(name for experiment in experiments for name in experiment.params))
    # A failed experiment knows only the values it was given: the others do not count as varying.
    return [name for name in names
            if len({repr(experiment.params[name]) for experiment in experiments if name in experiment.params}) > 1]

