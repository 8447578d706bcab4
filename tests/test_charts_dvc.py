"""Every chart of the real-shaped corpus shows what DVC itself says: the data mrbot drew (read back
from the figure's artists, per revision and source) against `dvc plots diff --json` for the same
revisions, and the Mermaid fallback against the same data."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from bot.charts.draw import draw, render_chart
from bot.charts.lines import JITTER_FRACTION, MAX_LINES
from bot.results import BASE, HEAD
from bot.results.values import read_results
from bot.workspace.git import resolve
from tests.plot_corpus import make_plot_corpus

LABELS = {BASE: "base main 1234abcd", HEAD: "head pr 5678ef01"}
DVC_REVS = {"main": BASE, "workspace": HEAD}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = make_plot_corpus(tmp_path_factory.mktemp("corpus") / "project")
    plots = {plot.id: plot for plot in read_results(root, resolve(root, "main").sha).plots}
    out = root.parent / "dvc_plots"
    shown = subprocess.run(
        [sys.executable, "-m", "dvc", "plots", "diff", "main", "--json", "--split", "-o", str(out)],
        cwd=root, capture_output=True, text=True, check=True,
    )
    return root, plots, json.loads(shown.stdout)["data"]


def _axis_fields(content) -> tuple[str, str]:
    """The x and y fields of DVC's filled template (the first encoding that names both)."""
    if isinstance(content, dict):
        encoding = content.get("encoding", {})
        fields = [encoding.get(axis, {}).get("field") if isinstance(encoding.get(axis), dict) else None for axis in "xy"]
        if all(isinstance(field, str) and not field.startswith("<") for field in fields):
            return fields[0], fields[1]
        values = list(content.values())
    elif isinstance(content, list):
        values = content
    else:
        return "", ""
    return next((found for found in map(_axis_fields, values) if found[0]), ("", ""))


def dvc_series(entry: dict) -> tuple[dict[tuple, list[tuple]], dict[str, str]]:
    """(role, file or None, field or None) -> DVC's points in order, and the titles DVC gives."""
    x_field, y_field = _axis_fields(entry["content"])
    series: dict[tuple, list[tuple]] = defaultdict(list)
    for point in entry["anchor_definitions"]["<DVC_METRIC_DATA>"]:
        key = (DVC_REVS[point["rev"]], point.get("filename"), point.get("field"))
        series[key].append((point[x_field], point[y_field]))
    anchors = entry["anchor_definitions"]
    titles = {"title": anchors["<DVC_METRIC_TITLE>"], "x": anchors["<DVC_METRIC_X_LABEL>"], "y": anchors["<DVC_METRIC_Y_LABEL>"]}
    return dict(series), titles


def _key(gid: str, reference: dict) -> tuple:
    """A drawn artist's (role, file, field), with the parts DVC's JSON leaves out (one file, one field) left out too."""
    role, filename, field, *_ = gid.split("\t")
    has_file = any(key[1] is not None for key in reference)
    has_field = any(key[2] is not None for key in reference)
    return role, filename if has_file else None, field if has_field else None


def drawn_lines(figure, reference) -> dict[tuple, np.ndarray]:
    drawn = {}
    for axes in figure.axes:
        artists = [*axes.lines, *axes.collections]
        for artist in artists:
            gid = artist.get_gid()
            if gid:
                data = artist.get_xydata() if hasattr(artist, "get_xydata") else artist.get_offsets()
                drawn[_key(gid, reference)] = np.asarray(data, dtype=float)
    return drawn


def _floats(points: list[tuple]) -> np.ndarray:
    return np.asarray([(float(x), float(y)) for x, y in points], dtype=float)


LINE_PLOTS = ["ROC", "Precision-Recall", "Losses", "Mixed-x", "Embedding", "Votes", "Residuals", "New-in-head",
              "Many-sources", "dvclive/plots/metrics/eval/accuracy.tsv", "dvclive/plots/metrics/train/loss.tsv"]


