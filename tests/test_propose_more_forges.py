"""mrbot propose end to end on Bitbucket Pipelines and Forgejo Actions: a scheduled run on main,
real git (the origin served over HTTP behind the forge's token, as its git endpoint takes it) and DVC,
the fake forge over a socket. One pull request for the branch, opened then updated, the sticky report
on it; a second open pull request refused by the forge becomes an update."""

from __future__ import annotations

import subprocess

import pytest

from bot.ci.bitbucket import detect_bitbucket
from bot.ci.forgejo import detect_forgejo
from bot.forges import open_pull_requests
from bot.forges.base import parse_marker
from bot.publish import open_or_update
from bot.workspace.demo import git
from tests.retrain_project import build_retrain_project
from tests.servers.bitbucket import FakeBitbucket, User
from tests.servers.forgejo import FakeForgejo
from tests.servers.git_http import GitHttpServer
from tests.servers.github import actions_environ, workflow_dispatch_event
from tests.test_propose_forges import BRANCH, FAST, assert_never_leaked, propose, report_of

BITBUCKET_TOKEN = "ATCTT3xFfGN0ProposeTokenThatMustNeverLeak"
FORGEJO_TOKEN = "forgejo-propose-token-that-must-never-leak"
BOT = User("{0b0b0b0b-0000-4000-8000-00000000b0b0}", "mrbot token", "mrbot-token", "acc-bot")


@pytest.fixture
def project(tmp_path):
    return build_retrain_project(tmp_path)


def served_origin(project, tmp_path, user: str, token: str) -> GitHttpServer:
    """The project's origin over HTTP, pushable with `user:token` only."""
    served = tmp_path / "served"
    served.mkdir()
    subprocess.run(["git", "clone", "-q", "--bare", str(project.origin), str(served / "ml.git")], check=True)
    project.origin = served / "ml.git"
    return GitHttpServer(served, user, token)


def checkout(project, git_server: GitHttpServer, name: str):
    job = project.checkout(name)
    git(job, "remote", "set-url", "origin", f"{git_server.url}/ml.git")
    return job


def pushed_branch(project, git_server: GitHttpServer):
    """A checkout whose retrained commit is on the proposal branch already, as after a run's push."""
    job = checkout(project, git_server, "job")
    git(job, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "--allow-empty", "-m", "retrained")
    subprocess.run(["git", "push", "-q", str(project.origin), f"HEAD:{BRANCH}"], cwd=job, check=True)
    return job


# -- Bitbucket -------------------------------------------------------------------------------------


@pytest.fixture
def bitbucket(project, tmp_path):
    with FakeBitbucket() as fake, served_origin(project, tmp_path, "x-token-auth", BITBUCKET_TOKEN) as git_server:
        fake.add_token(BITBUCKET_TOKEN, BOT)
        fake.branch_sha = project.branch_sha
        yield fake, git_server


def scheduled_pipeline(fake: FakeBitbucket, job) -> dict[str, str]:
    """A custom pipeline on main, as a Pipelines schedule starts it."""
    return {**fake.pipeline_variables(None, git(job, "rev-parse", "HEAD"), BITBUCKET_BRANCH="main"),
            "BITBUCKET_TOKEN": BITBUCKET_TOKEN, **FAST}


def test_a_scheduled_bitbucket_pipeline_opens_then_updates_one_pull_request(project, bitbucket, capsys):
    fake, git_server = bitbucket
    project.add_source_rows((3, 9))
    first = checkout(project, git_server, "first")

    code, output = propose(capsys, first, scheduled_pipeline(fake, first))

    assert code == 0, output
    [pull] = fake.open_pull_requests(BRANCH)
    assert (pull.destination_branch, pull.title, pull.author) == ("main", "Retrain on main (mrbot)", BOT)
    assert "`data/raw.csv.dvc`" in pull.description
    [comment] = [c for c in pull.comments if not c.deleted]
    assert parse_marker(comment.raw) == ("default", project.branch_sha(BRANCH)) and comment.user == BOT
    assert report_of(first)["proposal"] == {
        "branch": BRANCH, "pr_url": f"{fake.url}/team/model/pull-requests/{pull.id}", "action": "opened"}
    assert fake.statuses[(project.branch_sha(BRANCH), "mrbot")]["state"] == "SUCCESSFUL"
    assert git(project.origin, "log", "-1", "--format=%an", BRANCH) == "mrbot"

    project.add_source_rows((4, 16))
    second = checkout(project, git_server, "second")
    code, output = propose(capsys, second, scheduled_pipeline(fake, second))

    assert code == 0, output
    assert [p.id for p in fake.open_pull_requests(BRANCH)] == [pull.id]
    assert len(fake.requests_to("POST", r"/pullrequests$")) == 1 and len(fake.requests_to("PUT", r"/pullrequests/\d+$")) == 1
    [comment] = [c for c in pull.comments if not c.deleted]
    assert parse_marker(comment.raw)[1] == project.branch_sha(BRANCH)
    assert report_of(second)["proposal"]["action"] == "updated"
    assert_never_leaked(BITBUCKET_TOKEN, output, second, second.parent / "second-bundle")
    assert not fake.violations


