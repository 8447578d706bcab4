"""The base branch's history, noise-aware thresholds, train/test pairs and extra baselines, on real
git + DVC projects whose main branch has many commits."""

import json
import logging
import subprocess

import pytest
from dvc.repo import Repo

from bot.ci.context import Context
from bot.cli import main
from bot.job import ReportOptions, run_report
from bot.workspace.demo import git
from bot.workspace.git import working_directory
from tests.ci_projects import Origin, detached_shallow_checkout
from tests.projects import METRICS_ONLY_DVC_YAML, make_project, write_files

# test.acc on main's last commits, oldest first: run-to-run noise of about 0.01 around 0.80.
MAIN_ACC = [0.80, 0.81, 0.80, 0.81, 0.82, 0.81, 0.80, 0.81]


def scores(acc, train_acc=0.85):
    return {"test": {"acc": acc}, "train": {"acc": train_acc}}


def commit(root, message, files):
    write_files(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


def project_with_history(root, accs=MAIN_ACC, head_acc=0.805, config=""):
    """main: one commit per value of `accs` (None: a run whose metrics.json is broken); branch pr
    from main's tip with test.acc `head_acc`."""
    make_project(root, {"dvc.yaml": METRICS_ONLY_DVC_YAML, "metrics.json": scores(accs[0])})
    git(root, "checkout", "-q", "main")
    shas = [git(root, "rev-parse", "HEAD")]
    for index, acc in enumerate(accs[1:], 1):
        shas.append(commit(root, f"run {index}", {"metrics.json": scores(acc) if acc is not None else "{not json"}))
    git(root, "branch", "-q", "-f", "pr", "main")
    git(root, "checkout", "-q", "pr")
    commit(root, "the PR", {"metrics.json": scores(head_acc), ".mrbot.yml": config})
    return shas


def report(root, tmp_path, **options):
    return run_report(
        ReportOptions(path=root, out_dir=tmp_path / "bundle", pull=False, repro=False, echo=lambda _: None, **options),
        Context(),
    )


def row(outcome, name):
    return next(row for row in outcome.report.metrics if row.name == name)


def test_history_is_read_oldest_first_and_each_row_carries_its_values(tmp_path):
    root = tmp_path / "project"
    shas = project_with_history(root)

    outcome = report(root, tmp_path, history=5)

    assert [commit["sha"] for commit in outcome.report.history] == shas[-5:]
    assert outcome.report.history[-1]["rev"] == shas[-1][:8]  # the baseline itself is the newest
    assert outcome.report.history[0]["rev"] == f"{shas[-1][:8]}~4"
    acc = row(outcome, "test.acc")
    assert acc.history == tuple(MAIN_ACC[-5:])
    assert acc.noise == pytest.approx(0.01)  # every successive move is 0.01
    written = json.loads((tmp_path / "bundle" / "report.json").read_text())
    assert written["history"] == outcome.report.history
    written_acc = next(item for item in written["metrics"] if item["name"] == "test.acc")
    assert written_acc["history"] == MAIN_ACC[-5:] and written_acc["noise"] == pytest.approx(0.01)
    # The sparkline and where head lands, in the row.
    assert "Base history → head" in outcome.markdown
    assert "within range" in next(line for line in outcome.markdown.splitlines() if line.startswith("| test.acc "))


def test_history_off_reads_nothing_and_adds_no_column(tmp_path):
    root = tmp_path / "project"
    project_with_history(root)

    outcome = report(root, tmp_path, history=0)

    assert outcome.report.history == [] and row(outcome, "test.acc").history is None
    assert "Base history" not in outcome.markdown


@pytest.mark.parametrize(
    "threshold, head_acc, verdict, within_noise",
    [
        ("auto", 0.805, "unchanged", True),  # -0.005 against a spread of 0.01: noise
        ("auto", 0.86, "improved", False),  # +0.05: beyond 2 × 0.01
        ("{auto: 0.1}", 0.805, "regressed", False),  # K 0.1: the same move counts
        (None, 0.805, "regressed", False),  # no threshold: any move counts, as before
    ],
)
def test_an_auto_threshold_judges_a_move_against_the_base_branch_s_noise(tmp_path, threshold, head_acc, verdict, within_noise):
    root = tmp_path / "project"
    config = f"metrics:\n  test.acc: {{threshold: {threshold}}}\n" if threshold else ""
    project_with_history(root, head_acc=head_acc, config=config)

    outcome = report(root, tmp_path)

    acc = row(outcome, "test.acc")
    assert (acc.verdict, acc.within_noise) == (verdict, within_noise)
    assert acc.noise == pytest.approx(0.01)
    table_row = next(line for line in outcome.markdown.splitlines() if line.startswith("| test.acc "))
    assert ("within noise; spread 0.01" in table_row) == within_noise
    if within_noise:
        assert outcome.report.summary == "1 unchanged (1 within noise)"


def test_regressions_within_noise_do_not_fail_the_gate(tmp_path):
    root = tmp_path / "project"
    project_with_history(root, head_acc=0.795, config="fail_on_regression: true\nmetrics:\n  test.acc: {threshold: auto}\n")
    assert report(root, tmp_path).exit_code == 0
    (root / ".mrbot.yml").write_text("fail_on_regression: true\n")
    assert report(root, tmp_path).exit_code == 1


def test_auto_with_too_little_history_falls_back_to_no_threshold_and_says_so(tmp_path):
    root = tmp_path / "project"
    project_with_history(root, accs=[0.80, 0.81], head_acc=0.805, config="metrics:\n  test.acc: {threshold: auto}\n")

    outcome = report(root, tmp_path)

    assert row(outcome, "test.acc").verdict == "regressed"
    assert any(
        warning.startswith("No threshold applied to test.acc: an auto threshold needs the spread")
        and "fewer than 3 readable commits" in warning
        for warning in outcome.report.warnings
    )


def test_unreadable_commits_are_skipped_and_counted(tmp_path):
    root = tmp_path / "project"
    project_with_history(root, accs=[0.80, 0.81, 0.79, None, 0.80])

    outcome = report(root, tmp_path, history=5)

    assert row(outcome, "test.acc").history == (0.80, 0.81, 0.79, None, 0.80)
    assert "History: the metrics of 1 of 5 commits could not be read (skipped)" in outcome.report.warnings
    assert "·" in outcome.markdown  # the unreadable commit in the sparkline


def test_dvc_cached_metrics_are_read_from_the_cache_at_each_commit(tmp_path):
    root = tmp_path / "project"
    make_project(root, {"dvc.yaml": "metrics:\n  - cached.json\n"})
    git(root, "checkout", "-q", "main")
    for acc in (0.7, 0.72, 0.71):
        write_files(root, {"cached.json": {"acc": acc}})
        with working_directory(root), Repo(str(root)) as repo:
            repo.add("cached.json")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", f"acc {acc}")
    git(root, "branch", "-q", "-f", "pr", "main")
    git(root, "checkout", "-q", "pr")

    outcome = report(root, tmp_path, history=3)

    assert row(outcome, "acc").history == (0.7, 0.72, 0.71)


def test_a_shallow_clone_fetches_the_history_it_lacks(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="bot")
    root = tmp_path / "project"
    shas = project_with_history(root)
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(root), str(origin)], check=True)
    clone = detached_shallow_checkout(Origin(origin, tmp_path), "pr", tmp_path / "clone")

    outcome = run_report(
        # --base: only the baseline is fetched, so the history must be.
        ReportOptions(path=clone, base=shas[-1], out_dir=tmp_path / "bundle", pull=False, repro=False, history=6,
                      echo=lambda _: None),
        Context(forge="github", head_sha=git(clone, "rev-parse", "HEAD"), base_sha=shas[-1], base_ref="main"),
    )

    assert [commit["sha"] for commit in outcome.report.history] == shas[-6:]
    assert "history: 1 of 6 commits are in this shallow clone; fetching the rest" in caplog.text
    assert row(outcome, "test.acc").history == tuple(MAIN_ACC[-6:])
    assert not any(warning.startswith("History") for warning in outcome.report.warnings)


