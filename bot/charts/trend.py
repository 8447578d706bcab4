"""The trend chart: for the metrics that moved, the base branch's history as a line and head's
value as a marked point after it, one small panel per metric."""

from __future__ import annotations

from bot.charts.figure import HEIGHT_IN, STYLE, WIDTH_IN, new_figure
from bot.compare.diff import IMPROVED, REGRESSED, MetricRow
from bot.compare.noise import readable
from bot.results import BASE, HEAD, is_finite_number
from bot.results.plots import PlotData, Series

TEMPLATE = "mrbot-trend"
PLOT_ID = "metric trends"
MAX_PANELS = 4


def trend_plot(rows: list[MetricRow]) -> PlotData | None:
    """The plot data of the trend chart, or None when no metric that moved has a history to show."""
    moved = [
        row for row in rows
        if row.change and row.history and len(readable(row.history)) >= 2 and is_finite_number(row.new)
    ]
    # Verdicts first (regressions, improvements), then moves within noise, then context rows.
    moved.sort(key=lambda row: (not row.judged, row.verdict not in (REGRESSED, IMPROVED), row.verdict != REGRESSED))
    series = []
    for row in moved[:MAX_PANELS]:
        label = f"{row.path}: {row.name}"
        known = [(index, value) for index, value in enumerate(row.history) if value is not None]
        series += [Series(BASE, label, "y", [x for x, _ in known], [y for _, y in known]),
                   Series(HEAD, label, "y", [len(row.history)], [float(row.new)])]
    if not series:
        return None
    return PlotData(PLOT_ID, "Base branch history → head", TEMPLATE, x="x", y="y", series=series)


def trend_figure(plot: PlotData, labels: dict[str, str]):
    panels: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for series in plot.series:
        panels.setdefault(series.filename, {BASE: [], HEAD: []})[series.role].extend(zip(series.xs, series.ys))
    # One row of small panels: a glance at each trend, not a study of it.
    height = HEIGHT_IN * 0.7
    # Fixed margins spare constrained layout's pass over every text; save() falls back to it if a label sticks out.
    figure = new_figure(WIDTH_IN, height, margins={"left": 0.06, "right": 0.99, "bottom": 0.12, "top": 0.88, "wspace": 0.3})
    rows, columns = 1, len(panels)
    several_files = len({label.rpartition(": ")[0] for label in panels}) > 1
    for index, (label, series) in enumerate(panels.items()):
        axes = figure.add_subplot(rows, columns, index + 1)
        history = series[BASE]
        axes.plot([x for x, _ in history], [y for _, y in history], marker=".", label=labels[BASE].split(" ")[0] + " history", **STYLE[BASE])
        for x, y in series[HEAD]:
            axes.plot([x], [y], marker="*", markersize=12, linestyle="none", color=STYLE[HEAD]["color"], label=labels[HEAD])
        title = label if several_files else label.rpartition(": ")[2]
        axes.set_title(title if len(title) <= 30 else title[:29] + "…", fontsize="small")
        axes.grid(True, alpha=0.3)
        # Commit positions need no numbers (oldest left, head last); few value ticks keep it light.
        axes.set_xticks([])
        axes.locator_params(axis="y", nbins=4)
        axes.tick_params(labelsize="x-small")
        if index == 0:
            axes.legend(fontsize="x-small")
    return figure
