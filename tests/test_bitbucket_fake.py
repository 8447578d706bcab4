"""The fake Bitbucket Cloud API answers as Bitbucket documents (pages, comments, statuses, Code
Insights reports, /src commits, scopes, faults) and serves only routes of Bitbucket's own route table,
so the driver's tests cannot pass on calls the real API would not take. Plain requests over the socket."""

from __future__ import annotations

import base64
import re

import pytest
import requests

from tests.servers.bitbucket import FakeBitbucket, Routes, User

BOT = User("{b0b0b0b0-0000-4000-8000-000000000001}", "mrbot token", "mrbot-token", "557058:b0b0")
ADA = User("{0a0a0a0a-0000-4000-8000-000000000002}", "Ada Reviewer", "ada", "557058:0a0a")
TOKEN = "ATCTT3xFfGN0-fake-repository-token"
HEAD = "a1" * 20
BASE = "b2" * 20
REPO = "/repositories/team/model"
PNG = b"\x89PNG\r\n\x1a\n" + b"png bytes"


@pytest.fixture
def fake():
    with FakeBitbucket() as server:
        server.add_token(TOKEN, BOT)
        server.add_pull_request(5, HEAD, destination_sha=BASE)
        yield server


def call(fake: FakeBitbucket, method: str, path: str, token: str | None = TOKEN, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, fake.api_url + path, headers=headers, timeout=5, **kwargs)


def error_message(answer: requests.Response) -> str:
    body = answer.json()
    assert body["type"] == "error"
    return body["error"]["message"]


# -- reading ---------------------------------------------------------------------------------------


def test_user_repository_and_pull_request_answer_bitbuckets_shapes(fake):
    fake.add_token("ATATT-bot", BOT, email="bot@example.com")
    assert call(fake, "GET", "/user", token="ATATT-bot").json()["uuid"] == BOT.uuid
    refused = call(fake, "GET", "/user")  # an access token is no user
    assert refused.status_code == 403 and "authentication mechanism" in error_message(refused)
    repository = call(fake, "GET", REPO).json()
    assert repository["full_name"] == "team/model" and repository["mainbranch"]["name"] == "main"
    assert repository["links"]["html"]["href"] == f"{fake.url}/team/model" and repository["is_private"] is True
    pull = call(fake, "GET", f"{REPO}/pullrequests/5").json()
    assert pull["state"] == "OPEN" and pull["source"]["branch"]["name"] == "feature"
    assert pull["source"]["commit"]["hash"] == HEAD[:12]  # 12 characters, as Bitbucket answers
    assert pull["destination"]["commit"]["hash"] == BASE[:12]
    assert pull["links"]["html"]["href"] == f"{fake.url}/team/model/pull-requests/5"
    assert call(fake, "GET", f"{REPO}/pullrequests/6").status_code == 404


def test_a_commit_is_found_by_a_short_hash_and_answered_in_full(fake):
    assert call(fake, "GET", f"{REPO}/commit/{HEAD[:12]}").json()["hash"] == HEAD
    assert call(fake, "GET", f"{REPO}/commit/{BASE[:7]}").json()["hash"] == BASE
    for unknown in ("c3" * 20, HEAD[:6]):
        answer = call(fake, "GET", f"{REPO}/commit/{unknown}")
        assert answer.status_code == 404 and "Commit not found" in error_message(answer)


def test_another_repository_is_not_found(fake):
    answer = call(fake, "GET", "/repositories/team/other/pullrequests/5")
    assert answer.status_code == 404 and error_message(answer) == "Repository team/other not found"


# -- pages -----------------------------------------------------------------------------------------


def test_pages_follow_next_links_to_the_last_page_which_has_none(fake):
    for number in range(25):
        fake.add_comment(5, ADA, f"comment {number}")
    answer = call(fake, "GET", f"{REPO}/pullrequests/5/comments", params={"sort": "created_on"}).json()
    assert (answer["pagelen"], answer["size"], answer["page"], len(answer["values"])) == (10, 25, 1, 10)
    assert "previous" not in answer
    seen = [comment["content"]["raw"] for comment in answer["values"]]
    while "next" in answer:
        assert answer["next"].startswith(f"{fake.api_url}{REPO}/pullrequests/5/comments?")
        assert "sort=created_on" in answer["next"] and f"page={answer['page'] + 1}" in answer["next"]
        answer = requests.get(answer["next"], headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).json()
        assert answer["previous"]
        seen += [comment["content"]["raw"] for comment in answer["values"]]
    assert answer["page"] == 3 and len(answer["values"]) == 5
    assert seen == [f"comment {number}" for number in range(25)]  # oldest first


