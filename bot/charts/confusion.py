"""Confusion matrices: for each source file a row of base, head and their difference, as DVC draws a
matrix per file and revision. The difference is coloured by meaning (better or worse), not by sign."""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable

from bot.charts.figure import PANEL_IN, natural_key, new_figure
from bot.charts.sources import Source, artist_id, plot_sources, series_source, source_names
from bot.results import BASE, HEAD
from bot.results.plots import PlotData

# Up to this many sources share one figure; more get a figure each.
ROWS_PER_FIGURE = 3
DIFFERENCE = "difference"
BETTER_COLOURS = "RdBu"  # red where head got worse, blue where it got better


def confusion_matrices(plot: PlotData) -> tuple[list[str], dict[tuple[Source, str], Any]]:
    """Class labels (shared by every matrix, as DVC's facets share their axes) and (source, role) ->
    matrix: rows are the y field's classes, columns the x field's, as DVC's template lays them out."""
    import numpy as np

    pairs: dict[tuple[Source, str], Counter[tuple[str, str]]] = {}
    for series in plot.series:
        pairs.setdefault((series_source(series), series.role), Counter()).update(zip(map(str, series.ys), map(str, series.xs)))
    classes = sorted({label for counts in pairs.values() for pair in counts for label in pair}, key=natural_key)
    index = {label: position for position, label in enumerate(classes)}
    matrices = {}
    for key, counts in pairs.items():
        matrix = np.zeros((len(classes), len(classes)))
        for (row_class, column_class), count in counts.items():
            matrix[index[row_class], index[column_class]] += count
        if plot.template == "confusion_normalized":  # each row sums to 1, as DVC's percent_of_y
            totals = matrix.sum(axis=1, keepdims=True)
            matrix = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
        matrices[key] = matrix
    return classes, matrices


def confusion_figures(plot: PlotData, labels: dict[str, str]) -> list[tuple[str, Any]]:
    """(caption, figure) pairs: one figure for a few sources, one per source when there are more."""
    classes, matrices = confusion_matrices(plot)
    sources = plot_sources(plot)
    names = source_names(sources)
    rows = [(source, _panels(source, matrices, labels)) for source in sources]
    if len(rows) <= ROWS_PER_FIGURE:
        return [(plot.title, _figure(plot, classes, rows, names))]
    return [(f"{plot.title} · {names[source]}", _figure(plot, classes, [(source, panels)], names)) for source, panels in rows]


def _panels(source: Source, matrices, labels: dict[str, str]) -> list[tuple[str, str, Any]]:
    """(role or DIFFERENCE, title, matrix) of one source's row."""
    panels = [(role, labels[role], matrices[(source, role)]) for role in (BASE, HEAD) if (source, role) in matrices]
    if len(panels) == 2:
        panels.append((DIFFERENCE, "head − base (blue: better)", panels[1][2] - panels[0][2]))
    return panels


def _figure(plot: PlotData, classes: list[str], rows: list[tuple[Source, list]], names: dict[Source, str]):
    columns = max(len(panels) for _, panels in rows)
    figure = new_figure(width=PANEL_IN * columns, height=PANEL_IN * len(rows), margins=_panel_margins(columns, len(rows)))
    for row_number, (source, panels) in enumerate(rows):
        for column, (role, title, matrix) in enumerate(panels):
            axes = figure.add_subplot(len(rows), columns, row_number * columns + column + 1)
            name = names[source]
            _draw_panel(axes, plot, classes, role, matrix, artist_id(role, source))
            axes.set_title(f"{name} · {title}" if name else title, fontsize="small")
            if column == 0:
                axes.set_ylabel(plot.y_label or plot.y, fontsize="small")
    figure.suptitle(plot.title)
    return figure


def _draw_panel(axes, plot: PlotData, classes: list[str], role: str, matrix, gid: str) -> None:
    import numpy as np

    normalized = plot.template == "confusion_normalized"
    if role == DIFFERENCE:
        # Better is more on the diagonal (right answers) and less off it (mistakes).
        diagonal = np.eye(len(classes), dtype=bool)
        better = np.where(diagonal, matrix, -matrix)
        limit = max(abs(matrix).max(), 1e-9)
        image = axes.imshow(better, cmap=BETTER_COLOURS, vmin=-limit, vmax=limit)
        colour_of = better
    else:
        limit = max(matrix.max(), 1e-9)
        image = axes.imshow(matrix, cmap="Blues", vmin=0, vmax=limit)
        colour_of = matrix
    image.set_gid(gid)
    axes.set_xticks(range(len(classes)), classes, fontsize="x-small", rotation=45)
    axes.set_yticks(range(len(classes)), classes, fontsize="x-small")
    axes.set_xlabel(plot.x_label or plot.x, fontsize="small")
    if len(classes) > 12:
        return
    for (row, column), value in _cells(matrix):
        sign = "+" if role == DIFFERENCE else ""
        text = f"{value:{sign}.2f}" if normalized else f"{value:{sign}.0f}"
        dark = abs(float(colour_of[row, column])) > 0.6 * limit
        axes.text(column, row, text, ha="center", va="center", fontsize="x-small", color="white" if dark else "black")


def _panel_margins(count: int, rows: int = 1) -> dict[str, float]:
    """Fixed margins for rows of `count` square panels, with room for class names of a few characters."""
    width, height = PANEL_IN * count, PANEL_IN * rows
    left, right, bottom, top, gap = 0.61, 0.1, 0.52, 0.48, 0.85  # inches
    panel = (width - left - right - gap * (count - 1)) / count
    panel_height = (height - bottom - top - gap * (rows - 1)) / rows
    return {
        "left": left / width,
        "right": 1 - right / width,
        "bottom": bottom / height,
        "top": 1 - top / height,
        "wspace": gap / panel,
        "hspace": gap / panel_height,
    }


def _cells(matrix) -> Iterable[tuple[tuple[int, int], float]]:
    rows, columns = matrix.shape
    for row in range(rows):
        for column in range(columns):
            yield (row, column), float(matrix[row, column])
