"""The Forgejo/Gitea driver over real HTTP, against the fake Forgejo on 127.0.0.1 (held to Forgejo's
swagger): the same scenarios as the other forges' (first run, re-run, foreign comments, duplicates,
an older head, 5xx then success, refusals with the fix, an oversized report, the token never
printed), with the job token of a pull request's Actions run."""

import logging

import pytest

from bot.ci import detect
from bot.ci.context import FORGEJO
from bot.ci.forgejo import is_forgejo
from bot.errors import BadInput, ForgeRefused
from bot.forges import open_forge
from bot.forges.base import marker, parse_marker
from bot.forges.forgejo import COMMENT_LIMIT, open_forgejo
from bot.forges.rest import ClientOptions
from bot.publish import CREATED, SKIPPED_NEWER, SKIPPED_OFF, UNCHANGED_BODY, UPDATED, PublishOptions, publish
from tests.forge_reports import BASE, HEAD, NEWER_HEAD, PNG, make_report
from tests.servers.forgejo import FakeForgejo, running

FAST = ClientOptions(backoff_factor=0)


@pytest.fixture
def fake():
    with running(FakeForgejo()) as server:
        server.add_pull(5, HEAD, BASE)
        yield server


@pytest.fixture
def alice(fake):
    return fake.add_token("alice-token", 31, "alice")


@pytest.fixture
def bundle(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "training.png").write_bytes(PNG)
    return tmp_path


def job_context(fake, tmp_path, forge="forgejo", fork=False, **overrides):
    return detect(fake.pipeline_environment(5, HEAD, BASE, tmp_path, forge=forge, fork=fork, **overrides))


def forge_for(fake, tmp_path, options=FAST, **kwargs):
    return open_forgejo(job_context(fake, tmp_path, **kwargs), {"status_context": "mrbot/model"}, options)


def own_comments(fake):
    actions = fake.tokens[fake.job_token].user
    return [c for c in fake.comments[5] if c.user == actions and parse_marker(c.body)]


def test_forgejo_and_gitea_jobs_are_told_from_github(fake, tmp_path):
    for forge in ("forgejo", "gitea"):
        context = job_context(fake, tmp_path, forge=forge, GITHUB_TOKEN=fake.actions_token())
        assert context.forge == FORGEJO and context.api_url == fake.api_url and context.number == 5
        assert context.run_url == f"{fake.url}/ml-team/model/actions/runs/129"
    # Without the runners' own markers, the API at /api/v1 still says which forge it is.
    environ = fake.pipeline_environment(5, HEAD, BASE, tmp_path, GITEA_ACTIONS=None, FORGEJO_ACTIONS=None)
    assert detect(environ).forge == FORGEJO


def test_first_run_posts_one_comment_with_its_image_attached_and_a_status(fake, bundle, tmp_path):
    published = publish(forge_for(fake, tmp_path), make_report(images=["images/training.png"]), bundle,
                        PublishOptions())

    # The comment is made first so the image can be attached to it, then filled with the report.
    assert published.action == UPDATED
    [comment] = fake.comments[5]
    assert comment.user.login == "forgejo-actions"
    assert comment.body.startswith(marker("default", HEAD) + "\n## ✅ Model improved")
    [attachment] = comment.assets
    assert attachment.data == PNG and attachment.name.endswith("-training.png")
    assert f"![training]({fake.url}/attachments/{attachment.uuid})" in comment.body
    assert "```mermaid" not in comment.body
    [status] = fake.statuses[HEAD]
    assert (status["status"], status["context"], status["target_url"]) == ("success", "mrbot/model",
                                                                           published.comment_url)
    assert status["description"].startswith("test.accuracy +0.11")


def test_a_rerun_edits_the_same_comment_reuses_its_attachment_and_drops_stale_ones(fake, bundle, tmp_path):
    publish(forge_for(fake, tmp_path), make_report(images=["images/training.png"]), bundle, PublishOptions())
    [first] = fake.comments[5]
    [attachment] = first.assets

    again = publish(forge_for(fake, tmp_path), make_report(images=["images/training.png"]), bundle, PublishOptions())
    assert again.action == UNCHANGED_BODY
    assert [a.uuid for a in fake.comments[5][0].assets] == [attachment.uuid]

    # A new chart: attached; the old one, still in the body until the edit, stays until the next run.
    (bundle / "images" / "training.png").write_bytes(PNG + b"new")
    changed = publish(forge_for(fake, tmp_path), make_report(accuracy=0.7, images=["images/training.png"]), bundle,
                      PublishOptions())
    assert changed.action == UPDATED
    [comment] = fake.comments[5]
    assert comment.id == first.id and "❌ Model regressed" in comment.body
    assert len(comment.assets) == 2
    publish(forge_for(fake, tmp_path), make_report(accuracy=0.7, images=["images/training.png"]), bundle,
            PublishOptions())
    assert [a.data for a in fake.comments[5][0].assets] == [PNG + b"new"]