def test_pagelen_up_to_100_is_taken_and_more_refused(fake):
    fake.add_comment(5, ADA, "one")
    answer = call(fake, "GET", f"{REPO}/pullrequests/5/comments", params={"pagelen": 100}).json()
    assert answer["pagelen"] == 100 and "next" not in answer
    for pagelen in (101, 0, "many"):
        refused = call(fake, "GET", f"{REPO}/pullrequests/5/comments", params={"pagelen": pagelen})
        assert refused.status_code == 400 and error_message(refused) == "Invalid pagelen"


# -- comments --------------------------------------------------------------------------------------


def test_a_comment_is_created_edited_and_deleted_and_stays_listed_as_deleted(fake):
    created = call(fake, "POST", f"{REPO}/pullrequests/5/comments", json={"content": {"raw": "report v1"}})
    assert created.status_code == 201
    comment = created.json()
    assert comment["type"] == "pullrequest_comment" and comment["user"]["uuid"] == BOT.uuid
    assert comment["content"]["raw"] == "report v1" and comment["deleted"] is False
    assert comment["created_on"].endswith("+00:00")
    assert comment["links"]["html"]["href"] == f"{fake.url}/team/model/pull-requests/5/_/diff#comment-{comment['id']}"
    assert comment["links"]["self"]["href"] == f"{fake.api_url}{REPO}/pullrequests/5/comments/{comment['id']}"
    path = f"{REPO}/pullrequests/5/comments/{comment['id']}"
    edited = call(fake, "PUT", path, json={"content": {"raw": "report v2"}})
    assert edited.status_code == 200 and edited.json()["content"]["raw"] == "report v2"
    assert call(fake, "GET", path).json()["content"]["raw"] == "report v2"
    assert call(fake, "DELETE", path).status_code == 204
    listed = call(fake, "GET", f"{REPO}/pullrequests/5/comments").json()["values"]
    assert [(c["id"], c["deleted"], c["content"]["raw"]) for c in listed] == [(comment["id"], True, "")]
    assert call(fake, "PUT", path, json={"content": {"raw": "again"}}).status_code == 404
    assert fake.pull_comments(5)[0].deleted


def test_others_comments_cannot_be_edited_or_deleted(fake):
    theirs = fake.add_comment(5, ADA, "looks good")
    path = f"{REPO}/pullrequests/5/comments/{theirs.id}"
    edited = call(fake, "PUT", path, json={"content": {"raw": "mine now"}})
    assert edited.status_code == 403 and "only edit your own" in error_message(edited)
    deleted = call(fake, "DELETE", path)
    assert deleted.status_code == 403 and "only delete your own" in error_message(deleted)
    assert fake.pull_comments(5)[0].raw == "looks good" and not fake.pull_comments(5)[0].deleted


def test_seeded_deleted_comments_are_listed_like_bitbucket_lists_them(fake):
    fake.add_comment(5, ADA, "gone", deleted=True)
    [listed] = call(fake, "GET", f"{REPO}/pullrequests/5/comments").json()["values"]
    assert listed["deleted"] is True and listed["content"]["raw"] == ""


@pytest.mark.parametrize("body", [{"content": {"raw": ""}}, {"content": {}}, {"text": "x"}])
def test_a_comment_without_content_is_refused(fake, body):
    assert call(fake, "POST", f"{REPO}/pullrequests/5/comments", json=body).status_code == 400


def test_a_comment_longer_than_the_limit_is_refused(fake):
    fake.comment_limit = 50
    refused = call(fake, "POST", f"{REPO}/pullrequests/5/comments", json={"content": {"raw": "x" * 51}})
    assert refused.status_code == 400 and "too long" in error_message(refused)
    taken = call(fake, "POST", f"{REPO}/pullrequests/5/comments", json={"content": {"raw": "x" * 50}})
    assert taken.status_code == 201


def test_a_merged_pull_request_still_takes_comments(fake):
    fake.add_pull_request(6, "d4" * 20, state="MERGED")
    assert call(fake, "POST", f"{REPO}/pullrequests/6/comments", json={"content": {"raw": "late"}}).status_code == 201


