"""The Bitbucket driver over real HTTP, against the fake Bitbucket Cloud on 127.0.0.1: the same
scenarios as GitHub's and GitLab's (first run, re-run, foreign comments, duplicates, an older head,
5xx then success, refusals with the fix, an oversized report, the token never printed)."""

import logging
import re
import time

import pytest
import requests

from bot.ci.bitbucket import detect_bitbucket
from bot.errors import ForgeRefused
from bot.forges import open_forge
from bot.forges.base import marker, parse_marker
from bot.forges.bitbucket import COMMENT_LIMIT, open_bitbucket
from bot.forges.rest import ClientOptions, RestClient
from bot.publish import CREATED, SKIPPED_NEWER, UNCHANGED_BODY, UPDATED, PublishOptions, publish
from tests.forge_reports import HEAD, NEWER_HEAD, PNG, make_report
from tests.servers.bitbucket import FakeBitbucket, User

TOKEN = "ATCTT3xFfGN0SecretRepositoryAccessToken"
OTHER_TOKEN = "ATCTT3xFfGN0AliceToken"
BOT = User("{0b0b0b0b-0000-4000-8000-00000000b0b0}", "mrbot token", "mrbot-token", "acc-bot")
ALICE = User("{a11ce000-0000-4000-8000-00000000a11c}", "Alice", "alice", "acc-alice")
FAST = ClientOptions(backoff_factor=0)


@pytest.fixture
def fake():
    with FakeBitbucket() as server:
        server.add_token(TOKEN, BOT)
        server.add_token(OTHER_TOKEN, ALICE)
        server.add_pull_request(5, HEAD)
        yield server


@pytest.fixture
def bundle(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "training.png").write_bytes(PNG)
    return tmp_path


def forge_for(fake, options=FAST, **overrides):
    context = detect_bitbucket(fake.pipeline_variables(5, HEAD, **{"BITBUCKET_TOKEN": TOKEN, **overrides}))
    return open_bitbucket(context, {"status_context": "mrbot/model"}, options)


def own_comments(fake, pr=5):
    return [c for c in fake.pull_comments(pr) if c.user == BOT and not c.deleted and parse_marker(c.raw)]


def test_first_run_posts_one_comment_with_the_image_on_the_assets_branch_a_status_and_insights(fake, bundle):
    published = publish(forge_for(fake), make_report(images=["images/training.png"]), bundle, PublishOptions())

    assert published.action == CREATED
    [comment] = fake.pull_comments(5)
    assert comment.user == BOT
    # Bitbucket escapes HTML: the marker is a Markdown reference definition, and no tag is sent.
    assert comment.raw.startswith(marker("default", HEAD, html=False) + "\n## ✅ Model improved")
    assert not re.search(r"<(details|summary|sub|!--)", comment.raw)
    # The image: committed to mrbot-assets, linked by that commit through the web side, served there.
    tip = fake.branches["mrbot-assets"]
    [path] = [p for p in fake.trees[tip] if p.endswith("-training.png")]
    link = f"{fake.url}/team/model/raw/{tip}/{path}"
    assert f"![training]({link})" in comment.raw
    assert fake.trees[tip][path] == PNG
    assert "[skip ci]" in fake.commit_info[tip]["message"]
    assert published.comment_url.endswith(f"/pull-requests/5/_/diff#comment-{comment.id}")
    status = fake.statuses[(HEAD, "mrbot/model")]
    assert (status["state"], status["url"]) == ("SUCCESSFUL", published.comment_url)
    assert status["description"].startswith("test.accuracy +0.11")
    report = fake.reports[(HEAD, "mrbot-default")]
    assert (report["result"], report["report_type"], report["link"]) == ("PASSED", "TEST", published.comment_url)
    fields = {field["title"]: field for field in report["data"]}
    assert fields["Improved"] == {"title": "Improved", "type": "NUMBER", "value": 1}
    assert any(title.startswith("test.accuracy") and field["value"] == 0.91 for title, field in fields.items())


def test_a_rerun_edits_the_same_comment_and_an_unchanged_one_writes_nothing(fake, bundle):
    report = make_report(images=["images/training.png"])
    publish(forge_for(fake), report, bundle, PublishOptions())
    [first] = fake.pull_comments(5)
    assets_tip = fake.branches["mrbot-assets"]

    # MRBOT_BOT_UUID as a person may copy it: no braces, upper case.
    again = publish(forge_for(fake, MRBOT_BOT_UUID=BOT.uuid.strip("{}").upper()), report, bundle, PublishOptions())
    assert again.action == UNCHANGED_BODY
    assert fake.branches["mrbot-assets"] == assets_tip  # the same images: no new commit
    assert not fake.requests_to("PUT", r"/comments/\d+$")

    # Bitbucket does not tell an access token who it is: it proves its comment by one unchanged edit.
    proved = publish(forge_for(fake), report, bundle, PublishOptions())
    assert proved.action == UNCHANGED_BODY
    [proof] = fake.requests_to("PUT", r"/comments/\d+$")
    assert proof.path.endswith(f"/comments/{first.id}") and proof.json() == {"content": {"raw": first.raw}}
    assert fake.pull_comments(5)[0].raw == first.raw

    changed = publish(forge_for(fake), make_report(accuracy=0.7, images=["images/training.png"]), bundle,
                      PublishOptions())
    assert changed.action == UPDATED
    [comment] = fake.pull_comments(5)
    assert comment.id == first.id and "❌ Model regressed" in comment.raw
    assert fake.reports[(HEAD, "mrbot-default")]["result"] == "PASSED"  # reported, not gated


