"""Plots given as DVC's vega rows (a dict per point with its "rev", "filename" and "field"), for
chart tests that build their data by hand."""

from __future__ import annotations

from typing import Any

from bot.results.plots import PlotData, Series


def points_plot(plot_id: str, title: str, template: str, *, x: str, y: str, datapoints: list[dict[str, Any]],
                **more: Any) -> PlotData:
    grouped: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for point in datapoints:
        grouped.setdefault((point["rev"], point.get("filename", ""), point.get("field", y)), []).append(point)
    series = [Series(role, filename, field, [point.get(x) for point in points], [point.get(field) for point in points])
              for (role, filename, field), points in grouped.items()]
    return PlotData(plot_id, title, template, x=x, y=y, series=series, **more)