@pytest.mark.parametrize("plot_id", LINE_PLOTS)
def test_line_and_scatter_charts_draw_dvcs_points_per_revision_and_source(corpus, plot_id):
    _, plots, dvc = corpus
    (entry,) = dvc[plot_id]
    reference, titles = dvc_series(entry)
    drawing = draw(plots[plot_id], LABELS)
    ((_, figure),) = drawing.figures
    drawn = drawn_lines(figure, reference)

    assert set(drawn) == set(reference)
    tolerance = 0.0
    if plots[plot_id].template == "scatter_jitter":
        tolerance = JITTER_FRACTION  # votes and stars are integers: the gap between values is 1
    for key, points in reference.items():
        np.testing.assert_allclose(drawn[key], _floats(points), atol=tolerance + 1e-12, err_msg=str(key))
    texts = [figure._suptitle.get_text()] if figure._suptitle else [figure.axes[0].get_title()]
    assert titles["title"] in texts
    x_label = figure._supxlabel.get_text() if figure._supxlabel else figure.axes[0].get_xlabel()
    y_label = figure._supylabel.get_text() if figure._supylabel else figure.axes[0].get_ylabel()
    assert (x_label, y_label) == (titles["x"], titles["y"])


def test_each_source_has_its_colour_and_each_revision_its_line_style(corpus):
    _, plots, _ = corpus
    ((_, figure),) = draw(plots["ROC"], LABELS).figures
    lines = {tuple(line.get_gid().split("\t")[:2]): line for line in figure.axes[0].lines}
    colours = {key: line.get_color() for key, line in lines.items()}
    styles = {key: line.get_linestyle() for key, line in lines.items()}
    assert len(set(colours.values())) == 4
    assert colours[(BASE, "train.json")] != colours[(BASE, "test.json")]
    assert {styles[(BASE, source)] for source in ("train.json", "test.json")} == {"--"}
    assert {styles[(HEAD, source)] for source in ("train.json", "test.json")} == {"-"}
    legend = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert legend == [f"train.json · {LABELS[BASE]}", f"train.json · {LABELS[HEAD]}",
                      f"test.json · {LABELS[BASE]}", f"test.json · {LABELS[HEAD]}"]


def test_more_sources_than_lines_can_tell_apart_get_a_panel_each(corpus):
    _, plots, _ = corpus
    ((_, figure),) = draw(plots["Many-sources"], LABELS).figures
    assert [axes.get_title() for axes in figure.axes] == [f"s{number}.csv" for number in range(6)]
    assert all(len(axes.lines) == 2 for axes in figure.axes)


@pytest.mark.parametrize("plot_id", ["Confusion-Matrix", "Confusion-Normalized"])
def test_confusion_matrices_are_drawn_per_file_and_revision_as_dvc_counts_them(corpus, plot_id):
    _, plots, dvc = corpus
    (entry,) = dvc[plot_id]
    x_field, y_field = _axis_fields(entry["content"])
    assert (x_field, y_field) == ("actual", "predicted")
    pairs: dict[tuple, list[tuple]] = defaultdict(list)
    for point in entry["anchor_definitions"]["<DVC_METRIC_DATA>"]:
        pairs[(DVC_REVS[point["rev"]], point.get("filename"))].append((point[y_field], point[x_field]))
    classes = sorted({label for rows in pairs.values() for row in rows for label in row})
    expected = {}
    for key, rows in pairs.items():
        matrix = np.zeros((len(classes), len(classes)))
        for row_class, column_class in rows:
            matrix[classes.index(row_class), classes.index(column_class)] += 1
        if plot_id == "Confusion-Normalized":  # DVC's percent_of_y
            matrix = matrix / matrix.sum(axis=1, keepdims=True)
        expected[key] = matrix

    ((_, figure),) = draw(plots[plot_id], LABELS).figures
    drawn, differences = {}, {}
    for axes in figure.axes:
        (image,) = axes.images
        role, filename, _ = image.get_gid().split("\t")
        key = (role, filename if any(key[1] for key in expected) else None)
        assert [label.get_text() for label in axes.get_xticklabels()] == classes
        if role == "difference":
            differences[key[1]] = image.get_array()
        else:
            drawn[key] = image.get_array()
    assert set(drawn) == set(expected)  # a matrix per file and revision, never summed
    for key, matrix in expected.items():
        np.testing.assert_allclose(drawn[key], matrix, err_msg=str(key))
    for filename, colours in differences.items():
        change = expected[(HEAD, filename)] - expected[(BASE, filename)]
        better = np.where(np.eye(len(classes), dtype=bool), change, -change)
        np.testing.assert_allclose(colours, better)  # coloured by better or worse, not by sign


