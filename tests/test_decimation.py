"""A long line is drawn from the points a reader can see: the same picture, every spike kept."""

from __future__ import annotations

import numpy as np
import pytest

import bot.charts.lines as lines
from bot.charts.draw import draw
from bot.charts.figure import save
from bot.results import BASE, HEAD
from tests.plot_points import points_plot

LABELS = {BASE: "base main 1234abcd", HEAD: "head pr 5678ef01"}
SPIKES = {1234: 3.0, 5000: -2.5, 9876: 4.0}


def noisy_curve(points: int = 20_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xs = np.arange(points, dtype=float)
    ys = np.exp(-xs / 4000) + rng.normal(0, 0.03, points)
    for index, value in SPIKES.items():
        ys[index] = value
    return xs, ys


def _png(tmp_path, name: str, columns: int, monkeypatch) -> np.ndarray:
    from matplotlib.image import imread

    monkeypatch.setattr(lines.decimate, "__defaults__", (columns,))
    points = [{"rev": role, "step": float(x), "loss": float(y + (0.1 if role == HEAD else 0))}
              for role in (BASE, HEAD) for x, y in zip(*noisy_curve())]
    ((_, figure),) = draw(points_plot("l", "loss", "linear", x="step", y="loss", datapoints=points), LABELS).figures
    save(figure, tmp_path / name)
    return imread(tmp_path / name)


def test_the_decimated_chart_looks_the_same_as_the_full_one(tmp_path, monkeypatch):
    full = _png(tmp_path, "full.png", 10**9, monkeypatch)
    decimated = _png(tmp_path, "decimated.png", lines.PIXEL_COLUMNS, monkeypatch)

    assert full.shape == decimated.shape
    changed = np.abs(full - decimated).max(axis=2) > 0.25  # a clearly different colour, not antialiasing
    assert changed.mean() < 0.002, f"{changed.mean():.2%} of pixels differ"


def test_every_extreme_of_each_pixel_column_is_kept():
    xs, ys = noisy_curve()
    kept_x, kept_y = lines.decimate(list(xs), list(ys))

    assert len(kept_x) <= 4 * lines.PIXEL_COLUMNS < len(xs)
    assert set(SPIKES.values()) <= set(kept_y.tolist())
    assert np.all(np.diff(kept_x) > 0)  # in order, no point twice
    columns = np.minimum((xs / xs[-1] * lines.PIXEL_COLUMNS).astype(int), lines.PIXEL_COLUMNS - 1)
    kept_columns = np.minimum((kept_x / xs[-1] * lines.PIXEL_COLUMNS).astype(int), lines.PIXEL_COLUMNS - 1)
    for column in range(0, lines.PIXEL_COLUMNS, 7):
        full = ys[columns == column]
        kept = kept_y[kept_columns == column]
        assert (kept.min(), kept.max()) == (full.min(), full.max())
    subset = dict(zip(xs.tolist(), ys.tolist()))
    assert all(subset[x] == y for x, y in zip(kept_x.tolist(), kept_y.tolist()))  # real points only


@pytest.mark.parametrize("xs", [
    list(range(100)),  # short: drawn whole
    [float(i % 5000) for i in range(12_000)],  # x goes back: a curve drawn whole
])
def test_short_lines_and_lines_whose_x_goes_back_are_drawn_whole(xs):
    ys = [float(i) for i in range(len(xs))]
    assert lines.decimate(xs, ys) == (xs, ys)


def test_a_falling_x_is_decimated_too():
    xs, ys = noisy_curve()
    kept_x, kept_y = lines.decimate(list(xs[::-1]), list(ys[::-1]))
    assert len(kept_x) < len(xs) and set(SPIKES.values()) <= set(kept_y.tolist())
