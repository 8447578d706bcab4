"""The GitLab driver through python-gitlab over real HTTP, against the fake GitLab on 127.0.0.1."""

import os
import time

import pytest

from bot.charts.chart import Chart
from bot.ci.gitlab import detect_gitlab
from bot.compare.diff import UNCHANGED, MetricRow, ParamRow
from bot.errors import EXIT_FORGE_REFUSED, BadInput, ForgeRefused
from bot.forges import gitlab_api as gitlab_forge
from bot.forges.base import marker, parse_marker
from bot.forges.gitlab import COMMENT_LIMIT, open_gitlab
from bot.forges.gitlab_api import MAX_RETRIES
from bot.publish import CREATED, SKIPPED_NEWER, UNCHANGED_BODY, UPDATED, PublishOptions, publish
from bot.report.render import render
from tests.forge_reports import BASE, HEAD, NEWER_HEAD, PNG, make_report
from tests.servers.gitlab import NOTE_LIMIT, FakeGitLab

TOKEN = "glpat-Sup3rSecretTokenValue"
OTHER_TOKEN = "glpat-alice"


@pytest.fixture
def fake():
    with FakeGitLab() as server:
        server.add_token(TOKEN, 7, "project_42_bot")
        server.add_token(OTHER_TOKEN, 8, "alice")
        server.add_merge_request(3, HEAD)
        yield server


def bot_user(fake):
    return fake.tokens[TOKEN]


def alice(fake):
    return fake.tokens[OTHER_TOKEN]


def environment(fake, **overrides):
    variables = {"CI_JOB_TOKEN": "job-token-value", "GITLAB_TOKEN": TOKEN, **overrides}
    return fake.pipeline_variables(3, HEAD, BASE, **variables)


def forge_for(fake, **overrides):
    return open_gitlab(detect_gitlab(environment(fake, **overrides)), {"status_context": "mrbot/model"})


@pytest.fixture
def bundle(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "training.png").write_bytes(PNG)
    return tmp_path


def own_report_notes(fake, iid=3):
    return [note for note in fake.merge_requests[iid].notes if note.author.id == 7 and parse_marker(note.body)]


def test_first_run_creates_one_note_with_marker_uploaded_image_and_status(fake, bundle):
    published = publish(forge_for(fake), make_report(images=["images/training.png"]), bundle, PublishOptions())

    assert published.action == CREATED
    [note] = fake.merge_requests[3].notes
    assert note.author.id == bot_user(fake).id
    assert note.body.startswith(marker("default", HEAD) + "\n## ✅ Model improved")
    [upload] = fake.uploads
    # The relative /uploads/... URL GitLab returns, never a third-party host.
    assert f"![training]({upload['url']})" in note.body
    assert upload["url"].startswith("/uploads/") and upload["url"].endswith("-training.png")
    assert fake.upload_files[upload["url"]] == PNG
    assert "```mermaid" not in note.body
    assert published.comment_url == f"{fake.url}/group/project/-/merge_requests/3#note_{note.id}"
    [status] = fake.statuses
    assert status["sha"] == HEAD
    assert status["status"] == "success"
    assert status["name"] == "mrbot/model"
    assert status["target_url"] == published.comment_url
    assert status["description"].startswith("test.accuracy +0.11")


def test_rerun_updates_the_same_note_in_place(fake, bundle):
    publish(forge_for(fake), make_report(accuracy=0.91), bundle, PublishOptions())
    [first] = fake.merge_requests[3].notes
    published = publish(forge_for(fake), make_report(accuracy=0.7), bundle, PublishOptions())

    assert published.action == UPDATED
    [note] = fake.merge_requests[3].notes
    assert note.id == first.id
    assert "❌ Model regressed" in note.body
    # A regression without --fail-on-regression is reported, not failed.
    assert [status["status"] for status in fake.statuses] == ["success", "success"]
    assert len(fake.requests_to("PUT", r"/notes/\d+$")) == 1


def test_regression_gate_sets_a_failed_status(fake, bundle):
    report = make_report(accuracy=0.7)
    report.gate_failed = True
    publish(forge_for(fake), report, bundle, PublishOptions())
    assert fake.statuses[-1]["status"] == "failed"


def test_unchanged_rerun_reuses_uploads_and_writes_nothing(fake, bundle):
    report = make_report(images=["images/training.png"])
    publish(forge_for(fake), report, bundle, PublishOptions())
    published = publish(forge_for(fake), report, bundle, PublishOptions())

    assert published.action == UNCHANGED_BODY
    assert len(fake.uploads) == 1  # the earlier upload, named by its content hash, is reused
    assert fake.requests_to("PUT", "/notes/") == []
    assert len(fake.merge_requests[3].notes) == 1


