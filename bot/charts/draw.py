"""The chart of one plot: PNG charts by template, and Mermaid text as a fallback."""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.charts.bars import bar_figure, bar_values
from bot.charts.chart import Chart
from bot.charts.confusion import confusion_figures
from bot.charts.experiments import TEMPLATE as SEARCH_TEMPLATE
from bot.charts.experiments import search_figure
from bot.charts.figure import CHART_SETTINGS, save
from bot.charts.images import MAX_IMAGE_BYTES, SUFFIXES, image_kind
from bot.charts.lines import line_figure, plot_lines
from bot.charts.mermaid import mermaid_bars, mermaid_lines
from bot.charts.trend import TEMPLATE as TREND_TEMPLATE
from bot.charts.trend import trend_figure
from bot.results import BASE, HEAD
from bot.results.plot_series import load_series
from bot.results.plots import PlotData

LINE_TEMPLATES = {"linear", "simple", "smooth", "scatter", "scatter_jitter"}
CONFUSION_TEMPLATES = {"confusion", "confusion_normalized"}
BAR_TEMPLATES = {"bar_horizontal", "bar_horizontal_sorted"}
SCATTER_TEMPLATES = {"scatter", "scatter_jitter"}


@dataclass
class Drawing:
    """The figures of one plot with their captions, its Mermaid fallback, and notes."""

    figures: list[tuple[str, Any]] = field(default_factory=list)
    mermaid: str = ""
    mermaid_caption: str = ""
    notes: list[str] = field(default_factory=list)


def render_chart(plot: PlotData, images_dir: Path, labels: dict[str, str]) -> Chart:
    """The chart of one plot. One that matplotlib cannot draw (values at the ends of the float range,
    say) is a chart with a note saying so: the rest of the report stands."""
    try:
        return _draw_chart(load_series(plot), images_dir, labels)
    except Exception as exc:  # noqa: BLE001 - whatever the drawing library raises
        reason = (str(exc).strip().splitlines() or [""])[0][:200]
        return Chart(plot.id, plot.title, plot.template,
                     notes=[*plot.errors, f"could not be drawn ({type(exc).__name__}: {reason})"])


def _draw_chart(plot: PlotData, images_dir: Path, labels: dict[str, str]) -> Chart:
    stem = file_stem(plot.id)
    if plot.template == "image":
        return _copy_images(plot, images_dir, stem, labels, list(plot.errors))
    drawing = draw(plot, labels)
    images, captions = [], []
    for number, (caption, figure) in enumerate(drawing.figures):
        path = images_dir / (f"{stem}.png" if number == 0 else f"{stem}-{number + 1}.png")
        save(figure, path)
        images.append(f"images/{path.name}")
        captions.append(caption)
    return Chart(plot.id, plot.title, plot.template, images, captions, drawing.notes, drawing.mermaid, drawing.mermaid_caption)


def draw(plot: PlotData, labels: dict[str, str]) -> Drawing:
    """The figures (not yet saved) of a plot that is not an image plot."""
    import matplotlib

    plot = load_series(plot)
    # Numeric warnings (overflow near the float range's ends) say nothing a reader can act on.
    with matplotlib.rc_context(CHART_SETTINGS), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _draw(plot, labels)


def _draw(plot: PlotData, labels: dict[str, str]) -> Drawing:
    drawing = Drawing(notes=list(plot.errors))
    if plot.template == SEARCH_TEMPLATE:
        drawing.figures = [(plot.title, search_figure(plot))]
        drawing.mermaid_caption = "The experiments table above has the same numbers."
        return drawing
    present = {series.role for series in plot.series}
    drawing.notes += [f"no data in {role} ({labels[role]})" for role in (BASE, HEAD) if role not in present]
    if not plot.series:
        return drawing
    if plot.template in CONFUSION_TEMPLATES:
        drawing.figures = confusion_figures(plot, labels)
    elif plot.template == TREND_TEMPLATE:
        drawing.figures = [(plot.title, trend_figure(plot, labels))]
        drawing.mermaid_caption = "Without images the history shows as the metrics table's sparklines."
    elif plot.template in BAR_TEMPLATES:
        values = bar_values(plot)
        drawing.figures = [(plot.title, bar_figure(plot, values, labels))]
        drawing.mermaid, drawing.mermaid_caption = mermaid_bars(plot, values, labels)
        if not any(values.values()):
            drawing.notes.append("no numeric values to draw as bars")
    else:
        if plot.template not in LINE_TEMPLATES:
            drawing.notes.append(f"template {plot.template!r} drawn as a line chart")
        lines = plot_lines(plot)
        figure, notes = line_figure(plot, lines, labels)
        drawing.figures = [(plot.title, figure)]
        drawing.notes += notes
        if lines.skipped:
            drawing.notes.append(f"{lines.skipped} points without numeric x/y values were left out")
        if plot.template in SCATTER_TEMPLATES:
            drawing.mermaid_caption = "A scatter plot has no text version; its PNG is in the report artifact."
        else:
            drawing.mermaid, drawing.mermaid_caption = mermaid_lines(plot, lines, labels)
    return drawing


def file_stem(plot_id: str) -> str:
    """A safe, unique, stable file name for a plot id (which may be any path)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", plot_id).strip("-.")[:60] or "plot"
    return f"{slug}-{hashlib.sha1(plot_id.encode()).hexdigest()[:8]}"


def _copy_images(plot: PlotData, images_dir: Path, stem: str, labels: dict[str, str], notes: list[str]) -> Chart:
    images, image_labels = [], []
    for role in (BASE, HEAD):
        content = plot.images.get(role)
        if content is None:
            notes.append(f"no image in {role} ({labels[role]})")
            continue
        kind = image_kind(content)
        if kind is None:
            notes.append(f"{role} image is not PNG, JPEG or GIF; left out")
            continue
        if len(content) > MAX_IMAGE_BYTES:
            # The forges would refuse it; the report goes out without this one image.
            notes.append(f"{role} image is {len(content) / 2**20:.1f} MB, over the {MAX_IMAGE_BYTES // 2**20} MB limit; left out")
            continue
        path = images_dir / f"{stem}-{role}{SUFFIXES[kind]}"
        path.write_bytes(content)
        images.append(f"images/{path.name}")
        image_labels.append(labels[role])
    return Chart(plot.id, plot.title, "image", images, image_labels, notes)
