"""The GitHub driver and the publish rules, over real HTTP against the fake api.github.com
(tests/servers/github.py), which checks every request against GitHub's REST description."""

from __future__ import annotations

import logging
import struct
import time
import zlib
from pathlib import Path

import pytest

from bot.charts.chart import Chart
from bot.ci.context import GITHUB, Context
from bot.ci.github import BOT_LOGIN, FIND_PULL_BY_HEAD, FORK
from bot.compare.diff import MetricRow
from bot.errors import BadInput, ForgeRefused
from bot.forges.base import marker
from bot.forges.github import ACTIONS_LOGIN, open_github
from bot.forges.github_api import ClientOptions
from bot.publish import CREATED, SKIPPED_NEWER, SKIPPED_OFF, UNCHANGED_BODY, UPDATED, PublishOptions, publish
from bot.report.model import Report, RevisionInfo
from bot.report.render import render
from tests.servers.github import (
    ACTIONS_BOT,
    CONTRIBUTOR,
    GRAPHQL,
    MAINTAINER,
    Account,
    FakeGitHub,
    Pull,
    Token,
    running,
)

TOKEN = "ghs_FakeInstallationToken0123456789abcdEF"
PAT = "github_pat_FakePersonalToken0123456789"
READ_ONLY = "ghs_FakeForkReadOnlyToken0123456789ab"
NO_CONTENTS = "ghs_FakeNoContentsToken0123456789abcd"
APP_TOKEN = "ghs_FakeGitHubAppInstallationToken012345"
APP_BOT = Account("model-reports[bot]", 777, "Bot")
BASE_SHA = "b" * 40
HEAD_SHA = "1" * 40
NEWER_SHA = "2" * 40
FAST = ClientOptions(seconds_between_requests=0, seconds_between_writes=0, backoff_factor=0)
SETTINGS = {"status_context": "mrbot", "assets_branch": "mrbot-assets"}


