"""Stream what the pipeline prints to the job log as it comes, and keep its last lines for the report.

DVC runs stage commands as child processes that write straight to file descriptors 1 and 2, so the
capture works at that level: both go into a pipe, and a thread copies each line (secrets masked) to
the job's stderr and into a short ring buffer. DVC's own messages are routed into the same pipe,
so the log keeps the order in which things happened. mrbot's stdout (the report, with --dry-run)
stays clean.
"""

from __future__ import annotations

import collections
import logging
import os
import re
import sys
import threading
from typing import Callable, Sequence

from bot.ci.folds import LogFolds
from bot.masking import mask, safe_cut

TAIL_LINES = 50
# A minified JSON dump or a progress bar must not blow up the report.
MAX_LINE_CHARS = 400
# Output without any newline is passed on in pieces this large, ...
_MAX_PENDING_BYTES = 4096
# ... and its end kept pending, so that a secret cut there is whole in the next piece: at least the
# longest secret, and this much for the tokens and URLs recognized by their shape.
_KEEP_BYTES = 256
_DVC_LOGGERS = ("dvc", "dvc_objects", "dvc_data")
_LINE_END = re.compile(rb"(\r\n|\r|\n)")
_SYNC = re.compile(rb"\x00mrbot-sync-(\d+)\x00$")
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# DVC's advice to someone at a terminal (git add, autostage, dvc init's), which a CI log does not need.
_DVC_HINTS = ("To track the changes with git", "To enable auto staging", "You can now commit the changes to git")
# DVCLive's advice to use `dvc exp run` when a stage runs under `dvc repro`, as mrbot runs it; as its
# logger prints it ("WARNING:dvclive:...") or Python's last-resort handler does (the message alone).
_STAGE_HINTS = re.compile(
    r"(WARNING:dvclive:|INFO:dvclive:)?(Ignoring `save_dvc_exp` because `dvc (repro|exp run)` is running"
    r"|Use `dvc exp run` to save experiment|Some DVCLive features are unsupported in `dvc repro`"
    r"|To use DVCLive with a DVC Pipeline, run it with `dvc exp run`)"
)


