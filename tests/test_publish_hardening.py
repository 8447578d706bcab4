"""Posting survives what it cannot control: a tampered report.json (exit 2, naming the field), a forge
answering something unusable (exit 4, report kept) and an unwritable job summary or outputs file
(a warning; the run's own exit code)."""

from __future__ import annotations

import copy
import json

import pytest

from bot.cli import main
from bot.errors import EXIT_BAD_INPUT, EXIT_FORGE_REFUSED, EXIT_OK, BadInput
from bot.report.model import from_json, to_json
from bot.report.render import render
from tests.servers.github import ACTIONS_BOT, FakeGitHub, Pull, Token, actions_environ, pull_request_event
from tests.test_github_e2e import FAST, MERGE_SHA, PNG, REPO, TOKEN, bundle_report, outputs, publish_environ
from tests.test_gitlab_e2e import TOKEN as GITLAB_TOKEN
from tests.test_gitlab_e2e import bundle_text, git, gitlab, predefined_variables  # noqa: F401 - gitlab: a fixture
from tests.test_render import sample_report

# What bot/report/pipeline.py writes for a run with one failed stage, a pull and a data change.
PIPELINE = {
    "failed": "dvc repro failed in stage train",
    "failure": {"step": "dvc repro", "stage": "train", "exit_code": 1, "message": "dvc repro failed in stage train"},
    "log_tail": "Traceback\nValueError: boom",
    "ran_pipeline": True,
    "stages": [{"name": "train", "status": "failed", "status_text": "❌ failed", "seconds": 1.5, "time": "1.5 s",
                "reasons": ["params changed"], "why": "params changed"}],
    "imports": {"checked": ["data/raw.csv.dvc"], "updated": ["data/raw.csv.dvc"], "time": "0.3 s"},
    "pull": {"remote": "storage", "files": 3, "seconds": 0.2, "time": "0.2 s", "note": "", "to_rebuild": []},
    "push": None,
    "data_changes": [{"path": "data/x.csv", "change": "modified", "old_size": 10, "new_size": 12, "old_files": None,
                      "new_files": None, "old": "10 B", "new": "12 B"}],
    "stale_warning": "",
    "stale_outputs": [],
    "base": {"reproduced": False, "note": "", "log_tail": "", "seconds": 0.0},
    "seconds": {"pull": 0.2, "repro": 1.5, "push": 0.0, "total": 2.0},
    "total_time": "2.0 s",
    "summary": "1 failed · 2.0 s for the whole mrbot run",
    "show": True,
}


def report_data() -> dict:
    data = to_json(sample_report())
    data["pipeline"] = copy.deepcopy(PIPELINE)
    return data


# -- report.json ------------------------------------------------------------------------------


def test_a_pipeline_as_mrbot_writes_it_loads_unchanged_and_renders():
    report = from_json(report_data(), "bundle/report.json")
    assert report.pipeline == PIPELINE
    markdown = render(report)
    assert "dvc repro failed in stage train" in markdown
    assert "dvc update: 1 of 1 import(s) updated (data/raw.csv.dvc)" in markdown.replace("\\", "")


def test_unknown_pipeline_keys_are_dropped_and_missing_ones_get_defaults():
    data = report_data()
    data["pipeline"] = {"summary": "s", "extra": {"x": 1}, "stages": [{"name": "train", "colour": "red"}]}
    pipeline = from_json(data, "bundle/report.json").pipeline
    assert "extra" not in pipeline and "colour" not in pipeline["stages"][0]
    assert pipeline["failed"] == "" and pipeline["failure"] is None and pipeline["base"]["note"] == ""
    render(from_json(data, "bundle/report.json"))  # no template error on the keys it reads unguarded


