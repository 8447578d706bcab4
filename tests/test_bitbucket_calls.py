"""Single Bitbucket calls of the driver, checked request by request with `responses`."""

import base64
import json
import logging

import pytest
import responses

from bot import __version__
from bot.ci.bitbucket import detect_bitbucket
from bot.errors import ForgeRefused
from bot.forges.base import CheckRun, Comment, ImagesUnavailable, marker
from bot.forges.bitbucket import open_bitbucket
from bot.forges.rest import ClientOptions

API = "https://api.bitbucket.org/2.0"
REPO = f"{API}/repositories/team/model"
HEAD = "d" * 40
TOKEN = "ATCTT3xFfGN0-unit-token-value"
BOT = "{b0b0b0b0-0000-4000-8000-000000000001}"
PNG = b"\x89PNG\r\n\x1a\n" + b"png bytes"
NO_RETRIES = ClientOptions(retries=0)


def environment(**overrides):
    return {"BITBUCKET_BUILD_NUMBER": "17", "BITBUCKET_COMMIT": HEAD, "BITBUCKET_PR_ID": "5",
            "BITBUCKET_REPO_FULL_NAME": "team/model", "BITBUCKET_TOKEN": TOKEN, **overrides}


def comment_json(comment_id, raw, uuid=BOT, deleted=False):
    return {"id": comment_id, "content": {"raw": raw}, "user": {"uuid": uuid}, "deleted": deleted,
            "created_on": f"2026-01-01T00:00:{comment_id:02d}+00:00",
            "links": {"html": {"href": f"https://bitbucket.org/team/model/pull-requests/5/_/diff#comment-{comment_id}"}}}


@pytest.fixture
def mocked():
    with responses.RequestsMock() as mock:
        mock.get(f"{API}/user", json={"uuid": BOT, "display_name": "mrbot token"})
        mock.get(REPO, json={"full_name": "team/model"})
        yield mock


def open_forge(**overrides):
    return open_bitbucket(detect_bitbucket(environment(**overrides)), {"status_context": "ci/mrbot"}, NO_RETRIES)


def test_every_call_carries_the_bearer_token_and_mrbots_user_agent(mocked):
    open_forge()
    for call in mocked.calls:
        assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert call.request.headers["User-Agent"] == f"mrbot/{__version__}"


def test_an_api_token_goes_as_basic_auth_with_its_email(mocked):
    open_forge(MRBOT_BITBUCKET_EMAIL="ci@example.com")
    expected = "Basic " + base64.b64encode(f"ci@example.com:{TOKEN}".encode()).decode()
    assert mocked.calls[0].request.headers["Authorization"] == expected


def test_own_comments_are_the_token_users_with_a_marker_deleted_ones_left_out(mocked):
    forge = open_forge()
    ours = marker("default", HEAD) + "\nreport"
    page2 = f"{REPO}/pullrequests/5/comments?pagelen=100&page=2"
    mocked.get(f"{REPO}/pullrequests/5/comments", match=[responses.matchers.query_param_matcher({"pagelen": "100"})],
               json={"values": [comment_json(1, ours, uuid="{someone-else}"), comment_json(2, ours, deleted=True)],
                     "next": page2})
    mocked.get(page2, json={"values": [comment_json(3, ours), comment_json(4, "plain")]})
    found = forge.report_comments("default")
    assert [comment.id for comment in found] == [3]
    assert found[0].url.endswith("#comment-3")


def test_a_page_link_to_another_host_is_refused_so_the_token_stays_home(mocked):
    forge = open_forge()
    mocked.get(f"{REPO}/pullrequests/5/comments", json={"values": [], "next": "https://evil.example/steal"})
    with pytest.raises(ForgeRefused, match="another server"):
        forge.report_comments("default")


def test_the_short_head_bitbucket_gives_is_resolved_to_the_whole_sha(mocked):
    forge = open_forge()
    newer = "e" * 40
    mocked.get(f"{REPO}/pullrequests/5", json={"source": {"commit": {"hash": newer[:12]}}})
    mocked.get(f"{REPO}/commit/{newer[:12]}", json={"hash": newer})
    assert forge.current_head_sha() == newer
    mocked.replace(responses.GET, f"{REPO}/pullrequests/5", json={"source": {"commit": {"hash": HEAD[:12]}}})
    calls = len(mocked.calls)
    assert forge.current_head_sha() == HEAD
    assert len(mocked.calls) == calls + 1  # its own head: no commit lookup


