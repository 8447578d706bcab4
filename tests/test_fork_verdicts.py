"""A fork's bundle cannot forge a verdict: `mrbot publish` judges the bundle's numbers again with
the publishing run's own .mrbot.yml, over real HTTP to the fake GitHub."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bot.compare.diff import IMPROVED, REGRESSED, UNCHANGED, MetricRule, Threshold
from bot.compare.splits import DEFAULT_SPLITS
from bot.report.model import from_json
from bot.report.rejudge import rejudge
from tests import test_github_e2e
from tests.servers.github import CONTRIBUTOR, Pull, actions_environ, workflow_run_event
from tests.test_github_e2e import FAST, FORK_REPO, REPO, TOKEN, bundle_report, publish_environ, run

github = test_github_e2e.github  # the fake GitHub fixture

HEAD, BASE = "1" * 40, "b" * 40


def metric(name: str, old, new, verdict: str, **extra) -> dict:
    change = new - old if isinstance(old, float) and isinstance(new, float) else None
    return {"path": "metrics.json", "name": name, "old": old, "new": new, "change": change, "change_pct": None,
            "direction": "higher", "verdict": verdict, **extra}


def write_bundle(tmp_path: Path, report: dict) -> Path:
    bundle = tmp_path / "bundle"
    bundle.mkdir(exist_ok=True)
    (bundle / "report.json").write_text(json.dumps(report))
    return bundle


def fork_environ(github, tmp_path: Path) -> dict[str, str]:
    """The trusted `workflow_run` job publishing the bundle of PR #7, whose head lives in a fork."""
    github.add_pull(Pull(7, HEAD, BASE, head_ref="experiment", head_owner=CONTRIBUTOR.login))
    payload = workflow_run_event(REPO, HEAD, github.url, head_repository=FORK_REPO, head_branch="experiment")
    return actions_environ(tmp_path / "runner", "workflow_run", payload, REPO, github.url, "c" * 40,
                           GITHUB_TOKEN=TOKEN, **FAST)


def trusted_project(tmp_path: Path, config: str) -> Path:
    project = tmp_path / "checkout"
    project.mkdir()
    (project / ".mrbot.yml").write_text(config)
    return project


def test_flipped_verdicts_and_a_cleared_gate_are_judged_again(github, tmp_path, capsys):
    report = bundle_report()
    # test.acc fell from 0.9 to 0.8, and the bundle says it improved and nothing failed.
    report.update(metrics=[metric("test.acc", 0.9, 0.8, IMPROVED)], verdict=IMPROVED, summary="1 improved",
                  counts={IMPROVED: 1}, gate_failed=False)
    bundle = write_bundle(tmp_path, report)
    project = trusted_project(tmp_path, "metrics: {}\n")

    code, output = run(capsys, ["publish", str(bundle), "--project", str(project), "--fail-on-regression"],
                       fork_environ(github, tmp_path))

    assert code == 1, output
    [status] = github.statuses
    assert status["state"] == "failure"
    assert status["description"].startswith("fork build: test.acc -0.1")
    assert len(status["description"]) <= 140
    [comment] = github.comments(7)
    assert "1 regressed" in comment["body"].splitlines()[1]
    assert "improved" not in comment["body"].split("###")[0].lower()
    assert "Built by the pull request's own code from a fork" in comment["body"]
    [line] = [line for line in output.splitlines() if "disagree" in line]
    assert "3 places" in line
    assert "test.acc: bundle improved, here regressed" in line
    assert "gate: bundle passed, here failed" in line


def test_a_rule_free_bundle_gets_the_thresholds_of_the_trusted_config(github, tmp_path, capsys):
    report = bundle_report()
    report.update(metrics=[metric("test.acc", 0.80, 0.79, REGRESSED), metric("test.loss", 0.5, 0.2, IMPROVED)],
                  verdict=REGRESSED, summary="1 improved, 1 regressed", counts={IMPROVED: 1, REGRESSED: 1},
                  gate_failed=True)
    bundle = write_bundle(tmp_path, report)
    project = trusted_project(tmp_path, "fail_on_regression: true\nmetrics:\n  test.acc:\n    threshold: 0.02\n")

    code, output = run(capsys, ["publish", str(bundle), "--project", str(project)], fork_environ(github, tmp_path))

    assert code == 0, output
    assert github.statuses[0]["state"] == "success"
    body = github.comments(7)[0]["body"]
    assert "1 improved, 1 unchanged" in body
    assert "test.acc: bundle regressed, here unchanged" in output


def test_a_bundle_that_hides_a_regression_behind_its_own_threshold_fails_the_gate(github, tmp_path, capsys):
    report = bundle_report()
    report.update(metrics=[metric("test.acc", 0.80, 0.70, UNCHANGED)], verdict=UNCHANGED,
                  summary="1 unchanged", counts={UNCHANGED: 1})
    bundle = write_bundle(tmp_path, report)
    project = trusted_project(tmp_path, "fail_on_regression: true\n")

    code, output = run(capsys, ["publish", str(bundle), "--project", str(project)], fork_environ(github, tmp_path))

    assert code == 1, output
    assert github.statuses[0]["state"] == "failure"