@pytest.mark.parametrize(
    "tamper, field",
    [
        (lambda d: d["counts"].update(improved=1e999), "cannot convert float infinity"),
        (lambda d: d["metrics"][0].update(change=10**400), "too large"),
        (lambda d: d.update(pipeline=5), "pipeline is not an object"),
        (lambda d: d["pipeline"].update(failed="x", stages=5), "pipeline.stages is not a list"),
        (lambda d: d["pipeline"].update(stages=[1], failed="x"), r"pipeline.stages\[0\] is not an object"),
        (lambda d: d["pipeline"]["stages"][0].update(name=None), r"pipeline.stages\[0\].name is not a string"),
        (lambda d: d["pipeline"].update(data_changes=5), "pipeline.data_changes is not a list"),
        (lambda d: d["pipeline"]["data_changes"][0].update(old_size="big"), "old_size is not an integer or null"),
        (lambda d: d["pipeline"].update(failure="x"), "pipeline.failure is not an object or null"),
        (lambda d: d["pipeline"].update(base=[]), "pipeline.base is not an object"),
        (lambda d: d["pipeline"]["pull"].update(files=True), "pipeline.pull.files is not an integer"),
        (lambda d: d["pipeline"].update(log_tail=["a"]), "pipeline.log_tail is not a string"),
        (lambda d: d["pipeline"]["seconds"].update(total="1 s"), "pipeline.seconds.total is not a number"),
    ],
)
def test_a_tampered_report_json_is_one_line_bad_input_naming_the_field(tamper, field):
    data = report_data()
    tamper(data)
    with pytest.raises(BadInput, match=f"^bundle/report.json: invalid mrbot report \\(.*{field}") as caught:
        from_json(data, "bundle/report.json")
    assert "\n" not in str(caught.value)


def test_publish_of_a_tampered_pipeline_blames_report_json_not_the_template(tmp_path, capsys):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    data = bundle_report()
    data["pipeline"] = {"stages": [1], "failed": "x"}
    (bundle / "report.json").write_text(json.dumps(data))
    with FakeGitHub(REPO, {TOKEN: Token(ACTIONS_BOT, reads_user=False)}) as github:
        github.add_pull(Pull(7, "1" * 40, "b" * 40))
        code = main(["publish", str(bundle)], environ=publish_environ(github, tmp_path))
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT, err
    assert f"{bundle / 'report.json'}: invalid mrbot report (pipeline.stages[0] is not an object)" in err
    assert "template" not in err and "Traceback" not in err
    assert github.calls == []


# -- a forge answering garbage ------------------------------------------------------------------


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("mrbot: error:")]


@pytest.mark.parametrize(
    "operation, body, doing",
    [
        ("git/get-ref", [1, 2, 3], "uploading the report's images"),  # was AttributeError on ref.object.sha
        ("issues/list-comments", [1, 2, 3], "listing the report comments"),
        ("issues/create-comment", [1, 2, 3], "posting the report comment"),  # a comment with no URL
    ],
)
def test_github_answering_garbage_is_exit_4_with_the_report_kept(demo_project, tmp_path, capsys, operation, body,
                                                                  doing):
    head, base = git(demo_project, "rev-parse", "HEAD"), git(demo_project, "rev-parse", "main")
    runner, bundle = tmp_path / "runner", tmp_path / "bundle"
    # Not tests.servers.github.running(): these answers break GitHub's description on purpose.
    with FakeGitHub(REPO, {TOKEN: Token(ACTIONS_BOT, reads_user=False)}) as github:
        github.add_pull(Pull(7, head, base, head_ref="experiment"))
        github.fail(operation, 200, body)
        environ = actions_environ(runner, "pull_request", pull_request_event(REPO, 7, head, base, github.url), REPO,
                                  github.url, MERGE_SHA, GITHUB_TOKEN=TOKEN, **FAST)
        code = main(["report", str(demo_project), "--no-pull", "--no-repro", "--out", str(bundle)], environ=environ)
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert code == EXIT_FORGE_REFUSED, output
    [line] = error_lines(output)
    assert f"GitHub answered something mrbot cannot use while {doing} (" in line, line
    assert "check GITHUB_API_URL / the server" in line, line
    assert "Traceback" not in output and TOKEN not in output
    assert f"the report is kept in {bundle}" in output
    assert (bundle / "report.json").is_file()
    assert "Model improved" in (runner / "step_summary.md").read_text()
    assert outputs(environ)["comment-url"] == ""