def test_comments_are_created_and_edited_as_raw_markdown(mocked):
    forge = open_forge()
    mocked.post(f"{REPO}/pullrequests/5/comments", json=comment_json(9, "body"), status=201)
    mocked.put(f"{REPO}/pullrequests/5/comments/9", json=comment_json(9, "new body"))
    created = forge.create_comment("body")
    updated = forge.update_comment(created, "new body")
    assert json.loads(mocked.calls[-2].request.body) == {"content": {"raw": "body"}}
    assert (updated.id, updated.body) == (9, "new body")


@pytest.mark.parametrize("state, target, expected_state, expected_url", [
    ("success", "https://bitbucket.org/c", "SUCCESSFUL", "https://bitbucket.org/c"),
    ("failure", "", "FAILED", "https://bitbucket.org/team/model/pipelines/results/17"),
])
def test_build_status_maps_the_state_and_always_has_a_link(mocked, state, target, expected_state, expected_url):
    forge = open_forge()
    mocked.post(f"{REPO}/commit/{HEAD}/statuses/build", json={}, status=201)
    forge.set_status(state, "x" * 300, target)
    sent = json.loads(mocked.calls[-1].request.body)
    assert (sent["key"], sent["state"], sent["url"]) == ("ci/mrbot", expected_state, expected_url)
    assert len(sent["description"]) == 140


def test_code_insights_report_has_typed_fields_and_the_gates_result(mocked):
    forge = open_forge()
    mocked.put(f"{REPO}/commit/{HEAD}/reports/mrbot-default", json={})
    facts = (("Verdict", "❌ Model regressed"), ("Regressed", 1), ("test.acc (-0.1 (-10.0%))", 0.81),
             ("odd", float("nan")), ("huge", 10**400))
    url = forge.set_check_run(CheckRun("failure", "❌ Model regressed: 1 metric regressed", "# long markdown",
                                       "default", "https://bitbucket.org/c", "test.acc -0.1 (-10.0%)", facts))
    sent = json.loads(mocked.calls[-1].request.body)
    assert url == f"https://bitbucket.org/team/model/commits/{HEAD}"
    assert (sent["result"], sent["report_type"], sent["link"]) == ("FAILED", "TEST", "https://bitbucket.org/c")
    assert sent["details"].startswith("test.acc -0.1 (-10.0%)")
    assert [field["type"] for field in sent["data"]] == ["TEXT", "NUMBER", "NUMBER", "TEXT", "TEXT"]
    assert sent["data"][2]["value"] == 0.81


def test_no_insights_permission_is_one_log_line_not_a_failure(mocked, caplog):
    forge = open_forge()
    mocked.put(f"{REPO}/commit/{HEAD}/reports/mrbot-default", status=403,
               json={"type": "error", "error": {"message": "Forbidden", "detail": {"required": ["repository:write"]}}})
    with caplog.at_level(logging.WARNING):
        assert forge.set_check_run(CheckRun("success", "t", "s", "default")) == ""
    assert "repository:write" in caplog.text


def test_the_insights_report_says_where_the_full_report_is():
    check = CheckRun("success", "t", "s", "default", "https://bitbucket.org/c", "acc +0.1")
    with responses.RequestsMock() as mock:
        mock.get(REPO, json={})
        mock.get(f"{API}/user", json={"uuid": BOT})
        put = mock.put(f"{REPO}/commit/{HEAD}/reports/mrbot-default", json={})
        open_forge().set_check_run(check)
        branch = {name: value for name, value in environment().items() if name != "BITBUCKET_PR_ID"}
        forge = open_bitbucket(detect_bitbucket(branch), {}, NO_RETRIES)
        forge.set_check_run(check)
        forge.set_check_run(CheckRun("success", "t", "s", "default", "", "acc +0.1"))  # --comment-mode off
    on_pull, on_commit, no_comment = [json.loads(call.request.body) for call in put.calls]
    assert on_pull["details"] == "acc +0.1 The full report is mrbot's comment on pull request #5."
    assert on_commit["details"] == f"acc +0.1 The full report is mrbot's comment on commit {HEAD[:8]}."
    assert no_comment["details"] == "acc +0.1 The full report is in the pipeline's artifacts."
    assert no_comment["link"] == "https://bitbucket.org/team/model/pipelines/results/17"


