"""The report as a GitHub check run beside the commit status, over real HTTP to the fake GitHub (which
checks every request against GitHub's REST description): created, updated on a re-run, left out
with one log line when the token may not write checks, within the summary's size limit."""

from __future__ import annotations

import pytest

from bot.forges.github_checks import SUMMARY_LIMIT, external_id
from bot.workspace.demo import git
from tests.servers.github import ACTIONS_BOT, FakeGitHub, Pull, Token, actions_environ, pull_request_event, running
from tests.test_github_e2e import FAST, MERGE_SHA, REPO, run

TOKEN = "ghs_ChecksTokenThatMustNeverLeak000001"
NO_CHECKS = "ghs_NoChecksTokenThatMustNeverLeak0002"


@pytest.fixture
def github():
    tokens = {
        TOKEN: Token(ACTIONS_BOT, reads_user=False),
        NO_CHECKS: Token(ACTIONS_BOT, writes=frozenset({"pull_requests", "contents", "statuses"}), reads_user=False),
    }
    with running(FakeGitHub(REPO, tokens)) as fake:
        yield fake


@pytest.fixture
def shas(demo_project) -> tuple[str, str]:
    return git(demo_project, "rev-parse", "HEAD"), git(demo_project, "rev-parse", "main")


def pull_request_run(github: FakeGitHub, shas: tuple[str, str], tmp_path, token: str) -> dict[str, str]:
    head, base = shas
    github.add_pull(Pull(7, head, base, head_ref="experiment"))
    return actions_environ(tmp_path / "runner", "pull_request", pull_request_event(REPO, 7, head, base, github.url),
                           REPO, github.url, MERGE_SHA, GITHUB_TOKEN=token, **FAST)


def test_the_report_is_a_check_run_updated_in_place_on_a_re_run(github, demo_project, shas, tmp_path, capsys):
    environ = pull_request_run(github, shas, tmp_path, TOKEN)
    argv = ["report", str(demo_project), "--out", str(tmp_path / "bundle")]

    code, output = run(capsys, argv, environ)

    assert code == 0, output
    [check] = github.check_runs
    [comment] = github.comments(7)
    assert (check["name"], check["head_sha"], check["status"], check["conclusion"]) == (
        "mrbot", shas[0], "completed", "success")
    assert check["external_id"] == external_id("default")
    assert check["output"]["title"].startswith("✅ Model improved: ")
    # The check shows what the comment shows, marker aside, images and all.
    assert check["output"]["summary"] == comment["body"].split("\n", 1)[1]
    assert check["details_url"] == comment["html_url"]

    code, output = run(capsys, argv, environ)

    assert code == 0, output
    assert [one["id"] for one in github.check_runs] == [check["id"]]
    assert len(github.calls_of("checks/create")) == 1 and len(github.calls_of("checks/update")) == 1


def test_without_checks_write_the_status_stands_alone(github, demo_project, shas, tmp_path, capsys):
    environ = pull_request_run(github, shas, tmp_path, NO_CHECKS)

    code, output = run(capsys, ["report", str(demo_project), "--out", str(tmp_path / "bundle")], environ)

    assert code == 0, output
    assert github.check_runs == [] and len(github.statuses) == 1 and len(github.comments(7)) == 1
    assert sum("no check run" in line and "checks: write" in line for line in output.splitlines()) == 1


def test_no_check_run_asks_github_nothing_about_checks(github, demo_project, shas, tmp_path, capsys):
    environ = pull_request_run(github, shas, tmp_path, TOKEN)

    code, output = run(capsys, ["report", str(demo_project), "--out", str(tmp_path / "bundle"), "--no-check-run"],
                       environ)

    assert code == 0, output
    assert github.calls_of("checks/create", "checks/update", "checks/list-for-ref") == []


def test_a_huge_report_fits_the_check_summary(github, demo_project, shas, tmp_path, capsys):
    # 3,000 metrics whose every value changed: the comment (and so the summary) must be cut to fit.
    import json

    (demo_project / "many.json").write_text(json.dumps({f"metric_{index}": index * 1.5 for index in range(3000)}))
    (demo_project / "dvc.yaml").write_text((demo_project / "dvc.yaml").read_text() + "metrics:\n  - many.json\n")
    environ = pull_request_run(github, shas, tmp_path, TOKEN)

    code, output = run(capsys, ["report", str(demo_project), "--out", str(tmp_path / "bundle"), "--no-repro",
                                "--comment-mode", "off"], environ)

    assert code == 0, output
    [check] = github.check_runs
    assert 1000 < len(check["output"]["summary"]) <= SUMMARY_LIMIT
