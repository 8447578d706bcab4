"""mrbot propose end to end in a scheduled GitHub Actions run and a scheduled GitLab pipeline: real git
(a bare origin) and DVC (an import from a source repository), the fake forges over a socket. One
PR/MR for the branch: opened, updated on the next run, opened again after a human closed it, one
when two runs overlap; the usual sticky report on it."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.cli import main
from bot.forges.base import parse_marker
from bot.workspace.demo import git
from tests.retrain_project import build_retrain_project
from tests.servers.git_http import GitHttpServer
from tests.servers.github import ACTIONS_BOT, FakeGitHub, Token, actions_environ, running, workflow_dispatch_event
from tests.servers.gitlab import FakeGitLab

REPO = "octo-org/ml-project"
TOKEN = "ghs_ProposeInstallationTokenThatMustNeverLeak"
GITLAB_TOKEN = "glpat-ProposeTokenThatMustNeverLeak"
BRANCH = "mrbot/retrain"
FAST = {"MRBOT_SECONDS_BETWEEN_REQUESTS": "0", "MRBOT_SECONDS_BETWEEN_WRITES": "0"}


@pytest.fixture
def project(tmp_path):
    return build_retrain_project(tmp_path)


@pytest.fixture
def github(project):
    with running(FakeGitHub(REPO, {TOKEN: Token(ACTIONS_BOT, reads_user=False)})) as fake:
        fake.branch_sha = project.branch_sha
        yield fake


def scheduled_github_run(github: FakeGitHub, job: Path) -> dict[str, str]:
    """A step of a workflow run `on: schedule` on main, as the runner sets it up."""
    sha = git(job, "rev-parse", "HEAD")
    return actions_environ(job.parent / f"{job.name}-runner", "schedule", workflow_dispatch_event(REPO, github.url),
                           REPO, github.url, sha, GITHUB_TOKEN=TOKEN, GITHUB_REF="refs/heads/main",
                           GITHUB_REF_NAME="main", **FAST)


def propose(capsys, job: Path, environ: dict[str, str], *args: str) -> tuple[int, str]:
    code = main(["propose", str(job), "--update-imports", "--out", str(job.parent / f"{job.name}-bundle"), *args],
                environ=environ)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def report_of(job: Path) -> dict:
    return json.loads((job.parent / f"{job.name}-bundle" / "report.json").read_text())


def assert_never_leaked(secret: str, output: str, *folders: Path) -> None:
    assert secret not in output
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and not path.is_symlink():
                assert secret.encode() not in path.read_bytes(), path


def test_changed_results_open_one_pull_request_with_the_report(project, github, capsys):
    project.add_source_rows((3, 9))
    job = project.checkout()

    code, output = propose(capsys, job, scheduled_github_run(github, job))

    assert code == 0, output
    pushed = project.branch_sha(BRANCH)
    [pull] = github.open_pulls()
    assert (pull.head_ref, pull.base_ref, pull.title) == (BRANCH, "main", "Retrain on main (mrbot)")
    assert "started by a scheduled run" in pull.body and "`data/raw.csv.dvc`" in pull.body
    assert "https://github.com/octo-org/ml-project/actions/runs/4242" in pull.body
    [comment] = github.comments(pull.number)
    assert parse_marker(comment["body"]) == ("default", pushed)
    assert "rows" in comment["body"] and comment["user"]["login"] == "github-actions[bot]"
    assert [status["sha"] for status in github.statuses] == [pushed]
    assert report_of(job)["proposal"] == {"branch": BRANCH, "pr_url": pull_url(pull.number), "action": "opened"}
    author = git(project.origin, "log", "-1", "--format=%an <%ae>", BRANCH)
    assert author == "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"
    assert_never_leaked(TOKEN, output, job, job.parent / "job-bundle")


def pull_url(number: int) -> str:
    return f"https://github.com/{REPO}/pull/{number}"


def test_the_next_run_updates_the_same_pull_request_and_its_comment(project, github, capsys):
    project.add_source_rows((3, 9))
    first = project.checkout("first")
    assert propose(capsys, first, scheduled_github_run(github, first))[0] == 0
    [pull] = github.open_pulls()
    project.add_source_rows((4, 16), (5, 25))

    second = project.checkout("second")
    code, output = propose(capsys, second, scheduled_github_run(github, second))

    assert code == 0, output
    assert [open_pull.number for open_pull in github.open_pulls()] == [pull.number]
    assert len(github.calls_of("pulls/create")) == 1 and len(github.calls_of("pulls/update")) == 1
    assert git(project.origin, "rev-list", "--count", f"main..{BRANCH}") == "1"
    [comment] = github.comments(pull.number)
    assert parse_marker(comment["body"])[1] == project.branch_sha(BRANCH)
    assert report_of(second)["proposal"]["action"] == "updated"
    assert project.metrics_on(BRANCH)["rows"] == 5


def test_a_pull_request_closed_by_a_human_is_opened_anew(project, github, capsys):
    project.add_source_rows((3, 9))
    first = project.checkout("first")
    assert propose(capsys, first, scheduled_github_run(github, first))[0] == 0
    [closed] = github.open_pulls()
    github.close_pull(closed.number)
    project.add_source_rows((4, 16))

    second = project.checkout("second")
    code, output = propose(capsys, second, scheduled_github_run(github, second))

    assert code == 0, output
    [reopened] = github.open_pulls()
    assert reopened.number != closed.number
    assert report_of(second)["proposal"]["action"] == "opened"


def test_nothing_changed_touches_no_branch_and_no_pull_request(project, github, capsys):
    job = project.checkout()

    code, output = propose(capsys, job, scheduled_github_run(github, job))

    assert code == 0, output
    assert project.branch_sha(BRANCH) is None
    assert github.open_pulls() == [] and github.calls_of("pulls/create", "issues/create-comment") == []


def test_two_overlapping_runs_leave_one_pull_request(project, github, tmp_path):
    project.add_source_rows((3, 9))
    jobs = [project.checkout(f"job{index}") for index in range(2)]
    base_environ = {name: os.environ[name] for name in ("PATH", "HOME", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM",
                                                        "DVC_NO_ANALYTICS") if name in os.environ}

    def run(job: Path) -> subprocess.CompletedProcess:
        environ = {**base_environ, **scheduled_github_run(github, job)}
        command = [sys.executable, "-m", "bot", "propose", str(job), "--update-imports",
                   "--out", str(job.parent / f"{job.name}-bundle")]
        return subprocess.run(command, env=environ, capture_output=True, text=True, timeout=300)

    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(run, jobs))

    assert [one.returncode for one in done] == [0, 0], "\n".join(one.stderr for one in done)
    [pull] = github.open_pulls()
    # One opens it; the other finds it (or is refused a second one, then finds it) and updates it.
    assert sorted(report_of(job)["proposal"]["action"] for job in jobs) == ["opened", "updated"]
    assert len(github.comments(pull.number)) == 1
    assert parse_marker(github.comments(pull.number)[0]["body"])[1] in {report_of(job)["head"]["sha"] for job in jobs}


def test_actions_not_allowed_to_open_pull_requests_names_the_setting(project, github, capsys):
    github.actions_can_create_pulls = False
    project.add_source_rows((3, 9))
    job = project.checkout()

    code, output = propose(capsys, job, scheduled_github_run(github, job))

    assert code == 4, output
    assert "Allow GitHub Actions to create and approve pull requests" in output
    assert "Traceback" not in output and github.open_pulls() == []
    # The branch is pushed and the report kept, for the next run (or a person) to open the pull request.
    assert report_of(job)["proposal"] == {"branch": BRANCH, "pr_url": "", "action": "pushed"}
    assert "mrbot: error:" in output and "the report is kept in" in output


@pytest.fixture
def gitlab_over_http(project, tmp_path):
    """The fake GitLab, and the project's git origin served over HTTP behind the project access
    token (as GitLab's git HTTP endpoint takes it): mrbot's push has to carry the token itself."""
    served = tmp_path / "served"
    served.mkdir()
    subprocess.run(["git", "clone", "-q", "--bare", str(project.origin), str(served / "ml.git")], check=True)
    project.origin = served / "ml.git"
    with FakeGitLab() as gitlab, GitHttpServer(served, "oauth2", GITLAB_TOKEN) as git_server:
        gitlab.add_token(GITLAB_TOKEN, 7, "project_42_bot")
        gitlab.branch_sha = project.branch_sha
        yield gitlab, git_server


def gitlab_job(project, gitlab: FakeGitLab, git_server: GitHttpServer, name: str) -> tuple[Path, dict[str, str]]:
    """A scheduled pipeline's checkout (origin over HTTP with the job token in its URL, as runners
    leave it) and its predefined variables."""
    job = project.checkout(name)
    git(job, "remote", "set-url", "origin", f"{git_server.url.replace('://', '://gitlab-ci-token:job-secret@')}/ml.git")
    environ = gitlab.pipeline_variables(None, git(job, "rev-parse", "HEAD"), "", CI_PIPELINE_SOURCE="schedule",
                                        CI_COMMIT_BRANCH="main", CI_DEFAULT_BRANCH="main", GITLAB_TOKEN=GITLAB_TOKEN)
    return job, environ


def test_a_scheduled_gitlab_pipeline_opens_then_updates_one_merge_request(project, gitlab_over_http, capsys):
    gitlab, git_server = gitlab_over_http
    project.add_source_rows((3, 9))

    first, environ = gitlab_job(project, gitlab, git_server, "first")
    code, output = propose(capsys, first, environ)
    assert code == 0, output
    [merge_request] = gitlab.open_merge_requests(BRANCH)
    assert merge_request.target_branch == "main" and "a scheduled run" in merge_request.description
    assert [parse_marker(note.body)[1] for note in merge_request.notes] == [project.branch_sha(BRANCH)]
    assert report_of(first)["proposal"]["action"] == "opened"
    # By the token's own (bot) user, whom GitLab's push rules know.
    assert git(project.origin, "log", "-1", "--format=%an <%ae>", BRANCH) == \
        "project_42_bot <project_42_bot@noreply.127.0.0.1>"

    project.add_source_rows((4, 16))
    second, environ = gitlab_job(project, gitlab, git_server, "second")
    code, output = propose(capsys, second, environ)

    assert code == 0, output
    assert [mr.iid for mr in gitlab.open_merge_requests(BRANCH)] == [merge_request.iid]
    assert [parse_marker(note.body)[1] for note in merge_request.notes] == [project.branch_sha(BRANCH)]
    assert report_of(second)["proposal"] == {
        "branch": BRANCH, "pr_url": merge_request_url(gitlab, merge_request.iid), "action": "updated"}
    assert_never_leaked(GITLAB_TOKEN, output, second, second.parent / "second-bundle")
    assert "job-secret" in (second / ".git" / "config").read_text()  # the checkout's own URL, untouched

    gitlab.close_merge_request(merge_request.iid)
    project.add_source_rows((5, 25))
    third, environ = gitlab_job(project, gitlab, git_server, "third")
    code, output = propose(capsys, third, environ)

    assert code == 0, output
    [reopened] = gitlab.open_merge_requests(BRANCH)
    assert reopened.iid != merge_request.iid and report_of(third)["proposal"]["action"] == "opened"


def test_a_push_without_the_token_scope_is_refused_with_the_fix(project, gitlab_over_http, capsys):
    gitlab, git_server = gitlab_over_http
    gitlab.add_token("glpat-ApiOnlyTokenThatMustNeverLeak", 8, "project_42_bot_api")
    git_server.readers.add(base64.b64encode(b"oauth2:glpat-ApiOnlyTokenThatMustNeverLeak").decode())
    project.add_source_rows((3, 9))
    job, environ = gitlab_job(project, gitlab, git_server, "job")

    code, output = propose(capsys, job, {**environ, "GITLAB_TOKEN": "glpat-ApiOnlyTokenThatMustNeverLeak"})

    assert code == 4, output
    assert "write_repository" in output and "the report is kept in" in output
    assert gitlab.open_merge_requests() == [] and project.branch_sha(BRANCH) is None
    assert_never_leaked("glpat-ApiOnlyTokenThatMustNeverLeak", output, job)


class _Raced:
    """A PR/MR driver whose first look finds nothing, as when another run opens one just after."""

    def __init__(self, driver):
        self.driver, self.looks = driver, 0

    def find_open(self, branch, base):
        self.looks += 1
        return None if self.looks == 1 else self.driver.find_open(branch, base)

    def __getattr__(self, name):
        return getattr(self.driver, name)


def test_the_forges_refusal_of_a_second_pull_request_becomes_an_update(project, github):
    from bot.ci.context import GITHUB, Context
    from bot.forges.github_pulls import GitHubPullRequests
    from bot.publish import open_or_update

    job = project.checkout()
    git(job, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "--allow-empty", "-m", "retrained")
    git(job, "push", "-q", "origin", f"HEAD:{BRANCH}")
    context = Context(forge=GITHUB, repository=REPO, api_url=github.url, token=TOKEN,
                      extra={"seconds_between_requests": "0", "seconds_between_writes": "0"})
    first, action = open_or_update(GitHubPullRequests(context), BRANCH, "main", "Retrain", "one")
    assert action == "opened"

    again, action = open_or_update(_Raced(GitHubPullRequests(context)), BRANCH, "main", "Retrain", "two")

    assert (again.number, action) == (first.number, "updated")
    assert [pull.body for pull in github.open_pulls()] == ["two"]
    assert len(github.calls_of("pulls/create")) == 2  # the second answered 422 "already exists"


def test_gitlabs_refusal_of_a_second_merge_request_becomes_an_update(project, gitlab_over_http):
    from bot.ci.gitlab import detect_gitlab
    from bot.forges.gitlab_merge_requests import open_merge_requests
    from bot.publish import open_or_update

    gitlab, git_server = gitlab_over_http
    job, environ = gitlab_job(project, gitlab, git_server, "job")
    git(job, "push", "-q", str(project.origin), f"main:{BRANCH}")
    context = detect_gitlab(environ)
    first, action = open_or_update(open_merge_requests(context), BRANCH, "main", "Retrain", "one")
    assert action == "opened"

    again, action = open_or_update(_Raced(open_merge_requests(context)), BRANCH, "main", "Retrain", "two")

    assert (again.number, action) == (first.number, "updated")
    assert [mr.description for mr in gitlab.open_merge_requests()] == ["two"]
    assert len(gitlab.requests_to("POST", r"/merge_requests$")) == 2  # the second answered 409


def merge_request_url(gitlab: FakeGitLab, iid: int) -> str:
    return f"{gitlab.url}/{gitlab.project_path}/-/merge_requests/{iid}"