def test_a_trend_chart_shows_the_metrics_that_moved(tmp_path):
    root = tmp_path / "project"
    project_with_history(root, head_acc=0.9)

    outcome = report(root, tmp_path)

    trend = next(chart for chart in outcome.report.charts if chart.plot_id == "metric trends")
    assert trend.images and (tmp_path / "bundle" / trend.images[0]).read_bytes().startswith(b"\x89PNG")


def test_an_overfitting_change_is_judged_on_the_held_out_side_and_the_gap_is_said(tmp_path):
    # Train AUC up to 1.00, test AUC down: not "2 improved, 2 regressed".
    root = tmp_path / "project"
    base = {"roc_auc": {"train": 0.94, "test": 0.90}, "loss": {"train": 0.30, "test": 0.33}}
    head = {"roc_auc": {"train": 1.00, "test": 0.86}, "loss": {"train": 0.01, "test": 0.41}}
    make_project(root, {"dvc.yaml": METRICS_ONLY_DVC_YAML, "metrics.json": base}, {"metrics.json": head})

    outcome = report(root, tmp_path, base="main")

    assert outcome.report.summary == "2 regressed"
    train = row(outcome, "roc_auc.train")
    assert (train.verdict, train.judged, train.split) == ("improved", False, "train")
    assert (row(outcome, "roc_auc.test").split, row(outcome, "roc_auc.test").judged) == ("test", True)
    assert r"> ⚠️ roc\_auc.test (against roc\_auc.train): train–test gap 0.04 → 0.14; the change may overfit" in outcome.markdown
    gaps = {gap["name"]: gap for gap in json.loads((tmp_path / "bundle" / "report.json").read_text())["gaps"]}
    assert gaps["metrics.json:roc_auc.*"]["grew"] is True
    assert gaps["metrics.json:loss.*"]["base"] == pytest.approx(0.03)  # lower is better: test minus train


