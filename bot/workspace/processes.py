"""Whether this process may fork worker processes now."""

from __future__ import annotations

import multiprocessing
import threading


def fork_is_safe(allow_pool_threads: bool = False) -> bool:
    """Forking copies no other thread, so any lock another thread holds stays locked in the child.
    A process pool's own threads are harmless there (with `allow_pool_threads`): the child never
    touches that pool."""
    others = [
        thread
        for thread in threading.enumerate()
        if thread is not threading.main_thread() and not (allow_pool_threads and _is_pool_thread(thread))
    ]
    return "fork" in multiprocessing.get_all_start_methods() and not others


def _is_pool_thread(thread: threading.Thread) -> bool:
    # A process pool's manager thread, the feeder thread of its multiprocessing queue, and the
    # dispatcher of the chart workers (named in bot/charts/workers.py; not imported, it is bot's layer above).
    return type(thread).__module__ == "concurrent.futures.process" or thread.name in {"QueueFeederThread", "mrbot-warm-workers"}
