"""What the report says the same way everywhere: image pairs under visible captions, mrbot's own
advice as code, the Pipeline section with --no-repro, one SHA length, Mermaid that survives a bundle."""

from __future__ import annotations

import re

import pytest

from bot.charts.chart import Chart
from bot.charts.draw import render_chart
from bot.cli import main
from bot.report.markdown import escape_prose
from bot.report.model import from_json, to_json
from bot.report.render import render
from bot.results import BASE, HEAD
from tests.plot_points import points_plot
from tests.projects import METRICS_ONLY_DVC_YAML, make_project
from tests.test_render import sample_report

LABELS = {BASE: "base main 1234abcd", HEAD: "head pr 5678ef01"}


def test_image_pairs_stand_side_by_side_under_visible_captions():
    report = sample_report()
    report.charts = [Chart("p.png", "p.png", "image", ["images/p-base.png", "images/p-head.png"],
                           ["base main 1111aaaa", "head feature/@x|y 2222bbbb"])]
    rendered = render(report)
    header, rule, images = rendered.split("#### p.png\n\n", 1)[1].splitlines()[:3]
    assert header == "| base main 1111aaaa | head feature/@\u200bx\\|y 2222bbbb |"
    assert rule == "| --- | --- |"
    assert images.startswith("| ![base main 1111aaaa](images/p-base.png) | ![head")


def test_several_images_of_one_chart_each_have_a_visible_caption():
    report = sample_report()
    report.charts = [Chart("cm", "CM", "confusion", ["images/a.png", "images/b.png"], ["CM · train.json", "CM · test.json"])]
    rendered = render(report)
    assert "CM · train.json\n\n![CM · train.json](images/a.png)" in rendered
    assert "CM · test.json\n\n![CM · test.json](images/b.png)" in rendered


@pytest.mark.parametrize("text, shown", [
    ("run `dvc repro` and commit dvc.lock (and `dvc push`).", "run `dvc repro` and commit dvc.lock (and `dvc push`)."),
    ("set `GIT_DEPTH: 0`", "set `GIT_DEPTH: 0`"),
    ("`a|b` breaks a table", "\\`a\\|b\\` breaks a table"),
    ("`<img src=x>`", "\\`&lt;img src=x&gt;\\`"),
    ("` spaced`", "\\` spaced\\`"),
    ("@octocat `dvc push`", "@\u200boctocat `dvc push`"),
])
def test_mrbots_own_advice_keeps_its_code_and_untrusted_text_stays_escaped(text, shown):
    assert escape_prose(text) == shown


def test_the_stale_lock_warning_shows_commands_as_code(tmp_path):
    report = sample_report()
    report.pipeline = {"show": True, "stale_warning": "out of date; run `dvc repro` and commit it.",
                       "stages": [], "summary": "x"}
    rendered = render(from_json(to_json(report), "report.json"))
    assert "> out of date; run `dvc repro` and commit it." in rendered
    assert "\\`" not in rendered.split("### Pipeline", 1)[1].split("###", 1)[0]


def test_every_report_with_no_repro_says_so_in_its_pipeline_section(tmp_path, capsys):
    root = make_project(tmp_path / "p", {"dvc.yaml": METRICS_ONLY_DVC_YAML, "metrics.json": {"acc": 0.5}},
                        {"metrics.json": {"acc": 0.6}})

    code = main(["report", str(root), "--base", "main", "--dry-run", "--no-pull", "--no-repro"], environ={})
    out = capsys.readouterr().out

    assert code == 0
    assert "### Pipeline" in out
    assert re.search(r"dvc repro not run \(--no-repro\), none stale · \d+\.\d s for the whole mrbot run", out)


def test_one_sha_length_in_legends_captions_and_footer(tmp_path, capsys):
    root = make_project(tmp_path / "p", {"dvc.yaml": METRICS_ONLY_DVC_YAML + "plots:\n  - curve.csv\n",
                                         "metrics.json": {"acc": 0.5}, "curve.csv": "step,loss\n0,1\n1,0.5\n"},
                        {"metrics.json": {"acc": 0.6}, "curve.csv": "step,loss\n0,1\n1,0.4\n"})
    bundle = tmp_path / "bundle"

    assert main(["report", str(root), "--base", "main", "--out", str(bundle), "--no-pull", "--no-repro"], environ={}) == 0

    report = from_json(__import__("json").loads((bundle / "report.json").read_text()), "report.json")
    markdown = (bundle / "report.md").read_text()
    lengths = {len(sha) for sha in re.findall(r"`([0-9a-f]{7,40})`", markdown)}
    (chart,) = report.charts
    lengths |= {len(sha) for sha in re.findall(r"\b([0-9a-f]{7,40})\b", chart.mermaid_caption)}
    assert lengths == {8}
    assert report.base.sha[:8] in chart.mermaid_caption and report.head.sha[:8] in chart.mermaid_caption


