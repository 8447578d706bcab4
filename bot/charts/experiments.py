"""The search's chart: for one param, the ranking metric against it; for more, the two params that
move the metric most, one point per experiment coloured by the metric, the best one starred."""

from __future__ import annotations

import math

from bot.charts.figure import STYLE, finite_number, new_figure
from bot.compare.experiments import Ranking
from bot.results import HEAD
from bot.results.experiments import SUCCESS
from bot.results.plots import PlotData

TEMPLATE = "mrbot-experiments"
PLOT_ID = "experiments"


def search_plot(ranking: Ranking) -> PlotData | None:
    """None when no experiment has a number for the ranking metric against a numeric param."""
    done = [experiment for experiment in ranking.experiments
            if experiment.status == SUCCESS and finite_number(experiment.metrics.get(ranking.sort)) is not None]
    numeric = [name for name in ranking.params
               if all(finite_number(experiment.params.get(name)) is not None for experiment in done)]
    if not done or not numeric or not ranking.sort:
        return None
    values = [float(experiment.metrics[ranking.sort]) for experiment in done]
    chosen = sorted(numeric, key=lambda name: -_pull(done, name, values))[:2]
    points = [[float(experiment.params[name]) for name in chosen] + [value, experiment.name == ranking.best]
              for experiment, value in zip(done, values)]
    return PlotData(PLOT_ID, f"Experiments: {ranking.sort}", TEMPLATE, x=chosen[0], y=ranking.sort,
                    props={"params": chosen, "metric": ranking.sort, "points": points})


def _pull(done, name: str, values: list[float]) -> float:
    """How strongly the metric follows the param (|correlation|; 0 when either is constant)."""
    import numpy as np

    xs = np.array([float(experiment.params[name]) for experiment in done])
    if len(xs) < 2 or xs.std() == 0 or np.std(values) == 0:
        return 0.0
    correlation = float(np.corrcoef(xs, values)[0, 1])
    return abs(correlation) if math.isfinite(correlation) else 0.0


def search_figure(plot: PlotData):
    import numpy as np

    params, metric, points = plot.props["params"], plot.props["metric"], plot.props["points"]
    figure = new_figure()
    axes = figure.add_subplot()
    best = [point for point in points if point[-1]]
    if len(params) == 1:
        ordered = sorted(points, key=lambda point: point[0])
        axes.plot([point[0] for point in ordered], [point[1] for point in ordered], marker="o", **STYLE[HEAD])
        axes.set_xlabel(params[0])
        axes.set_ylabel(metric)
        for point in best:
            axes.plot([point[0]], [point[1]], marker="*", markersize=16, linestyle="none", color="gold",
                      markeredgecolor="black", label="best")
    else:
        colours = axes.scatter([point[0] for point in points], [point[1] for point in points],
                               c=np.array([point[2] for point in points]), cmap="viridis", s=60, edgecolors="black")
        figure.colorbar(colours, ax=axes, label=metric)
        for point in best:
            axes.scatter([point[0]], [point[1]], marker="*", s=300, color="gold", edgecolors="black", label="best", zorder=3)
        axes.set_xlabel(params[0])
        axes.set_ylabel(params[1])
    if best:
        axes.legend(fontsize="small")
    axes.set_title(plot.title)
    axes.grid(True, alpha=0.3)
    return figure

