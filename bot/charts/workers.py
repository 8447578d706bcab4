"""Worker processes that start warm. The first is forked from this process at the start and
prepares itself (imports, fonts); the others are forked from it once it is ready,
so they begin with all of that done instead of paying for it again on the same cores."""

from __future__ import annotations

import collections
import multiprocessing
import os
import threading
from concurrent.futures import Future
from multiprocessing.connection import Connection, wait
from typing import Any, Callable

# The name fork_is_safe knows this pool's thread by.
DISPATCH_THREAD = "mrbot-warm-workers"


class WorkerGone(RuntimeError):
    """The worker given a task ended without an answer (killed, out of memory)."""


class WarmWorkers:
    """`count` workers, each with a pipe of its own; a task goes to a worker only when it is idle,
    so a task never waits behind a busy worker and a send never blocks on one."""

    def __init__(self, count: int, prepare: Callable[[], None]):
        context = multiprocessing.get_context("fork")
        pairs = [context.Pipe() for _ in range(count)]
        self._pipes = [ours for ours, _ in pairs]
        theirs = [their for _, their in pairs]
        self._first = context.Process(target=_first_worker, args=(prepare, theirs, self._pipes), daemon=True)
        self._first.start()
        for pipe in theirs:
            pipe.close()
        self._lock = threading.Lock()
        self._waiting: collections.deque[tuple[Future, Callable, tuple]] = collections.deque()
        self._idle: list[Connection] = []
        self._running: dict[Connection, Future] = {}
        self._live = list(self._pipes)
        self._closing = False
        self._thread = threading.Thread(target=self._dispatch, name=DISPATCH_THREAD, daemon=True)
        self._thread.start()

    def submit(self, function: Callable, *args: Any) -> Future:
        future: Future = Future()
        with self._lock:
            if self._closing:
                raise RuntimeError("cannot submit after close")
            self._waiting.append((future, function, args))
            self._hand_out()
        return future

    def shutdown(self) -> None:
        """Close, and wait for every worker to end."""
        self.close()
        self._thread.join()
        self._first.join()
        for pipe in self._pipes:
            pipe.close()

    def close(self) -> None:
        """Cancel what waits, and tell each worker to end once its task is done, without waiting:
        a process's exit takes some milliseconds, which the caller can spend on its own work."""
        with self._lock:
            self._closing = True
            for future, _, _ in self._waiting:
                future.cancel()
            self._waiting.clear()
            for pipe in self._idle:
                _send_quietly(pipe, None)
            self._idle.clear()

    def _hand_out(self) -> None:
        """With the lock held: the waiting tasks to the idle workers, in order."""
        while self._waiting and self._idle:
            future, function, args = self._waiting.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            pipe = self._idle.pop()
            try:
                pipe.send((function, args))
            except OSError:  # the worker is gone; the dispatcher reads its end of file
                future.set_exception(WorkerGone("a chart worker ended before it took its task"))
                continue
            except Exception as exc:  # noqa: BLE001 - the task cannot be pickled: it fails, the worker stays
                future.set_exception(exc)
                self._idle.append(pipe)
                continue
            self._running[pipe] = future

    def _dispatch(self) -> None:
        """Answers and readiness from the workers; each idle worker gets the next task."""
        while self._live:
            for pipe in wait(self._live):
                try:
                    answer = pipe.recv()
                except (EOFError, OSError):
                    self._lost(pipe)
                    continue
                except Exception as exc:  # noqa: BLE001 - an answer that cannot be unpickled
                    answer = (False, exc)
                with self._lock:
                    future = self._running.pop(pipe, None)
                    if future is not None:  # else the worker says it is ready
                        succeeded, value = answer
                        future.set_result(value) if succeeded else future.set_exception(value)
                    if self._closing:
                        _send_quietly(pipe, None)
                    else:
                        self._idle.append(pipe)
                        self._hand_out()

    def _lost(self, pipe: Connection) -> None:
        with self._lock:
            self._live.remove(pipe)
            if pipe in self._idle:
                self._idle.remove(pipe)
            if (future := self._running.pop(pipe, None)) is not None:
                future.set_exception(WorkerGone("a chart worker ended while it drew"))
            if not self._live:
                while self._waiting:
                    future, _, _ = self._waiting.popleft()
                    if future.set_running_or_notify_cancel():
                        future.set_exception(WorkerGone("no chart worker is left"))


def _send_quietly(pipe: Connection, message: Any) -> None:
    try:
        pipe.send(message)
    except OSError:  # already gone
        pass


def _first_worker(prepare: Callable[[], None], theirs: list[Connection], ours: list[Connection]) -> None:
    for pipe in ours:  # this process's copies of the other ends: left open, no worker would see EOF
        pipe.close()
    prepare()
    mine, others = theirs[0], theirs[1:]
    clones = []
    for pipe in others:
        pid = os.fork()  # a single-threaded process: forking is safe here
        if pid == 0:
            for other in theirs:
                if other is not pipe:
                    other.close()
            _serve(pipe)
            os._exit(0)  # not the first worker's exit path, which it inherited
        clones.append(pid)
        pipe.close()
    _serve(mine)
    for pid in clones:  # each ends at the shutdown too; reaped here, none is left behind as a zombie
        os.waitpid(pid, 0)


def _serve(pipe: Connection) -> None:
    pipe.send(None)  # ready
    while True:
        try:
            task = pipe.recv()
        except EOFError:
            return
        if task is None:
            return
        function, args = task
        try:
            answer = (True, function(*args))
        except Exception as exc:  # noqa: BLE001 - the task's failure is its caller's to see
            answer = (False, exc)
        try:
            pipe.send(answer)
        except OSError:
            return
        except Exception as exc:  # noqa: BLE001 - an answer that cannot be pickled
            pipe.send((False, RuntimeError(f"the answer could not be sent back: {type(exc).__name__}: {exc}")))