def test_mermaid_as_mrbot_writes_it_survives_the_bundle_and_its_caption_is_escaped(tmp_path):
    points = [{"rev": rev, "filename": name, "field": "y", "step": step, "y": step * (2 if rev == HEAD else 1)}
              for rev in (BASE, HEAD) for name in ("train.json", "<b>@x</b>.json") for step in range(3)]
    chart = render_chart(points_plot("c", "Curves", "linear", x="step", y="y", datapoints=points), tmp_path, LABELS)
    report = sample_report()
    report.charts = [chart]

    restored = from_json(to_json(report), "report.json").charts[0]
    assert restored.mermaid == chart.mermaid and "plotColorPalette" in chart.mermaid
    rendered = render(from_json(to_json(report), "report.json"), image_url=None)
    assert "```mermaid\n---\nconfig:" in rendered
    assert "<b>" not in rendered and "@x" not in rendered
    assert "Lines: light blue: train.json · base main 1234abcd;" in rendered


def test_long_category_names_keep_base_and_head_apart_in_mermaid_bars():
    name = "a category name of ninety characters " * 3
    points = [{"rev": rev, "feature": name, "weight": weight} for rev, weight in ((BASE, 1.0), (HEAD, 2.0))]
    chart = render_chart(points_plot("b", "b", "bar_horizontal", x="weight", y="feature", datapoints=points), __import__("pathlib").Path("/tmp"), LABELS)
    labels = re.search(r"x-axis \[(.*)\]", chart.mermaid).group(1).split('", "')
    assert len(labels) == 2 and labels[0] != labels[1] and labels[1].endswith("· head\"")


def test_vertical_bars_of_a_custom_template_are_drawn(tmp_path):
    points = [{"rev": rev, "cls": cls, "count": count} for rev in (BASE, HEAD) for cls, count in (("cat", 3), ("dog", 5))]
    chart = render_chart(points_plot("v", "v", "bar_horizontal", x="cls", y="count", datapoints=points), tmp_path, LABELS)
    assert chart.images and chart.notes == [] and "bar [3, 3, 5, 5]" in chart.mermaid


def test_odd_values_are_left_out_of_a_line_chart_not_the_whole_chart(tmp_path):
    huge = [{"rev": HEAD, "step": step, "y": 10**400 if step == 1 else step} for step in range(4)]
    chart = render_chart(points_plot("h", "h", "linear", x="step", y="y", datapoints=huge), tmp_path, LABELS)
    assert chart.images and "1 points without numeric x/y values were left out" in chart.notes
    nan_x = [{"rev": HEAD, "step": "nan", "y": step} for step in range(3)]
    chart = render_chart(points_plot("n", "n", "linear", x="step", y="y", datapoints=nan_x), tmp_path, LABELS)
    assert "3 points without numeric x/y values were left out" in chart.notes


def test_a_line_break_in_a_title_does_not_cost_the_bundle_its_chart(tmp_path):
    points = [{"rev": HEAD, "step": step, "y": step} for step in range(3)]
    chart = render_chart(points_plot("t", "a\u2028b\x85c", "linear", x="step", y="y", datapoints=points), tmp_path, LABELS)
    report = sample_report()
    report.charts = [chart]
    assert from_json(to_json(report), "report.json").charts[0].mermaid == chart.mermaid != ""


def test_an_image_plot_with_fewer_labels_than_images_still_renders():
    report = sample_report()
    report.charts = [Chart("p.png", "p.png", "image", ["images/p-base.png", "images/p-head.png"], ["base main 1111aaaa"])]
    rendered = render(from_json(to_json(report), "report.json"))
    assert "![base main 1111aaaa](images/p-base.png)" in rendered
