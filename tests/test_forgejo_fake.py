"""The fake Forgejo (tests/servers/forgejo.py) over real HTTP: it answers as Forgejo does, and its swagger
check catches what Forgejo's API description does not allow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.servers.forgejo import MAX_RESPONSE_ITEMS, FakeForgejo, Swagger, User, running

HEAD, BASE = "a" * 40, "b" * 40
AUTH = {"Authorization": "token bot-token"}


@pytest.fixture
def forgejo():
    fake = FakeForgejo()
    fake.add_token("bot-token", 7, "mrbot")
    fake.add_pull(3, HEAD, BASE)
    with running(fake):
        yield fake


def api(fake: FakeForgejo, path: str) -> str:
    return f"{fake.api_url}/repos/{fake.repository}{path}"


def links(response: requests.Response) -> dict[str, str]:
    return {rel: link["url"] for rel, link in response.links.items()}


def test_the_swagger_has_the_operations_mrbot_uses():
    spec = Swagger.load()
    assert spec.document["swagger"] == "2.0" and spec.document["basePath"] == "/api/v1"
    assert spec.document["info"]["version"].startswith("14.0.2")
    for method, path in [("GET", "/user"), ("GET", "/repos/o/r"), ("GET", "/repos/o/r/pulls/3"),
                         ("GET", "/repos/o/r/issues/3/comments"), ("POST", "/repos/o/r/issues/3/comments"),
                         ("PATCH", "/repos/o/r/issues/comments/9"), ("DELETE", "/repos/o/r/issues/comments/9"),
                         ("POST", "/repos/o/r/issues/comments/9/assets"), ("POST", "/repos/o/r/statuses/abc")]:
        assert spec.match(method, path) is not None, (method, path)
    # issues/comments/{id} must win over issues/{index}/...: the more literal template.
    assert spec.match("GET", "/repos/o/r/issues/comments").id == "issueGetRepoComments"


def test_auth_takes_token_and_bearer_and_refuses_unknown_tokens(forgejo):
    assert requests.get(f"{forgejo.api_url}/user", headers=AUTH).json()["login"] == "mrbot"
    bearer = requests.get(f"{forgejo.api_url}/user", headers={"Authorization": "Bearer bot-token"})
    assert bearer.json()["id"] == 7
    unknown = requests.get(f"{forgejo.api_url}/user", headers={"Authorization": "token nope"})
    assert unknown.status_code == 401
    assert unknown.json() == {"message": "invalid username, password or token", "url": f"{forgejo.url}/api/swagger"}
    # "Token" (capital T) is not a scheme Forgejo reads: the request goes without a token.
    capital = requests.post(api(forgejo, "/issues/3/comments"), json={"body": "x"},
                            headers={"Authorization": "Token bot-token"})
    assert capital.status_code == 401 and capital.json()["message"] == "token is required"
    assert requests.get(api(forgejo, "/pulls/3")).status_code == 200  # a public repository reads anonymously


def test_a_read_only_token_gets_403_on_writes(forgejo):
    forgejo.add_token("read-only", 8, "reader", write=False)
    headers = {"Authorization": "token read-only"}
    assert requests.get(api(forgejo, "/issues/3/comments"), headers=headers).status_code == 200
    comment = requests.post(api(forgejo, "/issues/3/comments"), json={"body": "x"}, headers=headers)
    assert comment.status_code == 403
    assert comment.json()["message"] == "token does not have at least one of required scope(s): [write:issue]"
    status = requests.post(api(forgejo, f"/statuses/{HEAD}"), json={"state": "success"}, headers=headers)
    assert status.status_code == 403 and "[write:repository]" in status.json()["message"]
    assert forgejo.comments[3] == [] and forgejo.statuses == {}


def test_a_private_repository_is_404_without_a_token():
    fake = FakeForgejo(private=True)
    fake.add_token("bot-token", 7, "mrbot")
    fake.add_pull(3, HEAD, BASE)
    with running(fake):
        assert requests.get(api(fake, "/pulls/3")).status_code == 404
        assert requests.get(api(fake, "/pulls/3"), headers=AUTH).json()["head"]["sha"] == HEAD


def test_repo_and_pull_request(forgejo):
    repo = requests.get(api(forgejo, ""), headers=AUTH).json()
    assert repo["full_name"] == "ml-team/model" and repo["permissions"]["push"] is True
    pull = requests.get(api(forgejo, "/pulls/3"), headers=AUTH).json()
    assert (pull["number"], pull["state"], pull["head"]["sha"], pull["base"]["sha"]) == (3, "open", HEAD, BASE)
    assert (pull["head"]["ref"], pull["base"]["ref"], pull["head"]["repo"]["full_name"]) == ("feature", "main",
                                                                                             "ml-team/model")
    assert pull["html_url"] == f"{forgejo.url}/ml-team/model/pulls/3"
    missing = requests.get(api(forgejo, "/pulls/99"), headers=AUTH)
    assert missing.status_code == 404 and missing.json()["message"] == "The target couldn't be found."


def test_an_issues_comments_come_all_at_once_with_the_total(forgejo):
    for n in range(MAX_RESPONSE_ITEMS + 10):
        forgejo.add_comment(3, User(20, "someone"), f"comment {n}")
    listed = requests.get(api(forgejo, "/issues/3/comments"), headers=AUTH)
    assert len(listed.json()) == MAX_RESPONSE_ITEMS + 10  # no page size: Forgejo does not paginate this list
    assert listed.headers["X-Total-Count"] == str(MAX_RESPONSE_ITEMS + 10) and "Link" not in listed.headers
    assert [c["body"] for c in listed.json()][:2] == ["comment 0", "comment 1"]  # oldest first


def test_page_and_limit_are_not_parameters_of_an_issues_comments():
    with FakeForgejo() as fake:
        fake.add_token("bot-token", 7, "mrbot")
        fake.add_pull(3, HEAD, BASE)
        answer = requests.get(api(fake, "/issues/3/comments"), params={"limit": 50, "page": 2}, headers=AUTH)
    assert answer.status_code == 400
    assert "query parameter 'limit' is not in the description" in fake.violations[0]


def test_the_paginated_comment_list_has_link_and_total(forgejo):
    for n in range(65):
        forgejo.add_comment(3, User(20, "someone"), f"comment {n}")
    first = requests.get(api(forgejo, "/issues/comments"), params={"limit": 20}, headers=AUTH)
    assert len(first.json()) == 20 and first.headers["X-Total-Count"] == "65"
    assert links(first) == {"next": f"{api(forgejo, '/issues/comments')}?limit=20&page=2",
                            "last": f"{api(forgejo, '/issues/comments')}?limit=20&page=4"}
    last = requests.get(links(first)["last"], headers=AUTH)
    assert [c["body"] for c in last.json()] == [f"comment {n}" for n in range(60, 65)]
    assert set(links(last)) == {"first", "prev"} and links(last)["prev"].endswith("limit=20&page=3")
    default = requests.get(api(forgejo, "/issues/comments"), headers=AUTH)
    assert len(default.json()) == 30  # DEFAULT_PAGING_NUM
    capped = requests.get(api(forgejo, "/issues/comments"), params={"limit": 500}, headers=AUTH)
    assert len(capped.json()) == MAX_RESPONSE_ITEMS and links(capped)["next"].endswith("limit=500&page=2")


def test_create_edit_and_delete_a_comment(forgejo):
    created = requests.post(api(forgejo, "/issues/3/comments"), json={"body": "<!-- mrbot -->\nv1"}, headers=AUTH)
    assert created.status_code == 201
    comment = created.json()
    assert comment["user"]["login"] == "mrbot" and comment["assets"] == []
    assert comment["html_url"] == f"{forgejo.url}/ml-team/model/pulls/3#issuecomment-{comment['id']}"
    assert set(comment) <= set(Swagger.load().document["definitions"]["Comment"]["properties"])
    edited = requests.patch(api(forgejo, f"/issues/comments/{comment['id']}"), json={"body": "v2"}, headers=AUTH)
    assert edited.status_code == 200 and edited.json()["body"] == "v2"
    assert edited.json()["updated_at"] > comment["updated_at"] and forgejo.comments[3][0].body == "v2"
    empty = requests.patch(api(forgejo, f"/issues/comments/{comment['id']}"), json={"body": ""}, headers=AUTH)
    assert empty.status_code == 422 and empty.json()["message"] == "[Body]: Required"
    deleted = requests.delete(api(forgejo, f"/issues/comments/{comment['id']}"), headers=AUTH)
    assert deleted.status_code == 204 and deleted.content == b"" and forgejo.comments[3] == []
    gone = requests.patch(api(forgejo, f"/issues/comments/{comment['id']}"), json={"body": "v3"}, headers=AUTH)
    assert gone.status_code == 404


def test_anothers_comment_is_403_without_write_access_to_the_repository(forgejo):
    theirs = forgejo.add_comment(3, User(20, "reviewer"), "LGTM")
    forgejo.add_token("reader-token", 9, "contributor", repo_access="read")
    headers = {"Authorization": "token reader-token"}
    path = api(forgejo, f"/issues/comments/{theirs.id}")
    for answer in (requests.patch(path, json={"body": "x"}, headers=headers), requests.delete(path, headers=headers)):
        assert answer.status_code == 403 and answer.content == b""  # Forgejo sends no body
    assert forgejo.comments[3][0].body == "LGTM"
    # Write access to the repository lets Forgejo edit anyone's comment.
    assert requests.patch(path, json={"body": "edited"}, headers=AUTH).json()["body"] == "edited"


def test_attachments_upload_and_download(forgejo):
    comment = requests.post(api(forgejo, "/issues/3/comments"), json={"body": "report"}, headers=AUTH).json()
    uploaded = requests.post(api(forgejo, f"/issues/comments/{comment['id']}/assets"), params={"name": "loss.png"},
                             files={"attachment": ("plot.png", b"\x89PNG fake", "image/png")}, headers=AUTH)
    assert uploaded.status_code == 201
    attachment = uploaded.json()
    assert (attachment["name"], attachment["size"]) == ("loss.png", 9)
    assert attachment["browser_download_url"] == f"{forgejo.url}/attachments/{attachment['uuid']}"
    served = requests.get(attachment["browser_download_url"])  # the web side: no /api/v1, no token
    assert served.content == b"\x89PNG fake" and served.headers["Content-Type"] == "image/png"
    listed = requests.get(api(forgejo, "/issues/3/comments"), headers=AUTH).json()
    assert listed[0]["assets"][0]["uuid"] == attachment["uuid"]
    assert listed[0]["assets"][0]["download_count"] == 1
    refused = requests.post(api(forgejo, f"/issues/comments/{comment['id']}/assets"),
                            files={"attachment": ("page.html", b"<html>", "text/html")}, headers=AUTH)
    assert refused.status_code == 422 and "forbidden file extension" in refused.json()["message"]
    forgejo.add_token("reader-token", 9, "contributor", repo_access="read")
    other = requests.post(api(forgejo, f"/issues/comments/{comment['id']}/assets"),
                          files={"attachment": ("a.png", b"x", "image/png")},
                          headers={"Authorization": "token reader-token"})
    assert other.status_code == 403 and other.json()["message"] == "user should have permission to edit comment"
    assert requests.get(f"{forgejo.url}/attachments/no-such-uuid").status_code == 404


def test_a_private_repositorys_attachments_need_a_reader():
    fake = FakeForgejo(private=True)
    fake.add_token("bot-token", 7, "mrbot")
    fake.add_pull(3, HEAD, BASE)
    with running(fake):
        comment = fake.add_comment(3, User(7, "mrbot"), "report")
        url = requests.post(api(fake, f"/issues/comments/{comment.id}/assets"),
                            files={"attachment": ("plot.svg", b"<svg/>", "image/svg+xml")}, headers=AUTH).json()[
            "browser_download_url"]
        assert requests.get(url).status_code == 404
        assert requests.get(url, headers=AUTH).content == b"<svg/>"


def test_commit_statuses(forgejo):
    body = {"state": "success", "context": "mrbot/report", "description": "3 metrics", "target_url": "http://ci/1"}
    created = requests.post(api(forgejo, f"/statuses/{HEAD}"), json=body, headers=AUTH)
    assert created.status_code == 201
    assert {k: created.json()[k] for k in ("status", "context", "description", "target_url")} == {
        "status": "success", "context": "mrbot/report", "description": "3 metrics", "target_url": "http://ci/1"}
    assert created.json()["creator"]["login"] == "mrbot"
    for state in ("pending", "error", "failure", "warning"):
        assert requests.post(api(forgejo, f"/statuses/{HEAD}"), json={"state": state}, headers=AUTH).status_code == 201
    assert [s["status"] for s in forgejo.statuses[HEAD]] == ["success", "pending", "error", "failure", "warning"]
    listed = requests.get(api(forgejo, f"/statuses/{HEAD}"), params={"limit": 2}, headers=AUTH)
    assert [s["status"] for s in listed.json()] == ["warning", "failure"] and listed.headers["X-Total-Count"] == "5"
    assert links(listed)["next"].endswith("limit=2&page=2")
    unknown = requests.post(api(forgejo, f"/statuses/{'c' * 40}"), json={"state": "success"}, headers=AUTH)
    assert unknown.status_code == 404


def test_a_fork_pull_requests_job_token_cannot_set_statuses(forgejo, tmp_path):
    env = forgejo.pipeline_environment(5, "c" * 40, BASE, tmp_path, fork=True)
    headers = {"Authorization": f"token {env['GITHUB_TOKEN']}"}
    refused = requests.post(api(forgejo, f"/statuses/{'c' * 40}"), json={"state": "success"}, headers=headers)
    assert refused.status_code == 403
    assert refused.json()["message"] == "user should have a permission to write to a repo"
    # Creating a comment needs only read access in Forgejo's routes (reqToken, CanReadIssuesOrPulls).
    comment = requests.post(api(forgejo, "/issues/5/comments"), json={"body": "x"}, headers=headers)
    assert comment.status_code == 201 and comment.json()["user"]["login"] == "forgejo-actions"


def test_an_unknown_commit_status_state_is_refused():
    with FakeForgejo() as fake:
        fake.add_token("bot-token", 7, "mrbot")
        fake.add_pull(3, HEAD, BASE)
        answer = requests.post(api(fake, f"/statuses/{HEAD}"), json={"state": "failed"}, headers=AUTH)
    assert answer.status_code == 422 and "'failed'" in fake.violations[0]


def test_faults_answer_before_the_handler(forgejo):
    forgejo.fail("POST", r"/issues/3/comments$", 502, "<html>Bad Gateway</html>")
    forgejo.fail("GET", r"/pulls/3$", 503, {"message": "down"}, times=2, headers={"Retry-After": "7"})
    proxy = requests.post(api(forgejo, "/issues/3/comments"), json={"body": "x"}, headers=AUTH)
    assert proxy.status_code == 502 and proxy.headers["Content-Type"].startswith("text/html")
    assert requests.post(api(forgejo, "/issues/3/comments"), json={"body": "x"}, headers=AUTH).status_code == 201
    for _ in range(2):
        busy = requests.get(api(forgejo, "/pulls/3"), headers=AUTH)
        assert (busy.status_code, busy.headers["Retry-After"], busy.json()) == (503, "7", {"message": "down"})
    assert requests.get(api(forgejo, "/pulls/3"), headers=AUTH).status_code == 200
    forgejo.fail("DELETE", r"/issues/comments/", 500, times=None)
    for _ in range(3):
        assert requests.delete(api(forgejo, "/issues/comments/1"), headers=AUTH).status_code == 500
    assert len(forgejo.requests_to("GET", r"/pulls/3$")) == 3


@pytest.mark.parametrize("method, path, kwargs, expected", [
    ("POST", "/api/v1/repos/ml-team/model/issues/3/sticky", {"json": {"body": "x"}},
     "is not in Forgejo's API description"),
    ("POST", "/api/v1/repos/ml-team/model/issues/3/comments", {"json": {"body": "x", "sticky": True}},
     "body key 'sticky' is not in #/definitions/CreateIssueCommentOption"),
    ("POST", "/api/v1/repos/ml-team/model/issues/3/comments", {"json": {"text": "x"}},
     "required body key 'body' is missing"),
    ("POST", "/api/v1/repos/ml-team/model/statuses/" + HEAD, {"json": {"state": "success", "name": "mrbot"}},
     "body key 'name' is not in #/definitions/CreateStatusOption"),
    ("PATCH", "/api/v1/repos/ml-team/model/issues/comments/12", {"json": {"body": 5}}, "is not of type string"),
    ("POST", "/api/v1/repos/ml-team/model/issues/comments/12/assets", {"files": {"file": ("a.png", b"x")}},
     "required form field 'attachment' is missing"),
    ("GET", "/api/v1/repos/ml-team/model/pulls/three", {}, "path parameter index='three' is not an integer"),
])
def test_the_swagger_check_catches_what_forgejo_does_not_describe(method, path, kwargs, expected):
    fake = FakeForgejo()
    fake.add_token("bot-token", 7, "mrbot")
    fake.add_pull(3, HEAD, BASE)
    with pytest.raises(AssertionError, match="Forgejo's API description does not allow"):
        with running(fake):
            answer = requests.request(method, fake.url + path, headers=AUTH, **kwargs)
            assert answer.status_code in (400, 404) and expected in answer.json()["message"]
    assert len(fake.violations) == 1 and expected in fake.violations[0]


def test_a_described_operation_the_fake_lacks_is_a_violation_too():
    with FakeForgejo() as fake:
        fake.add_token("bot-token", 7, "mrbot")
        # GetPullRequestByBaseHead: in the description, not in the fake.
        answer = requests.get(api(fake, "/pulls/main/feature"), headers=AUTH)
    assert answer.status_code == 501
    assert fake.violations == ["the fake does not implement GET /repos/ml-team/model/pulls/main/feature"]


def test_the_fakes_own_answers_are_checked_against_the_swagger(monkeypatch):
    fake = FakeForgejo()
    fake.add_token("bot-token", 7, "mrbot")
    original = FakeForgejo._user_json
    monkeypatch.setattr(FakeForgejo, "_user_json", lambda self, user: {**original(self, user), "username": "x"})
    with fake:
        requests.get(f"{fake.api_url}/user", headers=AUTH)
    assert fake.violations == ["the fake's answer drifted: response 200 of userGetCurrent: property 'username' "
                               "is not in the description"]


def test_forgejo_runner_environment(forgejo, tmp_path):
    env = forgejo.pipeline_environment(4, "c" * 40, BASE, tmp_path)
    assert env["GITHUB_ACTIONS"] == env["GITEA_ACTIONS"] == env["FORGEJO_ACTIONS"] == "true"
    assert env["GITHUB_SERVER_URL"] == env["FORGEJO_SERVER_URL"] == forgejo.url
    assert env["GITHUB_API_URL"] == f"{forgejo.url}/api/v1" and "GITHUB_GRAPHQL_URL" not in env
    assert (env["GITHUB_REPOSITORY"], env["GITHUB_EVENT_NAME"]) == ("ml-team/model", "pull_request")
    assert (env["GITHUB_SHA"], env["GITHUB_REF"], env["GITHUB_BASE_REF"]) == ("c" * 40, "refs/pull/4/head", "main")
    assert env["GITHUB_TOKEN"] == env["FORGEJO_TOKEN"] == forgejo.job_token
    assert env["FORGEJO_ACTIONS_RUNNER_VERSION"] == env["GITEA_ACTIONS_RUNNER_VERSION"]
    event = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text())
    assert (event["action"], event["number"]) == ("synchronized", 4)
    pull = event["pull_request"]
    assert (pull["number"], pull["head"]["sha"], pull["base"]["ref"]) == (4, "c" * 40, "main")
    assert pull["base"]["sha"] == BASE
    assert pull["head"]["repo"]["full_name"] == "ml-team/model"
    assert set(pull) <= set(Swagger.load().document["definitions"]["PullRequest"]["properties"])
    # The job token works against the fake, as the forge's actions user.
    headers = {"Authorization": f"token {env['GITHUB_TOKEN']}"}
    assert requests.get(f"{forgejo.api_url}/user", headers=headers).json()["login"] == "forgejo-actions"
    assert requests.post(api(forgejo, f"/statuses/{'c' * 40}"), json={"state": "pending"}, headers=headers).ok


def test_gitea_act_runner_environment(forgejo, tmp_path):
    env = forgejo.pipeline_environment(4, HEAD, BASE, tmp_path, forge="gitea", GITHUB_RUN_ID=None)
    assert env["GITHUB_ACTIONS"] == env["GITEA_ACTIONS"] == "true" and env["GITHUB_GRAPHQL_URL"] == ""
    assert not [name for name in env if name.startswith("FORGEJO_")]
    assert "GITHUB_TOKEN" not in env and "GITHUB_RUN_ID" not in env  # the workflow passes the token itself
    assert env["GITHUB_API_URL"] == forgejo.api_url
    user = requests.get(f"{forgejo.api_url}/user", headers={"Authorization": f"token {forgejo.job_token}"}).json()
    assert user["login"] == "gitea-actions"


def test_a_fork_pull_request_event_names_the_fork(forgejo, tmp_path):
    env = forgejo.pipeline_environment(6, "d" * 40, BASE, tmp_path, fork=True)
    pull = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text())["pull_request"]
    assert pull["head"]["repo"]["full_name"] == "contributor/model" and pull["head"]["repo"]["fork"] is True
    assert pull["base"]["repo"]["full_name"] == "ml-team/model"