def test_changed_image_is_uploaded_again(fake, bundle):
    publish(forge_for(fake), make_report(images=["images/training.png"]), bundle, PublishOptions())
    (bundle / "images" / "training.png").write_bytes(PNG + b"changed")
    publish(forge_for(fake), make_report(images=["images/training.png"]), bundle, PublishOptions())

    assert len(fake.uploads) == 2
    [note] = fake.merge_requests[3].notes
    assert fake.uploads[1]["url"] in note.body and fake.uploads[0]["url"] not in note.body


def test_finds_its_note_after_50_foreign_and_system_notes(fake, bundle):
    notes = fake.merge_requests[3].notes
    publish(forge_for(fake), make_report(accuracy=0.85), bundle, PublishOptions())
    ours = notes.pop()
    for index in range(25):
        fake.add_note(notes, alice(fake), f"review comment {index}")
        fake.add_note(notes, bot_user(fake), f"added {index} commits", system=True)
    # Someone quoting our marker (even the bot user's system notes) is never mistaken for the report.
    fake.add_note(notes, alice(fake), marker("default", HEAD) + "\nquoted")
    fake.add_note(notes, bot_user(fake), marker("default", HEAD) + "\nsystem", system=True)
    notes.append(ours)

    published = publish(forge_for(fake), make_report(accuracy=0.95), bundle, PublishOptions())

    assert published.action == UPDATED
    assert len(notes) == 53
    assert "+0.15" in ours.body
    assert notes[50].body.endswith("quoted") and notes[51].body.endswith("system")
    assert fake.requests_to("DELETE", "/notes/") == []


def test_lists_every_page_of_a_long_discussion(fake, bundle):
    notes = fake.merge_requests[3].notes
    for index in range(230):
        fake.add_note(notes, alice(fake), f"comment {index}")
    publish(forge_for(fake), make_report(), bundle, PublishOptions())
    fake.server.requests.clear()

    published = publish(forge_for(fake), make_report(accuracy=0.99), bundle, PublishOptions())

    assert published.action == UPDATED
    listings = fake.requests_to("GET", r"/merge_requests/3/notes$")
    # 231 notes at GitLab's maximum of 100 per page: three pages, followed through the Link header.
    assert [request.query.get("page", ["1"])[0] for request in listings] == ["1", "2", "3"]
    assert len(notes) == 231


def test_duplicates_are_cleaned_up_and_the_oldest_is_kept(fake, bundle):
    notes = fake.merge_requests[3].notes
    oldest = fake.add_note(notes, bot_user(fake), marker("default", HEAD) + "\nfirst")
    other_report = fake.add_note(notes, bot_user(fake), marker("nightly", HEAD) + "\nanother report id")
    newer = fake.add_note(notes, bot_user(fake), marker("default", HEAD) + "\nsecond")

    published = publish(forge_for(fake), make_report(), bundle, PublishOptions())

    assert published.action == UPDATED
    assert [note.id for note in notes] == [oldest.id, other_report.id]
    assert oldest.body.startswith(marker("default", HEAD) + "\n## ✅")
    assert other_report.body.endswith("another report id")
    assert newer not in notes


def test_an_older_head_never_overwrites_a_newer_report(fake, bundle):
    fake.merge_requests[3].sha = NEWER_HEAD
    newer = fake.add_note(fake.merge_requests[3].notes, bot_user(fake), marker("default", NEWER_HEAD) + "\nnewer")

    published = publish(forge_for(fake, CI_COMMIT_SHA=HEAD), make_report(head=HEAD), bundle, PublishOptions())

    assert published.action == SKIPPED_NEWER
    assert newer.body.endswith("newer")
    assert fake.requests_to("PUT", "/notes/") == []


def test_a_newer_head_replaces_an_older_report(fake, bundle):
    fake.merge_requests[3].sha = NEWER_HEAD
    older = fake.add_note(fake.merge_requests[3].notes, bot_user(fake), marker("default", HEAD) + "\nolder")

    published = publish(forge_for(fake, CI_COMMIT_SHA=NEWER_HEAD), make_report(head=NEWER_HEAD), bundle,
                        PublishOptions())

    assert published.action == UPDATED
    assert older.body.startswith(marker("default", NEWER_HEAD))
    assert fake.statuses[-1]["sha"] == NEWER_HEAD


def test_502_then_success_is_retried(fake, bundle):
    fake.fail("POST", r"/merge_requests/3/notes$", 502, "<html><body><h1>502 Bad Gateway</h1></body></html>")
    fake.fail("GET", r"/merge_requests/3/notes$", 503)

    published = publish(forge_for(fake), make_report(), bundle, PublishOptions())

    assert published.action == CREATED
    assert len(fake.merge_requests[3].notes) == 1
    assert len(fake.requests_to("POST", r"/merge_requests/3/notes$")) == 2
    # The 503, its retry, and the look after commenting for another run's note.
    assert len(fake.requests_to("GET", r"/merge_requests/3/notes$")) == 3


