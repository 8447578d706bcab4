"""Figures of one size and look, drawn once and written as reproducible PNG bytes."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from bot.results import BASE, HEAD

# Wide enough to read at PR-comment width (about 800 px), small enough to stay light.
WIDTH_IN, HEIGHT_IN, DPI = 7.0, 3.6, 100
STYLE = {BASE: {"color": "#7f7f7f", "linestyle": "--"}, HEAD: {"color": "#1f77b4", "linestyle": "-"}}
# Plots with several sources: one hue per source, dark for head and light for base (tab20's pairs),
# named so that a chart without a legend (Mermaid) can say which colour is which.
SOURCE_COLOURS = [
    ("blue", "#1f77b4", "#aec7e8"), ("orange", "#ff7f0e", "#ffbb78"), ("green", "#2ca02c", "#98df8a"),
    ("red", "#d62728", "#ff9896"), ("purple", "#9467bd", "#c5b0d5"), ("brown", "#8c564b", "#c49c94"),
    ("pink", "#e377c2", "#f7b6d2"), ("cyan", "#17becf", "#9edae5"),
]
LINE_STYLE = {BASE: "--", HEAD: "-"}


def source_style(role: str, index: int, sources: int) -> tuple[str, str, str]:
    """(colour name, colour, line style) of the line of `role` for the index-th of `sources` sources."""
    if sources <= 1:
        return ("grey" if role == BASE else "blue"), STYLE[role]["color"], LINE_STYLE[role]
    name, dark, light = SOURCE_COLOURS[index % len(SOURCE_COLOURS)]
    return ("light " + name if role == BASE else name), (light if role == BASE else dark), LINE_STYLE[role]
# Where constrained layout puts a line chart's axes when its tick labels are short, as most are.
# Fixed, they spare the layout engine's pass over every text (about a third of a chart's time).
LINE_MARGINS = {"left": 0.1, "right": 0.98, "bottom": 0.131, "top": 0.929}
PANEL_IN = 3.4  # a confusion matrix panel, square
PNG_LEVEL = 3  # zlib's: charts of flat colours compress about as well as at its default 6, in less time
# matplotlib's settings while a chart is built and drawn, left as they were after:
# - titles and labels are names from the user's files, not math: a "$" stays a dollar sign;
# - glyphs drawn unhinted: the same text to a reader at this size, and FreeType's hinter, which runs
#   for every glyph each time a text is measured or drawn, was a sixth of a line chart's drawing;
# - axes titles at the top of their axes: matplotlib's own placement measures the y axis's ticks
#   again for every title (7% of a chart's drawing) to keep it clear of the axis's offset
#   text ("1e-5"), which _lift_titles does after the draw, only where the two meet.
CHART_SETTINGS = {"text.parse_math": False, "text.hinting": "no_hinting", "axes.titley": 1.0}


def new_figure(width: float = WIDTH_IN, height: float = HEIGHT_IN, margins: dict[str, float] | None = None):
    """A figure laid out by constrained layout, or with fixed `margins` (fractions of its size)."""
    # The object API needs no display and keeps no global pyplot state.
    from matplotlib.figure import Figure

    if margins is None:
        return Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    figure = Figure(figsize=(width, height), dpi=DPI)
    figure.subplots_adjust(**margins)
    return figure


def save(figure, path: Path) -> None:
    """Draw the figure once and write it as PNG. Fixed margins stay if everything fits in the figure;
    when something sticks out (a long tick label, say), constrained layout makes room."""
    import matplotlib

    with matplotlib.rc_context(CHART_SETTINGS):
        _draw_and_write(figure, path)


def _draw_and_write(figure, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    if figure.get_layout_engine() is None:
        drawn_texts = _draw_noting_texts(canvas)
        if _lift_titles(figure, canvas.get_renderer()):
            drawn_texts = _draw_noting_texts(canvas)
        if _fits(figure, drawn_texts, canvas.get_renderer()):
            _write_png(canvas, path)
            return
        figure.set_layout_engine("constrained")
    _draw_laid_out(figure, canvas)
    _write_png(canvas, path)


def _draw_laid_out(figure, canvas) -> None:
    # savefig would run the layout engine twice (a dry-run draw, then the real one); once is enough
    # and gives the same pixels. A title lifted after the draw is laid out again, with room for it.
    layout = figure.get_layout_engine()
    layout.execute(figure)
    figure.set_layout_engine(None)
    canvas.draw()
    if _lift_titles(figure, canvas.get_renderer()):
        layout.execute(figure)
        canvas.draw()
        if _lift_titles(figure, canvas.get_renderer()):  # the axes' new height moved it a little
            canvas.draw()


def _draw_noting_texts(canvas) -> list:
    """Draw the canvas, and say which texts it drew (None for a text drawn by no Text artist).
    Measuring those after the draw spares matplotlib's tight bbox, which lays out every axis's
    ticks, labels and title again: two thirds of the cost of checking the fit."""
    renderer = canvas.get_renderer()
    drawn = []
    draw_text = renderer.draw_text

    def noting_text(gc, x, y, s, prop, angle, ismath=False, mtext=None):
        draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        drawn.append(mtext)

    renderer.draw_text = noting_text
    try:
        canvas.draw()
    finally:
        del renderer.draw_text
    # Drawn on another renderer (it makes a new one if the figure's size changed): nothing was noted.
    return drawn if canvas.get_renderer() is renderer else [None]


def _lift_titles(figure, renderer) -> bool:
    """Lift each drawn axes title that meets its y axis's offset text to just above it, as
    matplotlib's own placement would; say whether one moved (the figure is then drawn again)."""
    from matplotlib.transforms import Bbox

    lifted = False
    for axes in figure.axes:
        offset, title = axes.yaxis.offsetText, axes.title
        if not (offset.get_visible() and offset.get_text() and title.get_visible() and title.get_text()):
            continue
        offset_box = offset.get_window_extent(renderer)
        if Bbox.intersection(offset_box, title.get_window_extent(renderer)) is None:
            continue
        offset_top = offset_box.y1
        # The title's anchor to the offset text's top, its pad above; then, if its descent still
        # reaches down into the text, higher by that much.
        to_axes = axes.transAxes.inverted()
        title.set_y(to_axes.transform((0, offset_top))[1])
        if (bottom := title.get_window_extent(renderer).y0) < offset_top:
            title.set_y(to_axes.transform((0, 2 * offset_top - bottom))[1])
        lifted = True
    return lifted


def _fits(figure, drawn_texts: list, renderer) -> bool:
    # With fixed margins the axes lie inside the figure; what can stick out is text: tick labels,
    # axis labels, titles, the suptitle.
    if None in drawn_texts:
        return False
    width, height = figure.bbox.width, figure.bbox.height
    boxes = [axes.bbox for axes in figure.axes]
    boxes += [text.get_window_extent(renderer) for text in dict.fromkeys(drawn_texts)]
    return all(box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height for box in boxes)


def _write_png(canvas, path: Path) -> None:
    from PIL import Image

    # The figure is opaque, so its alpha is 255 throughout: RGB is the same picture in three
    # quarters of the bytes, and at zlib level 3 (not 6) the file is as small as the RGBA one was,
    # written in half the time. No metadata and a fixed dpi: identical input, identical bytes.
    rgba = Image.frombuffer("RGBA", canvas.get_width_height(physical=True), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    rgba.convert("RGB").save(path, format="png", dpi=(DPI, DPI), compress_level=PNG_LEVEL)


def finite_number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def natural_key(label: str) -> tuple[int, float, str]:
    number = finite_number(label)
    return (0, number, "") if number is not None else (1, 0.0, label)
