"""The fake api.github.com refuses what GitHub's REST description does not allow (so the driver's
tests cannot pass on requests the real API would reject), and the driver's single calls in isolation."""

from __future__ import annotations

import pytest
import requests
import responses

from bot.ci.context import GITHUB, Context
from bot.errors import BadInput, ForgeRefused
from bot.forges.github import ACTIONS_LOGIN, open_github
from bot.forges.github_api import ClientOptions, client_options, refusal_message
from tests.servers.github import ACTIONS_BOT, FakeGitHub, OpenAPI, Pull, Token

TOKEN = "ghs_FakeTokenForTheFakeChecker000000"


@pytest.fixture
def fake():
    with FakeGitHub(tokens={TOKEN: Token(ACTIONS_BOT)}) as server:
        server.add_pull(Pull(7, "1" * 40, "b" * 40))
        yield server


def call(fake: FakeGitHub, method: str, path: str, **kwargs) -> requests.Response:
    headers = {"Authorization": f"token {TOKEN}", "Accept": "application/vnd.github+json"}
    return requests.request(method, fake.url + path, headers=headers, timeout=5, **kwargs)


def test_a_request_the_description_allows_passes(fake):
    answer = call(fake, "POST", f"/repos/{fake.repository}/issues/7/comments", json={"body": "hello"})
    assert answer.status_code == 201 and answer.json()["body"] == "hello"
    assert fake.violations == []


@pytest.mark.parametrize(
    "method, path, kwargs, problem",
    [
        ("GET", "/repos/octo-org/ml-project/issue/7/comments", {}, "is not in GitHub's REST description"),
        ("PUT", "/repos/octo-org/ml-project/issues/7/comments", {"json": {"body": "x"}}, "is not in GitHub's"),
        ("POST", "/repos/octo-org/ml-project/issues/7/comments", {"json": {"text": "x"}}, "'body' is a required property"),
        ("POST", "/repos/octo-org/ml-project/issues/7/comments", {"json": {"body": "x", "sticky": True}},
         "body key 'sticky' is not in the description"),
        ("POST", "/repos/octo-org/ml-project/issues/7/comments", {"json": {"body": 5}}, "5 is not of type 'string'"),
        ("POST", "/repos/octo-org/ml-project/issues/7/comments", {"data": "body=x"}, "not application/json"),
        ("GET", "/repos/octo-org/ml-project/issues/7/comments", {"params": {"per_page": "many"}},
         "per_page='many' is not an integer"),
        ("GET", "/repos/octo-org/ml-project/issues/7/comments", {"params": {"author": "me"}},
         "query parameter 'author' is not in the description"),
        ("PATCH", "/repos/octo-org/ml-project/issues/comments/abc", {"json": {"body": "x"}}, "comment_id='abc'"),
        ("POST", "/repos/octo-org/ml-project/statuses/" + "1" * 40, {"json": {"state": "passed"}},
         "'passed' is not one of"),
        ("PATCH", "/repos/octo-org/ml-project/git/refs/heads/mrbot-assets", {"json": {"force": True}},
         "'sha' is a required property"),
    ],
)
def test_a_request_the_description_does_not_allow_is_refused_and_recorded(fake, method, path, kwargs, problem):
    answer = call(fake, method, path, **kwargs)
    assert answer.status_code in (400, 404)
    assert len(fake.violations) == 1 and problem in fake.violations[0]


def test_paths_match_the_most_specific_operation():
    spec = OpenAPI.load()
    operation, params = spec.match("PATCH", "/repos/o/r/issues/comments/12")
    assert operation.id == "issues/update-comment" and params == {"owner": "o", "repo": "r", "comment_id": "12"}
    operation, params = spec.match("GET", "/repos/o/r/git/ref/heads/feature/x")
    assert operation.id == "git/get-ref" and params["ref"] == "heads/feature/x"  # x-multi-segment


def test_pagination_links_follow_githubs_format(fake):
    for index in range(5):
        fake.add_comment(7, f"c{index}", ACTIONS_BOT)
    answer = call(fake, "GET", f"/repos/{fake.repository}/issues/7/comments", params={"per_page": 2, "page": 2})
    assert [c["body"] for c in answer.json()] == ["c2", "c3"]
    assert answer.links["next"]["url"].endswith("per_page=2&page=3")
    assert answer.links["last"]["url"].endswith("page=3") and answer.links["prev"]["url"].endswith("page=1")


# -- single calls, with `responses` -------------------------------------------------------------

API = "https://api.github.com"
MOCKED = "https://api.github.com:443"  # PyGithub's requests name the port


def context(**changes) -> Context:
    values = dict(forge=GITHUB, repository="o/r", api_url=API, server_url="https://github.com", number=3,
                  head_sha="1" * 40, token=TOKEN, token_name="GITHUB_TOKEN")
    return Context(**{**values, **changes})


def forge(**changes):
    return open_github(context(**changes), {}, ClientOptions(0, 0, retries=0))


@responses.activate
def test_an_installation_token_recognises_the_actions_bot_without_get_user():
    responses.get(f"{MOCKED}/user", status=403, json={"message": "Resource not accessible by integration"})
    bot_user = {"login": ACTIONS_LOGIN, "id": 41898282, "type": "Bot"}
    human = {"login": "someone", "id": 5, "type": "User"}
    body = "<!-- mrbot:report id=default head=" + "1" * 40 + " -->\nreport"
    responses.get(f"{MOCKED}/repos/o/r/issues/3/comments", json=[
        {"id": 1, "body": body, "user": human, "html_url": "https://github.com/o/r/pull/3#issuecomment-1",
         "created_at": "2025-01-01T00:00:00Z"},
        {"id": 2, "body": body, "user": bot_user, "html_url": "https://github.com/o/r/pull/3#issuecomment-2",
         "created_at": "2025-01-01T00:00:01Z"},
    ])
    assert [c.id for c in forge().report_comments("default")] == [2]
    assert responses.calls[0].request.headers["Authorization"] == f"token {TOKEN}"


@responses.activate
def test_a_token_github_rejects_fails_with_a_message_that_names_the_fix_not_the_token():
    responses.get(f"{MOCKED}/repos/o/r/pulls/3", status=401, json={"message": "Bad credentials"})
    with pytest.raises(ForgeRefused) as refused:
        forge().current_head_sha()
    assert "GITHUB_TOKEN" in str(refused.value) and "invalid or expired" in str(refused.value)
    assert TOKEN not in str(refused.value)


@responses.activate
def test_an_unreachable_api_is_a_forge_error():
    responses.get(f"{MOCKED}/repos/o/r/pulls/3", body=requests.ConnectionError("connection refused"))
    with pytest.raises(ForgeRefused, match=r"could not reach GitHub at https://api.github.com .*ConnectionError"):
        forge().current_head_sha()


def test_refusal_messages_name_the_fix():
    ctx = context()
    assert "pull-requests: write" in refusal_message(403, "Resource not accessible by integration", "x", ctx)
    fork = context(extra={"fork": "true"})
    assert "two-stage mode" in refusal_message(403, "Resource not accessible by integration", "x", fork)
    assert "not found" in refusal_message(404, "Not Found", "x", ctx)
    assert "rate limit" in refusal_message(403, "API rate limit exceeded", "x", ctx)


def test_client_pacing_comes_from_the_environment_and_a_bad_value_is_named():
    assert client_options({"seconds_between_writes": "0"}) == ClientOptions(seconds_between_writes=0)
    with pytest.raises(BadInput, match=r"MRBOT_SECONDS_BETWEEN_REQUESTS='soon' is not a number of seconds"):
        client_options({"seconds_between_requests": "soon"})