class OutputCapture:
    """Use as a context manager around `dvc pull` / `dvc repro`; `mark()` starts a new step's tail."""

    def __init__(
        self,
        secrets: Sequence[str] = (),
        echo: Callable[[str], None] | None = None,
        tail_lines: int = TAIL_LINES,
        folds: LogFolds = LogFolds(),
    ):
        self._secrets = list(secrets)
        self._folds = folds
        # latin-1 gives one character per byte: cut points found in this text are byte offsets.
        self._byte_secrets = [secret.encode("utf-8").decode("latin-1") for secret in self._secrets]
        self._keep = max([len(secret) for secret in self._byte_secrets] + [_KEEP_BYTES])
        self._echo = echo
        self._tail: collections.deque[str] = collections.deque(maxlen=tail_lines)
        self._problems: list[str] = []
        self._lock = threading.Condition()
        self._sync_sent = 0
        self._sync_seen = 0
        self._saved_fds: dict[int, int] = {}
        self._saved_loggers: dict[str, tuple[list[logging.Handler], bool]] = {}
        self._reader: threading.Thread | None = None
        self._read_fd = -1
        self._closed = False

    def __enter__(self) -> "OutputCapture":
        _flush_python_streams()
        self._saved_fds = {fd: os.dup(fd) for fd in (1, 2)}
        self._read_fd, write_fd = os.pipe()
        for fd in (1, 2):
            os.dup2(write_fd, fd)
        os.close(write_fd)
        self._reader = threading.Thread(target=self._read, name="mrbot-output", daemon=True)
        self._reader.start()
        quiet_dvc_console()
        handler = _DvcLogHandler(self)
        for name in _DVC_LOGGERS:
            logger = logging.getLogger(name)
            self._saved_loggers[name] = (logger.handlers[:], logger.propagate, logger.level)
            # Here DVC's messages go into the pipe, in order with the stages' output; once.
            logger.handlers[:], logger.propagate = [handler], False
            logger.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.sync()
        finally:
            for name, (handlers, propagate, level) in self._saved_loggers.items():
                logger = logging.getLogger(name)
                logger.handlers[:], logger.propagate = handlers, propagate
                logger.setLevel(level)
            _flush_python_streams()
            for fd, saved in self._saved_fds.items():
                os.dup2(saved, fd)
            assert self._reader is not None
            # A background process a stage left behind may still hold the pipe open: don't wait for it.
            self._reader.join(timeout=2)
            with self._lock:
                self._closed = True
            if not self._reader.is_alive():
                os.close(self._read_fd)
                for saved in self._saved_fds.values():
                    os.close(saved)

    def mark(self) -> None:
        """Forget the lines and DVC problems seen so far: what follows belongs to a new step."""
        self.sync()
        with self._lock:
            self._tail.clear()
            self._problems.clear()

    def start_fold(self, key: str, title: str) -> None:
        """What follows folds under `title` in a CI log (until end_fold); not part of the tail."""
        self._marker(self._folds.start(key, title))

    def end_fold(self, key: str) -> None:
        self._marker(self._folds.end(key))

    def _marker(self, text: str) -> None:
        if text:
            self.sync()  # after everything written before it
            self._emit(text)

    def tail(self) -> list[str]:
        """The last lines (masked) since the last mark."""
        self.sync()
        with self._lock:
            return list(self._tail)

    def problems(self) -> list[str]:
        """DVC's warnings and errors (masked) since the last mark; its exceptions often omit the cause."""
        self.sync()
        with self._lock:
            return list(self._problems)

    def sync(self) -> None:
        """Wait until everything written so far (by us or a finished child process) has been read."""
        _flush_python_streams()
        with self._lock:
            self._sync_sent += 1
            number = self._sync_sent
        os.write(1, b"\x00mrbot-sync-%d\x00\n" % number)
        with self._lock:
            while self._sync_seen < number and self._reader is not None and self._reader.is_alive():
                self._lock.wait(timeout=1)

    def write_log_line(self, text: str) -> None:
        """A DVC log message, written into the pipe so it stays in order with the stages' output."""
        os.write(2, (text.rstrip("\n") + "\n").encode("utf-8", "replace"))

    def note_problem(self, text: str) -> None:
        with self._lock:
            self._problems.append(mask(text, self._secrets))

    def _read(self) -> None:
        pending = b""
        while True:
            chunk = os.read(self._read_fd, 65536)
            if not chunk:
                break
            pending = self._consume(pending + chunk)
        if pending:
            self._line(pending, b"")

    def _consume(self, data: bytes) -> bytes:
        parts = _LINE_END.split(data)
        # parts alternate: text, line end, text, line end, ..., unfinished text
        for index in range(0, len(parts) - 1, 2):
            self._line(parts[index], parts[index + 1])
        rest = parts[-1]
        if len(rest) > _MAX_PENDING_BYTES + self._keep and b"\x00mrbot-sync-" not in rest:
            # Each piece is masked alone: cut where no secret is cut in two.
            at = len(rest) - self._keep
            cut = safe_cut(rest.decode("latin-1"), self._byte_secrets, at) or at
            self._line(rest[:cut], b"")
            rest = rest[cut:]
        return rest

    def _line(self, raw: bytes, end: bytes) -> None:
        sync = _SYNC.search(raw)
        if sync:
            raw = raw[: sync.start()]
        if raw:
            text = mask(raw.decode("utf-8", "replace"), self._secrets)
            plain = _ANSI_ESCAPE.sub("", text).rstrip()
            if not _STAGE_HINTS.match(plain.lstrip()):
                self._emit(text + end.decode())
                if plain.strip():
                    with self._lock:
                        self._tail.append(_shorten(plain))
        if sync:
            with self._lock:
                self._sync_seen = max(self._sync_seen, int(sync.group(1)))
                self._lock.notify_all()

    def _emit(self, text: str) -> None:
        with self._lock:
            if self._closed:
                return
        if self._echo is not None:
            self._echo(text)
        else:
            os.write(self._saved_fds[2], text.encode("utf-8", "replace"))


class _DvcLogHandler(logging.Handler):
    """Formats DVC's records as its CLI does ("WARNING: ..."), into the capture."""

    def __init__(self, capture: OutputCapture):
        super().__init__(logging.INFO)
        self.capture = capture

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not message.strip() or message.strip().startswith(_DVC_HINTS):
            return
        if record.exc_info and record.exc_info[1] is not None:
            causes_text = causes(record.exc_info[1])
            message = " - ".join(part for part in (message, causes_text) if part)
        if record.levelno >= logging.WARNING:
            message = f"{record.levelname}: {message}"
            self.capture.note_problem(message)
        self.capture.write_log_line(message)


_dvc_console_quiet = False


def quiet_dvc_console() -> None:
    """DVC installs console handlers of its own when imported, and its records also reach mrbot's
    log handler: every message would print twice. Outside a capture only DVC's warnings and errors
    are worth a line of the job log, once, through mrbot's handler (masked, `mrbot: ` first)."""
    import dvc  # noqa: F401 - its import installs the handlers that are removed here

    global _dvc_console_quiet
    if _dvc_console_quiet:
        return  # once: a capture in progress has routed DVC's loggers into its pipe
    _dvc_console_quiet = True
    for name in _DVC_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:], logger.propagate = [], True
        logger.setLevel(logging.WARNING)


def causes(exc: BaseException) -> str:
    """DVC's message and its causes on one line, as `dvc` prints them."""
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None:
        text = " ".join(str(current).split())
        if text and text not in parts:
            parts.append(text)
        current = current.__cause__
    return ": ".join(parts) or type(exc).__name__


def _shorten(line: str) -> str:
    return line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 1] + "…"


def _flush_python_streams() -> None:
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        if stream is not None:
            try:
                stream.flush()
            except (OSError, ValueError):
                pass  # closed or detached: nothing buffered to lose