def test_its_comment_is_found_among_foreign_ones_and_others_are_never_touched(fake, alice, bundle, tmp_path):
    # The job token may edit anyone's comment here (write access): mrbot must keep to its own.
    for index in range(50):
        fake.add_comment(5, alice, f"{marker('default', HEAD)}\nquoted {index}" if index % 10 == 0 else f"lgtm {index}")
    theirs = [(c.id, c.body) for c in fake.comments[5]]
    publish(forge_for(fake, tmp_path), make_report(), bundle, PublishOptions())
    publish(forge_for(fake, tmp_path), make_report(accuracy=0.7), bundle, PublishOptions())
    assert len(own_comments(fake)) == 1
    assert [(c.id, c.body) for c in fake.comments[5] if c.user == alice] == theirs
    touched = {r.path.rsplit("/", 1)[-1] for r in fake.server.requests if r.method in ("PATCH", "DELETE")}
    assert not touched & {str(comment_id) for comment_id, _ in theirs}


def test_duplicates_are_deleted_and_the_oldest_kept(fake, bundle, tmp_path):
    forge = forge_for(fake, tmp_path)
    actions = fake.tokens[fake.job_token].user
    for text in ("first", "second", "third"):
        fake.add_comment(5, actions, f"{marker('default', HEAD)}\n{text}")
    oldest = fake.comments[5][0].id
    publish(forge, make_report(), bundle, PublishOptions())
    assert [c.id for c in own_comments(fake)] == [oldest]
    assert len(fake.requests_to("DELETE", r"/issues/comments/\d+$")) == 2


def test_with_duplicates_the_image_goes_to_the_comment_that_stays(fake, bundle, tmp_path):
    forge = forge_for(fake, tmp_path)
    actions = fake.tokens[fake.job_token].user
    for text in ("first", "second"):
        fake.add_comment(5, actions, f"{marker('default', HEAD)}\n{text}")
    kept = fake.comments[5][0]
    publish(forge, make_report(images=["images/training.png"]), bundle, PublishOptions())
    assert [c.id for c in own_comments(fake)] == [kept.id]
    [attachment] = kept.assets
    assert f"/attachments/{attachment.uuid})" in kept.body


def test_an_older_head_never_overwrites_the_report_of_a_newer_one(fake, bundle, tmp_path):
    forge = forge_for(fake, tmp_path)
    fake.add_comment(5, fake.tokens[fake.job_token].user, f"{marker('default', NEWER_HEAD)}\nnewer report")
    fake.pulls[5].head_sha = NEWER_HEAD
    fake.commits.add(HEAD)
    published = publish(forge, make_report(head=HEAD), bundle, PublishOptions())
    assert published.action == SKIPPED_NEWER
    assert "newer report" in own_comments(fake)[0].body


def test_502_then_success_is_retried(fake, bundle, tmp_path):
    fake.fail("POST", r"/issues/5/comments$", 502, times=2)
    assert publish(forge_for(fake, tmp_path), make_report(), bundle, PublishOptions()).action == CREATED
    assert len(own_comments(fake)) == 1


def test_down_for_good_is_one_line_with_the_status(fake, bundle, tmp_path):
    fake.fail("POST", r"/issues/5/comments$", 503, times=None)
    with pytest.raises(ForgeRefused, match=r"503 .*re-run later"):
        publish(forge_for(fake, tmp_path, ClientOptions(retries=1, backoff_factor=0)), make_report(), bundle,
                PublishOptions())


def test_a_wrong_token_is_401_naming_the_variable_and_the_fix(fake, tmp_path, caplog):
    with pytest.raises(ForgeRefused) as refused:
        forge_for(fake, tmp_path, GITHUB_TOKEN="not-a-token-at-all", FORGEJO_TOKEN="not-a-token-at-all")
    message = str(refused.value)
    assert "401" in message and "FORGEJO_TOKEN" in message and "GITEA_TOKEN" in message
    assert "not-a-token-at-all" not in message + caplog.text