def test_without_a_trusted_config_the_default_rules_judge_and_the_log_says_so(github, tmp_path, capsys):
    report = bundle_report()
    report.update(metrics=[metric("test.acc", 0.9, 0.8, IMPROVED)], verdict=IMPROVED, counts={IMPROVED: 1})
    bundle = write_bundle(tmp_path, report)
    empty = tmp_path / "nothing-checked-out"
    empty.mkdir()
    github.add_pull(Pull(7, HEAD, BASE))

    code, output = run(capsys, ["publish", str(bundle), "--project", str(empty)], publish_environ(github, tmp_path))

    assert code == 0, output  # no gate asked for
    assert "no .mrbot.yml in" in output and "default rules" in output
    assert "1 regressed" in github.comments(7)[0]["body"]
    # A same-repository PR's bundle is not labelled as a fork's.
    assert "from a fork" not in github.comments(7)[0]["body"]
    assert not github.statuses[0]["description"].startswith("fork build")


@pytest.mark.parametrize(
    "field, value",
    [
        ("forge", "bitbucket"),
        ("forge", ["github"]),
        ("repository", "a/" + "b" * 300),
        ("repository", "octo-org/ml-project\n@everyone"),
        ("project_id", "12; drop"),
        ("number", -1),
        ("number", "7"),
        ("number", True),
        ("head_sha", "HEAD~1"),
        ("run_url", "javascript:alert(1)"),
        ("run_url", "https://example.com/" + "x" * 600),
    ],
)
def test_an_odd_target_is_bad_input_naming_the_field(github, tmp_path, capsys, field, value):
    report = bundle_report()
    report["target"][field] = value
    bundle = write_bundle(tmp_path, report)

    code, output = run(capsys, ["publish", str(bundle)], publish_environ(github, tmp_path))

    assert code == 2, output
    [line] = output.strip().splitlines()
    assert f"report.json: invalid mrbot report (target.{field} is not" in line
    assert github.calls == []


def test_a_bundle_cannot_take_over_another_reports_comment_unless_the_run_names_its_id(github, tmp_path, capsys):
    report = bundle_report()
    report["id"] = "gpu"
    bundle = write_bundle(tmp_path, report)
    environ = publish_environ(github, tmp_path)
    github.add_pull(Pull(7, HEAD, BASE))
    empty = tmp_path / "checkout"
    empty.mkdir()

    code, output = run(capsys, ["publish", str(bundle), "--project", str(empty)], environ)
    assert code == 2, output
    assert "the report's id is 'gpu', but this run posts 'default'; pass --id gpu" in output
    assert github.calls == []

    code, output = run(capsys, ["publish", str(bundle), "--project", str(empty)], {**environ, "MRBOT_ID": "gpu"})
    assert code == 0, output
    assert github.comments(7)[0]["body"].startswith(f"<!-- mrbot:report id=gpu head={HEAD} -->")


def report_of(metrics: list[dict], **fields) -> object:
    return from_json({**bundle_report(), "metrics": metrics, **fields}, "report.json")


def test_rejudge_reads_non_finite_values_back_as_numbers():
    # report.json writes inf as "inf"; compared as text it would be "changed", not a regression.
    report = report_of([metric("test.loss", 0.3, "inf", UNCHANGED, direction="lower")])

    judged, disagreements = rejudge(report, [], DEFAULT_SPLITS, fail_on_regression=True)

    [row] = judged.metrics
    assert row.verdict == REGRESSED and math.isinf(row.new)
    assert judged.gate_failed
    assert [str(item) for item in disagreements][0] == "test.loss: bundle unchanged, here regressed"


def test_rejudge_pairs_splits_and_judges_the_held_out_side_only():
    report = report_of([metric("acc.train", 0.7, 0.9, IMPROVED), metric("acc.test", 0.8, 0.7, IMPROVED)])

    judged, _ = rejudge(report, [], DEFAULT_SPLITS, fail_on_regression=False)

    rows = {row.name: row for row in judged.metrics}
    assert rows["acc.test"].verdict == REGRESSED and rows["acc.test"].judged
    assert not rows["acc.train"].judged
    assert judged.counts == {REGRESSED: 1}
    assert judged.gaps[0]["grew"] is True


def test_rejudge_uses_the_bundles_history_for_auto_thresholds_and_rewrites_the_warning():
    history = [0.80, 0.82, 0.78, 0.81, 0.79]
    report = report_of(
        [metric("test.acc", 0.80, 0.79, REGRESSED, history=history)],
        history=[{"sha": f"{index}" * 40, "rev": f"main~{index}"} for index in range(5)],
        warnings=["No threshold applied to test.acc: an auto threshold needs ... (forged)", "Skipped x"],
    )
    auto = [MetricRule("test.acc", threshold=Threshold(auto=2.0))]

    judged, _ = rejudge(report, auto, DEFAULT_SPLITS, fail_on_regression=True)

    [row] = judged.metrics
    assert row.verdict == UNCHANGED and row.within_noise
    assert not judged.gate_failed
    assert judged.summary == "1 unchanged (1 within noise)"
    assert judged.warnings == ["Skipped x"]

    without_history = report_of([metric("test.acc", 0.80, 0.79, REGRESSED)])
    judged, _ = rejudge(without_history, auto, DEFAULT_SPLITS, fail_on_regression=True)
    assert judged.gate_failed
    assert judged.warnings[-1].startswith("No threshold applied to test.acc:")
    assert "history is off" in judged.warnings[-1]


def test_rejudge_keeps_a_pipeline_failure_that_left_nothing_to_judge():
    failure = {"step": "dvc repro", "stage": "train", "exit_code": 1, "message": "dvc repro failed at train"}
    report = report_of([], verdict="failed", summary=failure["message"], pipeline={"failed": failure["message"],
                                                                                   "failure": failure})

    judged, disagreements = rejudge(report, [], DEFAULT_SPLITS, fail_on_regression=True)

    assert (judged.verdict, judged.summary, disagreements) == ("failed", failure["message"], [])
