"""Render plot data as PNG charts (base and head on one figure), and Mermaid text as a fallback."""

from __future__ import annotations

import collections
import functools
import hashlib
import math
import multiprocessing
import os
import re
import signal
import threading
import warnings
from collections import defaultdict
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterable

from bot.images import MAX_IMAGE_BYTES, SUFFIXES, image_kind
from bot.report.model import Chart
from bot.results import BASE, HEAD
from bot.results.plots import PlotData

LINE_TEMPLATES = {"linear", "simple", "smooth", "scatter", "scatter_jitter"}
CONFUSION_TEMPLATES = {"confusion", "confusion_normalized"}
BAR_TEMPLATES = {"bar_horizontal", "bar_horizontal_sorted"}

# Wide enough to read at PR-comment width (about 800 px), small enough to stay light.
_WIDTH_IN, _HEIGHT_IN, _DPI = 7.0, 3.6, 100
_STYLE = {BASE: {"color": "#7f7f7f", "linestyle": "--"}, HEAD: {"color": "#1f77b4", "linestyle": "-"}}
_MERMAID_MAX_POINTS = 40
# Where constrained layout puts a line chart's axes when its tick labels are short, as most are.
# Fixed, they spare the layout engine's pass over every text (about a third of a chart's time).
_LINE_MARGINS = {"left": 0.1, "right": 0.98, "bottom": 0.131, "top": 0.929}
_PANEL_IN = 3.4  # a confusion matrix panel, square


def render_charts(plots: Iterable[PlotData], bundle_dir: Path, labels: dict[str, str]) -> list[Chart]:
    """`labels` names the revisions in legends, e.g. {BASE: "main 1a2b3c4", HEAD: "feature 5d6e7f8"}."""
    with ChartRenderer(workers=0) as renderer:
        return renderer.render(plots, bundle_dir, labels)


class ChartRenderer:
    """Renders charts in worker processes while the main process goes on (reading metrics, writing
    Markdown). A warm worker is forked at the start and imports matplotlib while DVC loads; small
    plot data is sent to it. Large plot data is costly to pickle, so then fresh workers are forked
    after the plots are read and inherit the data in memory; only the small Charts travel back.
    While they import matplotlib the warm worker draws too, taking the next plot whenever it is
    free. Falls back to this process where fork is unavailable or unsafe (other threads running)."""

    # Above this many points in all plots, inheriting the data beats pickling it to the warm worker.
    LARGE_DATA_POINTS = 50_000

    def __init__(self, workers: int | None = None):
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        self._pools: list[ProcessPoolExecutor] = []
        self.mode = ""  # how the last start() rendered: "inherit", "warm" or "inline"

    @staticmethod
    def _fork_is_safe(allow_pool_threads: bool = False) -> bool:
        """Forking copies no other thread, so any lock another thread holds stays locked in the child.
        Our own pool's threads are harmless there: the child never touches that pool."""
        others = [
            thread
            for thread in threading.enumerate()
            if thread is not threading.main_thread()
            and not (allow_pool_threads and _is_pool_thread(thread))
        ]
        return "fork" in multiprocessing.get_all_start_methods() and not others

    def __enter__(self) -> "ChartRenderer":
        if self.workers > 0 and self._fork_is_safe():
            warm = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"), initializer=_ignore_ctrl_c)
            warm.submit(_warm_up_matplotlib)
            self._pools.append(warm)
        return self

    def render(self, plots: Iterable[PlotData], bundle_dir: Path, labels: dict[str, str]) -> list[Chart]:
        return self.start(plots, bundle_dir, labels)()

    def start(self, plots: Iterable[PlotData], bundle_dir: Path, labels: dict[str, str]) -> Callable[[], list[Chart]]:
        """Begin rendering; call the returned function for the charts, in the order of `plots`."""
        images_dir = bundle_dir / "images"
        images_dir.mkdir(parents=True, exist_ok=True)
        plots = list(plots)
        large = sum(len(plot.datapoints) for plot in plots) > self.LARGE_DATA_POINTS
        if large and self.workers > 0 and self._fork_is_safe(allow_pool_threads=True):
            self.mode = "inherit"
            # One core each: the warm worker counts as one.
            count = max(1, min(self.workers - len(self._pools), len(plots)))
            inheriting = ProcessPoolExecutor(
                count,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_adopt,
                initargs=(plots, images_dir, labels),  # inherited through fork, not pickled
            )
            submitters = [functools.partial(inheriting.submit, _render_adopted)] * count
            if self._pools:
                # The new workers import matplotlib first; meanwhile the warm one draws, its data sent over.
                warm = self._pools[0]
                submitters.append(lambda index: warm.submit(render_chart, plots[index], images_dir, labels))
            self._pools.append(inheriting)
            futures = _hand_out(len(plots), submitters)
        elif self._pools:
            self.mode = "warm"
            futures = [self._pools[0].submit(render_chart, plot, images_dir, labels) for plot in plots]
        else:
            self.mode = "inline"
            charts = [render_chart(plot, images_dir, labels) for plot in plots]
            return lambda: charts
        return lambda: [future.result() for future in futures]

    def _shutdown(self) -> None:
        for pool in self._pools:
            pool.shutdown(cancel_futures=True)
        self._pools.clear()

    def __exit__(self, *exc_info) -> None:
        self._shutdown()


