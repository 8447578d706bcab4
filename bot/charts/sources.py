"""Which file and field each data point of a plot came from, named the way a legend can show them."""

from __future__ import annotations

from bot.results.plots import PlotData, Series

Source = tuple[str, str]  # (file name as DVC shortens it, y field)


def series_source(series: Series) -> Source:
    return series.filename, series.field


def plot_sources(plot: PlotData) -> list[Source]:
    """The plot's sources in the order DVC gives them (its definition's order)."""
    return list(dict.fromkeys(map(series_source, plot.series)))


def source_names(sources: list[Source]) -> dict[Source, str]:
    """The shortest names that tell the sources apart: none for one source, the file names when each
    file gives one field, the fields when one file gives them all, else file:field."""
    if len(sources) <= 1:
        return {source: "" for source in sources}
    files = {file for file, _ in sources}
    fields = {field for _, field in sources}
    if len(files) == len(sources):
        return {source: source[0] for source in sources}
    if len(fields) == len(sources):
        return {source: source[1] for source in sources}
    return {source: f"{source[0]}:{source[1]}" for source in sources}


def artist_id(role: str, source: Source, *more: str) -> str:
    """The gid of a drawn artist: which revision and source it shows, so tests can read back what was drawn."""
    return "\t".join((role, *source, *more))
