"""Which plots the base and head revisions define, and where each revision's data files are: DVC's
plot definitions, with the files' bytes as DVC resolves them (a git object or the DVC cache) or the
workspace file's path. The files are parsed where the chart is drawn (plot_series.load_series)."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

from bot.results import WORKSPACE
from bot.workspace.git import blobs_at, read_blob
from bot.workspace.repo import describe_error, is_absent


@dataclass(frozen=True)
class GitBlob:
    """A file git tracks at a revision, read where it is drawn."""
    root: Path
    oid: str
    size: int

    def read_bytes(self) -> bytes:
        return read_blob(self.root, self.oid)


# A file's content (as DVC reads it from its cache), the workspace file, or a git object.
FileRef = bytes | Path | GitBlob


@dataclass(frozen=True)
class Series:
    role: str
    filename: str  # the y file, shortened by the prefix all the plot's y files share, as DVC names it
    field: str  # the y field
    xs: Sequence[Any]
    ys: Sequence[Any]


@dataclass(frozen=True)
class Revision:
    """One revision's part of a plot: the definition's own id, which DVC infers data from, and its files."""
    plot_id: str
    files: dict[str, FileRef]


@dataclass(frozen=True)
class PlotData:
    id: str
    title: str
    template: str  # a DVC template name, or "image"
    x: str = ""
    y: str = ""
    x_label: str = ""
    y_label: str = ""
    # The definition DVC draws with (the first revision's wins), and the files to read, per role.
    props: dict[str, Any] = field(default_factory=dict)
    revisions: dict[str, Revision] = field(default_factory=dict)
    # The data as drawn, per revision and source: read from `revisions`, or given (the trend chart).
    series: list[Series] = field(default_factory=list)
    # For image plots: role -> PNG/JPEG/SVG bytes.
    images: dict[str, bytes] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RevisionPlots:
    """One revision's plots as DVC defines them: definitions by plot id, files and errors by source."""
    definitions: dict[str, tuple[str, dict]]
    files: dict[str, FileRef]
    errors: dict[str, Exception]


def revision_plots(repo: Any, root: Path, rev: str, include: list[str], exclude: list[str]) -> RevisionPlots:
    """The plots of the revision the open Repo is at, which `rev` names (WORKSPACE, or the commit it
    is switched to). `root` is the checkout's folder: while DVC reads a commit, its root_dir is that
    commit's tree."""
    from dvc.repo.plots import infer_data_sources
    from dvc.utils.plots import group_definitions_by_id

    definitions = {
        plot_id: definition
        for plot_id, definition in group_definitions_by_id(_definitions(repo).get("data", {})).items()
        if _selected(plot_id, include, exclude)
    }
    wanted = {source for inner_id, props in definitions.values() for source in infer_data_sources(inner_id, props)}
    return RevisionPlots(definitions, *_files(repo, root, rev, sorted(wanted)))


def _definitions(repo: Any) -> dict:
    """DVC's plot definitions of the revision the Repo is at, as `repo.plots.collect` gives them,
    without the switch it makes there (which drops DVC's index of the pipeline, rebuilt at the next
    read) and without the data sources it also lists: every file the definitions name, found by a
    check of the pipeline's graph whose import of networkx alone takes 70 ms."""
    from dvc.repo.plots import _collect_definitions, onerror_collect

    return _collect_definitions(repo, targets=[], onerror=onerror_collect)


def plots_of(shown: dict[str, RevisionPlots], root: Path, templates_dir: str) -> list[PlotData]:
    """The plots of base and head (role -> what it defines), each drawn in a built-in look."""
    return [_built_in_look(root, templates_dir, plot) for plot in _plots(shown)]


