"""Metrics, params and plot data of the base and head revisions, read through DVC's Python API."""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from bot.workspace.recorded import Recorded, recorded_or_none, recorded_outputs
from bot.workspace.repo import describe_error, is_absent, open_repo

log = logging.getLogger(__name__)

BASE = "base"
HEAD = "head"
_WORKSPACE = "workspace"

# role -> file path -> flattened name -> value
Values = dict[str, dict[str, dict[str, Any]]]


@dataclass(frozen=True)
class PlotData:
    id: str
    title: str
    template: str  # a DVC template name, or "image"
    x: str = ""
    y: str = ""
    x_label: str = ""
    y_label: str = ""
    # Data points as DVC gives them, with "rev" set to BASE or HEAD.
    datapoints: list[dict[str, Any]] = field(default_factory=list)
    # For image plots: role -> PNG/JPEG/SVG bytes.
    images: dict[str, bytes] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


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


def read_plots(repo: Any, base_sha: str, include: list[str] | None = None, exclude: list[str] | None = None) -> list[PlotData]:
    from dvc.exceptions import NotDvcRepoError

    try:
        shown = repo.plots.show(revs=[base_sha, _WORKSPACE])
    except NotDvcRepoError:  # the base predates this project (in a subdirectory of the git repository)
        shown = repo.plots.show(revs=[_WORKSPACE])
    plots = _plots(shown, {base_sha: BASE, _WORKSPACE: HEAD})
    return [plot for plot in plots if _selected(plot.id, include or [], exclude or [])]


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


def _plots(shown: dict[str, Any], roles: dict[str, str]) -> list[PlotData]:
    from dvc.render.match import match_defs_renderers

    shown = {roles[rev]: data for rev, data in shown.items() if rev in roles}
    plots = []
    for matched in match_defs_renderers(shown):
        renderer = matched.renderer
        props = renderer.properties
        errors = [
            f"{role} {source}: {describe_error(exc)}"
            for errors_by_rev in (matched.source_errors, matched.definition_errors)
            for role, per_source in (errors_by_rev or {}).items()
            for source, exc in (per_source.items() if isinstance(per_source, dict) else [("", per_source)])
            if not is_absent(exc)
        ]
        if renderer.TYPE == "image":
            images = {point["rev"]: _decode_data_uri(point["src"]) for point in renderer.datapoints}
            plots.append(PlotData(renderer.name, props.get("title") or renderer.name, "image", images=images, errors=errors))
            continue
        plots.append(
            PlotData(
                id=renderer.name,
                title=props.get("title") or renderer.name,
                template=props.get("template") or "linear",
                x=props.get("x", ""),
                y=props.get("y", ""),
                x_label=props.get("x_label", ""),
                y_label=props.get("y_label", ""),
                datapoints=list(renderer.datapoints),
                errors=errors,
            )
        )
    return plots


def _decode_data_uri(src: str) -> bytes:
    return base64.b64decode(src.split(",", 1)[1])


def _selected(plot_id: str, include: list[str], exclude: list[str]) -> bool:
    if include and not any(fnmatch.fnmatchcase(plot_id, pattern) for pattern in include):
        return False
    return not any(fnmatch.fnmatchcase(plot_id, pattern) for pattern in exclude)