def test_splits_false_judges_every_metric(tmp_path):
    root = tmp_path / "project"
    base = {"roc_auc": {"train": 0.94, "test": 0.90}}
    head = {"roc_auc": {"train": 1.00, "test": 0.86}, "x": 1}
    make_project(root, {"dvc.yaml": METRICS_ONLY_DVC_YAML, "metrics.json": base, ".mrbot.yml": "splits: false\n"}, {"metrics.json": head})

    outcome = report(root, tmp_path, base="main")

    assert outcome.report.summary == "1 improved, 1 regressed, 1 new"
    assert outcome.report.gaps == []


def test_extra_baselines_get_a_column_each_and_a_missing_one_is_one_warning(tmp_path):
    root = tmp_path / "project"
    shas = project_with_history(root, head_acc=0.83, config="baselines:\n  production: model-prod\n  ghost: no-such-tag\n")
    git(root, "tag", "model-prod", shas[0])  # the deployed model: test.acc 0.80

    outcome = report(root, tmp_path)

    assert outcome.report.baselines == {"production": {"rev": "model-prod", "sha": shas[0]}}
    assert row(outcome, "test.acc").baselines == {"production": 0.80}
    assert row(outcome, "test.acc").verdict == "improved"  # against the base (0.81), not production
    header = next(line for line in outcome.markdown.splitlines() if line.startswith("| Metric"))
    assert header.split("|")[2:5] == [" Base   ", " production   ", " Head   "]
    assert "| 0.8 (+0.03) " in outcome.markdown
    assert "Baseline ghost: revision no-such-tag not found; fix or remove it in baselines of .mrbot.yml" in outcome.report.warnings
    written = json.loads((tmp_path / "bundle" / "report.json").read_text())
    assert written["baselines"] == {"production": {"rev": "model-prod", "sha": shas[0]}}
    assert next(item for item in written["metrics"] if item["name"] == "test.acc")["baselines"] == {"production": 0.80}


def test_a_tag_missing_from_a_shallow_clone_is_fetched_for_a_baseline(tmp_path):
    root = tmp_path / "project"
    shas = project_with_history(root, config="baselines:\n  last-release: v1.4.0\n")
    git(root, "tag", "v1.4.0", shas[0])
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(root), str(origin)], check=True)
    clone = detached_shallow_checkout(Origin(origin, tmp_path), "pr", tmp_path / "clone")

    outcome = run_report(
        ReportOptions(path=clone, out_dir=tmp_path / "bundle", pull=False, repro=False, history=0, echo=lambda _: None),
        Context(forge="github", head_sha=git(clone, "rev-parse", "HEAD"), base_sha=shas[-1], base_ref="main"),
    )

    assert outcome.report.baselines["last-release"]["sha"] == shas[0]
    assert row(outcome, "test.acc").baselines == {"last-release": 0.80}


@pytest.mark.parametrize(
    "args, env, message",
    [
        (["--history", "many"], {}, "--history / MRBOT_HISTORY must be a whole number of commits from 0 (off) to 1000, not 'many'"),
        ([], {"MRBOT_HISTORY": "-1"}, "--history / MRBOT_HISTORY must be a whole number of commits from 0 (off) to 1000, not '-1'"),
    ],
)
def test_a_bad_history_on_the_command_line_is_one_line_exit_2(tmp_path, capsys, monkeypatch, args, env, message):
    root = tmp_path / "project"
    project_with_history(root)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()  # what making the project printed

    code = main(["report", str(root), "--dry-run", *args])

    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == f"mrbot: error: {message}"
