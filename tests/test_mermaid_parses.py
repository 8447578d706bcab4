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
    texts.append(draw(PlotData("h", 'x"]\n%%{init}%% ```', "linear", x="step", y="y",
                               x_label="[x]", datapoints=hostile), LABELS).mermaid)
    assert len(texts) >= 10

    results = parse(texts)

    for text, result in zip(texts, results):
        assert result.get("type") == "xychart", (result, text[:300])
        palette = re.search(r'plotColorPalette: "([^"]*)"', text)
        if palette:
            assert result["config"]["themeVariables"]["xyChart"]["plotColorPalette"] == palette.group(1)