def test_commit_comments_behave_the_same(fake):
    created = call(fake, "POST", f"{REPO}/commit/{HEAD[:12]}/comments", json={"content": {"raw": "on the commit"}})
    assert created.status_code == 201
    comment = created.json()
    assert comment["type"] == "commit_comment"
    assert comment["links"]["html"]["href"] == f"{fake.url}/team/model/commits/{HEAD}#comment-{comment['id']}"
    assert [c.raw for c in fake.commit_comments(HEAD)] == ["on the commit"]
    theirs = fake.add_comment(HEAD, ADA, "theirs")
    assert call(fake, "DELETE", f"{REPO}/commit/{HEAD}/comments/{theirs.id}").status_code == 403
    assert call(fake, "DELETE", f"{REPO}/commit/{HEAD}/comments/{comment['id']}").status_code == 204
    assert [c["deleted"] for c in call(fake, "GET", f"{REPO}/commit/{HEAD}/comments").json()["values"]] == [True, False]


# -- build statuses and reports ------------------------------------------------------------------------


def test_a_build_status_is_created_then_updated_under_the_same_key(fake):
    status = {"key": "mrbot", "state": "INPROGRESS", "name": "mrbot", "url": "https://ci.example/1"}
    created = call(fake, "POST", f"{REPO}/commit/{HEAD[:12]}/statuses/build", json=status)
    assert created.status_code == 201 and created.json()["commit"]["hash"] == HEAD
    updated = call(fake, "POST", f"{REPO}/commit/{HEAD}/statuses/build", json={**status, "state": "SUCCESSFUL"})
    assert updated.status_code == 200 and updated.json()["created_on"] == created.json()["created_on"]
    assert list(fake.statuses) == [(HEAD, "mrbot")] and fake.statuses[(HEAD, "mrbot")]["state"] == "SUCCESSFUL"
    assert call(fake, "GET", f"{REPO}/commit/{HEAD}/statuses/build/mrbot").json()["state"] == "SUCCESSFUL"


@pytest.mark.parametrize("change, field", [
    ({"url": None}, "url"), ({"state": "PASSED"}, "state"), ({"key": None}, "key"), ({"key": "k" * 256}, "key"),
])
def test_a_build_status_bitbucket_would_refuse_is_400(fake, change, field):
    status = {"key": "mrbot", "state": "FAILED", "url": "https://ci.example/1", **change}
    refused = call(fake, "POST", f"{REPO}/commit/{HEAD}/statuses/build",
                   json={name: value for name, value in status.items() if value is not None})
    assert refused.status_code == 400 and error_message(refused).startswith(field)


def report(**changes):
    return {"title": "mrbot", "details": "Metrics of this change", "report_type": "TEST", "reporter": "mrbot",
            "result": "PASSED", "link": "https://bitbucket.org/team/model/pull-requests/5",
            "data": [{"title": "accuracy", "type": "PERCENTAGE", "value": 91.5},
                     {"title": "loss", "type": "NUMBER", "value": 0.25},
                     {"title": "improved", "type": "BOOLEAN", "value": True},
                     {"title": "run", "type": "LINK", "value": {"text": "job 17", "href": "https://ci.example/17"}}],
            **changes}


@pytest.mark.parametrize("changes, field", [
    ({"data": [{"title": f"m{n}", "type": "NUMBER", "value": n} for n in range(11)]}, "data"),
    ({"data": [{"title": "loss", "type": "NUMBER", "value": "0.25"}]}, "data[0].value"),
    ({"data": [{"title": "loss", "type": "NUMBER", "value": True}]}, "data[0].value"),
    ({"data": [{"title": "accuracy", "type": "PERCENTAGE", "value": 101}]}, "data[0].value"),
    ({"data": [{"title": "a", "type": "TEXT", "value": "x"}, {"title": "b", "type": "BOOLEAN", "value": 1}]},
     "data[1].value"),
    ({"data": [{"title": "run", "type": "LINK", "value": {"text": "job"}}]}, "data[0].value"),
    ({"data": [{"title": "when", "type": "DATE", "value": "yesterday"}]}, "data[0].value"),
    ({"details": "d" * 2001}, "details"), ({"title": "t" * 451}, "title"), ({"title": None}, "title"),
    ({"report_type": "METRICS"}, "report_type"), ({"result": "OK"}, "result"),
    ({"link": "/team/model/pull-requests/5"}, "link"),
])
def test_a_report_bitbucket_would_refuse_is_400_naming_the_field(fake, changes, field):
    body = {name: value for name, value in report(**changes).items() if value is not None}
    refused = call(fake, "PUT", f"{REPO}/commit/{HEAD}/reports/mrbot", json=body)
    assert refused.status_code == 400 and error_message(refused).startswith(f"{field}:")
    assert fake.reports == {}


