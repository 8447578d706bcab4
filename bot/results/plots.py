"""Plot data of the base and head revisions, as DVC's plot definitions and renderers give it."""

from __future__ import annotations

import base64
import fnmatch
import os
from dataclasses import dataclass, field, replace
from typing import Any

from bot.results import BASE, HEAD, WORKSPACE
from bot.workspace.repo import describe_error, is_absent


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


def read_plots(repo: Any, base_sha: str, include: list[str] | None = None, exclude: list[str] | None = None) -> list[PlotData]:
    from dvc.exceptions import NotDvcRepoError

    try:
        shown = repo.plots.show(revs=[base_sha, WORKSPACE])
    except NotDvcRepoError:  # the base predates this project (in a subdirectory of the git repository)
        shown = repo.plots.show(revs=[WORKSPACE])
    plots = _plots(shown, {base_sha: BASE, WORKSPACE: HEAD})
    return [_built_in_look(repo, plot) for plot in plots if _selected(plot.id, include or [], exclude or [])]


# The look of a custom template's first mark, in the built-in template that draws it.
_NEAREST_BY_MARK = {"line": "linear", "trail": "linear", "area": "linear", "point": "scatter", "circle": "scatter",
                    "square": "scatter", "tick": "scatter", "bar": "bar_horizontal", "rect": "confusion"}


def _built_in_look(repo: Any, plot: PlotData) -> PlotData:
    """A plot with a custom template (DVC's templates dir, or a path) is drawn in the built-in look
    nearest to the template's first mark, and says so."""
    from dvc_render.vega_templates import TEMPLATES, get_template

    if plot.template == "image" or plot.template in {template.DEFAULT_NAME for template in TEMPLATES}:
        return plot
    mark = ""
    for name in (plot.template, os.path.join(repo.root_dir, plot.template)):
        try:
            mark = _first_mark(get_template(name, repo.plots.templates_dir).content)
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
