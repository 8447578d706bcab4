"""The worker processes that draw the charts while the main process goes on."""

from __future__ import annotations

import collections
import functools
import multiprocessing
import os
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Iterable

from bot.charts.chart import Chart
from bot.charts.draw import render_chart
from bot.charts.figure import LINE_MARGINS, new_figure, save
from bot.results.plots import PlotData


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
            warm.submit(warm_up_matplotlib)
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
            futures = hand_out(len(plots), submitters)
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


def hand_out(count: int, submitters: list[Callable[[int], Future]]) -> list[Future]:
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
