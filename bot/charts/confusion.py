"""Confusion matrices: base, head and their difference side by side."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable

from bot.charts.figure import PANEL_IN, natural_key, new_figure
from bot.results import BASE, HEAD
from bot.results.plots import PlotData


def confusion_matrices(plot: PlotData) -> tuple[list[str], dict[str, Any]]:
    """Class labels and role -> matrix (rows: actual = y field, columns: predicted = x field)."""
    import numpy as np

    pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for point in plot.datapoints:
        pairs[point["rev"]].append((str(point.get(plot.y)), str(point.get(plot.x))))
    classes = sorted({label for rows in pairs.values() for pair in rows for label in pair}, key=natural_key)
    index = {label: position for position, label in enumerate(classes)}
    matrices = {}
    for role, rows in pairs.items():
        matrix = np.zeros((len(classes), len(classes)))
        for actual, predicted in rows:
            matrix[index[actual], index[predicted]] += 1
        if plot.template == "confusion_normalized":
            totals = matrix.sum(axis=1, keepdims=True)
            matrix = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
        matrices[role] = matrix
    return classes, matrices


def confusion_figure(plot: PlotData, labels: dict[str, str]):
    classes, matrices = confusion_matrices(plot)
    panels = [(labels[role], matrices[role], "Blues") for role in (BASE, HEAD) if role in matrices]
    if BASE in matrices and HEAD in matrices:
        panels.append(("difference (head − base)", matrices[HEAD] - matrices[BASE], "RdBu"))
    figure = new_figure(width=PANEL_IN * len(panels), height=PANEL_IN, margins=_panel_margins(len(panels)))
    normalized = plot.template == "confusion_normalized"
    for position, (title, matrix, colormap) in enumerate(panels, start=1):
        axes = figure.add_subplot(1, len(panels), position)
        limit = max(abs(matrix).max(), 1e-9)
        bounds = (-limit, limit) if colormap == "RdBu" else (0, limit)
        axes.imshow(matrix, cmap=colormap, vmin=bounds[0], vmax=bounds[1])
        axes.set_title(title, fontsize="small")
        axes.set_xticks(range(len(classes)), classes, fontsize="x-small", rotation=45)
        axes.set_yticks(range(len(classes)), classes, fontsize="x-small")
        axes.set_xlabel(plot.x_label or plot.x, fontsize="small")
        if position == 1:
            axes.set_ylabel(plot.y_label or plot.y, fontsize="small")
        if len(classes) <= 12:
            for (row, column), value in _cells(matrix):
                text = f"{value:+.2f}" if colormap == "RdBu" and normalized else (
                    f"{value:+.0f}" if colormap == "RdBu" else (f"{value:.2f}" if normalized else f"{value:.0f}")
                )
                dark = abs(value) > 0.6 * limit
                axes.text(column, row, text, ha="center", va="center", fontsize="x-small",
                          color="white" if dark else "black")
    figure.suptitle(plot.title)
    return figure


def _panel_margins(count: int) -> dict[str, float]:
    """Fixed margins for `count` square panels in a row, with room for class names of a few characters."""
    width = PANEL_IN * count
    left, right, bottom, top, gap = 0.61, 0.1, 0.52, 0.48, 0.85  # inches
    panel = (width - left - right - gap * (count - 1)) / count
    return {
        "left": left / width,
        "right": 1 - right / width,
        "bottom": bottom / PANEL_IN,
        "top": 1 - top / PANEL_IN,
        "wspace": gap / panel,
    }


def _cells(matrix) -> Iterable[tuple[tuple[int, int], float]]:
    rows, columns = matrix.shape
    for row in range(rows):
        for column in range(columns):
            yield (row, column), float(matrix[row, column])
