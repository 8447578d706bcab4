"""The worker processes that draw the charts while the main process goes on."""

from __future__ import annotations

import os
import signal
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from bot.charts.workers import WarmWorkers, WorkerGone
from bot.workspace.collector import CollectorPause
from bot.workspace.processes import fork_is_safe

# What draws is imported where it is used: the CLI forks the first worker before anything else
# loads, and the worker imports it as it warms up.
if TYPE_CHECKING:
    from bot.charts.chart import Chart
    from bot.results.plots import PlotData


def render_charts(plots: Iterable[PlotData], bundle_dir: Path, labels: dict[str, str]) -> list[Chart]:
    """`labels` names the revisions in legends, e.g. {BASE: "main 1a2b3c4", HEAD: "feature 5d6e7f8"}."""
    with ChartRenderer(workers=0) as renderer:
        return renderer.render(plots, bundle_dir, labels)


class ChartRenderer:
    """Renders charts in worker processes while the main process goes on (reading metrics, writing
    Markdown). The first worker is forked at the start and imports matplotlib while DVC loads; the
    others (one per spare core) are forked from it once it has, so they start warm too. Each plot
    travels to the next idle worker as its definition and its files' bytes or paths, which it parses
    and draws. Falls back to this process where fork is unavailable or unsafe (other threads
    running), and for the chart of a worker that ended while it drew."""

    # Beyond this many, workers add memory (a chart of 100,000 points takes tens of MiB) more than
    # speed: the main process's own reading is then what the report waits for.
    MAX_WORKERS = 4

    def __init__(self, workers: int | None = None):
        self.workers = min(os.cpu_count() or 1, self.MAX_WORKERS) if workers is None else workers
        self._pool: WarmWorkers | None = None
        self._ending: list[WarmWorkers] = []  # closed: their workers end, not waited for yet
        self._depth = 0  # of nested `with` blocks: the outermost waits for the workers to end
        self.mode = ""  # how the last start() rendered: "workers" or "inline"

    def __enter__(self) -> "ChartRenderer":
        """Start the workers, unless started already (the CLI starts them before the job's imports)."""
        if self._pool is None and self.workers > 0 and fork_is_safe():
            self._pool = WarmWorkers(self.workers, _start_worker)
        self._depth += 1
        return self

    def render(self, plots: Iterable[PlotData], bundle_dir: Path, labels: dict[str, str]) -> list[Chart]:
        return self.start(plots, bundle_dir, labels)()

    def start(self, plots: Iterable[PlotData], bundle_dir: Path, labels: dict[str, str]) -> Callable[[], list[Chart]]:
        """Begin rendering; call the returned function for the charts, in the order of `plots`."""
        from bot.charts.draw import render_chart

        images_dir = bundle_dir / "images"
        images_dir.mkdir(parents=True, exist_ok=True)
        plots = list(plots)
        if self._pool is None:
            self.mode = "inline"
            charts = [render_chart(plot, images_dir, labels) for plot in plots]
            return lambda: charts
        self.mode = "workers"
        # The costliest first, so the last chart to finish is a short one.
        order = sorted(range(len(plots)), key=lambda index: drawing_cost(plots[index]), reverse=True)
        futures = {index: self._pool.submit(render_chart, plots[index], images_dir, labels) for index in order}

        def charts() -> list[Chart]:
            return [_drawn(futures[index], plots[index], images_dir, labels) for index in range(len(plots))]

        return charts

    def close(self) -> None:
        """No more charts: the workers end while the caller goes on; leaving the outermost `with`
        waits for them."""
        if self._pool is not None:
            self._pool.close()
            self._ending.append(self._pool)
            self._pool = None  # charts from now on are drawn in this process, or by a new pool

    def __exit__(self, *exc_info) -> None:
        # An inner block (the job's, inside the CLI's) only closes: the workers end while the CLI
        # posts the report, and the CLI's block waits for them.
        self._depth -= 1
        self.close()
        while self._depth == 0 and self._ending:
            self._ending.pop().shutdown()


def _drawn(future: Future, plot: PlotData, images_dir: Path, labels: dict[str, str]) -> Chart:
    from bot.charts.draw import render_chart

    try:
        return future.result()
    except WorkerGone:  # killed, or out of memory: this process draws it, slower but the report stands
        return render_chart(plot, images_dir, labels)


def drawing_cost(plot: PlotData) -> tuple[bool, int]:
    """Confusion matrices first (a grid of panels with a number in each cell), then by data size."""
    from bot.charts.draw import CONFUSION_TEMPLATES

    size = 0
    for revision in plot.revisions.values():
        for ref in revision.files.values():
            size += len(ref) if isinstance(ref, bytes) else _file_size(ref) if isinstance(ref, Path) else ref.size
    size += sum(len(series.ys) for series in plot.series)
    return plot.template in CONFUSION_TEMPLATES, size


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _start_worker() -> None:
    # Ctrl-C reaches the whole process group; the main process ends the run (exit 130) and stops the
    # workers. Left to the default, each worker would print a KeyboardInterrupt traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Charts need no parallel linear algebra. Left to its default, numpy's OpenBLAS starts a thread
    # per core as it loads, whose start and spin take CPU from DVC's start-up in the main process.
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    collector = CollectorPause()
    warm_up_matplotlib()
    collector.set_aside()  # the clones fork next: set aside, these pages stay shared with them too


def warm_up_matplotlib() -> None:
    """Load what every chart needs once, before the clones fork: matplotlib and the drawing code,
    the font and the PNG encoder. No throwaway chart: the report waits for the workers' start-up,
    and drawing one (65 ms) spared each worker's first chart only about 10 ms."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import PIL.PngImagePlugin  # noqa: F401
    from matplotlib.font_manager import FontProperties, findfont, get_font

    import bot.charts.draw  # noqa: F401 - what every task runs

    get_font(findfont(FontProperties()))  # the charts' one font, found and opened
