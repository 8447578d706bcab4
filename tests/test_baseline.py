"""The baseline on a real repo where main moved on after the PR forked (another PR changed a param
there and reproduced): GitHub, GitLab and Bitbucket jobs, the PR head or the forge's test merge checked out,
full and shallow clones. The report must credit the PR with its own changes only."""

import json
import logging
import shutil

import pytest

from bot.ci.bitbucket import detect_bitbucket
from bot.ci.context import Context
from bot.ci.github import detect_github
from bot.ci.gitlab import detect_gitlab
from bot.job import ReportOptions, run_report
from bot.workspace.demo import BASE_PARAMS, _params_yaml, git
from tests.ci_projects import detached_shallow_checkout, move_main_on, publish, push_test_merge

PR_PARAMS = {"train.lr", "train.epochs"}  # what the demo's experiment branch changes


@pytest.fixture(scope="session")
def moved_on(demo_template, tmp_path_factory):
    """origin with main 2 commits past where `experiment` forked (its DVC-remote commit, then a
    `prepare.noise` change reproduced and pushed), and the test merges GitHub and GitLab make."""
    where = tmp_path_factory.mktemp("moved-on")
    shutil.copytree(demo_template, where / "project", symlinks=True)
    origin = publish(where / "project", where)
    forked_at = git(origin.repo, "merge-base", "main", "experiment")
    tip = move_main_on(origin, where, _params_yaml({**BASE_PARAMS, "noise": 0.6}))
    push_test_merge(origin, where, "experiment", "refs/pull/1/merge")
    push_test_merge(origin, where, "experiment", "refs/merge-requests/1/merge")
    push_test_merge(origin, where, "experiment", "refs/bitbucket/1/merge", head_first=True)
    return origin, forked_at, tip


def run(clone, tmp_path, context, **options):
    return run_report(ReportOptions(path=clone, out_dir=tmp_path / "bundle", echo=lambda _: None, **options), context)


def head_checkout_asking_for_the_tip(moved_on, tmp_path):
    origin, _, tip = moved_on
    head_sha = origin.sha("experiment")
    clone = detached_shallow_checkout(origin, head_sha, tmp_path / "clone", None)
    (clone / ".mrbot.yml").write_text("base: tip\n")
    return clone, github_context(tmp_path, head_sha, tip)


