"""Horizontal bar charts: one bar per category and revision."""

from __future__ import annotations

from collections import defaultdict

from bot.charts.figure import STYLE, finite_number, natural_key, new_figure
from bot.results import BASE, HEAD
from bot.results.plots import PlotData


def bar_figure(plot: PlotData, labels: dict[str, str]):
    import numpy as np

    values: dict[str, dict[str, float]] = defaultdict(dict)
    for point in plot.datapoints:
        number = finite_number(point.get(plot.x))
        if number is not None:
            values[point["rev"]][str(point.get(plot.y))] = number
    categories = sorted({category for per_rev in values.values() for category in per_rev}, key=natural_key)
    if plot.template == "bar_horizontal_sorted" and HEAD in values:
        categories.sort(key=lambda category: values[HEAD].get(category, 0.0))
    figure = new_figure(height=max(2.5, 0.35 * len(categories) + 1.2))
    axes = figure.add_subplot()
    positions = np.arange(len(categories))
    roles = [role for role in (BASE, HEAD) if role in values]
    height = 0.8 / max(len(roles), 1)
    for offset, role in enumerate(roles):
        axes.barh(positions + offset * height, [values[role].get(c, 0.0) for c in categories], height,
                  label=labels[role], color=STYLE[role]["color"])
    axes.set_yticks(positions + height * (len(roles) - 1) / 2, categories, fontsize="small")
    axes.set_title(plot.title)
    axes.set_xlabel(plot.x_label or plot.x)
    axes.legend(fontsize="small")
    return figure