def test_gitea_without_the_token_passed_says_how_to_pass_it(fake, tmp_path):
    with pytest.raises(ForgeRefused, match=r"secrets\.GITEA_TOKEN"):
        forge_for(fake, tmp_path, forge="gitea")


def test_a_fork_gets_the_comment_but_no_status_with_one_log_line(fake, bundle, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    fake.pulls[5].head_repo = "contributor/model"
    forge = forge_for(fake, tmp_path, fork=True)
    assert publish(forge, make_report(), bundle, PublishOptions()).action == CREATED
    assert len(own_comments(fake)) == 1
    assert HEAD not in fake.statuses
    assert "fork" in caplog.text


def test_a_read_only_token_of_the_repository_is_403_naming_what_it_needs(fake, bundle, tmp_path):
    fake.add_token("reader-token", 40, "reader", repo_access="read")
    forge = forge_for(fake, tmp_path, MRBOT_TOKEN="reader-token")
    with pytest.raises(ForgeRefused, match="write access"):
        publish(forge, make_report(), bundle, PublishOptions())


def test_refused_attachments_cost_only_the_images(fake, bundle, tmp_path):
    fake.attachment_types = frozenset({".txt"})  # an instance that allows no images
    published = publish(forge_for(fake, tmp_path), make_report(images=["images/training.png"]), bundle,
                        PublishOptions())
    [comment] = fake.comments[5]
    assert published.action == UPDATED  # the placeholder comment, then the report in it
    assert "Images are not shown" in comment.body and "```mermaid" in comment.body


def test_an_oversized_report_is_cut_to_fit(fake, bundle, tmp_path):
    publish(forge_for(fake, tmp_path), make_report(extra_improved=3000, name_width=40), bundle, PublishOptions())
    [comment] = fake.comments[5]
    assert len(comment.body) <= COMMENT_LIMIT and "the job's artifacts" in comment.body


def test_a_push_event_sets_the_status_alone_and_says_why(fake, bundle, tmp_path, caplog):
    environ = fake.pipeline_environment(5, HEAD, BASE, tmp_path, GITHUB_EVENT_NAME="push",
                                        GITHUB_REF="refs/heads/feature")
    (tmp_path / "forgejo-job" / "event.json").write_text('{"after": "%s", "before": "%s"}' % (HEAD, BASE))
    forge = open_forgejo(detect({**environ, "GITHUB_SHA": HEAD}), {}, FAST)
    caplog.set_level(logging.INFO, logger="bot.publish")
    published = publish(forge, make_report(images=["images/training.png"]), bundle, PublishOptions())
    assert published.action == SKIPPED_OFF and "no commit comments" in caplog.text
    assert [status["status"] for status in fake.statuses[HEAD]] == ["success"]
    assert fake.comments[5] == [] and not fake.requests_to("POST", r"/comments")  # nor a placeholder for images
    with pytest.raises(BadInput, match="pull_request events"):  # asked for a comment directly, the driver says why
        forge.create_comment("x")


def test_the_token_only_travels_in_the_auth_header(fake, bundle, tmp_path):
    publish(forge_for(fake, tmp_path), make_report(images=["images/training.png"]), bundle, PublishOptions())
    for request in fake.server.requests:
        assert fake.job_token not in request.path + str(request.query) + request.body.decode("utf-8", "replace")
    assert all(request.headers.get("Authorization") == f"token {fake.job_token}" for request in fake.server.requests
               if request.path.startswith("/api/v1"))


def test_an_answer_it_cannot_use_is_one_line(fake, tmp_path):
    forge = open_forge(job_context(fake, tmp_path), {})
    fake.fail("GET", r"/issues/5/comments$", 200, body="<html>a proxy's login page</html>", times=None)
    with pytest.raises(ForgeRefused, match="Forgejo answered something mrbot cannot use"):
        forge.report_comments("default")


def test_github_itself_is_not_taken_for_forgejo():
    assert not is_forgejo({"GITHUB_ACTIONS": "true", "GITHUB_API_URL": "https://api.github.com"})
    assert not is_forgejo({"GITHUB_ACTIONS": "true", "GITHUB_API_URL": "https://github.example.com/api/v3"})
    assert is_forgejo({"GITHUB_ACTIONS": "true", "GITHUB_API_URL": "https://codeberg.org/api/v1/"})