@pytest.mark.parametrize(
    "method, path, answer",
    [
        ("GET", r"/projects/42$", {"id": None}),  # was TypeError: Unsupported type received
        ("GET", r"/merge_requests/3$", {"iid": None}),
        ("POST", r"/merge_requests/3/notes$", {"id": None}),
    ],
)
def test_gitlab_answering_garbage_is_exit_4_with_the_report_kept(gitlab, demo_project, capsys, method, path,  # noqa: F811 - the fixture
                                                                 answer):
    gitlab.fail(method, path, 200, answer)
    bundle = demo_project.parent / "bundle"
    code = main(["report", str(demo_project), "--no-pull", "--no-repro", "--out", str(bundle)],
                environ=predefined_variables(gitlab, demo_project))
    captured = capsys.readouterr()
    assert code == EXIT_FORGE_REFUSED, captured.err
    [line] = error_lines(captured.err)
    assert "GitLab answered something mrbot cannot use while " in line and "check CI_API_V4_URL" in line, line
    assert "Traceback" not in captured.err
    assert (bundle / "report.json").is_file()
    assert gitlab.merge_requests[3].notes == []
    assert GITLAB_TOKEN not in captured.out + captured.err + bundle_text(bundle)


# -- the job's own files ---------------------------------------------------------------------


def test_an_unwritable_job_summary_and_outputs_file_only_warn(demo_project, tmp_path, capsys):
    head, base = git(demo_project, "rev-parse", "HEAD"), git(demo_project, "rev-parse", "main")
    with FakeGitHub(REPO, {TOKEN: Token(ACTIONS_BOT, reads_user=False)}) as github:
        github.add_pull(Pull(7, head, base, head_ref="experiment"))
        environ = actions_environ(tmp_path / "runner", "pull_request", pull_request_event(REPO, 7, head, base,
                                  github.url), REPO, github.url, MERGE_SHA, GITHUB_TOKEN=TOKEN, **FAST,
                                  GITHUB_STEP_SUMMARY="/nonexistent/summary.md", GITHUB_OUTPUT="/nonexistent/out")
        code = main(["report", str(demo_project), "--no-pull", "--no-repro", "--out", str(tmp_path / "bundle")],
                    environ=environ)
    err = capsys.readouterr().err
    assert code == EXIT_OK, err
    assert len(github.comments(7)) == 1 and len(github.statuses) == 1  # still posted
    assert "could not write the job summary /nonexistent/summary.md" in err
    assert "could not write the step outputs /nonexistent/out" in err
    assert error_lines(err) == [] and "Traceback" not in err


def test_an_unwritable_outputs_file_keeps_a_publish_failure_exit_code(tmp_path, capsys):
    bundle = tmp_path / "bundle"
    (bundle / "images").mkdir(parents=True)
    (bundle / "images" / "loss.png").write_bytes(PNG)
    (bundle / "report.json").write_text(json.dumps(bundle_report(["images/loss.png"])))
    with FakeGitHub(REPO, {TOKEN: Token(ACTIONS_BOT, reads_user=False)}) as github:
        github.add_pull(Pull(7, "1" * 40, "b" * 40))
        github.fail("issues/create-comment", 403, {"message": "Resource not accessible by integration"})
        environ = {**publish_environ(github, tmp_path), "GITHUB_OUTPUT": str(tmp_path / "missing" / "out")}
        code = main(["publish", str(bundle)], environ=environ)
    err = capsys.readouterr().err
    assert code == EXIT_FORGE_REFUSED, err
    assert "could not write the step outputs" in err and "Traceback" not in err
