"""DVC's rules for which x and y a plot draws from which file (its VegaConverter's inference), applied
to columns: a plot's series per revision and source, as `dvc plots diff` would draw them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Sequence

from bot.results.plot_tables import Table, parse_table
from bot.results.plots import PlotData, Series, read_ref

INDEX = "step"  # DVC's x when a plot names none: the row's position
INFERRED_X = "dvc_inferred_x_value"
INFERRED_Y = "dvc_inferred_y_value"
# Templates that show values as names (classes, categories), which must keep their text ("1", not 1.0).
NAMED_VALUE_TEMPLATES = {"confusion", "confusion_normalized", "bar_horizontal", "bar_horizontal_sorted"}


@dataclass
class Axes:
    """The x and y names and labels the drawn plot shows."""
    x: str = ""
    y: str = ""
    x_label: str = ""
    y_label: str = ""


@dataclass
class Converted:
    series: list[Series] = field(default_factory=list)
    axes: Axes | None = None


def load_series(plot: PlotData) -> PlotData:
    """The plot with its series read from its revisions' files (done where it is drawn), and notes on
    the files and revisions that could not be read."""
    if not plot.revisions:
        return plot
    series, errors, axes = [], list(plot.errors), None
    header = plot.props.get("header", True)
    numbers = plot.template not in NAMED_VALUE_TEMPLATES
    for role, revision in plot.revisions.items():
        tables = {}
        for source, ref in revision.files.items():
            try:
                tables[source] = parse_table(source, read_ref(ref), header, numbers)
            except (OSError, ValueError) as exc:
                errors.append(f"{role} {source}: {exc}")
        try:
            converted = convert(role, revision.plot_id, plot.props, tables)
        except ValueError as exc:
            errors.append(f"{role}: {exc}")
            continue
        series += converted.series
        axes = axes or converted.axes
    axes = axes or Axes()
    return replace(plot, x=axes.x, y=axes.y, x_label=axes.x_label, y_label=axes.y_label, revisions={},
                   series=series, errors=errors)


def _file_fields(axis: dict | None) -> Iterator[tuple[str, str]]:
    for file, fields in (axis or {}).items():
        for name in [fields] if isinstance(fields, str) else fields if isinstance(fields, list) else []:
            yield file, name


def _inferred(plot_id: str, props: dict, tables: dict[str, Table]) -> tuple[Any, Any]:
    x, y = props.get("x"), props.get("y")
    if isinstance(x, str):
        if isinstance(y, dict):
            x = {file: [x] * len(fields) if isinstance(fields, list) else x for file, fields in y.items()}
        else:
            x = {plot_id: x}
    if y is None:
        table = tables.get(plot_id)
        y = {plot_id: table.inferred_y} if table is not None and table.inferred_y is not None else None
    elif not isinstance(y, dict):
        y = {plot_id: y}
    return x, y


def _checked(axis: Any, tables: dict[str, Table]) -> list[tuple[str, str]]:
    pairs = list(_file_fields(axis if isinstance(axis, dict) else None))
    for file, name in pairs:
        if file in tables and tables[file].length and name not in tables[file].fields:
            found = ", ".join(tables[file].fields)
            raise ValueError(f"Could not find provided field ('{name}') in data fields ('{found}').")
    return pairs


def _label(given: Any, axis: Any, default: str | None, several: str) -> str:
    if given is not None:
        return str(given)
    if not isinstance(axis, dict):
        return default if default is not None else ("" if axis is None else str(axis))
    names = {name for _, name in _file_fields(axis)}
    return next(iter(names)) if len(names) == 1 else several


def convert(role: str, plot_id: str, props: dict, tables: dict[str, Table]) -> Converted:
    """One revision's series. Raises ValueError (DVC's words) where DVC's conversion fails for that revision."""
    x, y = _inferred(plot_id, props, tables)
    xs, ys = _checked(x, tables), _checked(y, tables)
    if len(xs) > 1 and len(xs) != len(ys):
        raise ValueError(f"Cannot have different number of x and y data sources. Found {len(xs)} x and {len(ys)} y data sources.")
    several_x_fields = len(xs) > 1 and len({name for _, name in xs}) > 1
    y_fields = {name for _, name in ys}
    y_files = sorted({file for file, _ in ys})
    prefix = len(os.path.commonpath(y_files)) if len(y_files) > 1 else 0
    x_file, x_field = xs[0] if xs else (None, INDEX)
    converted = Converted()
    for number, (y_file, y_field) in enumerate(ys):
        if len(xs) > 1:
            x_file, x_field = xs[number]
        table = tables.get(y_file)
        length = table.length if table is not None else 0
        if x_file is None:
            x_values: Sequence[Any] = range(length)
        else:
            x_values = _joined(tables.get(x_file), table, x_field, several_x_fields)
            if len(x_values) != length:
                raise ValueError(f"Cannot join '{x_field}' from '{x_file}' and '{y_field}' from '{y_file}'. "
                                 "They have to have same length.")
        if length:
            converted.series.append(Series(role, y_file[prefix:].strip("/\\"), y_field, x_values, table.column(y_field)))
    if converted.series:
        # With x given as a dict, DVC draws the first x field (or its inferred one) and labels the axis by the fields.
        converted.axes = Axes(
            x=INFERRED_X if several_x_fields else xs[0][1] if xs else INDEX,
            y=INFERRED_Y if len(y_fields) > 1 else next(iter(y_fields)),
            x_label=_label(props.get("x_label"), x, INDEX, "x"),
            y_label=_label(props.get("y_label"), y, None, "y"),
        )
    return converted


def _joined(x_table: Table | None, y_table: Table | None, x_field: str, renamed: bool) -> Sequence[Any]:
    """The x of each y record: from the x file, else (where it has none) the y record's own field of that name."""
    if x_table is None:
        return []
    values = x_table.column(x_field)
    if x_table is y_table or renamed or y_table is None or None not in values:
        return values
    own = y_table.column(x_field)
    return [value if value is not None else own[index] if index < len(own) else None for index, value in enumerate(values)]