def _files(repo: Any, root: Path, rev: str, sources: list[str]) -> tuple[dict[str, FileRef], dict[str, Exception]]:
    """Each source's file in `rev`: the workspace's on disk, a commit's from git, and what DVC tracks
    through DVC (its cache, or the remote). Only DVC's are read here: the rest is read where it is drawn."""
    if rev == WORKSPACE:
        files: dict[str, FileRef] = {source: root / source for source in sources if (root / source).is_file()}
    else:
        files = {source: GitBlob(root, oid, size) for source, (oid, size) in blobs_at(root, rev, sources).items()}
    errors = {}
    for source in sources:
        if source in files:
            continue
        try:
            with repo.dvcfs.open(source, "rb") as stream:
                files[source] = stream.read()
        except Exception as exc:  # noqa: BLE001 - a file DVC cannot give: noted on the plot
            errors[source] = exc
    return files, errors


def _plots(shown: dict[str, RevisionPlots]) -> list[PlotData]:
    from dvc.repo.plots import infer_data_sources
    from dvc_render import ImageRenderer

    groups: dict[str, list[tuple[str, str, dict]]] = {}
    for role, revision in shown.items():
        for plot_id, (inner_id, props) in revision.definitions.items():
            groups.setdefault(plot_id, []).append((role, inner_id, props or {}))
    plots = []
    for plot_id, group in groups.items():
        props: dict = {}
        for _, _, definition in reversed(group):
            props = props | definition
        revisions, images, errors = {}, {}, []
        for role, inner_id, definition in group:
            files, failed = shown[role].files, shown[role].errors
            sources = tuple(infer_data_sources(inner_id, definition))
            errors += [f"{role} {source}: {describe_error(exc)}" for source, exc in failed.items()
                       if source in sources and not is_absent(exc)]
            present = {source: files[source] for source in sources if source in files}
            if ImageRenderer.matches(inner_id, None):
                images.update({role: content for content in map(read_ref, present.values()) if content})
            else:
                revisions[role] = Revision(inner_id, present)
        if images or ImageRenderer.matches(group[0][1], None):
            plots.append(PlotData(plot_id, props.get("title") or group[0][1], "image", images=images, errors=errors))
        else:
            plots.append(PlotData(plot_id, props.get("title") or plot_id, props.get("template") or "linear",
                                  props=props, revisions=revisions, errors=errors))
    return plots


def read_ref(ref: FileRef) -> bytes:
    return ref if isinstance(ref, bytes) else ref.read_bytes()


# The look of a custom template's first mark, in the built-in template that draws it.
_NEAREST_BY_MARK = {"line": "linear", "trail": "linear", "area": "linear", "point": "scatter", "circle": "scatter",
                    "square": "scatter", "tick": "scatter", "bar": "bar_horizontal", "rect": "confusion"}


def _built_in_look(root: Path, templates_dir: str, plot: PlotData) -> PlotData:
    """A plot with a custom template (DVC's templates dir, or a path) is drawn in the built-in look
    nearest to the template's first mark, and says so."""
    from dvc_render.vega_templates import TEMPLATES, get_template

    if plot.template == "image" or plot.template in {template.DEFAULT_NAME for template in TEMPLATES}:
        return plot
    mark = ""
    for name in (plot.template, os.path.join(root, plot.template)):
        try:
            mark = _first_mark(get_template(name, templates_dir).content)
            break
        except Exception:  # noqa: BLE001 - missing or not JSON: the default look, and the note says so
            continue
    nearest = _NEAREST_BY_MARK.get(mark, "linear")
    found = f"its first mark is {mark!r}" if mark else "it could not be read"
    note = f"custom template {plot.template!r} drawn as the built-in {nearest!r} ({found})"
    return replace(plot, template=nearest, errors=[*plot.errors, note])


def _first_mark(content: Any) -> str:
    if isinstance(content, dict):
        mark = content.get("mark")
        if isinstance(mark, dict):
            mark = mark.get("type")
        if isinstance(mark, str):
            return mark
        values = content.values()
    elif isinstance(content, list):
        values = content
    else:
        return ""
    return next((found for found in map(_first_mark, values) if found), "")


def _selected(plot_id: str, include: list[str], exclude: list[str]) -> bool:
    if include and not any(fnmatch.fnmatchcase(plot_id, pattern) for pattern in include):
        return False
    return not any(fnmatch.fnmatchcase(plot_id, pattern) for pattern in exclude)
