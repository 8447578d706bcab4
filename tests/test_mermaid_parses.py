"""Every Mermaid chart mrbot writes parses with Mermaid itself (the renderer GitHub and GitLab use),
as an xychart with the colours its caption names."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from bot.charts.draw import draw
from bot.results import BASE, HEAD
from bot.results.plots import PlotData
from tests import test_charts_dvc
from tests.plot_points import points_plot

LABELS = test_charts_dvc.LABELS
corpus = test_charts_dvc.corpus
REPO_ROOT = Path(__file__).resolve().parent.parent
PREFIX = REPO_ROOT / ".cache/mermaid"


def parse(texts: list[str]) -> list[dict]:
    if not (PREFIX / "node_modules/mermaid/package.json").is_file() or not shutil.which("node"):
        raise RuntimeError(f"{PREFIX} is missing: run `bash scripts/test-setup.d/mermaid.sh` (scripts/test.sh does)")
    done = subprocess.run(["node", str(REPO_ROOT / "tests/mermaid_parse.mjs"), str(PREFIX)], input=json.dumps(texts),
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout)


def test_mermaids_own_parser_refuses_what_is_not_mermaid():
    assert "error" in parse(['xychart-beta\n    x-axis "a" 0 -> 1\n    line [1, 2'])[0]


def test_every_mermaid_chart_of_the_corpus_parses_with_its_palette(corpus):
    _, plots, _ = corpus
    drawings = [draw(plot, LABELS) for plot in plots.values() if plot.template != "image"]
    texts = [drawing.mermaid for drawing in drawings if drawing.mermaid]
    hostile = [{"rev": rev, "filename": name, "field": "y", "step": step, "y": step}
               for rev in (BASE, HEAD) for name in ('a"]; %%{init: {}}%%', "b`<x>`") for step in range(3)]
    texts.append(draw(points_plot("h", 'x"]\n%%{init}%% ```', "linear", x="step", y="y",
                               x_label="[x]", datapoints=hostile), LABELS).mermaid)
    assert len(texts) >= 10

    results = parse(texts)

    for text, result in zip(texts, results):
        assert result.get("type") == "xychart", (result, text[:300])
        palette = re.search(r'plotColorPalette: "([^"]*)"', text)
        if palette:
            assert result["config"]["themeVariables"]["xyChart"]["plotColorPalette"] == palette.group(1)


def _line_plot(rows: dict[str, list[tuple]], title: str = "t") -> PlotData:
    points = [{"rev": role, "filename": "f.csv", "field": "y", "x": x, "y": y} for role, pairs in rows.items() for x, y in pairs]
    return points_plot("p", title, "linear", x="x", y="y", datapoints=points)


def test_numbers_of_every_size_reach_mermaid_as_it_reads_them():
    tiny = _line_plot({BASE: [(step, step * 1e-5) for step in range(5)], HEAD: [(step, step * 2e-5) for step in range(5)]})
    million_steps = _line_plot({HEAD: [(step, 1.0 / (step + 1)) for step in range(0, 2_000_000, 50_000)]})
    timestamps = _line_plot({HEAD: [(1_700_000_000 + second * 37, second) for second in range(60)]})
    huge = _line_plot({HEAD: [(step * 0.37, 1e308 if step % 2 else -1e308) for step in range(100)]})
    drawings = [draw(plot, LABELS) for plot in (tiny, million_steps, timestamps)]

    for result, drawing in zip(parse([drawing.mermaid for drawing in drawings]), drawings):
        assert result.get("type") == "xychart", (result, drawing.mermaid)
        assert "e-" not in drawing.mermaid and "e+" not in drawing.mermaid
    low, high = re.search(r"x-axis \"x\" (\S+) --> (\S+)", drawings[2].mermaid).groups()
    assert (float(low), float(high)) == (1_700_000_000, 1_700_000_000 + 59 * 37)
    overflowing = draw(huge, LABELS)
    assert overflowing.mermaid == "" and "too large" in overflowing.mermaid_caption


def test_categories_are_the_ones_every_line_has_and_no_more_than_mermaid_draws_well():
    mismatched = _line_plot({BASE: [("a", 1), ("b", 2), ("c", 3)], HEAD: [("a", 1), ("c", 5), ("d", 9)]})
    drawing = draw(mismatched, LABELS)
    assert 'x-axis "x" ["a", "c"]' in drawing.mermaid
    assert re.findall(r"line \[([^\]]*)\]", drawing.mermaid) == ["1, 3", "1, 5"]
    assert "the 2 of 4 x values every line has" in drawing.mermaid_caption

    many = _line_plot({role: [(f"class {index:03d}", index) for index in range(600)] for role in (BASE, HEAD)})
    text = draw(many, LABELS).mermaid
    assert len(text) < 2_000 and parse([text])[0].get("type") == "xychart"


def test_a_run_shorter_than_the_other_is_said_to_hold_its_end_value():
    drawing = draw(_line_plot({BASE: [(step, step) for step in range(10)], HEAD: [(step, step) for step in range(20)]}), LABELS)
    assert "Past its own x range a line holds its end value." in drawing.mermaid_caption
    assert "resampled" not in drawing.mermaid_caption  # steps 0..19 are drawn as they are
