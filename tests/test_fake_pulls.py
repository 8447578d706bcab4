"""The fakes' pull request / merge request endpoints (list, open, update) through the real client
libraries over the socket: filters, pagination, GitHub's and GitLab's refusals word for word, the
branch_sha hook onto a real bare repository, and one open PR/MR when two clients race to open it."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path
from typing import Callable

import gitlab
import pytest
import requests
from github import Auth, Github, GithubException

from tests.servers.github import ACTIONS_BOT, MAINTAINER, FakeGitHub, Pull, Token, running
from tests.servers.gitlab import FakeGitLab

REPO = "octo-org/ml-project"
ACTIONS_TOKEN = "ghs_PullsFakeActionsToken000000000000000"
PAT = "ghp_PullsFakeMaintainerToken0000000000000"
NO_PULLS_TOKEN = "ghs_PullsFakeContentsOnlyToken000000000"
CREATE_DOCS = "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"

GL_TOKEN = "glpat-PullsFakeBotToken"
GL_READ_ONLY = "glpat-PullsFakeReadApiToken"
GL_REPORTER = "glpat-PullsFakeReporterToken"


# -- a real bare repository that branches are pushed to ------------------------------------------


class Origin:
    """A bare repository and a clone that commits and (force-)pushes branches to it."""

    def __init__(self, root: Path):
        self.bare, self.work = root / "origin.git", root / "work"
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(self.bare)], check=True)
        subprocess.run(["git", "init", "-q", "-b", "main", str(self.work)], check=True)
        self.git("remote", "add", "origin", str(self.bare))
        self.git("commit", "-q", "--allow-empty", "-m", "first")
        self.git("push", "-q", "origin", "main")

    def git(self, *args: str) -> str:
        command = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args]
        return subprocess.run(command, cwd=self.work, capture_output=True, text=True, check=True).stdout.strip()

    def commit(self, branch: str, message: str, start: str = "main", force: bool = False) -> str:
        """A new commit on `branch` (from `start`, dropping its old commits if `force`), pushed."""
        if force or branch not in self.git("branch", "--format=%(refname:short)").split():
            self.git("checkout", "-q", "-B", branch, start)
        else:
            self.git("checkout", "-q", branch)
        self.git("commit", "-q", "--allow-empty", "-m", message)
        self.git("push", "-q", "--force", "origin", branch)
        return self.git("rev-parse", "HEAD")

    def branch_sha(self, branch: str) -> str | None:
        found = subprocess.run(["git", "--git-dir", str(self.bare), "rev-parse", "--verify", "--quiet",
                                f"refs/heads/{branch}^{{commit}}"], capture_output=True, text=True)
        return found.stdout.strip() or None


@pytest.fixture
def origin(tmp_path) -> Origin:
    return Origin(tmp_path)


def slowly(hook: Callable[[str], str | None]) -> Callable[[str], str | None]:
    """The hook, taking long enough that two unserialized creations would both pass the check."""
    def slow(branch: str) -> str | None:
        time.sleep(0.2)
        return hook(branch)

    return slow


def race(create: Callable[[], object]) -> list[object]:
    """Run `create` in two threads released together; each result or exception."""
    barrier, results = threading.Barrier(2), []

    def one() -> None:
        barrier.wait()
        try:
            results.append(create())
        except Exception as exc:  # noqa: BLE001 - the losing client's refusal is the result
            results.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


# -- GitHub ---------------------------------------------------------------------------------------


@pytest.fixture
def github_fake():
    tokens = {
        ACTIONS_TOKEN: Token(ACTIONS_BOT, reads_user=False),
        PAT: Token(MAINTAINER),
        NO_PULLS_TOKEN: Token(ACTIONS_BOT, writes=frozenset({"contents"}), reads_user=False),
    }
    with running(FakeGitHub(REPO, tokens)) as fake:
        yield fake


def repo_of(fake: FakeGitHub, token: str = ACTIONS_TOKEN, per_page: int = 30):
    client = Github(auth=Auth.Token(token), base_url=fake.url, per_page=per_page, retry=None,
                    seconds_between_requests=0, seconds_between_writes=0, lazy=True)
    return client.get_repo(REPO)


def test_github_list_filters_by_state_head_and_base_across_pages(github_fake):
    for number in range(1, 131):
        github_fake.add_pull(Pull(number, f"{number:040x}", "b" * 40, head_ref=f"branch-{number % 3}",
                                  base_ref="dev" if number % 2 else "main",
                                  state="closed" if number % 5 == 0 else "open"))
    repo = repo_of(github_fake)

    everything = [pull.number for pull in repo.get_pulls(state="all")]
    assert everything == list(range(130, 0, -1))  # newest first, 30 a page
    assert len(github_fake.calls_of("pulls/list")) == 5

    opened = [pull.number for pull in repo.get_pulls()]
    assert opened == [n for n in range(130, 0, -1) if n % 5]
    closed = [pull.number for pull in repo.get_pulls(state="closed", base="main")]
    assert closed == [n for n in range(130, 0, -1) if n % 10 == 0]
    of_branch = repo.get_pulls(state="open", head=f"{github_fake.owner}:branch-1", base="dev")
    assert [pull.number for pull in of_branch] == [n for n in range(130, 0, -1) if n % 3 == 1 and n % 2 and n % 5]
    assert [pull.head.ref for pull in of_branch] == ["branch-1"] * len(list(of_branch))
    assert list(repo.get_pulls(head="someone-else:branch-1")) == []
    # Like GitHub, a head without its "owner:" is ignored: all open pulls.
    assert len(list(repo.get_pulls(head="branch-1"))) == len(opened)
    ascending = repo.get_pulls(state="all", direction="asc")
    assert [pull.number for pull in ascending][:3] == [1, 2, 3]

    big_pages = repo_of(github_fake, per_page=100).get_pulls(state="all")
    before = len(github_fake.calls_of("pulls/list"))
    assert len(list(big_pages)) == 130
    pages = github_fake.calls_of("pulls/list")[before:]
    assert [(call.query["per_page"], call.query.get("page", "1")) for call in pages] == [("100", "1"), ("100", "2")]


def test_github_create_answers_201_with_the_pull_and_it_takes_comments(github_fake, origin):
    github_fake.branch_sha = origin.branch_sha
    head = origin.commit("retrain", "retrain the model")
    github_fake.add_pull(Pull(7, "1" * 40, "b" * 40))

    pull = repo_of(github_fake).create_pull(base="main", head="retrain", title="Retrain", body="New weights.",
                                            maintainer_can_modify=False, draft=False)

    assert pull.number == 8 and pull.state == "open" and pull.title == "Retrain" and pull.body == "New weights."
    assert (pull.head.ref, pull.head.sha, pull.head.label) == ("retrain", head, f"{github_fake.owner}:retrain")
    assert (pull.base.ref, pull.base.sha) == ("main", origin.branch_sha("main"))
    assert pull.head.repo.full_name == REPO and pull.user.login == ACTIONS_BOT.login
    assert pull.html_url == f"https://github.com/{REPO}/pull/8" and pull.draft is False
    [call] = github_fake.calls_of("pulls/create")
    assert call.body == {"base": "main", "head": "retrain", "title": "Retrain", "body": "New weights.",
                         "maintainer_can_modify": False, "draft": False}

    again = repo_of(github_fake).get_pull(8)
    assert (again.number, again.head.sha, again.state) == (8, head, "open")
    again.create_issue_comment("report")
    assert [comment["body"] for comment in github_fake.comments(8)] == ["report"]
    assert [p.number for p in github_fake.open_pulls("retrain")] == [8]
    assert [p.number for p in github_fake.open_pulls()] == [7, 8]


def test_github_create_accepts_an_owner_prefixed_head_and_refuses_a_duplicate_like_github(github_fake, origin):
    github_fake.branch_sha = origin.branch_sha
    origin.commit("retrain", "retrain")
    repo = repo_of(github_fake)
    first = repo.create_pull(base="main", head=f"{github_fake.owner}:retrain", title="Retrain")

    for head in ("retrain", f"{github_fake.owner}:retrain"):
        with pytest.raises(GithubException) as refused:
            repo.create_pull(base="main", head=head, title="Retrain again")
        assert refused.value.status == 422
        assert refused.value.data == {
            "message": "Validation Failed",
            "errors": [{"resource": "PullRequest", "code": "custom",
                        "message": f"A pull request already exists for {github_fake.owner}:retrain."}],
            "documentation_url": CREATE_DOCS,
            "status": "422",
        }
    # Into another base it is a different pull.
    origin.commit("dev", "dev", start="main")
    other = repo.create_pull(base="dev", head="retrain", title="Retrain into dev")
    assert [p.number for p in github_fake.open_pulls("retrain")] == [first.number, other.number]


def test_github_create_refuses_unknown_branches_and_an_empty_pull(github_fake, origin):
    github_fake.branch_sha = origin.branch_sha
    repo = repo_of(github_fake)
    for base, head, field in (("main", "missing", "head"), ("missing", "main", "base")):
        with pytest.raises(GithubException) as refused:
            repo.create_pull(base=base, head=head, title="x")
        assert refused.value.status == 422
        assert refused.value.data["errors"] == [{"resource": "PullRequest", "field": field, "code": "invalid"}]
    origin.git("branch", "same", "main")
    origin.git("push", "-q", "origin", "same")
    with pytest.raises(GithubException) as refused:
        repo.create_pull(base="main", head="same", title="x")
    assert refused.value.data["errors"][0]["message"] == "No commits between main and same"
    assert github_fake.pulls == {}


def test_github_create_without_the_hook_reads_the_refs_the_api_made(github_fake):
    github_fake.refs.update({"refs/heads/main": "a" * 40, "refs/heads/retrain": "c" * 40})
    pull = repo_of(github_fake).create_pull(base="main", head="retrain", title="Retrain")
    assert (pull.head.sha, pull.base.sha) == ("c" * 40, "a" * 40)


def test_github_actions_may_be_refused_pull_creation_by_the_repository_setting(github_fake, origin):
    github_fake.branch_sha = origin.branch_sha
    origin.commit("retrain", "retrain")
    github_fake.actions_can_create_pulls = False

    with pytest.raises(GithubException) as refused:
        repo_of(github_fake).create_pull(base="main", head="retrain", title="Retrain")

    assert refused.value.status == 403
    assert refused.value.data == {"message": "GitHub Actions is not permitted to create or approve pull requests.",
                                  "documentation_url": CREATE_DOCS, "status": "403"}
    assert github_fake.pulls == {}
    # A person's token is not Actions: it may.
    assert repo_of(github_fake, PAT).create_pull(base="main", head="retrain", title="Retrain").number == 1


def test_github_create_and_update_need_pull_requests_write(github_fake, origin):
    github_fake.branch_sha = origin.branch_sha
    origin.commit("retrain", "retrain")
    with pytest.raises(GithubException) as refused:
        repo_of(github_fake, NO_PULLS_TOKEN).create_pull(base="main", head="retrain", title="Retrain")
    assert refused.value.status == 403 and refused.value.data["message"] == "Resource not accessible by integration"

    number = repo_of(github_fake).create_pull(base="main", head="retrain", title="Retrain").number
    with pytest.raises(GithubException) as refused:
        repo_of(github_fake, NO_PULLS_TOKEN).get_pull(number).edit(title="mine now")
    assert refused.value.status == 403 and github_fake.pulls[number].title == "Retrain"


def test_github_update_edits_closes_and_reopens(github_fake, origin):
    github_fake.branch_sha = origin.branch_sha
    origin.commit("retrain", "retrain")
    origin.commit("dev", "dev", start="main")
    repo = repo_of(github_fake)
    pull = repo.create_pull(base="main", head="retrain", title="Retrain", body="old")

    pull.edit(title="Retrain (2)", body="new", base="dev")

    assert (pull.title, pull.body, pull.base.ref, pull.base.sha) == ("Retrain (2)", "new", "dev",
                                                                    origin.branch_sha("dev"))
    [call] = github_fake.calls_of("pulls/update")
    assert call.body == {"title": "Retrain (2)", "body": "new", "base": "dev"}
    with pytest.raises(GithubException) as refused:
        pull.edit(base="missing")
    assert refused.value.status == 422 and refused.value.data["errors"][0]["field"] == "base"

    pull.edit(state="closed")
    assert pull.state == "closed" and pull.closed_at is not None and github_fake.open_pulls() == []
    assert [p.number for p in repo.get_pulls(state="closed")] == [pull.number]
    pull.edit(state="open")
    assert pull.state == "open" and pull.closed_at is None


def test_github_head_sha_follows_the_pushed_branch_until_the_pull_is_closed(github_fake, origin):
    github_fake.branch_sha = origin.branch_sha
    first = origin.commit("retrain", "retrain 1")
    repo = repo_of(github_fake)
    number = repo.create_pull(base="main", head="retrain", title="Retrain").number

    forced = origin.commit("retrain", "retrain 2", force=True)  # the job force-pushes a fresh branch

    assert forced != first
    assert repo.get_pull(number).head.sha == forced
    assert [pull.head.sha for pull in repo.get_pulls(head=f"{github_fake.owner}:retrain")] == [forced]
    pull = repo.get_pull(number)
    pull.edit(body="updated")
    assert pull.head.sha == forced
    assert github_fake.head_sha(github_fake.pulls[number]) == forced

    github_fake.close_pull(number)
    origin.commit("retrain", "retrain 3", force=True)
    assert repo.get_pull(number).head.sha == forced  # a closed pull keeps the head it had


def test_github_a_closed_pull_makes_room_for_a_new_one_with_a_new_number(github_fake, origin):
    github_fake.branch_sha = origin.branch_sha
    origin.commit("retrain", "retrain")
    repo = repo_of(github_fake)
    first = repo.create_pull(base="main", head="retrain", title="Retrain").number

    github_fake.close_pull(first)
    second = repo.create_pull(base="main", head="retrain", title="Retrain").number

    assert second == first + 1
    assert [p.number for p in github_fake.open_pulls("retrain")] == [second]
    assert github_fake.pulls[first].state == "closed" and github_fake.pulls[first].closed_at
    # Reopening the first would make two: GitHub refuses it.
    with pytest.raises(GithubException) as refused:
        repo.get_pull(first).edit(state="open")
    assert refused.value.status == 422
    assert refused.value.data["errors"][0]["message"] == f"A pull request already exists for {github_fake.owner}:retrain."


def test_github_two_clients_opening_at_once_end_with_one_pull(github_fake, origin):
    origin.commit("retrain", "retrain")
    github_fake.branch_sha = slowly(origin.branch_sha)

    results = race(lambda: repo_of(github_fake).create_pull(base="main", head="retrain", title="Retrain"))

    created = [result for result in results if not isinstance(result, Exception)]
    refused = [result for result in results if isinstance(result, GithubException)]
    assert len(created) == 1 and len(refused) == 1, results
    assert refused[0].status == 422 and "A pull request already exists" in refused[0].data["errors"][0]["message"]
    assert [p.number for p in github_fake.open_pulls("retrain")] == [created[0].number]


def test_github_add_pull_keeps_todays_behaviour_without_the_hook(github_fake):
    github_fake.add_pull(Pull(7, "1" * 40, "b" * 40, head_ref="experiment"))
    pull = repo_of(github_fake).get_pull(7)
    assert (pull.head.sha, pull.base.sha, pull.head.ref, pull.state) == ("1" * 40, "b" * 40, "experiment", "open")


# -- GitLab ---------------------------------------------------------------------------------------


@pytest.fixture
def gitlab_fake():
    with FakeGitLab() as fake:
        fake.add_token(GL_TOKEN, 7, "project_42_bot")
        fake.add_token(GL_READ_ONLY, 8, "reader", scopes=("read_api",))
        fake.add_token(GL_REPORTER, 9, "reporter", role="reporter")
        yield fake


def project_of(fake: FakeGitLab, token: str = GL_TOKEN, **auth):
    client = gitlab.Gitlab(fake.url, private_token=None if auth else token, retry_transient_errors=False, **auth)
    return client.projects.get(fake.project_id, lazy=True)


def test_gitlab_list_filters_by_state_and_branches_across_pages(gitlab_fake):
    states = ("opened", "closed", "merged")
    for iid in range(1, 131):
        merge_request = gitlab_fake.add_merge_request(iid, f"{iid:040x}", source_branch=f"branch-{iid % 3}",
                                                      target_branch="dev" if iid % 2 else "main")
        merge_request.state = states[iid % 5 % 3]
    project = project_of(gitlab_fake)

    everything = [mr.iid for mr in project.mergerequests.list(iterator=True)]  # GitLab's default: all
    assert everything == list(range(130, 0, -1))
    assert len(gitlab_fake.requests_to("GET", r"/merge_requests$")) == 7  # 20 a page

    opened = project.mergerequests.list(state="opened", source_branch="branch-1", iterator=True)
    assert [mr.iid for mr in opened] == [i for i in range(130, 0, -1) if states[i % 5 % 3] == "opened" and i % 3 == 1]
    merged = project.mergerequests.list(state="merged", target_branch="main", per_page=7, iterator=True)
    assert [mr.iid for mr in merged] == [i for i in range(130, 0, -1) if states[i % 5 % 3] == "merged" and i % 2 == 0]
    assert {mr.state for mr in project.mergerequests.list(state="closed", get_all=True)} == {"closed"}
    oldest = project.mergerequests.list(sort="asc", per_page=3, page=2)
    assert [mr.iid for mr in oldest] == [4, 5, 6]

    answer = requests.get(f"{gitlab_fake.api_url}/projects/42/merge_requests", params={"per_page": 100, "page": 1},
                          headers={"PRIVATE-TOKEN": GL_TOKEN}, timeout=5)
    assert len(answer.json()) == 100 and answer.headers["X-Next-Page"] == "2" and answer.headers["X-Total"] == "130"
    assert 'rel="next"' in answer.headers["Link"]
    with pytest.raises(gitlab.GitlabListError) as refused:
        project.mergerequests.list(state="open", get_all=False)
    assert refused.value.response_code == 400 and refused.value.error_message == "state does not have a valid value"


def test_gitlab_create_answers_201_with_the_merge_request_and_it_takes_notes(gitlab_fake, origin):
    gitlab_fake.branch_sha = origin.branch_sha
    head = origin.commit("retrain", "retrain the model")
    gitlab_fake.add_merge_request(3, "1" * 40)
    project = project_of(gitlab_fake)

    mr = project.mergerequests.create({"source_branch": "retrain", "target_branch": "main", "title": "Retrain",
                                       "description": "New weights.", "remove_source_branch": True,
                                       "squash": False})

    assert (mr.iid, mr.state, mr.sha, mr.source_branch, mr.target_branch) == (4, "opened", head, "retrain", "main")
    assert (mr.title, mr.description, mr.author["username"]) == ("Retrain", "New weights.", "project_42_bot")
    assert mr.web_url == f"{gitlab_fake.url}/{gitlab_fake.project_path}/-/merge_requests/4"
    assert mr.force_remove_source_branch is True and mr.squash is False and mr.created_at
    [created] = gitlab_fake.requests_to("POST", r"/merge_requests$")
    assert created.json() == {"source_branch": "retrain", "target_branch": "main", "title": "Retrain",
                              "description": "New weights.", "remove_source_branch": True, "squash": False}

    note = project.mergerequests.get(4).notes.create({"body": "report"})
    assert note.body == "report" and [n.body for n in gitlab_fake.merge_requests[4].notes] == ["report"]
    assert [mr.iid for mr in gitlab_fake.open_merge_requests("retrain")] == [4]
    assert [mr.iid for mr in gitlab_fake.open_merge_requests()] == [3, 4]


def test_gitlab_create_takes_form_fields_too(gitlab_fake):
    gitlab_fake.branches.update({"main": "a" * 40, "retrain": "c" * 40})
    answer = requests.post(f"{gitlab_fake.api_url}/projects/42/merge_requests", headers={"PRIVATE-TOKEN": GL_TOKEN},
                           data={"source_branch": "retrain", "target_branch": "main", "title": "Retrain",
                                 "squash": "true"}, timeout=5)
    assert answer.status_code == 201
    assert (answer.json()["sha"], answer.json()["squash"]) == ("c" * 40, True)


def test_gitlab_create_refuses_a_duplicate_like_gitlab(gitlab_fake, origin):
    gitlab_fake.branch_sha = origin.branch_sha
    origin.commit("retrain", "retrain")
    project = project_of(gitlab_fake)
    first = project.mergerequests.create({"source_branch": "retrain", "target_branch": "main", "title": "Retrain"})

    with pytest.raises(gitlab.GitlabCreateError) as refused:
        project.mergerequests.create({"source_branch": "retrain", "target_branch": "main", "title": "Again"})

    assert refused.value.response_code == 409
    assert refused.value.error_message == [
        f"Another open merge request already exists for this source branch: !{first.iid}"]
    assert refused.value.response_body == (
        b'{"message": ["Another open merge request already exists for this source branch: !1"]}')


def test_gitlab_create_refuses_missing_fields_branches_and_read_only_tokens(gitlab_fake, origin):
    gitlab_fake.branch_sha = origin.branch_sha
    origin.commit("retrain", "retrain")
    project = project_of(gitlab_fake)
    wanted = {"source_branch": "retrain", "target_branch": "main", "title": "Retrain"}

    with pytest.raises(gitlab.GitlabCreateError) as refused:
        project.mergerequests.create({**wanted, "source_branch": "missing"})
    assert refused.value.response_code == 400 and refused.value.error_message == {"source_branch": ["does not exist"]}
    with pytest.raises(gitlab.GitlabCreateError) as refused:
        project.mergerequests.create({**wanted, "target_branch": "retrain"})
    assert refused.value.response_code == 409
    with pytest.raises(gitlab.GitlabCreateError) as refused:
        project_of(gitlab_fake, GL_READ_ONLY).mergerequests.create(wanted)
    assert refused.value.response_code == 403 and refused.value.error_message == "insufficient_scope"
    with pytest.raises(gitlab.GitlabCreateError) as refused:
        project_of(gitlab_fake, GL_REPORTER).mergerequests.create(wanted)
    assert refused.value.response_code == 403 and refused.value.error_message == "403 Forbidden"
    with pytest.raises(gitlab.GitlabAuthenticationError) as unauthorized:  # GitLab keeps job tokens out
        project_of(gitlab_fake, job_token="glcbt-64_NotForTheMergeRequestApi").mergerequests.create(wanted)
    assert unauthorized.value.response_code == 401
    assert gitlab_fake.merge_requests == {}
    # Reading with the read-only token is fine.
    assert project_of(gitlab_fake, GL_READ_ONLY).mergerequests.list(get_all=True) == []


def test_gitlab_update_edits_closes_and_reopens(gitlab_fake, origin):
    gitlab_fake.branch_sha = origin.branch_sha
    origin.commit("retrain", "retrain")
    project = project_of(gitlab_fake)
    mr = project.mergerequests.create({"source_branch": "retrain", "target_branch": "main", "title": "Retrain",
                                       "description": "old"})

    mr.title, mr.description = "Retrain (2)", "new"
    mr.save()

    [put] = gitlab_fake.requests_to("PUT", r"/merge_requests/1$")
    assert put.json() == {"title": "Retrain (2)", "description": "new"}
    assert (gitlab_fake.merge_requests[1].title, gitlab_fake.merge_requests[1].description) == ("Retrain (2)", "new")
    closed = project.mergerequests.update(mr.iid, {"state_event": "close"})
    assert closed["state"] == "closed" and closed["closed_by"]["username"] == "project_42_bot"
    assert gitlab_fake.open_merge_requests() == []
    reopened = project.mergerequests.update(mr.iid, {"state_event": "reopen"})
    assert reopened["state"] == "opened" and reopened["closed_at"] is None
    with pytest.raises(gitlab.GitlabUpdateError) as refused:
        project.mergerequests.update(mr.iid, {"state_event": "merge"})
    assert refused.value.response_code == 400
    with pytest.raises(gitlab.GitlabUpdateError) as refused:
        project_of(gitlab_fake, GL_READ_ONLY).mergerequests.update(mr.iid, {"title": "mine"})
    assert refused.value.response_code == 403 and gitlab_fake.merge_requests[1].title == "Retrain (2)"


def test_gitlab_sha_follows_the_pushed_branch_until_the_merge_request_is_closed(gitlab_fake, origin):
    gitlab_fake.branch_sha = origin.branch_sha
    first = origin.commit("retrain", "retrain 1")
    project = project_of(gitlab_fake)
    iid = project.mergerequests.create({"source_branch": "retrain", "target_branch": "main", "title": "R"}).iid

    forced = origin.commit("retrain", "retrain 2", force=True)

    assert forced != first
    assert project.mergerequests.get(iid).sha == forced
    assert [mr.sha for mr in project.mergerequests.list(source_branch="retrain", get_all=True)] == [forced]
    assert project.mergerequests.update(iid, {"description": "updated"})["sha"] == forced
    assert [mr["iid"] for mr in project.commits.get(forced, lazy=True).merge_requests()] == [iid]
    assert gitlab_fake.current_sha(gitlab_fake.merge_requests[iid]) == forced

    gitlab_fake.close_merge_request(iid)
    origin.commit("retrain", "retrain 3", force=True)
    assert project.mergerequests.get(iid).sha == forced


def test_gitlab_a_closed_merge_request_makes_room_for_a_new_one(gitlab_fake, origin):
    gitlab_fake.branch_sha = origin.branch_sha
    origin.commit("retrain", "retrain")
    project = project_of(gitlab_fake)
    wanted = {"source_branch": "retrain", "target_branch": "main", "title": "Retrain"}
    first = project.mergerequests.create(wanted).iid

    gitlab_fake.close_merge_request(first)
    second = project.mergerequests.create(wanted).iid

    assert second == first + 1
    assert [mr.iid for mr in gitlab_fake.open_merge_requests("retrain")] == [second]
    with pytest.raises(gitlab.GitlabUpdateError) as refused:
        project.mergerequests.update(first, {"state_event": "reopen"})
    assert refused.value.response_code == 409
    assert refused.value.error_message == [
        f"Another open merge request already exists for this source branch: !{second}"]


def test_gitlab_two_clients_opening_at_once_end_with_one_merge_request(gitlab_fake, origin):
    origin.commit("retrain", "retrain")
    gitlab_fake.branch_sha = slowly(origin.branch_sha)
    wanted = {"source_branch": "retrain", "target_branch": "main", "title": "Retrain"}

    results = race(lambda: project_of(gitlab_fake).mergerequests.create(wanted))

    created = [result for result in results if not isinstance(result, Exception)]
    refused = [result for result in results if isinstance(result, gitlab.GitlabCreateError)]
    assert len(created) == 1 and len(refused) == 1, results
    assert refused[0].response_code == 409
    assert [mr.iid for mr in gitlab_fake.open_merge_requests("retrain")] == [created[0].iid]
