"""Horizontal bar charts: one bar per category and revision (categories of several source files are
named after their file, as DVC facets them by file)."""

from __future__ import annotations

from bot.charts.figure import STYLE, finite_number, natural_key, new_figure
from bot.charts.sources import Source, artist_id, series_source, source_names
from bot.results import BASE, HEAD
from bot.results.plots import PlotData


def bar_values(plot: PlotData) -> "BarValues":
    """role -> (source, category) -> value: the y field names the category and the x field holds the
    value, as DVC's horizontal templates read them; the other way round when only y holds numbers
    (a custom template of vertical bars)."""
    values: BarValues = {}
    vertical = not any(finite_number(x) is not None for series in plot.series for x in series.xs)
    for series in plot.series:
        source = series_source(series)
        for value, category in zip(series.ys, series.xs) if vertical else zip(series.xs, series.ys):
            number = finite_number(value)
            if number is not None:
                values.setdefault(series.role, {})[(source, str(category))] = number
    return values


BarValues = dict[str, dict[tuple[Source, str], float]]


def bar_names(values: BarValues) -> dict[tuple[Source, str], str]:
    """Each bar's category as a chart names it: `file: category` when the bars come from several files."""
    keys = list(dict.fromkeys(key for per_rev in values.values() for key in per_rev))
    names = source_names(list(dict.fromkeys(source for source, _ in keys)))
    return {(source, category): f"{names[source]}: {category}" if names[source] else category for source, category in keys}


def bar_figure(plot: PlotData, values: BarValues, labels: dict[str, str]):
    import numpy as np

    names = bar_names(values)
    source_order = {source: index for index, source in enumerate(dict.fromkeys(source for source, _ in names))}
    keys = sorted(names, key=lambda key: (source_order[key[0]], natural_key(key[1])))
    if plot.template == "bar_horizontal_sorted" and HEAD in values:
        # Largest on top, as DVC sorts by -x.
        keys.sort(key=lambda key: values[HEAD].get(key, 0.0))
    else:
        keys.reverse()  # barh draws upwards: the first category on top, as DVC lists them
    figure = new_figure(height=max(2.5, 0.35 * len(keys) + 1.2))
    axes = figure.add_subplot()
    positions = np.arange(len(keys))
    roles = [role for role in (BASE, HEAD) if role in values]
    height = 0.8 / max(len(roles), 1)
    for offset, role in enumerate(roles):
        bars = axes.barh(positions + (len(roles) - 1 - offset) * height, [values[role].get(key, 0.0) for key in keys],
                         height, label=labels[role], color=STYLE[role]["color"])
        for key, bar in zip(keys, bars):
            bar.set_gid(artist_id(role, key[0], key[1]) if key in values[role] else None)
    axes.set_yticks(positions + height * (len(roles) - 1) / 2, [names[key] for key in keys], fontsize="small")
    axes.set_title(plot.title)
    axes.set_xlabel(plot.x_label or plot.x)
    axes.set_ylabel(plot.y_label or plot.y)
    axes.legend(fontsize="small")
    return figure