@pytest.mark.parametrize("plot_id", ["Per-class", "Per-class-sorted"])
def test_bar_charts_draw_dvcs_value_per_category_and_revision(corpus, plot_id):
    _, plots, dvc = corpus
    (entry,) = dvc[plot_id]
    x_field, y_field = _axis_fields(entry["content"])
    expected = {(DVC_REVS[point["rev"]], point.get("filename"), point[y_field]): float(point[x_field])
                for point in entry["anchor_definitions"]["<DVC_METRIC_DATA>"]}
    ((_, figure),) = draw(plots[plot_id], LABELS).figures
    drawn = {}
    for patch in figure.axes[0].patches:
        if patch.get_gid():
            role, filename, _, category = patch.get_gid().split("\t")
            drawn[(role, filename if any(key[1] for key in expected) else None, category)] = patch.get_width()
    assert drawn == pytest.approx(expected)
    if plot_id == "Per-class-sorted":  # largest on top, as DVC's sort by -x
        heads = sorted((patch.get_y(), patch.get_width()) for patch in figure.axes[0].patches
                       if patch.get_gid() and patch.get_gid().startswith(HEAD))
        assert [width for _, width in heads] == sorted(width for _, width in heads)


@pytest.mark.parametrize("plot_id", ["eval/importance.png", "eval/samples/cat.png", "eval/samples/dog.png"])
def test_image_plots_and_image_folders_carry_dvcs_images(corpus, plot_id, tmp_path):
    _, plots, dvc = corpus
    expected = {DVC_REVS[entry["revisions"][0]]: Path(entry["url"]).read_bytes() for entry in dvc[plot_id]}
    chart = render_chart(plots[plot_id], tmp_path, LABELS)
    drawn = {label.split(" ")[0]: (tmp_path / Path(path).name).read_bytes() for path, label in zip(chart.images, chart.image_labels)}
    assert drawn == expected and set(drawn) == {BASE, HEAD}


def test_a_custom_template_is_drawn_in_the_nearest_built_in_look_and_says_so(corpus):
    _, plots, _ = corpus
    plot = plots["Residuals"]
    assert plot.template == "scatter"
    assert any("custom template '.dvc/plots/residuals.json' drawn as the built-in 'scatter'" in note for note in plot.errors)


def test_a_plot_only_in_head_says_so(corpus):
    _, plots, _ = corpus
    assert "no data in base (base main 1234abcd)" in draw(plots["New-in-head"], LABELS).notes


def _mermaid_lines(text: str) -> tuple[np.ndarray, list[np.ndarray]]:
    low, high = map(float, re.search(r"x-axis \"[^\"]*\" (\S+) --> (\S+)", text).groups())
    lines = [np.array([float(value) for value in values.split(", ")]) for values in re.findall(r"line \[([^\]]*)\]", text)]
    return np.linspace(low, high, len(lines[0])), lines


@pytest.mark.parametrize("plot_id", ["ROC", "Precision-Recall", "Losses", "Mixed-x", "New-in-head", "Many-sources",
                                     "dvclive/plots/metrics/train/loss.tsv"])
def test_the_mermaid_fallback_shows_dvcs_series_each_on_its_own_x_values(corpus, plot_id):
    _, plots, dvc = corpus
    (entry,) = dvc[plot_id]
    reference, _ = dvc_series(entry)
    drawing = draw(plots[plot_id], LABELS)
    grid, lines = _mermaid_lines(drawing.mermaid)
    names = re.match(r"Lines: (.*?)\.( |$)", drawing.mermaid_caption).group(1).split("; ")
    assert len(lines) == len(names) == min(len(reference), MAX_LINES)
    palette = re.search(r'plotColorPalette: "([^"]*)"', drawing.mermaid).group(1).split(", ")
    assert len(set(palette)) == len(lines)  # every line its own colour, named in the caption
    for name, values in zip(names, lines):
        source, _, label = name.partition(": ")[2].rpartition(" · ")
        role = BASE if label == LABELS[BASE] else HEAD
        (key,) = [key for key in reference if key[0] == role and (not source or source in (key[1], key[2]))]
        points = _floats(reference[key])
        order = np.argsort(points[:, 0], kind="stable")
        np.testing.assert_allclose(values, np.interp(grid, points[order, 0], points[order, 1]), rtol=1e-5, atol=1e-9)
    if len(reference) > MAX_LINES:
        assert "Left out here" in drawing.mermaid_caption and "s5.csv" in drawing.mermaid_caption