def test_a_good_report_is_stored_and_the_same_id_replaces_it(fake):
    stored = call(fake, "PUT", f"{REPO}/commit/{HEAD[:12]}/reports/mrbot", json=report())
    assert stored.status_code == 200
    first = stored.json()
    assert first["external_id"] == "mrbot" and first["type"] == "report" and first["uuid"].startswith("{")
    assert first["data"] == report()["data"]
    again = call(fake, "PUT", f"{REPO}/commit/{HEAD}/reports/mrbot", json=report(title="mrbot v2", data=[]))
    assert again.status_code == 200 and again.json()["uuid"] == first["uuid"]
    assert list(fake.reports) == [(HEAD, "mrbot")] and fake.reports[(HEAD, "mrbot")]["title"] == "mrbot v2"
    assert call(fake, "GET", f"{REPO}/commit/{HEAD}/reports/mrbot").json()["data"] == []
    listed = call(fake, "GET", f"{REPO}/commit/{HEAD}/reports").json()
    assert listed["size"] == 1 and listed["values"][0]["title"] == "mrbot v2"


# -- /src commits and raw files --------------------------------------------------------------------


def test_a_src_commit_starts_a_branch_then_one_on_top_needs_the_tip_as_parent(fake):
    first = call(fake, "POST", f"{REPO}/src", data={"branch": "mrbot-assets", "message": "mrbot: charts"},
                 files={"reports/accuracy.png": ("accuracy.png", PNG, "image/png")})
    assert first.status_code == 201 and first.content == b""
    sha = first.headers["Location"].rsplit("/", 1)[1]
    assert first.headers["Location"] == f"{fake.api_url}/repositories/team/model/commit/{sha}"
    assert re.fullmatch(r"[0-9a-f]{40}", sha) and sha in fake.commits
    assert fake.branches["mrbot-assets"] == sha and fake.trees[sha] == {"reports/accuracy.png": PNG}
    assert fake.commit_info[sha]["parents"] == [fake.main_tip]  # a new branch starts at main's tip
    assert fake.branches["main"] == fake.main_tip  # which does not move
    assert call(fake, "GET", f"{REPO}/refs/branches/mrbot-assets").json()["target"]["hash"] == sha

    second = call(fake, "POST", f"{REPO}/src", data={"branch": "mrbot-assets", "parents": sha},
                  files={"/reports/loss.png": ("loss.png", b"loss", "image/png")})
    assert second.status_code == 201
    tip = second.headers["Location"].rsplit("/", 1)[1]
    assert fake.trees[tip] == {"reports/accuracy.png": PNG, "reports/loss.png": b"loss"}  # inherits the branch's
    stale = call(fake, "POST", f"{REPO}/src", data={"branch": "mrbot-assets", "parents": sha},
                 files={"reports/x.png": ("x.png", b"x", "image/png")})
    assert stale.status_code == 409 and "is not the tip of branch mrbot-assets" in error_message(stale)
    assert fake.branches["mrbot-assets"] == tip


def test_a_branch_name_with_a_slash_goes_encoded_in_one_segment(fake):
    assert call(fake, "POST", f"{REPO}/src", data={"branch": "mrbot/assets"},
                files={"a.txt": ("a.txt", b"a", "text/plain")}).status_code == 201
    assert call(fake, "GET", f"{REPO}/refs/branches/mrbot%2Fassets").status_code == 200
    assert call(fake, "GET", f"{REPO}/refs/branches/nope").status_code == 404
    assert fake.violations == []


def test_raw_files_are_served_on_the_web_side_without_auth(fake):
    answer = call(fake, "POST", f"{REPO}/src", data={"branch": "mrbot-assets"},
                  files={"reports/accuracy.png": ("accuracy.png", PNG, "image/png")})
    sha = answer.headers["Location"].rsplit("/", 1)[1]
    for rev in (sha, sha[:12], "mrbot-assets"):
        raw = requests.get(f"{fake.url}/team/model/raw/{rev}/reports/accuracy.png", timeout=5)
        assert raw.status_code == 200 and raw.content == PNG and raw.headers["Content-Type"] == "image/png"
    assert requests.get(f"{fake.url}/team/model/raw/{sha}/reports/loss.png", timeout=5).status_code == 404
    assert requests.get(f"{fake.url}/team/other/raw/{sha}/reports/accuracy.png", timeout=5).status_code == 404