def test_an_insights_report_bitbucket_refuses_is_sent_again_without_its_figures(mocked):
    forge = open_forge()
    url = f"{REPO}/commit/{HEAD}/reports/mrbot-default"
    mocked.put(url, status=400, json={"type": "error", "error": {"message": "data: too many fields"}})
    mocked.put(url, json={})
    facts = tuple((f"metric {n}", n) for n in range(10))
    check = CheckRun("failure", "❌ Model regressed: " + "x" * 600, "s", "default", "https://bitbucket.org/c", "d" * 3000, facts)
    assert forge.set_check_run(check)
    first, second = [json.loads(call.request.body) for call in mocked.calls if call.request.method == "PUT"]
    assert len(first["data"]) == 6 and len(first["details"]) == 2000 and len(first["title"]) == 450
    assert second["data"] == [] and len(second["details"]) <= 250 and len(second["title"]) <= 250
    assert second["result"] == "FAILED"


def test_an_insights_report_refused_twice_is_one_warning_not_a_failure(mocked, caplog):
    forge = open_forge()
    mocked.put(f"{REPO}/commit/{HEAD}/reports/mrbot-default", status=400,
               json={"type": "error", "error": {"message": "Bad request"}})
    with caplog.at_level(logging.WARNING):
        assert forge.set_check_run(CheckRun("success", "t", "s", "default")) == ""
    assert "no Code Insights report" in caplog.text and "Bad request" in caplog.text


@pytest.mark.parametrize("head", ["", "abc", None, "g" * 12])
def test_a_pull_request_whose_head_is_no_sha_is_one_line(mocked, head):
    forge = open_forge()
    mocked.get(f"{REPO}/pullrequests/5", json={"source": {"commit": {"hash": head}}})
    with pytest.raises(ValueError, match="not a commit sha"):
        forge.current_head_sha()


def test_a_short_pipeline_commit_is_resolved_not_returned_as_the_head(mocked):
    forge = open_forge(BITBUCKET_COMMIT=HEAD[:12])
    mocked.get(f"{REPO}/pullrequests/5", json={"source": {"commit": {"hash": HEAD[:12]}}})
    mocked.get(f"{REPO}/commit/{HEAD[:12]}", json={"hash": HEAD})
    assert forge.current_head_sha() == HEAD


def test_images_go_in_one_commit_on_a_new_assets_branch_linked_by_that_commit(mocked, tmp_path):
    forge = open_forge()
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "roc.png").write_bytes(PNG)
    commit = "a" * 40
    mocked.get(f"{REPO}/pullrequests/5/comments", json={"values": []})
    mocked.get(f"{REPO}/refs/branches/mrbot-assets", status=404, json={"type": "error", "error": {"message": "nope"}})
    mocked.post(f"{REPO}/src", status=201, headers={"Location": f"{REPO}/commit/{commit}"})
    url = forge.host_images(tmp_path, ["plots/roc.png"])("plots/roc.png")
    sent = mocked.calls[-1].request
    assert b'name="branch"' in sent.body and b"mrbot-assets" in sent.body and b"[skip ci]" in sent.body
    assert b'name="parents"' not in sent.body  # a new branch
    assert PNG in sent.body
    assert url.startswith(f"https://bitbucket.org/team/model/raw/{commit}/pr-5/{HEAD}/")
    assert url.endswith("-roc.png")


def first_images(mocked, tmp_path, commit="a" * 40):
    """A forge whose first run committed roc.png at `commit`; the PR's comment links it."""
    forge = open_forge()
    (tmp_path / "roc.png").write_bytes(PNG)
    mocked.get(f"{REPO}/pullrequests/5/comments", json={"values": []})
    mocked.get(f"{REPO}/refs/branches/mrbot-assets", status=404, json={})
    mocked.post(f"{REPO}/src", status=201, headers={"Location": f"{REPO}/commit/{commit}"})
    url = forge.host_images(tmp_path, ["roc.png"])("roc.png")
    earlier = comment_json(3, f"{marker('default', HEAD)}\n![roc]({url})")
    mocked.replace(responses.GET, f"{REPO}/pullrequests/5/comments", json={"values": [earlier]})
    return forge, url


def posts(mocked):
    return sum(call.request.method == "POST" for call in mocked.calls)


def test_a_rerun_links_the_images_its_earlier_comment_did_without_committing(mocked, tmp_path):
    forge, url = first_images(mocked, tmp_path)
    mocked.replace(responses.GET, f"{REPO}/refs/branches/mrbot-assets", json={"target": {"hash": "b" * 40}})
    mocked.get(f"{REPO}/merge-base/{'a' * 40}..{'b' * 40}", json={"hash": "a" * 40})  # still on the branch
    before = posts(mocked)
    assert forge.host_images(tmp_path, ["roc.png"])("roc.png") == url
    assert posts(mocked) == before


