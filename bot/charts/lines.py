"""Line charts (and scatter, smooth): a line per revision and source (file and y field), a colour
per source and a line style per revision; past MAX_LINES lines, one small panel per source."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bot.charts.figure import (
    DPI,
    HEIGHT_IN,
    LINE_MARGINS,
    WIDTH_IN,
    finite_number,
    natural_key,
    new_figure,
    source_style,
)
from bot.charts.sources import Source, artist_id, plot_sources, series_source, source_names
from bot.results import BASE, HEAD
from bot.results.plots import PlotData

# More lines than this on one axes cannot be told apart: each source gets a panel of its own.
MAX_LINES = 8
MAX_PANELS = 12
PANEL_COLUMNS = 3
JITTER_FRACTION = 0.2  # of the smallest gap between distinct values
# A line is drawn from at most 4 points per pixel column of the figure (first, last, lowest and
# highest): the same picture as all of them, at a fraction of the drawing's cost.
PIXEL_COLUMNS = int(WIDTH_IN * DPI)


@dataclass(frozen=True)
class Line:
    role: str
    source: Source
    name: str  # the source's name in legends; "" when the plot has one source
    index: int  # the source's position in the plot, which picks its colour
    xs: Any  # float arrays (numpy), finite values only
    ys: Any
    skipped: int  # points without a numeric x and y


@dataclass(frozen=True)
class Lines:
    lines: list[Line]
    sources: int
    categories: list[str]  # the x axis's names when x is not numeric, else empty

    @property
    def skipped(self) -> int:
        return sum(line.skipped for line in self.lines)


def plot_lines(plot: PlotData) -> Lines:
    """Each revision's line per source, in the sources' order, base before head."""
    sources = plot_sources(plot)
    names = source_names(sources)
    categories = _categories(series.xs for series in plot.series)
    position = {category: index for index, category in enumerate(categories)}
    lines = []
    for series in sorted(plot.series, key=lambda series: (sources.index(series_source(series)), series.role != BASE)):
        source = series_source(series)
        xs = _floats([position.get(str(x)) for x in series.xs] if categories else series.xs)
        ys = _floats(series.ys)
        keep = _finite(xs) & _finite(ys)
        lines.append(Line(series.role, source, names[source], sources.index(source), xs[keep], ys[keep],
                          int(len(ys) - keep.sum())))
    return Lines(lines, len(sources), categories)


def _categories(columns) -> list[str]:
    """The x values as category names when none of them is a number (DVC then reads x as nominal)."""
    names = set()
    for column in columns:
        for value in column:
            if value is None:
                continue
            if _reads_as_number(value):
                return []
            names.add(str(value))
    return sorted(names, key=natural_key)


def _reads_as_number(value: Any) -> bool:
    """A number, or text of one (NaN and infinity too: not finite, but not a category name)."""
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    except OverflowError:  # an integer beyond the float range is still a number
        return True
    return True


def _finite(values):
    import numpy as np

    return np.isfinite(values)


def _floats(values):
    """Numbers (or numeric strings, as CSV gives them) as a float array; anything else becomes NaN."""
    import numpy as np

    try:
        return np.asarray(values, dtype=float)  # converts in C: the common case at scale
    except (TypeError, ValueError, OverflowError):
        numbers = (finite_number(value) for value in values)
        return np.array([np.nan if number is None else number for number in numbers], dtype=float)


def line_figure(plot: PlotData, lines: Lines, labels: dict[str, str]):
    """The figure, and notes on what it leaves out."""
    if len(lines.lines) <= MAX_LINES:
        figure = new_figure(margins=LINE_MARGINS)
        axes = figure.add_subplot()
        for line in lines.lines:
            _draw(axes, plot, line, lines.sources, _legend_label(line, labels))
        _decorate(axes, plot, lines.categories)
        axes.legend(fontsize="small")
        return figure, []
    return _panels(plot, lines, labels)


def _panels(plot: PlotData, lines: Lines, labels: dict[str, str]):
    by_source: dict[int, list[Line]] = {}
    for line in lines.lines:
        by_source.setdefault(line.index, []).append(line)
    shown = list(by_source.values())[:MAX_PANELS]
    columns = min(PANEL_COLUMNS, len(shown))
    rows = math.ceil(len(shown) / columns)
    figure = new_figure(WIDTH_IN, HEIGHT_IN * 0.7 * rows + 0.5)
    for number, panel in enumerate(shown, start=1):
        axes = figure.add_subplot(rows, columns, number)
        for line in panel:
            # One source per panel: the revisions' own look, the source in the panel's title.
            _draw(axes, plot, line, 1, labels[line.role])
        _decorate(axes, plot, lines.categories, title=_short(panel[0].name), small=True)
        if number == 1:
            axes.legend(fontsize="x-small")
    figure.suptitle(plot.title)
    figure.supxlabel(plot.x_label or plot.x, fontsize="small")
    figure.supylabel(plot.y_label or plot.y, fontsize="small")
    left_out = [panel[0].name for panel in list(by_source.values())[MAX_PANELS:]]
    notes = [f"{len(left_out)} more sources not drawn (at most {MAX_PANELS} panels): {', '.join(left_out[:5])}"
             + ("…" if len(left_out) > 5 else "")] if left_out else []
    return figure, notes


def _legend_label(line: Line, labels: dict[str, str]) -> str:
    return f"{line.name} · {labels[line.role]}" if line.name else labels[line.role]


def _draw(axes, plot: PlotData, line: Line, sources: int, label: str) -> None:
    _, colour, style = source_style(line.role, line.index, sources)
    gid = artist_id(line.role, line.source)
    if plot.template in ("scatter", "scatter_jitter"):
        xs, ys = (_jitter(line.xs), _jitter(line.ys)) if plot.template == "scatter_jitter" else (line.xs, line.ys)
        marker = {"facecolors": "none", "edgecolors": colour} if line.role == BASE else {"color": colour}
        axes.scatter(xs, ys, s=12, label=label, alpha=0.8, gid=gid, **marker)
    elif plot.template == "smooth" and len(line.ys) > 4:
        axes.plot(*decimate(line.xs, line.ys), color=colour, alpha=0.25, linewidth=1, linestyle=style, gid=gid)
        smoothed = _moving_average(line.ys, max(2, len(line.ys) // 20))
        axes.plot(*decimate(line.xs, smoothed), label=label, linewidth=2, color=colour, linestyle=style)
    else:
        xs, ys = decimate(line.xs, line.ys)
        axes.plot(xs, ys, label=label, linewidth=1.8 if line.role == HEAD else 1.5, color=colour,
                  linestyle=style, gid=gid)


def decimate(xs, ys, columns: int = PIXEL_COLUMNS):
    """The points of a line that draw its picture: for x in order (rising or falling), the first,
    last, lowest and highest point of each of `columns` equal slices of the x range, in their order
    (M4), so every spike and step is still drawn. Lines of few points, or whose x goes back and
    forth, are drawn whole."""
    import numpy as np

    if len(xs) <= 4 * columns:
        return xs, ys
    x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    steps = np.diff(x)
    if not ((steps >= 0).all() or (steps <= 0).all()) or x[0] == x[-1]:
        return xs, ys
    column = np.minimum(((x - x[0]) / (x[-1] - x[0]) * columns).astype(np.int64), columns - 1)
    starts = np.flatnonzero(np.r_[True, column[1:] != column[:-1]])
    ends = np.r_[starts[1:], len(x)] - 1
    # A slice's lowest and highest point: the first point of each slice that equals its minimum (maximum).
    slice_of = np.cumsum(np.r_[False, column[1:] != column[:-1]])
    extremes = []
    for reduce in (np.minimum, np.maximum):
        hits = np.flatnonzero(y == reduce.reduceat(y, starts)[slice_of])
        extremes.append(hits[np.r_[True, slice_of[hits][1:] != slice_of[hits][:-1]]])
    keep = np.unique(np.concatenate([starts, ends, *extremes]))
    return x[keep], y[keep]


def _decorate(axes, plot: PlotData, categories: list[str], title: str = "", small: bool = False) -> None:
    axes.set_title(title or plot.title, fontsize="small" if small else None)
    if not small:
        axes.set_xlabel(plot.x_label or plot.x)
        axes.set_ylabel(plot.y_label or plot.y)
    if categories:
        axes.set_xticks(range(len(categories)), categories, fontsize="x-small" if small else "small")
    if small:
        axes.tick_params(labelsize="x-small")
    axes.grid(True, alpha=0.3)


def _short(text: str, limit: int = 32) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _jitter(values):
    """scatter_jitter's spread of points that share a value: a fixed pseudo-random offset of at most
    JITTER_FRACTION of the smallest gap between distinct values, so the same data draws the same picture."""
    import numpy as np

    if not len(values):
        return values
    distinct = np.unique(values)
    gap = float(np.diff(distinct).min()) if len(distinct) > 1 else 1.0
    offsets = np.random.default_rng(0).uniform(-JITTER_FRACTION, JITTER_FRACTION, len(values)) * gap
    return np.asarray(values) + offsets


def _moving_average(values, window: int):
    import numpy as np

    kernel = np.ones(window) / window
    padded = np.concatenate([np.full(window - 1, values[0]), values])
    return np.convolve(padded, kernel, mode="valid")