def _hand_out(count: int, submitters: list[Callable[[int], Future]]) -> list[Future]:
    """Futures of `count` tasks, handed out one at a time: each submitter takes the next task when its
    last one is done, so a worker that is busy starting up takes fewer."""
    results: list[Future] = [Future() for _ in range(count)]
    waiting = collections.deque(range(count))
    lock = threading.Lock()

    def take_next(submit: Callable[[int], Future]) -> None:
        while True:
            with lock:
                if not waiting:
                    return
                index = waiting.popleft()
            try:
                submitted = submit(index)
            except Exception as exc:  # a broken or shut-down pool: its tasks fail, none waits forever
                results[index].set_exception(exc)
                continue
            submitted.add_done_callback(lambda done, index=index: finished(done, index, submit))
            return

    def finished(done: Future, index: int, submit: Callable[[int], Future]) -> None:
        if done.cancelled():
            results[index].cancel()
        elif done.exception() is not None:
            results[index].set_exception(done.exception())
        else:
            results[index].set_result(done.result())
        take_next(submit)

    for submit in submitters:
        take_next(submit)
    return results


def _is_pool_thread(thread: threading.Thread) -> bool:
    # A process pool's manager thread, and the feeder thread of its multiprocessing queue.
    return type(thread).__module__ == "concurrent.futures.process" or thread.name == "QueueFeederThread"


def _warm_up_matplotlib() -> None:
    import io

    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401

    # A first chart costs more than the next ones (fonts, the PNG encoder): pay that while idle.
    figure = _new_figure(margins=_LINE_MARGINS)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], label="warm-up")
    axes.set_title("warm-up")
    axes.legend()
    _save(figure, io.BytesIO())


# What a forked worker renders: set once per worker by the pool's initializer.
_adopted: tuple[list[PlotData], Path, dict[str, str]] = ([], Path(), {})


def _ignore_ctrl_c() -> None:
    # Ctrl-C reaches the whole process group; the main process ends the run (exit 130) and stops the
    # workers. Left to the default, each worker would print a KeyboardInterrupt traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _adopt(plots: list[PlotData], images_dir: Path, labels: dict[str, str]) -> None:
    global _adopted
    _ignore_ctrl_c()
    _adopted = (plots, images_dir, labels)


def _render_adopted(index: int) -> Chart:
    plots, images_dir, labels = _adopted
    return render_chart(plots[index], images_dir, labels)


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
        figure = _confusion_figure(plot, labels)
        mermaid = ""
    elif plot.template in BAR_TEMPLATES:
        figure = _bar_figure(plot, labels)
        mermaid = _mermaid_bars(plot)
    else:
        if plot.template not in LINE_TEMPLATES:
            notes.append(f"template {plot.template!r} drawn as a line chart")
        series = series_by_revision(plot)
        figure, skipped = _line_figure(plot, series, labels)
        if skipped:
            notes.append(f"{skipped} points without numeric x/y values were left out")
        mermaid = _mermaid_lines(plot, series)
    path = images_dir / f"{stem}.png"
    _save(figure, path)
    return Chart(plot.id, plot.title, plot.template, [f"images/{path.name}"], [plot.title], notes, mermaid)