def test_images_are_committed_again_when_the_assets_branch_was_deleted(mocked, tmp_path):
    forge, url = first_images(mocked, tmp_path)
    mocked.replace(responses.POST, f"{REPO}/src", status=201, headers={"Location": f"{REPO}/commit/{'c' * 40}"})
    assert f"/raw/{'c' * 40}/" in forge.host_images(tmp_path, ["roc.png"])("roc.png")  # the branch still 404s


def test_images_are_committed_again_when_the_branch_no_longer_holds_their_commit(mocked, tmp_path):
    forge, url = first_images(mocked, tmp_path)
    mocked.replace(responses.GET, f"{REPO}/refs/branches/mrbot-assets", json={"target": {"hash": "e" * 40}})
    mocked.get(f"{REPO}/merge-base/{'a' * 40}..{'e' * 40}", json={"hash": "f" * 40})  # recreated elsewhere
    mocked.replace(responses.POST, f"{REPO}/src", status=201, headers={"Location": f"{REPO}/commit/{'c' * 40}"})
    assert f"/raw/{'c' * 40}/" in forge.host_images(tmp_path, ["roc.png"])("roc.png")
    assert b"e" * 40 in mocked.calls[-1].request.body  # on top of the branch as it is now


def test_a_moved_assets_branch_is_committed_on_again_on_top_of_its_new_tip(mocked, tmp_path):
    forge = open_forge()
    (tmp_path / "roc.png").write_bytes(PNG)
    mocked.get(f"{REPO}/pullrequests/5/comments", json={"values": []})
    mocked.get(f"{REPO}/refs/branches/mrbot-assets", json={"target": {"hash": "1" * 40}})
    mocked.get(f"{REPO}/refs/branches/mrbot-assets", json={"target": {"hash": "3" * 40}})  # moved meanwhile
    mocked.post(f"{REPO}/src", status=409, json={"type": "error", "error": {"message": "not the tip"}})
    mocked.post(f"{REPO}/src", status=201, headers={"Location": f"{REPO}/commit/{'2' * 40}"})
    assert f"/raw/{'2' * 40}/" in forge.host_images(tmp_path, ["roc.png"])("roc.png")
    first, second = [call.request.body for call in mocked.calls if call.request.method == "POST"]
    assert b"1" * 40 in first and b"3" * 40 in second and b"1" * 40 not in second


def test_a_commit_without_location_whose_branch_then_fails_costs_the_images_only(mocked, tmp_path):
    forge = open_forge()
    (tmp_path / "roc.png").write_bytes(PNG)
    mocked.get(f"{REPO}/pullrequests/5/comments", json={"values": []})
    mocked.get(f"{REPO}/refs/branches/mrbot-assets", status=404, json={})
    mocked.get(f"{REPO}/refs/branches/mrbot-assets", status=500, json={})
    mocked.post(f"{REPO}/src", status=201)  # no Location
    with pytest.raises(ImagesUnavailable, match="which commit"):
        forge.host_images(tmp_path, ["roc.png"])


def test_a_branch_answer_without_its_commit_costs_the_images_only(mocked, tmp_path):
    forge = open_forge()
    (tmp_path / "roc.png").write_bytes(PNG)
    mocked.get(f"{REPO}/pullrequests/5/comments", json={"values": []})
    mocked.get(f"{REPO}/refs/branches/mrbot-assets", json={"name": "mrbot-assets"})
    with pytest.raises(ImagesUnavailable, match="without its commit"):
        forge.host_images(tmp_path, ["roc.png"])


def test_no_write_access_costs_the_images_only(mocked, tmp_path):
    forge = open_forge()
    (tmp_path / "roc.png").write_bytes(PNG)
    mocked.get(f"{REPO}/pullrequests/5/comments", json={"values": []})
    mocked.get(f"{REPO}/refs/branches/mrbot-assets", status=404, json={})
    mocked.post(f"{REPO}/src", status=403, json={"type": "error", "error": {"message": "Forbidden"}})
    with pytest.raises(ImagesUnavailable, match="repository:write"):
        forge.host_images(tmp_path, ["roc.png"])


NOT_A_USER = {"type": "error", "error": {"message": "This API is not accessible by this authentication mechanism"}}
OTHER = "{0f0f0f0f-0000-4000-8000-000000000002}"