def test_429_waits_as_long_as_retry_after_says(fake, bundle):
    fake.fail("POST", r"/statuses/", 429, {"message": "429 Too Many Requests"}, headers={"Retry-After": "1"})
    started = time.monotonic()

    publish(forge_for(fake), make_report(), bundle, PublishOptions())

    assert time.monotonic() - started >= 1.0
    assert len(fake.statuses) == 1


def test_gitlab_down_for_good_is_refused_with_the_status(fake, bundle):
    # Retry-After: 0 keeps the test fast; python-gitlab still makes all its retries.
    fake.fail("POST", r"/notes$", 503, times=None, headers={"Retry-After": "0"})

    with pytest.raises(ForgeRefused, match=r"add a note to .*/merge_requests/3 \(503: 503 Service Unavailable\)"):
        publish(forge_for(fake), make_report(), bundle, PublishOptions())
    assert len(fake.requests_to("POST", r"/notes$")) == 1 + MAX_RETRIES


def test_403_names_the_missing_scope_or_role(fake, bundle):
    fake.fail("POST", r"/notes$", 403, times=None)

    with pytest.raises(ForgeRefused) as refused:
        publish(forge_for(fake), make_report(), bundle, PublishOptions())

    message = str(refused.value)
    assert refused.value.exit_code == EXIT_FORGE_REFUSED
    assert "(403 Forbidden): the token in GITLAB_TOKEN" in message
    assert "api scope" in message and "Developer role on group/project" in message
    assert "\n" not in message and TOKEN not in message


def test_403_keeps_gitlabs_reason(fake):
    fake.fail("GET", r"/projects/42$", 403, {"message": "403 Forbidden - Your account has been blocked."})
    with pytest.raises(ForgeRefused, match=r"\(403 Forbidden: Your account has been blocked\.\): the token"):
        forge_for(fake)


def test_401_says_the_token_is_wrong_and_how_to_make_one(fake):
    with pytest.raises(ForgeRefused) as refused:
        forge_for(fake, GITLAB_TOKEN=None, MRBOT_TOKEN="glpat-revoked")
    message = str(refused.value)
    assert "401 Unauthorized" in message and "MRBOT_TOKEN" in message
    assert "project access token" in message and "glpat-revoked" not in message


def test_404_for_a_missing_merge_request(fake):
    with pytest.raises(ForgeRefused, match=r"merge request !99 \(404 Not Found\): check CI_PROJECT_ID"):
        forge_for(fake, CI_MERGE_REQUEST_IID="99")


def test_unreachable_gitlab_names_the_url(fake, monkeypatch):
    monkeypatch.setattr(gitlab_forge, "MAX_RETRIES", 1)  # each retry of a refused connection waits
    with FakeGitLab() as stopped:
        api_url = stopped.api_url
    with pytest.raises(ForgeRefused, match=r"could not reach GitLab at http://127\.0\.0\.1:\d+/api/v4"):
        forge_for(fake, CI_API_V4_URL=api_url)


def test_job_token_only_is_refused_before_any_request(fake):
    with pytest.raises(ForgeRefused) as refused:
        forge_for(fake, GITLAB_TOKEN=None)
    message = str(refused.value)
    assert "job tokens" in message and "project access token" in message
    assert "masked, protected CI/CD variable GITLAB_TOKEN" in message
    assert fake.server.requests == []


def test_oversized_report_is_shortened_to_fit_a_note(fake, bundle):
    # Tables list at most 1,000 rows of 200-character cells; long changed, unchanged and param rows
    # together still come to well over GitLab's 1,000,000 characters.
    report = make_report(extra_improved=2800, name_width=400)
    report.metrics += [
        MetricRow("metrics.json", f"stable{i}.".ljust(400, "s"), 1.0, 1.0, 0.0, 0.0, "higher", UNCHANGED)
        for i in range(1000)
    ]
    report.params = [ParamRow("params.yaml", f"p{i}", "a" * 300, "b" * 300) for i in range(1000)]
    report.charts += [Chart(f"c{i}", f"c{i}", "linear", notes=["n" * 150] * 10) for i in range(100)]
    assert len(render(report)) > COMMENT_LIMIT

    published = publish(forge_for(fake), report, bundle, PublishOptions())

    assert published.action == CREATED
    [note] = fake.merge_requests[3].notes
    assert COMMENT_LIMIT == NOTE_LIMIT
    assert len(note.body) <= COMMENT_LIMIT
    assert "test.accuracy" in note.body
    assert "…and 1801 more changed metrics, listed in report.json." in note.body
    assert "Left out to fit the size limit: unchanged metrics" in note.body
    assert "stable0." not in note.body
    assert "/-/jobs/77/artifacts/browse" in note.body