def file_stem(plot_id: str) -> str:
    """A safe, unique, stable file name for a plot id (which may be any path)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", plot_id).strip("-.")[:60] or "plot"
    return f"{slug}-{hashlib.sha1(plot_id.encode()).hexdigest()[:8]}"


def _new_figure(width: float = _WIDTH_IN, height: float = _HEIGHT_IN, margins: dict[str, float] | None = None):
    """A figure laid out by constrained layout, or with fixed `margins` (fractions of its size)."""
    # The object API needs no display and keeps no global pyplot state.
    from matplotlib.figure import Figure

    if margins is None:
        return Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    figure = Figure(figsize=(width, height), dpi=_DPI)
    figure.subplots_adjust(**margins)
    return figure


def _save(figure, path: Path) -> None:
    """Draw the figure once and write it as PNG. Fixed margins stay if everything fits in the figure;
    when something sticks out (a long tick label, say), constrained layout makes room."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    if figure.get_layout_engine() is None:
        canvas.draw()
        if _fits(figure, canvas.get_renderer()):
            _write_png(canvas, path)
            return
        figure.set_layout_engine("constrained")
    # savefig would run the layout engine twice (a dry-run draw, then the real one); once is enough
    # and gives the same pixels.
    figure.get_layout_engine().execute(figure)
    figure.set_layout_engine(None)
    canvas.draw()
    _write_png(canvas, path)


def _fits(figure, renderer) -> bool:
    drawn = figure.get_tightbbox(renderer)  # in inches
    width, height = figure.get_size_inches()
    return drawn.x0 >= 0 and drawn.y0 >= 0 and drawn.x1 <= width and drawn.y1 <= height


def _write_png(canvas, path: Path) -> None:
    from matplotlib.image import imsave

    # No "Software" metadata and a fixed dpi keep the bytes identical for identical input.
    imsave(path, canvas.buffer_rgba(), format="png", dpi=_DPI, metadata={"Software": None})


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def series_by_revision(plot: PlotData) -> "Series":
    """(rev, source file, y field) -> (xs, ys, points skipped)."""
    grouped: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for point in plot.datapoints:
        grouped[(point["rev"], point.get("filename", ""), point.get("field", plot.y))].append(point)
    import numpy as np

    series = {}
    for key, points in grouped.items():
        y_field = key[2]
        xs = _floats([point.get(plot.x, index) for index, point in enumerate(points)] if plot.x else range(len(points)))
        ys = _floats([point.get(y_field) for point in points])
        keep = np.isfinite(xs) & np.isfinite(ys)
        series[key] = (xs[keep].tolist(), ys[keep].tolist(), int(len(points) - keep.sum()))
    return dict(sorted(series.items(), key=lambda item: (item[0][0] != BASE, item[0][1], item[0][2])))


def _floats(values):
    """Numbers (or numeric strings, as CSV gives them) as a float array; anything else becomes NaN."""
    import numpy as np

    try:
        return np.asarray(values, dtype=float)  # converts in C: the common case at scale
    except (TypeError, ValueError):
        numbers = (_number(value) for value in values)
        return np.array([np.nan if number is None else number for number in numbers], dtype=float)


Series = dict[tuple[str, str, str], tuple[list[float], list[float], int]]