def test_an_access_token_that_may_not_read_its_user_proves_its_comments_by_editing_one(caplog):
    """Bitbucket refuses GET /user to access tokens: a marked comment that takes an unchanged edit
    is the token's; one whose edit is refused is someone else's, quoting the marker."""
    caplog.set_level(logging.INFO, logger="bot.forges.bitbucket")
    foreign = comment_json(2, f"{marker('default', 'e' * 40)}\nlooks like mrbot", uuid=OTHER)
    own = comment_json(4, f"{marker('default', HEAD)}\nthe report")
    with responses.RequestsMock() as mock:
        mock.get(REPO, json={})
        mock.get(f"{API}/user", status=403, json=NOT_A_USER)
        forge = open_forge()
        assert forge.own_uuid == ""
        mock.get(f"{REPO}/pullrequests/5/comments", json={"values": [foreign, own]})
        refused = mock.put(f"{REPO}/pullrequests/5/comments/2", status=403,
                           json={"type": "error", "error": {"message": "You can only edit your own comments"}})
        proof = mock.put(f"{REPO}/pullrequests/5/comments/4", json=own)
        assert [comment.id for comment in forge.report_comments("default")] == [4]
        assert [comment.id for comment in forge.report_comments("default")] == [4]  # learned once
    assert refused.call_count == 1 and proof.call_count == 1
    assert json.loads(proof.calls[0].request.body) == {"content": {"raw": own["content"]["raw"]}}  # unchanged
    assert forge.own_uuid == BOT and f"MRBOT_BOT_UUID={BOT}" in caplog.text


def test_a_token_with_no_comment_yet_learns_its_uuid_from_the_one_it_posts():
    with responses.RequestsMock() as mock:
        mock.get(REPO, json={})
        mock.get(f"{API}/user", status=403, json=NOT_A_USER)
        forge = open_forge()
        mock.get(f"{REPO}/pullrequests/5/comments", json={"values": [
            comment_json(2, f"{marker('default', HEAD)}\nquoted", uuid=OTHER)]})
        mock.put(f"{REPO}/pullrequests/5/comments/2", status=403, json={})
        assert forge.report_comments("default") == []
        mock.post(f"{REPO}/pullrequests/5/comments", status=201, json=comment_json(7, "report"))
        forge.create_comment("report")
    assert forge.own_uuid == BOT


def test_only_a_few_authors_are_tried_however_many_quote_the_marker(caplog):
    quoted = [comment_json(n, f"{marker('default', HEAD)}\nquoted",
                           uuid=f"{{0f0f0f0f-0000-4000-8000-{n:012d}}}") for n in range(1, 11)]
    with responses.RequestsMock() as mock:
        mock.get(REPO, json={})
        mock.get(f"{API}/user", status=403, json=NOT_A_USER)
        forge = open_forge()
        mock.get(f"{REPO}/pullrequests/5/comments", json={"values": quoted})
        edits = [mock.put(f"{REPO}/pullrequests/5/comments/{n}", status=403, json={}) for n in range(1, 4)]
        assert forge.report_comments("default") == []
    assert [edit.call_count for edit in edits] == [1, 1, 1]
    assert "10 authors" in caplog.text


def test_with_the_bot_uuid_given_the_user_is_not_asked():
    with responses.RequestsMock() as mock:
        mock.get(REPO, json={})
        forge = open_forge(MRBOT_BOT_UUID=BOT)
        assert forge.own_uuid == BOT
        assert [call.request.url for call in mock.calls] == [REPO]


def test_a_wrong_token_is_one_line_naming_the_variable_and_never_the_token():
    with responses.RequestsMock() as mock:
        mock.get(REPO, status=401, json={"type": "error", "error": {"message": f"Bad token {TOKEN}"}})
        with pytest.raises(ForgeRefused) as refused:
            open_forge()
    message = str(refused.value)
    assert "BITBUCKET_TOKEN" in message and "access token" in message and TOKEN not in message
    assert "\n" not in message


def test_no_token_is_refused_before_any_request():
    with responses.RequestsMock():
        with pytest.raises(ForgeRefused, match="no Bitbucket token"):
            open_forge(BITBUCKET_TOKEN="")


def test_comment_ids_come_back_as_the_same_comment(mocked):
    forge = open_forge()
    mocked.delete(f"{REPO}/pullrequests/5/comments/4", status=204)
    forge.delete_comment(Comment(4, "", "u", ""))
    assert mocked.calls[-1].request.method == "DELETE"