def test_the_gate_fails_the_status_and_the_insights_report(fake, bundle):
    report = make_report(accuracy=0.7)
    report.gate_failed = True
    publish(forge_for(fake), report, bundle, PublishOptions())
    assert fake.statuses[(HEAD, "mrbot/model")]["state"] == "FAILED"
    assert fake.reports[(HEAD, "mrbot-default")]["result"] == "FAILED"


def test_its_comment_is_found_after_50_foreign_ones_across_pages(fake, bundle):
    for index in range(50):
        # Alice quotes the marker too: only the token's user's comments are mrbot's.
        fake.add_comment(5, ALICE, f"{marker('default', HEAD)}\nquoted {index}" if index % 10 == 0 else f"lgtm {index}")
    fake.add_comment(5, BOT, f"{marker('default', HEAD)}\nold report")
    for index in range(70):
        fake.add_comment(5, ALICE, f"more {index}")

    published = publish(forge_for(fake), make_report(), bundle, PublishOptions())

    assert published.action == UPDATED
    assert len(own_comments(fake)) == 1
    assert len(fake.requests_to("GET", r"/pullrequests/5/comments$")) >= 2  # it read past the first page
    assert all(c.raw.startswith(("lgtm", "more")) or "quoted" in c.raw for c in fake.pull_comments(5) if c.user == ALICE)


def test_duplicates_are_deleted_and_the_oldest_is_kept(fake, bundle):
    for text in ("first", "second", "third"):
        fake.add_comment(5, BOT, f"{marker('default', HEAD)}\n{text}")
    oldest = fake.pull_comments(5)[0].id
    publish(forge_for(fake), make_report(), bundle, PublishOptions())
    [kept] = own_comments(fake)
    assert kept.id == oldest
    assert len(fake.requests_to("DELETE", r"/comments/\d+$")) == 2


def test_an_older_head_never_overwrites_the_report_of_a_newer_one(fake, bundle):
    fake.pull_requests[5].head_sha = NEWER_HEAD
    fake.commits.add(NEWER_HEAD)
    fake.add_comment(5, BOT, f"{marker('default', NEWER_HEAD)}\nnewer report")
    published = publish(forge_for(fake), make_report(head=HEAD), bundle, PublishOptions())
    assert published.action == SKIPPED_NEWER
    assert "newer report" in own_comments(fake)[0].raw


@pytest.mark.parametrize("branch_after", ["deleted", "recreated"])
def test_images_are_committed_again_when_the_assets_branch_lost_their_commit(fake, bundle, branch_after):
    report = make_report(images=["images/training.png"])
    publish(forge_for(fake), report, bundle, PublishOptions())
    old_commit = fake.branches.pop("mrbot-assets")
    if branch_after == "recreated":  # someone's fresh start of the branch, from main
        fake.branches["mrbot-assets"] = fake.main_tip
    again = publish(forge_for(fake), report, bundle, PublishOptions())
    new_commit = fake.branches["mrbot-assets"]
    assert again.action == UPDATED and new_commit != old_commit
    [comment] = fake.pull_comments(5)
    assert f"/raw/{new_commit}/" in comment.raw and old_commit not in comment.raw
    [path] = [p for p in fake.trees[new_commit] if p.endswith("-training.png")]
    assert fake.trees[new_commit][path] == PNG


def test_502_then_success_is_retried(fake, bundle):
    fake.fail("POST", r"/pullrequests/5/comments$", 502, times=2)
    assert publish(forge_for(fake), make_report(), bundle, PublishOptions()).action == CREATED
    assert len(own_comments(fake)) == 1


def test_429_waits_as_retry_after_says(fake, bundle):
    fake.fail("GET", r"/pullrequests/5/comments$", 429, times=1, headers={"Retry-After": "1"})
    started = time.monotonic()
    assert publish(forge_for(fake), make_report(), bundle, PublishOptions()).action == CREATED
    assert time.monotonic() - started >= 0.9  # FAST has no backoff of its own: this is Retry-After's wait
    # The 429, its retry, and the look after commenting for another run's comment.
    assert len(fake.requests_to("GET", r"/pullrequests/5/comments$")) == 3