def tiny_png(shade: int = 0) -> bytes:
    """A valid 1x1 PNG; `shade` changes its bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(bytes([0, shade % 256, 0, 0]))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def make_report(bundle: Path, head_sha: str = HEAD_SHA, rows: list[MetricRow] | None = None, shade: int = 0) -> Report:
    (bundle / "images").mkdir(parents=True, exist_ok=True)
    (bundle / "images" / "loss.png").write_bytes(tiny_png(shade))
    chart = Chart("loss", "Loss", "linear", images=["images/loss.png"], image_labels=["loss"],
                  mermaid='xychart-beta\n  x-axis [1, 2]\n  line [0.5, 0.25]')
    rows = rows or [MetricRow("metrics.json", "acc", 0.8, 0.9, 0.1, 12.5, "higher", "improved")]
    return Report(
        base=RevisionInfo("main", BASE_SHA), head=RevisionInfo("feature", head_sha), metrics=rows, params=[],
        charts=[chart], verdict="improved", summary="1 improved", counts={"improved": 1}, version="test",
    )


@pytest.fixture
def github():
    tokens = {
        TOKEN: Token(ACTIONS_BOT, reads_user=False),  # what Actions' GITHUB_TOKEN is
        PAT: Token(MAINTAINER),
        READ_ONLY: Token(ACTIONS_BOT, writes=frozenset(), reads_user=False),
        NO_CONTENTS: Token(ACTIONS_BOT, writes=frozenset({"pull_requests", "statuses"}), reads_user=False),
        APP_TOKEN: Token(APP_BOT, reads_user=False),
    }
    with running(FakeGitHub(tokens=tokens)) as fake:
        fake.add_pull(Pull(7, HEAD_SHA, BASE_SHA))
        yield fake


def context_for(fake: FakeGitHub, **changes) -> Context:
    values = dict(
        forge=GITHUB, repository=fake.repository, api_url=fake.url, server_url="https://github.com", number=7,
        head_sha=HEAD_SHA, base_sha=BASE_SHA, event="pull_request",
        run_url=f"https://github.com/{fake.repository}/actions/runs/42", token=TOKEN, token_name="GITHUB_TOKEN",
    )
    return Context(**{**values, **changes})


def post(fake: FakeGitHub, report: Report, bundle: Path, mode: str = "update", **changes):
    forge = open_github(context_for(fake, **changes), SETTINGS, FAST)
    return publish(forge, report, bundle, PublishOptions(comment_mode=mode))


def bot_comments(fake: FakeGitHub, number: int = 7) -> list[dict]:
    return [c for c in fake.comments(number) if c["user"]["login"] == ACTIONS_LOGIN]


def test_first_run_creates_the_comment_with_images_and_status(github, tmp_path):
    report = make_report(tmp_path)
    published = post(github, report, tmp_path)

    assert published.action == CREATED
    [comment] = bot_comments(github)
    assert comment["body"].startswith(marker("default", HEAD_SHA) + "\n")
    assert published.comment_url == comment["html_url"]
    # One commit on the assets branch holds the image, namespaced by PR and head, linked pinned to it.
    commit_sha = github.refs["refs/heads/mrbot-assets"]
    image_path = f"pr-7/{HEAD_SHA}/loss.png"
    assert github.file_at(commit_sha, image_path) == tiny_png()
    link = f"https://github.com/{github.repository}/blob/{commit_sha}/{image_path}?raw=true"
    assert f"]({link})" in comment["body"]
    assert "```mermaid" not in comment["body"]
    [status] = github.statuses
    assert status == {
        "sha": HEAD_SHA, "state": "success", "context": "mrbot", "target_url": comment["html_url"],
        "description": "acc +0.1 (+12.5%)",
    }
    # GET /user answers 403 to an installation token: the driver must not give up on that.
    assert github.calls_of("users/get-authenticated")


def test_rerun_updates_in_place_and_skips_an_unchanged_body(github, tmp_path):
    post(github, make_report(tmp_path / "one"), tmp_path / "one")
    github.pulls[7].head_sha = NEWER_SHA
    second = post(github, make_report(tmp_path / "two", NEWER_SHA, shade=9), tmp_path / "two", head_sha=NEWER_SHA)
    assert second.action == UPDATED
    [comment] = bot_comments(github)
    assert comment["body"].startswith(marker("default", NEWER_SHA))
    assert len(github.calls_of("issues/update-comment")) == 1

    # Same report again (a re-run of the same job): same images, same commit, so nothing to PATCH.
    assets_before = github.refs["refs/heads/mrbot-assets"]
    third = post(github, make_report(tmp_path / "three", NEWER_SHA, shade=9), tmp_path / "three", head_sha=NEWER_SHA)
    assert third.action == UNCHANGED_BODY
    assert len(github.calls_of("issues/update-comment")) == 1
    assert github.refs["refs/heads/mrbot-assets"] == assets_before


def test_finds_its_comment_after_150_foreign_ones(github, tmp_path):
    for index in range(150):
        github.add_comment(7, f"review remark {index}", MAINTAINER)
    ours = github.add_comment(7, marker("default", HEAD_SHA) + "\nold report", ACTIONS_BOT)

    published = post(github, make_report(tmp_path), tmp_path)

    assert published.action == UPDATED
    assert [c["id"] for c in bot_comments(github)] == [ours["id"]]
    pages = [call.query.get("page", "1") for call in github.calls_of("issues/list-comments")]
    assert pages == ["1", "2"]  # every page read, following GitHub's Link header


def test_duplicates_are_cleaned_up_keeping_the_oldest(github, tmp_path):
    older = github.add_comment(7, marker("default", HEAD_SHA) + "\nfirst", ACTIONS_BOT)
    newer = github.add_comment(7, marker("default", HEAD_SHA) + "\nsecond", ACTIONS_BOT)

    post(github, make_report(tmp_path), tmp_path)

    assert [c["id"] for c in bot_comments(github)] == [older["id"]]
    assert [call.path for call in github.calls_of("issues/delete-comment")] == [
        f"/repos/{github.repository}/issues/comments/{newer['id']}"
    ]


def test_never_touches_comments_by_someone_else_or_another_report_id(github, tmp_path):
    quoting = github.add_comment(7, marker("default", HEAD_SHA) + "\nI quote the bot", MAINTAINER)
    other_report = github.add_comment(7, marker("gpu", HEAD_SHA) + "\nthe GPU report", ACTIONS_BOT)

    published = post(github, make_report(tmp_path), tmp_path)

    assert published.action == CREATED
    assert quoting["body"].endswith("I quote the bot") and other_report["body"].endswith("the GPU report")
    assert not github.calls_of("issues/update-comment", "issues/delete-comment")


def test_a_personal_token_owns_the_comments_of_its_user(github, tmp_path):
    mine = github.add_comment(7, marker("default", HEAD_SHA) + "\nold", MAINTAINER)
    bots = github.add_comment(7, marker("default", HEAD_SHA) + "\nby the Actions bot", ACTIONS_BOT)

    published = post(github, make_report(tmp_path), tmp_path, token=PAT)

    assert published.action == UPDATED
    assert published.comment_url == mine["html_url"]
    assert bots["body"].endswith("by the Actions bot")


def test_a_github_app_token_owns_the_comments_of_the_login_it_is_told(github, tmp_path):
    mine = github.add_comment(7, marker("default", HEAD_SHA) + "\nold", APP_BOT)
    actions = github.add_comment(7, marker("default", HEAD_SHA) + "\nby the Actions bot", ACTIONS_BOT)

    published = post(github, make_report(tmp_path), tmp_path, token=APP_TOKEN, extra={BOT_LOGIN: APP_BOT.login})

    assert published.action == UPDATED and published.comment_url == mine["html_url"]
    assert actions["body"].endswith("by the Actions bot")


def test_a_github_app_token_finds_its_own_login_through_graphql(github, tmp_path):
    mine = github.add_comment(7, marker("default", HEAD_SHA) + "\nold", APP_BOT)
    actions = github.add_comment(7, marker("default", HEAD_SHA) + "\nby the Actions bot", ACTIONS_BOT)

    published = post(github, make_report(tmp_path), tmp_path, token=APP_TOKEN)

    assert published.action == UPDATED and published.comment_url == mine["html_url"]
    assert actions["body"].endswith("by the Actions bot")
    assert len(github.calls_of(GRAPHQL)) == 1 and len(github.comments(7)) == 2  # updated, none added


def test_when_graphql_cannot_say_who_the_token_is_it_is_taken_for_the_actions_bot(github, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="bot")
    github.fail(GRAPHQL, 403, {"message": "Resource not accessible by integration"})
    mine = github.add_comment(7, marker("default", HEAD_SHA) + "\nold", ACTIONS_BOT)

    published = post(github, make_report(tmp_path), tmp_path)

    assert published.action == UPDATED and published.comment_url == mine["html_url"]
    assert "could not ask GitHub which bot this token posts as (403); taking github-actions[bot]" in caplog.text


def test_an_older_run_does_not_overwrite_the_report_on_a_newer_head(github, tmp_path):
    newer = github.add_comment(7, marker("default", NEWER_SHA) + "\nreport on the newer head", ACTIONS_BOT)
    github.pulls[7].head_sha = NEWER_SHA  # pushed while this (older) run was busy

    published = post(github, make_report(tmp_path), tmp_path)

    assert published.action == SKIPPED_NEWER
    assert newer["body"].endswith("report on the newer head")
    assert not github.calls_of("issues/update-comment")


def test_comment_mode_new_adds_one_and_off_posts_only_the_status(github, tmp_path):
    post(github, make_report(tmp_path), tmp_path)
    assert post(github, make_report(tmp_path), tmp_path, mode="new").action == CREATED
    assert len(bot_comments(github)) == 2

    published = post(github, make_report(tmp_path), tmp_path, mode="off")
    assert published.action == SKIPPED_OFF and published.comment_url == ""
    assert len(bot_comments(github)) == 2
    assert github.statuses[-1]["target_url"] == f"https://github.com/{github.repository}/actions/runs/42"


def test_a_502_is_retried_then_succeeds(github, tmp_path):
    github.fail("issues/list-comments", 502)
    github.fail("issues/create-comment", 502)

    published = post(github, make_report(tmp_path), tmp_path)

    assert published.action == CREATED
    assert len(bot_comments(github)) == 1
    assert len(github.calls_of("issues/create-comment")) == 2


def test_persistent_5xx_gives_up_with_what_github_answered(github, tmp_path):
    github.fail("issues/create-comment", 503, {"message": "Service Unavailable"}, times=10)
    with pytest.raises(ForgeRefused, match=r"503 Service Unavailable while commenting on pull request #7"):
        post(github, make_report(tmp_path), tmp_path)
    assert len(github.calls_of("issues/create-comment")) == FAST.retries + 1  # bounded


def test_rate_limits_wait_as_github_says(github, tmp_path):
    # A 429 with Retry-After (a secondary limit); a 403 primary rate limit and a 429 without
    # Retry-After, both with remaining 0 until x-ratelimit-reset.
    github.fail("issues/list-comments", 429, {"message": "You have exceeded a secondary rate limit."},
                {"Retry-After": "1"})
    reset = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 1)}
    github.fail("issues/create-comment", 403, {"message": "API rate limit exceeded for installation ID 1."}, reset)
    github.fail("repos/create-commit-status", 429, {"message": "API rate limit exceeded"}, reset)
    started = time.monotonic()

    assert post(github, make_report(tmp_path), tmp_path).action == CREATED

    assert time.monotonic() - started >= 1.0
    # Each refused once, then answered; the comments are listed once more after commenting, for
    # another run's comment.
    calls = {"issues/list-comments": 3, "issues/create-comment": 2, "repos/create-commit-status": 2}
    assert {operation: len(github.calls_of(operation)) for operation in calls} == calls


def test_a_secondary_rate_limit_without_retry_after_backs_off(github, tmp_path):
    options = ClientOptions(seconds_between_requests=0, seconds_between_writes=0, secondary_rate_wait=0.3)
    github.fail("issues/create-comment", 403, {"message": "You have exceeded a secondary rate limit. Please wait."})
    forge = open_github(context_for(github), SETTINGS, options)
    started = time.monotonic()
    forge.create_comment("hello")
    assert time.monotonic() - started >= 0.3
    assert len(github.calls_of("issues/create-comment")) == 2


def test_a_rate_limit_past_the_cap_stops_with_a_clear_message(github, tmp_path):
    options = ClientOptions(seconds_between_requests=0, seconds_between_writes=0, max_wait=1)
    reset = str(int(time.time()) + 3600)
    github.fail("issues/list-comments", 403, {"message": "API rate limit exceeded for installation ID 1."},
                {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset})
    forge = open_github(context_for(github), SETTINGS, options)
    with pytest.raises(ForgeRefused, match="rate limit stopped listing the comments"):
        forge.report_comments("default")
    github.fail("issues/create-comment", 429, {"message": "Too many requests"},
                {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset})
    with pytest.raises(ForgeRefused, match=r"rate limit stopped commenting on pull request #7 \(429 API rate limit"):
        forge.create_comment("hello")
    assert len(github.calls_of("issues/create-comment")) == 1  # no waiting an hour, no pointless retries


def test_fork_token_falls_back_to_mermaid_and_explains_the_two_stage_mode(github, tmp_path):
    with pytest.raises(ForgeRefused) as refused:
        post(github, make_report(tmp_path), tmp_path, token=READ_ONLY, extra={FORK: "true"})
    message = str(refused.value)
    assert "Resource not accessible by integration" in message
    assert "fork" in message and "two-stage mode" in message
    assert READ_ONLY not in message
    assert github.comments(7) == [] and github.refs == {}


def test_without_contents_permission_the_comment_has_mermaid_and_says_why(github, tmp_path):
    published = post(github, make_report(tmp_path), tmp_path, token=NO_CONTENTS)

    assert published.action == CREATED
    body = bot_comments(github)[0]["body"]
    assert "```mermaid\nxychart-beta" in body
    assert "Images are not shown" in body and "contents: write" in body
    assert "![" not in body


def test_errors_say_what_to_fix(github, tmp_path):
    report = make_report(tmp_path)
    with pytest.raises(ForgeRefused, match=r"rejected the token in GITHUB_TOKEN .*401 Bad credentials.*invalid"):
        post(github, report, tmp_path, token="ghs_NotAValidToken000000000")
    with pytest.raises(ForgeRefused, match=r"404 Not Found .*octo-org/elsewhere"):
        post(github, report, tmp_path, repository="octo-org/elsewhere")
    with pytest.raises(BadInput, match="no GitHub token"):
        post(github, report, tmp_path, token="")
    github.fail("repos/create-commit-status", 403, {"message": "Resource not accessible by integration"})
    with pytest.raises(ForgeRefused, match=r"commit status 'mrbot' \(or pass --no-status\).*statuses: write"):
        post(github, report, tmp_path)


def test_a_body_over_githubs_limit_is_shortened_and_accepted(github, tmp_path):
    rows = [
        MetricRow(f"metrics/{index:04d}.json", f"metric_with_a_long_name_{index:05d}", 0.5, 0.5, 0.0, 0.0, "higher",
                  "unchanged" if index % 4 else "improved")
        for index in range(3000)
    ]
    report = make_report(tmp_path, rows=rows)
    assert len(render(report)) > 65_536
    published = post(github, report, tmp_path)

    assert published.action == CREATED  # the fake, like GitHub, answers 422 to a longer body
    body = bot_comments(github)[0]["body"]
    assert len(body) <= 65_536
    assert "Left out to fit the size limit" in body
    assert "job summary" in body


def test_commit_comments_when_there_is_no_pull_request(github, tmp_path):
    published = post(github, make_report(tmp_path), tmp_path, number=None, event="push")
    assert published.action == CREATED
    [comment] = github.commit_comments[HEAD_SHA]
    assert comment["user"]["login"] == ACTIONS_LOGIN
    assert f"/commit/{HEAD_SHA}#commitcomment-" in published.comment_url
    assert f"/commit/{HEAD_SHA}/loss.png?raw=true" in comment["body"]

    again = post(github, make_report(tmp_path, shade=3), tmp_path, number=None, event="push")
    assert again.action == UPDATED
    assert len(github.commit_comments[HEAD_SHA]) == 1


def test_workflow_run_for_a_fork_finds_the_pull_request_by_head(github, tmp_path):
    github.add_pull(Pull(9, HEAD_SHA, BASE_SHA, head_ref="feature", head_owner=CONTRIBUTOR.login))
    github.add_pull(Pull(8, "3" * 40, BASE_SHA, head_ref="feature"))  # same branch name, not the fork's
    extra = {FORK: "true", FIND_PULL_BY_HEAD: f"{CONTRIBUTOR.login}:feature"}

    published = post(github, make_report(tmp_path), tmp_path, number=None, event="workflow_run", extra=extra)

    assert published.action == CREATED
    assert len(github.comments(9)) == 1 and github.comments(7) == [] and github.comments(8) == []
    [lookup] = github.calls_of("pulls/list")
    assert lookup.query["head"] == "fork-contributor:feature"


def test_the_assets_branch_moving_meanwhile_is_retried(github, tmp_path):
    post(github, make_report(tmp_path / "one"), tmp_path / "one")
    github.fail("git/update-ref", 422, {"message": "Update is not a fast forward"})

    post(github, make_report(tmp_path / "two", shade=5), tmp_path / "two")

    assert len(github.calls_of("git/update-ref")) == 2
    tip = github.refs["refs/heads/mrbot-assets"]
    assert github.file_at(tip, f"pr-7/{HEAD_SHA}/loss.png") == tiny_png(5)


def test_a_protected_assets_branch_costs_the_images_only(github, tmp_path):
    github.fail("git/create-ref", 422, {"message": "Protected branch update failed for refs/heads/mrbot-assets."})

    published = post(github, make_report(tmp_path), tmp_path)

    assert published.action == CREATED
    body = bot_comments(github)[0]["body"]
    assert "Images are not shown: GitHub refused committing them to the 'mrbot-assets' branch (422 Protected" in body
    assert "```mermaid" in body
    assert len(github.calls_of("git/create-ref")) == 1  # not a race: not retried


def test_a_bundle_image_that_is_a_link_or_not_an_image_is_not_uploaded(github, tmp_path):
    report = make_report(tmp_path)
    secret = tmp_path.parent / "secret.txt"
    secret.write_text("not for the internet")
    (tmp_path / "images" / "loss.png").unlink()
    (tmp_path / "images" / "loss.png").symlink_to(secret)

    with pytest.raises(BadInput, match="loss.png is a symbolic link"):
        post(github, report, tmp_path)
    assert github.blobs == {} and bot_comments(github) == []

    (tmp_path / "images" / "loss.png").unlink()
    (tmp_path / "images" / "loss.png").write_text("#!/bin/sh\necho not an image\n")
    with pytest.raises(BadInput, match="named .png but its content is not a PNG, JPEG or GIF image"):
        post(github, report, tmp_path)
    assert github.blobs == {} and bot_comments(github) == []


def test_images_are_read_one_at_a_time_as_their_blobs_are_created(github, tmp_path, monkeypatch):
    from bot.report import bundle as bundle_module

    report = make_report(tmp_path)
    (tmp_path / "images" / "acc.png").write_bytes(tiny_png(1))
    report.charts[0].images.append("images/acc.png")
    blobs_when_read = {}
    read_image = bundle_module._read_image

    def reading(root, path):
        blobs_when_read[path] = len(github.blobs)
        return read_image(root, path)

    monkeypatch.setattr(bundle_module, "_read_image", reading)

    post(github, report, tmp_path)

    assert blobs_when_read == {"images/loss.png": 0, "images/acc.png": 1}
    assert len(github.blobs) == 2
