"""A small report for the forge drivers' tests: what each one posts, whatever the forge."""

from collections import Counter

from bot.charts.chart import Chart
from bot.compare.diff import IMPROVED, REGRESSED, UNCHANGED, MetricRow, overall_verdict, summarize
from bot.report.model import Report, RevisionInfo

HEAD = "c0ffee" + "1" * 34
NEWER_HEAD = "c0ffee" + "2" * 34
BASE = "ba5e" + "0" * 36
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def make_report(head=HEAD, accuracy=0.91, images=(), report_id="default", extra_improved=0, name_width=10):
    rows = [
        MetricRow("metrics.json", "test.accuracy", 0.8, accuracy, accuracy - 0.8, (accuracy - 0.8) / 0.8 * 100,
                  "higher", IMPROVED if accuracy > 0.8 else REGRESSED),
        MetricRow("metrics.json", "test.loss", 0.5, 0.5, 0.0, 0.0, "lower", UNCHANGED),
    ]
    rows += [
        MetricRow("metrics.json", f"layer{i}.".ljust(name_width, "w"), 1.0, 2.0, 1.0, 100.0, "higher", IMPROVED)
        for i in range(extra_improved)
    ]
    counts = dict(Counter(row.verdict for row in rows))
    charts = [
        Chart("training", "Training loss", "linear", images=list(images), image_labels=["training"] * len(images),
              mermaid="xychart-beta\n  line [1, 2, 3]")
    ]
    return Report(
        base=RevisionInfo("main", BASE),
        head=RevisionInfo("feature", head),
        metrics=rows,
        params=[],
        charts=charts,
        verdict=overall_verdict(counts),
        summary=summarize(counts),
        counts=counts,
        report_id=report_id,
        version="test",
    )