# -- auth and scopes -------------------------------------------------------------------------------


def test_no_or_an_unknown_token_is_401_with_bitbuckets_error_body(fake):
    for token in (None, "not-a-token"):
        answer = call(fake, "GET", f"{REPO}/pullrequests/5", token=token)
        assert answer.status_code == 401 and error_message(answer)


def test_an_api_token_goes_as_basic_with_its_email_or_as_bearer(fake):
    fake.add_token("ATATT-api-token", ADA, email="ada@example.com")

    def basic(email: str) -> requests.Response:
        pair = base64.b64encode(f"{email}:ATATT-api-token".encode()).decode()
        return requests.get(f"{fake.api_url}/user", headers={"Authorization": f"Basic {pair}"}, timeout=5)

    assert basic("ada@example.com").json()["uuid"] == ADA.uuid
    assert basic("eve@example.com").status_code == 401
    assert call(fake, "GET", "/user", token="ATATT-api-token").json()["uuid"] == ADA.uuid
    pair = base64.b64encode(f"ada@example.com:{TOKEN}".encode()).decode()  # an access token has no email
    assert requests.get(f"{fake.api_url}/user", headers={"Authorization": f"Basic {pair}"}, timeout=5).status_code == 401


@pytest.mark.parametrize("scopes, method, path, body, required", [
    (("repository",), "POST", f"{REPO}/pullrequests/5/comments", {"content": {"raw": "x"}}, "pullrequest:write"),
    (("repository",), "GET", f"{REPO}/pullrequests/5", None, "pullrequest"),
    (("pullrequest",), "POST", f"{REPO}/commit/{HEAD}/statuses/build",
     {"key": "k", "state": "FAILED", "url": "https://ci.example"}, "repository:write"),
    (("pullrequest",), "PUT", f"{REPO}/commit/{HEAD}/reports/mrbot", report(), "repository:write"),
])
def test_a_token_lacking_a_scope_is_403_naming_it(fake, scopes, method, path, body, required):
    fake.add_token("narrow", BOT, scopes=scopes)
    refused = call(fake, method, path, token="narrow", json=body)
    assert refused.status_code == 403
    assert error_message(refused) == "Your credentials lack one or more required privilege scopes."
    assert refused.json()["error"]["detail"] == {"required": [required], "granted": list(scopes)}


def test_src_needs_repository_write(fake):
    fake.add_token("reader", BOT, scopes=("repository", "pullrequest"))
    refused = call(fake, "POST", f"{REPO}/src", token="reader", files={"a.txt": ("a.txt", b"a", "text/plain")})
    assert refused.status_code == 403 and refused.json()["error"]["detail"]["required"] == ["repository:write"]
    assert fake.branches == {"main": fake.main_tip}


def test_scopes_imply_what_bitbucket_documents(fake):
    fake.add_token("writer", BOT, scopes=("pullrequest:write",))  # implies pullrequest and repository:write
    assert call(fake, "GET", f"{REPO}/pullrequests/5", token="writer").status_code == 200
    assert call(fake, "POST", f"{REPO}/commit/{HEAD}/statuses/build", token="writer",
                json={"key": "k", "state": "FAILED", "url": "https://ci.example"}).status_code == 201


def test_an_api_token_without_read_user_still_works_elsewhere(fake):
    fake.add_token("ATATT-narrow", BOT, email="bot@example.com")
    fake.user_endpoint_forbidden.add("ATATT-narrow")
    refused = call(fake, "GET", "/user", token="ATATT-narrow")
    assert refused.status_code == 403 and refused.json()["error"]["detail"]["required"] == ["account"]
    assert call(fake, "GET", f"{REPO}/pullrequests/5", token="ATATT-narrow").status_code == 200


def test_merge_base_follows_the_parents_of_commits_made_through_src(fake):
    first = call(fake, "POST", f"{REPO}/src", data={"branch": "mrbot-assets"}, files={"a.png": ("a.png", b"a")})
    first_sha = first.headers["Location"].rsplit("/", 1)[-1]
    second = call(fake, "POST", f"{REPO}/src", data={"branch": "mrbot-assets", "parents": first_sha},
                  files={"b.png": ("b.png", b"b")})
    second_sha = second.headers["Location"].rsplit("/", 1)[-1]
    assert call(fake, "GET", f"{REPO}/merge-base/{first_sha}..{second_sha}").json()["hash"] == first_sha
    assert call(fake, "GET", f"{REPO}/merge-base/{second_sha}..{fake.main_tip}").json()["hash"] == fake.main_tip
    assert call(fake, "GET", f"{REPO}/merge-base/{first_sha}").status_code == 400


