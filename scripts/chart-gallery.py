"""Draw the charts docs/report.md shows (one per template) from the tests' plot corpus:
.venv/bin/python scripts/chart-gallery.py  (writes docs/images/charts/)."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.charts.pool import render_charts  # noqa: E402
from bot.results import BASE, HEAD  # noqa: E402
from bot.results.values import read_results  # noqa: E402
from bot.workspace.git import resolve  # noqa: E402
from tests.plot_corpus import make_plot_corpus  # noqa: E402

GALLERY = {
    "ROC": "simple", "Precision-Recall": "linear", "Losses": "smooth", "Embedding": "scatter",
    "Votes": "scatter_jitter", "Confusion-Matrix": "confusion", "Confusion-Normalized": "confusion_normalized",
    "Per-class": "bar_horizontal", "Per-class-sorted": "bar_horizontal_sorted", "Many-sources": "panels",
}


def main() -> None:
    out = ROOT / "docs" / "images" / "charts"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temporary:
        root = make_plot_corpus(Path(temporary) / "project")
        plots = [plot for plot in read_results(root, resolve(root, "main").sha).plots if plot.id in GALLERY]
        bundle = Path(temporary) / "bundle"
        for chart in render_charts(plots, bundle, {BASE: "base main 1a2b3c4d", HEAD: "head pr 5e6f7a8b"}):
            shutil.copy(bundle / chart.images[0], out / f"{GALLERY[chart.plot_id]}.png")
            print(out / f"{GALLERY[chart.plot_id]}.png")


if __name__ == "__main__":
    main()
