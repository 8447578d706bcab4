"""Mermaid text of a chart, for comments where no image can be hosted: the same lines as the PNG,
each revision on its own x values, with a caption that says which colour is which (Mermaid's
xychart has no legend)."""

from __future__ import annotations

import re

from bot.charts.bars import BarValues, bar_names
from bot.charts.figure import source_style
from bot.charts.lines import MAX_LINES, Line, Lines
from bot.results import BASE, HEAD
from bot.results.plots import PlotData

MERMAID_MAX_POINTS = 40


def mermaid_text(text: str) -> str:
    # Mermaid reads "%%{init: ...}%%" anywhere in a chart as its configuration (theme, CSS, fonts);
    # any line break (\u2028 and \x85 too) would end the line the text is on.
    return re.sub(r'["`<>%{}\[\]]', " ", " ".join(str(text).splitlines()))[:80]


def _number(value: float, digits: int | None = 6) -> str:
    """A number as Mermaid reads one: positional, never 1e-05 (which its parser refuses)."""
    import numpy as np

    return np.format_float_positional(value, precision=digits, unique=digits is None, fractional=False, trim="-")


def _palette(colours: list[str]) -> list[str]:
    return ["---", "config:", "  themeVariables:", "    xyChart:", f'      plotColorPalette: "{", ".join(colours)}"', "---"]


def _within_line_limit(drawn: list[Line]) -> tuple[list[Line], list[str]]:
    """The lines of the first sources that fit in MAX_LINES, and the names of the sources left out."""
    kept: list[int] = []
    for index in dict.fromkeys(line.index for line in drawn):
        if sum(line.index in (*kept, index) for line in drawn) > MAX_LINES:
            break
        kept.append(index)
    left_out = list(dict.fromkeys(line.name for line in drawn if line.index not in kept))
    return [line for line in drawn if line.index in kept], left_out


def mermaid_lines(plot: PlotData, lines: Lines, labels: dict[str, str]) -> tuple[str, str]:
    """(Mermaid text, its caption). Every line is resampled to MERMAID_MAX_POINTS x values evenly spread
    over all lines' x range (xychart draws a line's values at evenly spaced x), so each revision keeps
    its own x values rather than borrowing another's."""
    import numpy as np

    drawn, left_out = _within_line_limit([line for line in lines.lines if len(line.xs)])
    if not drawn:
        return "", ""
    notes = []
    if lines.categories:
        # Only the categories every line has: a value Mermaid would need elsewhere was never measured.
        common = set.intersection(*(set(np.rint(line.xs).astype(int).tolist()) for line in drawn))
        shown = sorted(common)[:MERMAID_MAX_POINTS]
        if len(shown) < len(lines.categories):
            notes.append(f"Shown: the {len(shown)} of {len(lines.categories)} x values every line has.")
        if not shown:
            return "", "No text version: the lines share no x value."
        grid = np.asarray(shown, dtype=float)
        x_axis = "[" + ", ".join(f'"{mermaid_text(lines.categories[position])}"' for position in shown) + "]"
    else:
        low = float(min(line.xs.min() for line in drawn))
        high = float(max(line.xs.max() for line in drawn))
        grid = _grid(drawn, low, high)
        x_axis = f"{_number(low, None)} --> {_number(high if high > low else low + 1, None)}"
        exact = all(np.isin(line.xs, grid).all() for line in drawn)
        covering = all(line.xs.min() <= low and line.xs.max() >= high for line in drawn)
        if not exact:
            notes.append(f"Each line resampled to {len(grid)} points.")
        if not covering:
            notes.append("Past its own x range a line holds its end value.")
    colours, legend, series = [], [], []
    for line in drawn:
        order = np.argsort(line.xs, kind="stable")
        values = np.interp(grid, line.xs[order], line.ys[order])
        if not np.isfinite(values).all():
            return "", "No text version: the values are too large for one."
        name, colour, _ = source_style(line.role, line.index, lines.sources)
        colours.append(colour)
        legend.append(f"{name}: {line.name + ' · ' if line.name else ''}{labels[line.role]}")
        series.append("    line [" + ", ".join(_number(value) for value in values) + "]")
    x_title = mermaid_text(plot.x_label or plot.x)
    y_title = mermaid_text(plot.y_label or plot.y)
    text = "\n".join([
        *_palette(colours),
        "xychart-beta",
        f'    title "{mermaid_text(plot.title)}"',
        f'    x-axis "{x_title}" {x_axis}',
        f'    y-axis "{y_title}"',
        *series,
    ])
    caption = " ".join(["Lines: " + "; ".join(legend) + ".", *notes])
    if left_out:
        caption += f" Left out here (at most {MAX_LINES} lines), in the PNG only: {', '.join(left_out)}."
    return text, caption


def _grid(lines, low: float, high: float):
    """The x values every line is drawn at: all of them when they are few and evenly spaced (steps,
    epochs), else MERMAID_MAX_POINTS evenly spaced over the range."""
    import numpy as np

    distinct = np.unique(np.concatenate([line.xs for line in lines]))
    steps = np.diff(distinct)
    if len(distinct) <= MERMAID_MAX_POINTS and (len(steps) == 0 or np.allclose(steps, steps[0])):
        return distinct
    return np.linspace(low, high, MERMAID_MAX_POINTS)


def mermaid_bars(plot: PlotData, values: BarValues, labels: dict[str, str]) -> tuple[str, str]:
    """A horizontal bar chart with a bar per category and revision, base's under head's."""
    names = bar_names(values)
    keys = list(dict.fromkeys(key for role in (HEAD, BASE) for key in values.get(role, {})))
    bars = [(f"{mermaid_text(names[key])[:70]} · {role}", values[role][key])
            for key in keys for role in (BASE, HEAD) if key in values.get(role, {})]
    if not bars:
        return "", ""
    shown = bars[:MERMAID_MAX_POINTS]
    text = "\n".join([
        "xychart-beta horizontal",
        f'    title "{mermaid_text(plot.title)}"',
        "    x-axis [" + ", ".join(f'"{mermaid_text(label)}"' for label, _ in shown) + "]",
        "    bar [" + ", ".join(_number(value) for _, value in shown) + "]",
    ])
    caption = f"base: {labels[BASE]}; head: {labels[HEAD]}."
    if len(bars) > len(shown):
        caption += f" The first {len(shown)} of {len(bars)} bars; all are in the PNG."
    return text, caption
