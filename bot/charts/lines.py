"""Line charts (and scatter, smooth): one series per revision, source file and y field."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from bot.charts.figure import LINE_MARGINS, STYLE, finite_number, new_figure
from bot.results import BASE
from bot.results.plots import PlotData


def series_by_revision(plot: PlotData) -> "Series":
    """(rev, source file, y field) -> (xs, ys, points skipped)."""
    grouped: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for point in plot.datapoints:
        grouped[(point["rev"], point.get("filename", ""), point.get("field", plot.y))].append(point)
    import numpy as np

    series = {}
    for key, points in grouped.items():
        y_field = key[2]
        xs = _floats([point.get(plot.x, index) for index, point in enumerate(points)] if plot.x else range(len(points)))
        ys = _floats([point.get(y_field) for point in points])
        keep = np.isfinite(xs) & np.isfinite(ys)
        series[key] = (xs[keep].tolist(), ys[keep].tolist(), int(len(points) - keep.sum()))
    return dict(sorted(series.items(), key=lambda item: (item[0][0] != BASE, item[0][1], item[0][2])))


def _floats(values):
    """Numbers (or numeric strings, as CSV gives them) as a float array; anything else becomes NaN."""
    import numpy as np

    try:
        return np.asarray(values, dtype=float)  # converts in C: the common case at scale
    except (TypeError, ValueError):
        numbers = (finite_number(value) for value in values)
        return np.array([np.nan if number is None else number for number in numbers], dtype=float)


Series = dict[tuple[str, str, str], tuple[list[float], list[float], int]]


def line_figure(plot: PlotData, series: Series, labels: dict[str, str]):
    figure = new_figure(margins=LINE_MARGINS)
    axes = figure.add_subplot()
    several_fields = len({(source, y_field) for _, source, y_field in series}) > 1
    skipped_total = 0
    for (role, source, y_field), (xs, ys, skipped) in series.items():
        skipped_total += skipped
        label = labels[role] + (f" · {source}:{y_field}" if several_fields else "")
        style = STYLE[role]
        if plot.template in ("scatter", "scatter_jitter"):
            axes.scatter(xs, ys, s=10, color=style["color"], label=label, alpha=0.7)
        elif plot.template == "smooth" and len(ys) > 4:
            axes.plot(xs, ys, color=style["color"], alpha=0.25, linewidth=1)
            axes.plot(xs, _moving_average(ys, max(2, len(ys) // 20)), label=label, linewidth=2, **style)
        else:
            axes.plot(xs, ys, label=label, linewidth=1.8, **style)
    axes.set_title(plot.title)
    axes.set_xlabel(plot.x_label or plot.x)
    axes.set_ylabel(plot.y_label or plot.y)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize="small")
    return figure, skipped_total


def _moving_average(values: list[float], window: int) -> list[float]:
    import numpy as np

    kernel = np.ones(window) / window
    padded = np.concatenate([np.full(window - 1, values[0]), values])
    return list(np.convolve(padded, kernel, mode="valid"))
