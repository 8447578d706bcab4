"""Metrics and params of the base and head revisions, read through DVC's Python API, with the plots."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from bot.results import BASE, HEAD
from bot.results.plots import PlotData, read_plots
from bot.workspace.recorded import Recorded, recorded_or_none, recorded_outputs
from bot.workspace.repo import describe_error, is_absent, open_repo

log = logging.getLogger(__name__)

# role -> file path -> flattened name -> value
Values = dict[str, dict[str, dict[str, Any]]]


@dataclass
class Results:
    metrics: Values
    params: Values
    plots: list[PlotData]
    # role -> path -> why it could not be read
    unreadable: dict[str, dict[str, str]] = field(default_factory=lambda: {BASE: {}, HEAD: {}})
    # Metric values DVC leaves out (lists, nulls), one line each
    skipped: list[str] = field(default_factory=list)
    # role -> the outputs its DVC files record (None: they could not be read), for the data changes
    recorded: dict[str, dict[str, Recorded] | None] = field(default_factory=lambda: {BASE: {}, HEAD: {}})

    def problems(self) -> list[str]:
        return [
            f"{role} {path}: {reason}"
            for role in (BASE, HEAD)
            for path, reason in sorted(self.unreadable.get(role, {}).items())
        ]


def read_values(repo: Any, base_sha: str, plots: list[PlotData]) -> Results:
    """Head is the working tree (what the job just reproduced); base is a commit read from git and
    the DVC cache or default remote, the way `dvc metrics diff` reads it."""
    shown: dict[str, dict[str, Any]] = {"metrics": {}, "params": {}}
    unreadable: dict[str, dict[str, str]] = {BASE: {}, HEAD: {}}
    recorded: dict[str, dict[str, Recorded] | None] = {}
    # One revision at a time, everything read together: DVC rebuilds its index of the pipeline each
    # time it switches revision, which `show(revs=...)` does twice per call.
    with _skipped_metric_values() as skipped:
        for role, revision, what in (
            (BASE, _at_revision(repo, base_sha), "the base"),
            (HEAD, contextlib.nullcontext(True), "the working tree"),
        ):
            with revision as has_project:
                if not has_project:  # nothing to compare there: every metric is new
                    shown["metrics"][role] = shown["params"][role] = {}
                    recorded[role] = {}
                    continue
                shown["metrics"][role] = _only_result(repo.metrics.show())
                shown["params"][role] = _only_result(repo.params.show())
                recorded[role] = recorded_or_none(lambda: recorded_outputs(repo), what)
    metrics = _values(shown["metrics"], unreadable)
    params = _values(shown["params"], unreadable)
    return Results(metrics, params, plots, unreadable, sorted(set(skipped)), recorded)


@contextlib.contextmanager
def _at_revision(repo: Any, sha: str) -> Iterator[bool]:
    """The open Repo switched to a commit, as `dvc metrics diff` reads it; False when the commit has
    no such project (a monorepo's project added after it): nothing to compare there."""
    from dvc.exceptions import NotDvcRepoError

    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(repo.switch(sha))
        except NotDvcRepoError:
            yield False
            return
        yield True


def _only_result(shown: dict[str, Any]) -> Any:
    # Without revs, DVC reads only the revision the Repo is at, under the name "".
    return next(iter(shown.values()))


@contextlib.contextmanager
def _skipped_metric_values() -> Iterator[list[str]]:
    """DVC drops list and null metric values with only a debug log line; collect those lines."""
    skipped: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            # DVC also logs exception objects as messages; a handler must never raise inside DVC.
            if isinstance(record.msg, str) and record.msg.startswith("Could not parse") and len(record.args or ()) == 3:
                key, path, kind = record.args
                skipped.append(f"{str(path).lstrip('/')}: {key!r} is a {kind}, not a number or text")

    dvc_logger = logging.getLogger("dvc.repo.metrics.show")
    handler, level, propagate = Collect(logging.DEBUG), dvc_logger.level, dvc_logger.propagate
    dvc_logger.addHandler(handler)
    dvc_logger.setLevel(logging.DEBUG)
    dvc_logger.propagate = False  # keep DVC's debug lines out of our log
    try:
        yield skipped
    finally:
        dvc_logger.removeHandler(handler)
        dvc_logger.setLevel(level)
        dvc_logger.propagate = propagate


def read_results(
    root: Path,
    base_sha: str,
    plots_include: list[str] | None = None,
    plots_exclude: list[str] | None = None,
) -> Results:
    with open_repo(root) as repo:
        return read_values(repo, base_sha, read_plots(repo, base_sha, plots_include, plots_exclude))


def _values(shown: dict[str, Any], unreadable: dict[str, dict[str, str]]) -> Values:
    """role -> DVC's result for that revision, to role -> file -> flattened name -> value."""
    from dvc.utils.flatten import flatten

    values: Values = {BASE: {}, HEAD: {}}
    for role, result in shown.items():
        if "error" in result:
            unreadable[role]["*"] = describe_error(result["error"])
            continue
        for path, entry in (result.get("data") or {}).items():
            if "error" in entry and is_absent(entry["error"]):
                continue  # not in this revision: the diff shows it as new or removed
            if "error" in entry:
                unreadable[role][path] = describe_error(entry["error"])
            elif isinstance(entry.get("data"), dict):
                values[role][path] = flatten(entry["data"])
            elif entry.get("data") is not None:
                unreadable[role][path] = "not a mapping of names to values"
    return values
