"""Metrics and params of the base and head revisions, read through DVC's Python API, with the plots."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from bot.results import BASE, HEAD, WORKSPACE
from bot.results.plots import PlotData, plots_of, revision_plots
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


def read_revisions(
    repo: Any,
    base_sha: str,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    plots_read: Callable[[list[PlotData]], None] | None = None,
) -> Results:
    """Head is the working tree (what the job just reproduced); base is a commit read from git and
    the DVC cache or default remote, the way `dvc metrics diff` reads it. Each revision is visited
    once, everything of it read together: DVC rebuilds its index of the pipeline at every switch.
    The head's plot definitions first, then at the base its plots, handed to `plots_read` (their
    charts are drawn while the rest is read), metrics, params and outputs; then the head's.
    Without `plots_read`, no plots are read."""
    root, templates_dir = Path(repo.root_dir), repo.plots.templates_dir  # the workspace's, kept
    include, exclude = include or [], exclude or []
    shown: dict[str, dict[str, Any]] = {"metrics": {}, "params": {}}
    recorded: dict[str, dict[str, Recorded] | None] = {}
    plots: list[PlotData] = []
    with _skipped_metric_values() as skipped:
        head_plots = revision_plots(repo, root, WORKSPACE, include, exclude) if plots_read else None
        with _at_revision(repo, base_sha) as has_project:
            if plots_read:
                on_base = {BASE: revision_plots(repo, root, base_sha, include, exclude)} if has_project else {}
                plots = plots_of({HEAD: head_plots, **on_base}, root, templates_dir)
                plots_read(plots)
            _read_values(repo, has_project, BASE, "the base", shown, recorded)
        _read_values(repo, True, HEAD, "the working tree", shown, recorded)
    unreadable: dict[str, dict[str, str]] = {BASE: {}, HEAD: {}}
    metrics = _values(shown["metrics"], unreadable)
    params = _values(shown["params"], unreadable)
    return Results(metrics, params, plots, unreadable, sorted(set(skipped)), recorded)


def _read_values(repo: Any, has_project: bool, role: str, what: str, shown: dict[str, dict[str, Any]],
                 recorded: dict[str, dict[str, Recorded] | None]) -> None:
    """Metrics, params and recorded outputs of the revision the Repo is at, into `shown` and `recorded`."""
    if not has_project:  # nothing to compare there: every metric is new
        shown["metrics"][role] = shown["params"][role] = {}
        recorded[role] = {}
        return
    shown["metrics"][role] = _only_result(repo.metrics.show())
    shown["params"][role] = _only_result(repo.params.show())
    recorded[role] = recorded_or_none(lambda: recorded_outputs(repo), what)


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
        return read_revisions(repo, base_sha, plots_include, plots_exclude, plots_read=lambda plots: None)


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