def test_a_second_bitbucket_pull_request_refused_becomes_an_update(project, bitbucket):
    fake, git_server = bitbucket
    job = pushed_branch(project, git_server)
    pulls = open_pull_requests(detect_bitbucket(scheduled_pipeline(fake, job)))
    first, _ = open_or_update(pulls, BRANCH, "main", "Retrain", "one")

    class Raced:  # the first look finds nothing, as when another run opens one just after
        looks = 0

        def find_open(self, branch, base):
            Raced.looks += 1
            return None if Raced.looks == 1 else pulls.find_open(branch, base)

        def __getattr__(self, name):
            return getattr(pulls, name)

    again, action = open_or_update(Raced(), BRANCH, "main", "Retrain", "two")
    assert (again.number, action) == (first.number, "updated")
    assert [p.description for p in fake.open_pull_requests(BRANCH)] == ["two"]


# -- Forgejo ---------------------------------------------------------------------------------------


@pytest.fixture
def forgejo(project, tmp_path):
    with FakeForgejo() as fake, served_origin(project, tmp_path, "x-access-token", FORGEJO_TOKEN) as git_server:
        fake.add_token(FORGEJO_TOKEN, 5, "mrbot-bot")
        fake.branch_sha = project.branch_sha
        yield fake, git_server


def scheduled_workflow(fake: FakeForgejo, job) -> dict[str, str]:
    """A step of a workflow run `on: schedule` on main under forgejo-runner."""
    payload = workflow_dispatch_event(fake.repository, fake.api_url)
    return actions_environ(job.parent / f"{job.name}-runner", "schedule", payload, fake.repository, fake.api_url,
                           git(job, "rev-parse", "HEAD"), GITHUB_SERVER_URL=fake.url, FORGEJO_ACTIONS="true",
                           GITHUB_REF="refs/heads/main", GITHUB_REF_NAME="main", MRBOT_TOKEN=FORGEJO_TOKEN, **FAST)


def test_a_scheduled_forgejo_workflow_opens_then_updates_one_pull_request(project, forgejo, capsys):
    fake, git_server = forgejo
    project.add_source_rows((3, 9))
    first = checkout(project, git_server, "first")

    code, output = propose(capsys, first, scheduled_workflow(fake, first))

    assert code == 0, output
    [pull] = fake.open_pulls(BRANCH)
    assert (pull.base_ref, pull.title, pull.user.login) == ("main", "Retrain on main (mrbot)", "mrbot-bot")
    assert "`data/raw.csv.dvc`" in pull.body
    [comment] = fake.comments[pull.number]
    assert parse_marker(comment.body) == ("default", project.branch_sha(BRANCH))
    assert report_of(first)["proposal"]["action"] == "opened"
    assert [status["status"] for status in fake.statuses[project.branch_sha(BRANCH)]] == ["success"]

    project.add_source_rows((4, 16))
    second = checkout(project, git_server, "second")
    code, output = propose(capsys, second, scheduled_workflow(fake, second))

    assert code == 0, output
    assert [p.number for p in fake.open_pulls(BRANCH)] == [pull.number]
    assert len(fake.requests_to("POST", r"/pulls$")) == 1 and len(fake.requests_to("PATCH", r"/pulls/\d+$")) == 1
    [comment] = fake.comments[pull.number]
    assert parse_marker(comment.body)[1] == project.branch_sha(BRANCH)
    assert report_of(second)["proposal"]["action"] == "updated"
    assert_never_leaked(FORGEJO_TOKEN, output, second, second.parent / "second-bundle")
    assert not fake.violations


def test_a_second_forgejo_pull_request_refused_becomes_an_update(project, forgejo):
    fake, git_server = forgejo
    job = pushed_branch(project, git_server)
    pulls = open_pull_requests(detect_forgejo(scheduled_workflow(fake, job)))
    first, _ = open_or_update(pulls, BRANCH, "main", "Retrain", "one")
    fake.fail("GET", r"/pulls$", 200, body=[], times=1)  # the second run's look comes too early
    again, action = open_or_update(pulls, BRANCH, "main", "Retrain", "two")
    assert (again.number, action) == (first.number, "updated")
    assert [p.body for p in fake.open_pulls(BRANCH)] == ["two"]
    assert len(fake.requests_to("POST", r"/pulls$")) == 2  # the second answered 409
