"""Bitbucket Pipelines' default variables read into the context."""

import pytest

from bot.ci import detect
from bot.ci.bitbucket import BOT_UUID, DEFAULT_API_URL, EMAIL
from bot.ci.context import BITBUCKET, LOCAL
from bot.errors import BadInput

HEAD = "c" * 40
PR_PIPELINE = {
    "CI": "true",
    "BITBUCKET_BUILD_NUMBER": "17",
    "BITBUCKET_COMMIT": HEAD,
    "BITBUCKET_BRANCH": "experiment",
    "BITBUCKET_PR_ID": "5",
    "BITBUCKET_PR_DESTINATION_BRANCH": "main",
    "BITBUCKET_PR_DESTINATION_COMMIT": "b" * 12,  # Bitbucket gives 12 characters here
    "BITBUCKET_WORKSPACE": "team",
    "BITBUCKET_REPO_SLUG": "model",
    "BITBUCKET_REPO_FULL_NAME": "team/model",
    "BITBUCKET_TOKEN": "ATCTT3xFfGN0-repository-access-token",
}


def test_pull_request_pipeline_fills_every_field():
    context = detect(PR_PIPELINE)
    assert context.forge == BITBUCKET
    assert (context.repository, context.number, context.head_sha) == ("team/model", 5, HEAD)
    # Abbreviated as Bitbucket gives it: the baseline resolves it in the clone.
    assert (context.base_ref, context.base_sha, context.branch) == ("main", "b" * 12, "")
    assert context.api_url == DEFAULT_API_URL
    assert context.run_url == "https://bitbucket.org/team/model/pipelines/results/17"
    assert (context.token, context.token_name) == (PR_PIPELINE["BITBUCKET_TOKEN"], "BITBUCKET_TOKEN")
    assert context.event == "pull-requests"


def test_a_full_destination_sha_is_kept_and_mrbot_token_wins():
    context = detect({**PR_PIPELINE, "BITBUCKET_PR_DESTINATION_COMMIT": "b" * 40, "MRBOT_TOKEN": "override"})
    assert context.base_sha == "b" * 40
    assert (context.token, context.token_name) == ("override", "MRBOT_TOKEN")


def test_branch_pipeline_posts_on_the_commit():
    environ = {name: value for name, value in PR_PIPELINE.items() if not name.startswith("BITBUCKET_PR_")}
    context = detect(environ)
    assert (context.number, context.branch, context.base_ref, context.event) == (None, "experiment", "", "push")


def test_a_self_hosted_api_url_and_an_api_token_email_are_read():
    context = detect({**PR_PIPELINE, "MRBOT_BITBUCKET_API_URL": "http://127.0.0.1:9/2.0/",
                      "MRBOT_BITBUCKET_URL": "http://127.0.0.1:9", "MRBOT_BITBUCKET_EMAIL": "ci@example.com"})
    assert (context.api_url, context.server_url) == ("http://127.0.0.1:9/2.0", "http://127.0.0.1:9")
    assert context.extra[EMAIL] == "ci@example.com"


def test_without_pipelines_variables_it_is_a_laptop():
    assert detect({"BITBUCKET_TOKEN": "x"}).forge == LOCAL


@pytest.mark.parametrize("name, value, named", [
    ("BITBUCKET_PR_ID", "5; rm -rf /", "BITBUCKET_PR_ID"),
    ("BITBUCKET_PR_ID", "²", "BITBUCKET_PR_ID"),
    ("BITBUCKET_COMMIT", "not-a-sha", "BITBUCKET_COMMIT"),
    ("BITBUCKET_REPO_FULL_NAME", "", "BITBUCKET_REPO_FULL_NAME"),
])
def test_bad_variables_are_bad_input_naming_them(name, value, named):
    environ = {**PR_PIPELINE, name: value}
    if name == "BITBUCKET_REPO_FULL_NAME":
        environ.pop("BITBUCKET_WORKSPACE")
    with pytest.raises(BadInput, match=named):
        detect(environ)


@pytest.mark.parametrize("given", ["{0B0B0B0B-0000-4000-8000-00000000B0B0}", "0b0b0b0b-0000-4000-8000-00000000b0b0",
                                   " {0b0b0b0b-0000-4000-8000-00000000b0b0} "])
def test_the_bot_uuid_is_read_as_bitbucket_writes_it(given):
    assert detect({**PR_PIPELINE, "MRBOT_BOT_UUID": given}).extra[BOT_UUID] == "{0b0b0b0b-0000-4000-8000-00000000b0b0}"


@pytest.mark.parametrize("given", ["mrbot token", "557058:ba8948b2-49da-43a9-9e8b-e7249b8e324a", "{0b0b0b0b}"])
def test_a_bot_uuid_that_is_none_is_one_line_naming_it(given):
    with pytest.raises(BadInput, match="^MRBOT_BOT_UUID=.* is not a Bitbucket uuid") as refused:
        detect({**PR_PIPELINE, "MRBOT_BOT_UUID": given})
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("name", ["MRBOT_BITBUCKET_API_URL", "MRBOT_BITBUCKET_URL"])
@pytest.mark.parametrize("url", ["http://bitbucket.example.com/2.0", "ftp://127.0.0.1/2.0", "api.bitbucket.org"])
def test_the_token_and_links_never_go_in_clear_text_off_this_machine(name, url):
    with pytest.raises(BadInput, match=f"^{name}=.* is not an https:// URL"):
        detect({**PR_PIPELINE, name: url})


def test_http_to_this_machine_is_allowed_for_a_local_server():
    context = detect({**PR_PIPELINE, "MRBOT_BITBUCKET_API_URL": "http://localhost:8/2.0",
                      "MRBOT_BITBUCKET_URL": "http://[::1]:8"})
    assert (context.api_url, context.server_url) == ("http://localhost:8/2.0", "http://[::1]:8")