def test_upload_refused_falls_back_to_mermaid_and_still_posts(fake, bundle):
    fake.fail("POST", r"/uploads$", 403, times=None)

    published = publish(forge_for(fake), make_report(images=["images/training.png"]), bundle, PublishOptions())

    assert published.action == CREATED
    assert "Images are not shown" in published.images_note and "403" in published.images_note
    [note] = fake.merge_requests[3].notes
    assert "```mermaid" in note.body and "/uploads/" not in note.body


def test_a_symlinked_image_in_the_bundle_is_never_uploaded(fake, bundle, tmp_path_factory):
    secret = tmp_path_factory.mktemp("outside") / "id_rsa"
    secret.write_text("PRIVATE KEY")
    os.symlink(secret, bundle / "images" / "leak.png")

    with pytest.raises(BadInput, match="leak.png is a symbolic link"):
        publish(forge_for(fake), make_report(images=["images/training.png", "images/leak.png"]), bundle,
                PublishOptions())

    assert fake.uploads == [] and fake.merge_requests[3].notes == []


def test_status_already_in_that_state_is_not_an_error(fake, bundle):
    fake.fail("POST", r"/statuses/", 400, {"message": "Cannot transition status via :run from :running"})
    published = publish(forge_for(fake), make_report(), bundle, PublishOptions())
    assert published.action == CREATED


def test_no_status_and_new_comment_mode(fake, bundle):
    publish(forge_for(fake), make_report(), bundle, PublishOptions())
    publish(forge_for(fake), make_report(), bundle, PublishOptions(comment_mode="new", set_status=False))
    assert len(own_report_notes(fake)) == 2
    assert len(fake.statuses) == 1


def test_branch_pipeline_without_merge_request_comments_on_the_commit(fake, bundle):
    branch = {"CI_MERGE_REQUEST_IID": None, "CI_MERGE_REQUEST_DIFF_BASE_SHA": None, "CI_PIPELINE_SOURCE": "push",
              "CI_COMMIT_SHA": NEWER_HEAD, "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": None}
    first = publish(forge_for(fake, **branch), make_report(head=NEWER_HEAD), bundle, PublishOptions())
    second = publish(forge_for(fake, **branch), make_report(head=NEWER_HEAD, accuracy=0.97), bundle, PublishOptions())

    assert (first.action, second.action) == (CREATED, UPDATED)
    [discussion] = fake.commit_discussions[NEWER_HEAD]
    [note] = discussion.notes
    assert "+0.17" in note.body
    assert first.comment_url == f"{fake.url}/group/project/-/commit/{NEWER_HEAD}#note_{note.id}"
    assert all(not mr.notes for mr in fake.merge_requests.values())
    assert [status["sha"] for status in fake.statuses] == [NEWER_HEAD, NEWER_HEAD]


def test_branch_pipeline_finds_the_open_merge_request_of_its_commit(fake, bundle):
    closed = fake.add_merge_request(8, NEWER_HEAD, source_branch="old")
    closed.state = "closed"
    fake.add_merge_request(9, NEWER_HEAD, source_branch="feature")
    branch = {"CI_MERGE_REQUEST_IID": None, "CI_PIPELINE_SOURCE": "push", "CI_COMMIT_SHA": NEWER_HEAD}

    published = publish(forge_for(fake, **branch), make_report(head=NEWER_HEAD), bundle, PublishOptions())

    assert published.comment_url.startswith(f"{fake.url}/group/project/-/merge_requests/9#note_")
    assert len(fake.merge_requests[9].notes) == 1 and not closed.notes
    assert fake.commit_discussions == {}


def test_the_token_only_travels_in_the_auth_header(fake, bundle):
    publish(forge_for(fake), make_report(images=["images/training.png"]), bundle, PublishOptions())
    for request in fake.server.requests:
        assert request.headers.get("Private-Token") == TOKEN
        assert TOKEN not in request.path and TOKEN.encode() not in request.body
        assert TOKEN not in str(request.query)


def test_missing_ci_variables_are_bad_input_naming_them(fake):
    with pytest.raises(BadInput, match=r"^CI_PROJECT_ID, CI_COMMIT_SHA not set: run mrbot in a GitLab CI job"):
        forge_for(fake, CI_PROJECT_ID=None, CI_COMMIT_SHA=None)
    with pytest.raises(BadInput, match=r"CI_API_V4_URL='http://127\.0\.0\.1:\d+' does not end with /api/v4"):
        forge_for(fake, CI_API_V4_URL=fake.url)
    assert fake.server.requests == []