def _line_figure(plot: PlotData, series: Series, labels: dict[str, str]):
    figure = _new_figure(margins=_LINE_MARGINS)
    axes = figure.add_subplot()
    several_fields = len({(source, y_field) for _, source, y_field in series}) > 1
    skipped_total = 0
    for (role, source, y_field), (xs, ys, skipped) in series.items():
        skipped_total += skipped
        label = labels[role] + (f" · {source}:{y_field}" if several_fields else "")
        style = _STYLE[role]
        if plot.template in ("scatter", "scatter_jitter"):
            axes.scatter(xs, ys, s=10, color=style["color"], label=label, alpha=0.7)
        elif plot.template == "smooth" and len(ys) > 4:
            axes.plot(xs, ys, color=style["color"], alpha=0.25, linewidth=1)
            axes.plot(xs, _moving_average(ys, max(2, len(ys) // 20)), label=label, linewidth=2, **style)
        else:
            axes.plot(xs, ys, label=label, linewidth=1.8, **style)
    axes.set_title(plot.title)
    axes.set_xlabel(plot.x_label or plot.x)
    axes.set_ylabel(plot.y_label or plot.y)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize="small")
    return figure, skipped_total


def _moving_average(values: list[float], window: int) -> list[float]:
    import numpy as np

    kernel = np.ones(window) / window
    padded = np.concatenate([np.full(window - 1, values[0]), values])
    return list(np.convolve(padded, kernel, mode="valid"))


def confusion_matrices(plot: PlotData) -> tuple[list[str], dict[str, Any]]:
    """Class labels and role -> matrix (rows: actual = y field, columns: predicted = x field)."""
    import numpy as np

    pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for point in plot.datapoints:
        pairs[point["rev"]].append((str(point.get(plot.y)), str(point.get(plot.x))))
    classes = sorted({label for rows in pairs.values() for pair in rows for label in pair}, key=_natural_key)
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


def _natural_key(label: str) -> tuple[int, float, str]:
    number = _number(label)
    return (0, number, "") if number is not None else (1, 0.0, label)


def _confusion_figure(plot: PlotData, labels: dict[str, str]):
    classes, matrices = confusion_matrices(plot)
    panels = [(labels[role], matrices[role], "Blues") for role in (BASE, HEAD) if role in matrices]
    if BASE in matrices and HEAD in matrices:
        panels.append(("difference (head − base)", matrices[HEAD] - matrices[BASE], "RdBu"))
    figure = _new_figure(width=_PANEL_IN * len(panels), height=_PANEL_IN, margins=_panel_margins(len(panels)))
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
    width = _PANEL_IN * count
    left, right, bottom, top, gap = 0.61, 0.1, 0.52, 0.48, 0.85  # inches
    panel = (width - left - right - gap * (count - 1)) / count
    return {
        "left": left / width,
        "right": 1 - right / width,
        "bottom": bottom / _PANEL_IN,
        "top": 1 - top / _PANEL_IN,
        "wspace": gap / panel,
    }


def _cells(matrix) -> Iterable[tuple[tuple[int, int], float]]:
    rows, columns = matrix.shape
    for row in range(rows):
        for column in range(columns):
            yield (row, column), float(matrix[row, column])


def _bar_figure(plot: PlotData, labels: dict[str, str]):
    import numpy as np

    values: dict[str, dict[str, float]] = defaultdict(dict)
    for point in plot.datapoints:
        number = _number(point.get(plot.x))
        if number is not None:
            values[point["rev"]][str(point.get(plot.y))] = number
    categories = sorted({category for per_rev in values.values() for category in per_rev}, key=_natural_key)
    if plot.template == "bar_horizontal_sorted" and HEAD in values:
        categories.sort(key=lambda category: values[HEAD].get(category, 0.0))
    figure = _new_figure(height=max(2.5, 0.35 * len(categories) + 1.2))
    axes = figure.add_subplot()
    positions = np.arange(len(categories))
    roles = [role for role in (BASE, HEAD) if role in values]
    height = 0.8 / max(len(roles), 1)
    for offset, role in enumerate(roles):
        axes.barh(positions + offset * height, [values[role].get(c, 0.0) for c in categories], height,
                  label=labels[role], color=_STYLE[role]["color"])
    axes.set_yticks(positions + height * (len(roles) - 1) / 2, categories, fontsize="small")
    axes.set_title(plot.title)
    axes.set_xlabel(plot.x_label or plot.x)
    axes.legend(fontsize="small")
    return figure


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


def _mermaid_text(text: str) -> str:
    # Mermaid reads "%%{init: ...}%%" anywhere in a chart as its configuration (theme, CSS, fonts).
    return re.sub(r'["`<>\n\r%{}]', " ", text)[:80]


def _downsample(xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
    step = max(1, math.ceil(len(xs) / _MERMAID_MAX_POINTS))
    return xs[::step], ys[::step]


def _mermaid_lines(plot: PlotData, series_by_key: Series) -> str:
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


def _mermaid_bars(plot: PlotData) -> str:
    head_points = [p for p in plot.datapoints if p["rev"] == HEAD and _number(p.get(plot.x)) is not None]
    if not head_points:
        return ""
    head_points = head_points[:_MERMAID_MAX_POINTS]
    categories = ", ".join(f'"{_mermaid_text(str(p.get(plot.y)))}"' for p in head_points)
    bars = ", ".join(f"{_number(p.get(plot.x)):.6g}" for p in head_points)
    return "\n".join(
        ["xychart-beta horizontal", f'    title "{_mermaid_text(plot.title)}"', f"    x-axis [{categories}]", f"    bar [{bars}]"]
    )
