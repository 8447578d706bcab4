"""Mermaid text of a chart, for comments where no image can be hosted."""

from __future__ import annotations

import math
import re

from bot.charts.figure import finite_number
from bot.charts.lines import Series
from bot.results import BASE, HEAD
from bot.results.plots import PlotData

MERMAID_MAX_POINTS = 40


def _mermaid_text(text: str) -> str:
    # Mermaid reads "%%{init: ...}%%" anywhere in a chart as its configuration (theme, CSS, fonts).
    return re.sub(r'["`<>\n\r%{}]', " ", text)[:80]


def _downsample(xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
    step = max(1, math.ceil(len(xs) / MERMAID_MAX_POINTS))
    return xs[::step], ys[::step]


def mermaid_lines(plot: PlotData, series_by_key: Series) -> str:
    """A Mermaid xychart-beta of the first series of each revision (base dashed grey is not
    expressible there, so the order is always base first, then head)."""
    lines = []
    x_axis: list[float] = []
    for role in (BASE, HEAD):
        series = [(xs, ys) for (rev, _, _), (xs, ys, _) in series_by_key.items() if rev == role and ys]
        if not series:
            continue
        xs, ys = _downsample(*series[0])
        x_axis = x_axis if len(x_axis) >= len(xs) else xs
        lines.append("    line [" + ", ".join(f"{y:.6g}" for y in ys) + "]")
    if not lines:
        return ""
    axis = ", ".join(f"{x:g}" for x in x_axis)
    return "\n".join(
        ["xychart-beta", f'    title "{_mermaid_text(plot.title)}"', f"    x-axis [{axis}]", *lines]
    )


def mermaid_bars(plot: PlotData) -> str:
    head_points = [p for p in plot.datapoints if p["rev"] == HEAD and finite_number(p.get(plot.x)) is not None]
    if not head_points:
        return ""
    head_points = head_points[:MERMAID_MAX_POINTS]
    categories = ", ".join(f'"{_mermaid_text(str(p.get(plot.y)))}"' for p in head_points)
    bars = ", ".join(f"{finite_number(p.get(plot.x)):.6g}" for p in head_points)
    return "\n".join(
        ["xychart-beta horizontal", f'    title "{_mermaid_text(plot.title)}"', f"    x-axis [{categories}]", f"    bar [{bars}]"]
    )
