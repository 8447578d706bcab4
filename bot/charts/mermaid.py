"""Mermaid text of a chart, for comments where no image can be hosted: the same lines as the PNG,
each revision on its own x values, with a caption that says which colour is which (Mermaid's
xychart has no legend)."""

from __future__ import annotations

import re

from bot.charts.bars import bar_values
from bot.charts.figure import source_style
from bot.charts.lines import MAX_LINES, Lines
from bot.charts.sources import source_names
from bot.results import BASE, HEAD
from bot.results.plots import PlotData

MERMAID_MAX_POINTS = 40


def mermaid_text(text: str) -> str:
    # Mermaid reads "%%{init: ...}%%" anywhere in a chart as its configuration (theme, CSS, fonts).
    return re.sub(r'["`<>\n\r%{}\[\]]', " ", text)[:80]


def _number(value: float) -> str:
    return f"{value:.6g}"


def _palette(colours: list[str]) -> list[str]:
    return ["---", "config:", "  themeVariables:", "    xyChart:", f'      plotColorPalette: "{", ".join(colours)}"', "---"]


def mermaid_lines(plot: PlotData, lines: Lines, labels: dict[str, str]) -> tuple[str, str]:
    """(Mermaid text, its caption). Every line is resampled to MERMAID_MAX_POINTS x values evenly spread
    over all lines' x range (xychart draws a line's values at evenly spaced x), so each revision keeps
    its own x values rather than borrowing another's."""
    import numpy as np

    drawn = [line for line in lines.lines if line.xs]
    left_out = []
    if len(drawn) > MAX_LINES:
        kept_sources = sorted({line.index for line in drawn})[: MAX_LINES // 2]
        left_out = list(dict.fromkeys(line.name for line in drawn if line.index not in kept_sources))
        drawn = [line for line in drawn if line.index in kept_sources]
    if not drawn:
        return "", ""
    low = min(min(line.xs) for line in drawn)
    high = max(max(line.xs) for line in drawn)
    if lines.categories:
        grid = np.arange(len(lines.categories), dtype=float)
        x_axis = "[" + ", ".join(f'"{mermaid_text(category)}"' for category in lines.categories[: len(grid)]) + "]"
    else:
        grid = _grid(drawn, low, high)
        x_axis = f"{_number(low)} --> {_number(high if high > low else low + 1)}"
    colours, legend, series = [], [], []
    for line in drawn:
        order = np.argsort(line.xs, kind="stable")
        values = np.interp(grid, np.asarray(line.xs)[order], np.asarray(line.ys)[order])
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
    caption = "Lines: " + "; ".join(legend) + "."
    if not lines.categories and not all(np.isin(line.xs, grid).all() for line in drawn):
        caption += f" Each line resampled to {len(grid)} points; past its own x range a line holds its end value."
    if left_out:
        caption += f" Left out here (at most {MAX_LINES} lines), in the PNG only: {', '.join(left_out)}."
    return text, caption


def _grid(lines, low: float, high: float):
    """The x values every line is drawn at: all of them when they are few and evenly spaced (steps,
    epochs), else MERMAID_MAX_POINTS evenly spaced over the range."""
    import numpy as np

    distinct = np.unique(np.concatenate([np.asarray(line.xs) for line in lines]))
    steps = np.diff(distinct)
    if len(distinct) <= MERMAID_MAX_POINTS and (len(steps) == 0 or np.allclose(steps, steps[0])):
        return distinct
    return np.linspace(low, high, MERMAID_MAX_POINTS)


def mermaid_bars(plot: PlotData, labels: dict[str, str]) -> tuple[str, str]:
    """A horizontal bar chart with a bar per category and revision, base's under head's."""
    values = bar_values(plot)
    keys = list(dict.fromkeys(key for role in (HEAD, BASE) for key in values.get(role, {})))
    names = source_names(list(dict.fromkeys(source for source, _ in keys)))
    bars = []
    for source, category in keys:
        for role in (BASE, HEAD):
            if (source, category) in values.get(role, {}):
                name = f"{names[source]}: {category}" if names[source] else category
                bars.append((f"{name} · {role}", values[role][(source, category)]))
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