def test_a_retry_after_of_an_hour_is_cut_to_the_longest_wait():
    retry = ClientOptions(max_wait=0.2)
    response = requests.Response()
    response.status_code, response.headers["Retry-After"] = 429, "3600"
    client = RestClient("https://api.bitbucket.org/2.0", {}, "t", lambda r: ("", None), "Bitbucket", "X", retry)
    adapter = client.session.get_adapter("https://api.bitbucket.org/2.0")
    assert adapter.max_retries.get_retry_after(response) == 0.2
    response.headers["Retry-After"] = "2"
    assert adapter.max_retries.get_retry_after(response) == 0.2


def test_bitbucket_down_for_good_is_one_line_with_the_status(fake, bundle):
    fake.fail("POST", r"/pullrequests/5/comments$", 503, times=None)
    with pytest.raises(ForgeRefused, match=r"503 .*re-run later"):
        publish(forge_for(fake, ClientOptions(retries=1, backoff_factor=0)), make_report(), bundle, PublishOptions())


def test_a_wrong_token_is_401_naming_the_variable_and_how_to_make_one(fake, caplog):
    with pytest.raises(ForgeRefused) as refused:
        forge_for(fake, BITBUCKET_TOKEN="ATCTT3xFfGN0NotAValidToken")
    message = str(refused.value)
    assert "401" in message and "BITBUCKET_TOKEN" in message and "pullrequest:write" in message
    assert "ATCTT3xFfGN0NotAValidToken" not in message + caplog.text


def test_a_token_without_write_scope_is_403_naming_the_scope(fake, bundle):
    fake.add_token("ATCTT3xFfGN0ReadOnly", BOT, scopes=("repository", "pullrequest"))
    forge = forge_for(fake, BITBUCKET_TOKEN="ATCTT3xFfGN0ReadOnly")
    with pytest.raises(ForgeRefused) as refused:
        publish(forge, make_report(), bundle, PublishOptions())
    # The scope Bitbucket named in its answer, not the list of every scope mrbot may need.
    assert "give the token in BITBUCKET_TOKEN the scope pullrequest:write" in str(refused.value)
    assert "repository:write" not in str(refused.value)


def test_refused_images_and_insights_cost_only_themselves(fake, bundle, caplog):
    # A branch restriction on mrbot-assets, and Code Insights refused (the scopes imply repository:write).
    fake.fail("POST", r"/src$", 403, {"type": "error", "error": {"message": "Branch restriction"}}, times=None)
    fake.fail("PUT", r"/reports/", 403, times=None)
    caplog.set_level(logging.WARNING)
    published = publish(forge_for(fake), make_report(images=["images/training.png"]), bundle, PublishOptions())
    assert published.action == CREATED
    [comment] = fake.pull_comments(5)
    assert "Images are not shown" in comment.raw and "branch restriction" in comment.raw
    assert "```mermaid" in comment.raw
    assert fake.statuses[(HEAD, "mrbot/model")]["state"] == "SUCCESSFUL"
    assert not fake.reports
    assert "no Code Insights report" in caplog.text


def test_an_oversized_report_is_cut_to_fit_a_comment(fake, bundle):
    published = publish(forge_for(fake), make_report(extra_improved=3000, name_width=40), bundle, PublishOptions())
    [comment] = fake.pull_comments(5)
    assert len(comment.raw) <= COMMENT_LIMIT < fake.comment_limit
    assert published.action == CREATED and "report artifact" in comment.raw


def test_a_branch_pipeline_comments_on_the_commit(fake, bundle):
    context = detect_bitbucket(fake.pipeline_variables(None, HEAD, BITBUCKET_TOKEN=TOKEN))
    fake.commits.add(HEAD)
    forge = open_bitbucket(context, {}, FAST)
    publish(forge, make_report(), bundle, PublishOptions())
    publish(forge, make_report(accuracy=0.7), bundle, PublishOptions())
    [comment] = fake.commit_comments(HEAD)
    assert "❌ Model regressed" in comment.raw
    assert fake.statuses[(HEAD, "mrbot")]["state"] == "SUCCESSFUL"


def test_the_token_only_travels_in_the_auth_header(fake, bundle):
    publish(forge_for(fake), make_report(images=["images/training.png"]), bundle, PublishOptions())
    for request in fake.server.requests:
        assert TOKEN not in request.path + str(request.query) + request.body.decode("utf-8", "replace")
    assert all(request.headers.get("Authorization") == f"Bearer {TOKEN}" for request in fake.server.requests
               if request.path.startswith("/2.0"))


def test_open_forge_guards_an_answer_it_cannot_use(fake, bundle):
    fake.fail("GET", r"/pullrequests/5/comments$", 200, body="<html>a proxy's login page</html>", times=None)
    forge = open_forge(detect_bitbucket(fake.pipeline_variables(5, HEAD, BITBUCKET_TOKEN=TOKEN)), {})
    with pytest.raises(ForgeRefused, match="Bitbucket answered something mrbot cannot use"):
        forge.report_comments("default")
