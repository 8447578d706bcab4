"""The chart of one plot: PNG charts (base and head on one figure) by template, and Mermaid text as a fallback."""

from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path

from bot.charts.bars import bar_figure
from bot.charts.chart import Chart
from bot.charts.confusion import confusion_figure
from bot.charts.figure import save
from bot.charts.images import MAX_IMAGE_BYTES, SUFFIXES, image_kind
from bot.charts.lines import line_figure, series_by_revision
from bot.charts.mermaid import mermaid_bars, mermaid_lines
from bot.charts.trend import TEMPLATE as TREND_TEMPLATE
from bot.charts.trend import trend_figure
from bot.results import BASE, HEAD
from bot.results.plots import PlotData

LINE_TEMPLATES = {"linear", "simple", "smooth", "scatter", "scatter_jitter"}
CONFUSION_TEMPLATES = {"confusion", "confusion_normalized"}
BAR_TEMPLATES = {"bar_horizontal", "bar_horizontal_sorted"}


def render_chart(plot: PlotData, images_dir: Path, labels: dict[str, str]) -> Chart:
    """The chart of one plot. One that matplotlib cannot draw (values at the ends of the float range,
    say) is a chart with a note saying so: the rest of the report stands."""
    try:
        return _draw_chart(plot, images_dir, labels)
    except Exception as exc:  # noqa: BLE001 - whatever the drawing library raises
        reason = (str(exc).strip().splitlines() or [""])[0][:200]
        return Chart(plot.id, plot.title, plot.template,
                     notes=[*plot.errors, f"could not be drawn ({type(exc).__name__}: {reason})"])


def _draw_chart(plot: PlotData, images_dir: Path, labels: dict[str, str]) -> Chart:
    notes = list(plot.errors)
    stem = file_stem(plot.id)
    if plot.template == "image":
        return _copy_images(plot, images_dir, stem, labels, notes)
    import matplotlib

    # Titles and labels are names from the user's files, not math: a "$" stays a dollar sign.
    # Numeric warnings (overflow near the float range's ends) say nothing a reader can act on.
    with matplotlib.rc_context({"text.parse_math": False}), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _draw_figure(plot, images_dir, labels, notes, stem)


def _draw_figure(plot: PlotData, images_dir: Path, labels: dict[str, str], notes: list[str], stem: str) -> Chart:
    present = {point["rev"] for point in plot.datapoints}
    notes += [f"no data in {role} ({labels[role]})" for role in (BASE, HEAD) if role not in present]
    if not plot.datapoints:
        return Chart(plot.id, plot.title, plot.template, notes=notes)
    if plot.template in CONFUSION_TEMPLATES:
        figure = confusion_figure(plot, labels)
        mermaid = ""
    elif plot.template == TREND_TEMPLATE:
        figure = trend_figure(plot, labels)
        mermaid = ""
    elif plot.template in BAR_TEMPLATES:
        figure = bar_figure(plot, labels)
        mermaid = mermaid_bars(plot)
    else:
        if plot.template not in LINE_TEMPLATES:
            notes.append(f"template {plot.template!r} drawn as a line chart")
        series = series_by_revision(plot)
        figure, skipped = line_figure(plot, series, labels)
        if skipped:
            notes.append(f"{skipped} points without numeric x/y values were left out")
        mermaid = mermaid_lines(plot, series)
    path = images_dir / f"{stem}.png"
    save(figure, path)
    return Chart(plot.id, plot.title, plot.template, [f"images/{path.name}"], [plot.title], notes, mermaid)


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