# -- faults ----------------------------------------------------------------------------------------


def test_a_rate_limit_answers_once_then_the_call_goes_through(fake):
    fake.fail("POST", r"/pullrequests/5/comments$", 429, headers={"Retry-After": "3"})
    limited = call(fake, "POST", f"{REPO}/pullrequests/5/comments", json={"content": {"raw": "x"}})
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    assert "Rate limit" in error_message(limited)
    assert call(fake, "POST", f"{REPO}/pullrequests/5/comments", json={"content": {"raw": "x"}}).status_code == 201
    assert len(fake.requests_to("POST", r"/comments$")) == 2 and len(fake.pull_comments(5)) == 1


def test_a_502_page_twice_then_success_and_a_fault_for_good(fake):
    fake.fail("GET", r"/pullrequests/5$", 502, body="<html>Bad gateway</html>", times=2)
    for _ in range(2):
        answer = call(fake, "GET", f"{REPO}/pullrequests/5")
        assert answer.status_code == 502 and answer.headers["Content-Type"].startswith("text/html")
    assert call(fake, "GET", f"{REPO}/pullrequests/5").status_code == 200
    fake.fail("GET", r"/user$", 503, times=None)  # before any question of the token
    assert [call(fake, "GET", "/user").status_code for _ in range(3)] == [503, 503, 503]


# -- the route table -----------------------------------------------------------------------------------


def test_every_route_the_fake_serves_is_in_bitbuckets_route_table(fake):
    routes = Routes.load()
    served = fake.served_routes()
    assert len(served) >= 18
    for method, rule in served:
        path = re.sub(r"<(?:\w+:)?\w+>", "x1", rule.removeprefix("/2.0"))
        assert routes.match(method, path), f"{method} {rule} is not in Bitbucket's route table"


@pytest.mark.parametrize("method, path", [
    ("GET", "/repositories/team/model/pullrequest/5"),
    ("POST", "/repositories/team/model/pullrequests/5"),
    ("GET", "/repositories/team/model/pullrequests/5/6/comments"),  # {x} is one segment
    ("PATCH", "/repositories/team/model/pullrequests/5/comments/7"),
])
def test_a_made_up_route_is_in_no_template(method, path):
    assert Routes.load().match(method, path) is None


def test_path_templates_span_segments():
    routes = Routes.load()
    assert routes.match("GET", "/repositories/team/model/src/abc123/reports/a.png") == \
        "/repositories/{workspace}/{repo_slug}/src/{commit}/{path}"
    assert routes.match("PUT", "/repositories/team/model/commit/abc/reports/mrbot") == \
        "/repositories/{workspace}/{repo_slug}/commit/{commit}/reports/{reportId}"


def test_a_request_outside_the_route_table_is_404_and_fails_the_test():
    with pytest.raises(AssertionError, match="pullrequest/5 is in no route"):
        with FakeBitbucket() as fake:
            fake.add_token(TOKEN, BOT)
            answer = call(fake, "GET", f"{REPO}/pullrequest/5")
            assert answer.status_code == 404 and fake.violations


# -- what Pipelines sets ---------------------------------------------------------------------------


def test_pipeline_variables_of_a_pull_request_and_of_a_branch(fake):
    variables = fake.pipeline_variables(5, HEAD, BASE)
    assert variables["BITBUCKET_PR_ID"] == "5" and variables["BITBUCKET_COMMIT"] == HEAD
    assert variables["BITBUCKET_PR_DESTINATION_COMMIT"] == BASE[:12]
    assert variables["BITBUCKET_PR_DESTINATION_BRANCH"] == "main" and variables["BITBUCKET_BRANCH"] == "feature"
    assert variables["BITBUCKET_REPO_FULL_NAME"] == "team/model" and variables["CI"] == "true"
    assert variables["BITBUCKET_GIT_HTTP_ORIGIN"] == f"{fake.url}/team/model"
    assert (variables["MRBOT_BITBUCKET_API_URL"], variables["MRBOT_BITBUCKET_URL"]) == (fake.api_url, fake.url)
    branch = fake.pipeline_variables(None, HEAD, BITBUCKET_BUILD_NUMBER=None)
    assert not any(name.startswith("BITBUCKET_PR_") for name in branch)
    assert "BITBUCKET_BUILD_NUMBER" not in branch and branch["BITBUCKET_COMMIT"] == HEAD