def github_context(tmp_path, head_sha, tip):
    event = {
        "number": 1,
        "pull_request": {
            "number": 1,
            "head": {"sha": head_sha, "ref": "experiment", "repo": {"full_name": "team/model"}},
            "base": {"sha": tip, "ref": "main", "repo": {"full_name": "team/model"}},
        },
    }
    (tmp_path / "event.json").write_text(json.dumps(event))
    return detect_github(
        {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_REPOSITORY": "team/model", "GITHUB_EVENT_PATH": str(tmp_path / "event.json")}
    )


def bitbucket_context(head_sha, tip):
    """A pull-request pipeline: the destination named by branch and a 12-character sha, no merge-base."""
    return detect_bitbucket({
        "BITBUCKET_BUILD_NUMBER": "3", "BITBUCKET_COMMIT": head_sha, "BITBUCKET_PR_ID": "1",
        "BITBUCKET_PR_DESTINATION_BRANCH": "main", "BITBUCKET_PR_DESTINATION_COMMIT": tip[:12],
        "BITBUCKET_REPO_FULL_NAME": "team/model",
    })


def context_for(forge, tmp_path, head_sha, forked_at, tip, merged):
    if forge == "github":
        return github_context(tmp_path, head_sha, tip)
    if forge == "gitlab":
        return gitlab_context(head_sha, forked_at, tip, merged)
    return bitbucket_context(head_sha, tip)


def gitlab_context(head_sha, forked_at, tip, merged_results):
    variables = {
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_IID": "1",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": forked_at,
        "CI_COMMIT_SHA": head_sha,
    }
    if merged_results:  # the pipeline runs on GitLab's merge commit; these two are set only then
        variables.update(CI_MERGE_REQUEST_SOURCE_BRANCH_SHA=head_sha, CI_MERGE_REQUEST_TARGET_BRANCH_SHA=tip)
    return detect_gitlab(variables)


@pytest.mark.parametrize("depth", [1, None], ids=["shallow", "full"])
@pytest.mark.parametrize("forge", ["github", "gitlab", "bitbucket"])
def test_the_pr_head_is_compared_with_where_it_forked_not_with_main_s_tip(moved_on, tmp_path, caplog, forge, depth):
    caplog.set_level(logging.INFO, logger="bot")
    origin, forked_at, tip = moved_on
    head_sha = origin.sha("experiment")
    clone = detached_shallow_checkout(origin, head_sha, tmp_path / "clone", depth)
    context = context_for(forge, tmp_path, head_sha, forked_at, tip, False)

    outcome = run(clone, tmp_path, context)

    report = outcome.report
    assert outcome.exit_code == 0
    assert report.base.sha == forked_at
    assert report.baseline == {"kind": "merge-base", "ahead": 2, "branch": "main"}
    # main's noise change is not the PR's: neither its param nor its effect on the metrics shows.
    assert {f"{row.name}" for row in report.params} == PR_PARAMS
    assert report.summary == "2 improved"
    assert "where this branch forked from main (their merge-base)" in outcome.markdown
    assert "main is 2 commits ahead of it." in outcome.markdown
    written = json.loads((tmp_path / "bundle" / "report.json").read_text())
    assert written["baseline"] == {"kind": "merge-base", "ahead": 2, "branch": "main"}
    deepened = "git fetch --deepen=50" in caplog.text
    assert deepened == (depth == 1)


@pytest.mark.parametrize("depth", [1, None], ids=["shallow", "full"])
@pytest.mark.parametrize("forge", ["github", "gitlab", "bitbucket"])
def test_the_forge_s_test_merge_is_compared_with_its_base_side(moved_on, tmp_path, forge, depth):
    """GitHub and GitLab merge the PR into the base (base first); Bitbucket the base into the PR."""
    origin, forked_at, tip = moved_on
    head_sha = origin.sha("experiment")
    ref = {"github": "refs/pull/1/merge", "gitlab": "refs/merge-requests/1/merge", "bitbucket": "refs/bitbucket/1/merge"}
    clone = detached_shallow_checkout(origin, ref[forge], tmp_path / "clone", depth)
    context = context_for(forge, tmp_path, head_sha, forked_at, tip, True)

    outcome = run(clone, tmp_path, context)

    report = outcome.report
    assert outcome.exit_code == 0
    assert (report.base.sha, report.head.sha) == (tip, head_sha)
    assert report.baseline == {"kind": "first-parent", "ahead": 0, "branch": "main"}
    # The merge holds main's noise change on both sides: only the PR's params differ.
    assert {row.name for row in report.params} == PR_PARAMS
    assert "main as the forge merged this branch into it" in outcome.markdown


def test_base_tip_in_the_config_compares_with_main_now_and_says_what_that_counts(moved_on, tmp_path):
    clone, context = head_checkout_asking_for_the_tip(moved_on, tmp_path)

    outcome = run(clone, tmp_path, context)

    assert outcome.report.base.sha == moved_on[2]  # main now
    assert outcome.report.baseline == {"kind": "tip", "ahead": 2, "branch": "main"}
    assert {row.name for row in outcome.report.params} == PR_PARAMS | {"prepare.noise"}
    assert "Base: the tip of main, so the 2 commits it gained since this branch forked are counted too." in outcome.markdown


def test_an_explicit_base_wins_over_the_config_and_the_event(moved_on, tmp_path):
    forked_at = moved_on[1]
    clone, context = head_checkout_asking_for_the_tip(moved_on, tmp_path)

    outcome = run(clone, tmp_path, context, base=forked_at)

    assert outcome.report.base.sha == forked_at
    assert outcome.report.baseline["kind"] == "explicit"
    assert f"Base: {forked_at}, as --base named it." in outcome.markdown


def test_unrelated_history_falls_back_to_the_tip_with_a_warning(demo_project, tmp_path):
    git(demo_project, "checkout", "-q", "--orphan", "rewritten")
    git(demo_project, "commit", "-q", "-m", "history rewritten")

    outcome = run(
        demo_project, tmp_path,
        Context(forge="github", head_sha=git(demo_project, "rev-parse", "HEAD"), base_sha=git(demo_project, "rev-parse", "main"), base_ref="main"),
        repro=False, pull=False,
    )

    assert outcome.report.baseline["kind"] == "tip"
    assert outcome.report.warnings[0].startswith("This branch shares no history with main")


def test_modified_files_names_the_first_changed_file_whole(tmp_path):
    # git status starts a worktree change with a space (" M"); the first entry keeps its whole name.
    from bot.workspace.git import modified_files

    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "sub").mkdir()
    for name in ("dvc.lock", "sub/dvc.lock"):
        (tmp_path / name).write_text("a\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "-m", "locks")
    for name in ("dvc.lock", "sub/dvc.lock"):
        (tmp_path / name).write_text("b\n")
    (tmp_path / "new file.lock").write_text("new\n")

    assert modified_files(tmp_path, [":(glob)**/dvc.lock"]) == ["dvc.lock", "sub/dvc.lock"]
    assert modified_files(tmp_path, ["."]) == ["dvc.lock", "new file.lock", "sub/dvc.lock"]
