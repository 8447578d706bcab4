"""The worker processes that draw the charts while the main process goes on."""

from __future__ import annotations

import collections
import multiprocessing
import os
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Iterable

from bot.charts.chart import Chart
from bot.charts.draw import CONFUSION_TEMPLATES, render_chart
from bot.charts.figure import LINE_MARGINS, new_figure, save
from bot.results.plots import PlotData
from bot.workspace.processes import fork_is_safe


def render_charts(plots: Iterable[PlotData], bundle_dir: Path, labels: dict[str, str]) -> list[Chart]:
    """`labels` names the revisions in legends, e.g. {BASE: "main 1a2b3c4", HEAD: "feature 5d6e7f8"}."""
    with ChartRenderer(workers=0) as renderer:
        return renderer.render(plots, bundle_dir, labels)


class ChartRenderer:
    """Renders charts in worker processes while the main process goes on (reading metrics, writing
    Markdown). A warm worker is forked at the start and imports matplotlib while DVC loads; each plot
    travels to it as its definition and its files' bytes or paths, which it parses and draws. When
    there are many charts, more workers are forked once the plots are read (one per spare core):
    while they import matplotlib the warm one draws, each taking the next plot when it is free.
    Falls back to this process where fork is unavailable or unsafe (other threads running)."""

    # From this many charts on, a worker forked when the plots are read pays for its own start-up
    # (scale benchmark, 20 charts: 1.2x faster); for fewer, it only competes for the cores.
    MORE_WORKERS_FROM_CHARTS = 8

    def __init__(self, workers: int | None = None):
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        self._pools: list[ProcessPoolExecutor] = []
        self.mode = ""  # how the last start() rendered: "warm", "warm+forked" or "inline"

    def _fork_pool(self, workers: int) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_start_worker)
        pool.submit(int)  # forks the workers now (fork pools start them all at the first task)
        self._pools.append(pool)
        return pool

    def __enter__(self) -> "ChartRenderer":
        if self.workers > 0 and fork_is_safe():
            self._fork_pool(1)
        return self

    def render(self, plots: Iterable[PlotData], bundle_dir: Path, labels: dict[str, str]) -> list[Chart]:
        return self.start(plots, bundle_dir, labels)()

    def start(self, plots: Iterable[PlotData], bundle_dir: Path, labels: dict[str, str]) -> Callable[[], list[Chart]]:
        """Begin rendering; call the returned function for the charts, in the order of `plots`."""
        images_dir = bundle_dir / "images"
        images_dir.mkdir(parents=True, exist_ok=True)
        plots = list(plots)
        if not self._pools:
            self.mode = "inline"
            charts = [render_chart(plot, images_dir, labels) for plot in plots]
            return lambda: charts
        self.mode = "warm"
        pools = list(self._pools)
        spare = min(self.workers - len(self._pools), len(plots) - 1)
        if len(plots) >= self.MORE_WORKERS_FROM_CHARTS and spare > 0 and fork_is_safe(allow_pool_threads=True):
            self.mode = "warm+forked"
            pools += [self._fork_pool(1) for _ in range(spare)]
        # The costliest first, so the last chart to finish is a short one.
        order = sorted(range(len(plots)), key=lambda index: drawing_cost(plots[index]), reverse=True)
        submitters = [lambda index, pool=pool: pool.submit(render_chart, plots[index], images_dir, labels) for pool in pools]
        futures = hand_out(order, submitters)
        return lambda: [futures[index].result() for index in range(len(plots))]

    def __exit__(self, *exc_info) -> None:
        for pool in self._pools:
            pool.shutdown(cancel_futures=True)
        self._pools.clear()


def hand_out(order: list[int], submitters: list[Callable[[int], Future]]) -> dict[int, Future]:
    """Futures of the tasks in `order`, handed out one at a time: each submitter takes the next task
    when its last one is done, so a worker that is busy starting up takes fewer."""
    results: dict[int, Future] = {index: Future() for index in order}
    waiting = collections.deque(order)
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


def drawing_cost(plot: PlotData) -> tuple[bool, int]:
    """Confusion matrices first (a grid of panels with a number in each cell), then by data size."""
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
    warm_up_matplotlib()


def warm_up_matplotlib() -> None:
    import io

    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401

    # A first chart costs more than the next ones (fonts, the PNG encoder): pay that while idle.
    figure = new_figure(margins=LINE_MARGINS)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], label="warm-up")
    axes.set_title("warm-up")
    axes.legend()
    save(figure, io.BytesIO())
