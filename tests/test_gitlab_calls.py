"""Single GitLab calls of the driver, checked request by request with `responses`."""

import hashlib
import json

import pytest
import responses

from bot import __version__
from bot.ci.gitlab import detect_gitlab
from bot.errors import ForgeRefused
from bot.forges.base import Comment, ImagesUnavailable
from bot.forges.gitlab import open_gitlab

API = "https://gitlab.example.com/gitlab/api/v4"  # self-managed, under a sub-path
HEAD = "d" * 40
TOKEN = "glpat-unit-token"
PNG = b"\x89PNG\r\n\x1a\n" + b"png bytes"


@pytest.fixture
def forge():
    with responses.RequestsMock() as mocked:
        mocked.get(f"{API}/user", json={"id": 7, "username": "project_42_bot"})
        mocked.get(f"{API}/projects/42", json={"id": 42, "web_url": "https://gitlab.example.com/gitlab/g/p"})
        mocked.get(f"{API}/projects/42/merge_requests/3",
                   json={"iid": 3, "sha": HEAD, "web_url": "https://gitlab.example.com/gitlab/g/p/-/merge_requests/3"})
        environ = {
            "CI_API_V4_URL": API,
            "CI_PROJECT_ID": "42",
            "CI_PROJECT_PATH": "g/p",
            "CI_MERGE_REQUEST_IID": "3",
            "CI_COMMIT_SHA": HEAD,
            "GITLAB_TOKEN": TOKEN,
        }
        yield open_gitlab(detect_gitlab(environ), {"status_context": "ci/mrbot"}), mocked


def test_every_call_goes_to_the_sub_path_api_with_the_token_header(forge):
    _, mocked = forge
    assert [call.request.url for call in mocked.calls] == [
        f"{API}/user",
        f"{API}/projects/42",
        f"{API}/projects/42/merge_requests/3",
    ]
    assert all(call.request.headers["PRIVATE-TOKEN"] == TOKEN for call in mocked.calls)
    assert all(call.request.headers["User-Agent"] == f"mrbot/{__version__}" for call in mocked.calls)


def test_failure_status_is_gitlabs_failed_and_an_empty_link_is_left_out(forge):
    gitlab_forge, mocked = forge
    mocked.post(f"{API}/projects/42/statuses/{HEAD}", json={"id": 1}, status=201)

    gitlab_forge.set_status("failure", "test.loss +0.2 (+40.0%)", "")

    sent = json.loads(mocked.calls[-1].request.body)
    assert sent == {"state": "failed", "name": "ci/mrbot", "description": "test.loss +0.2 (+40.0%)"}


def test_upload_names_the_file_by_its_content_hash(forge, tmp_path):
    gitlab_forge, mocked = forge
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "loss.png").write_bytes(PNG)
    mocked.get(f"{API}/projects/42/merge_requests/3/notes", json=[])
    mocked.post(f"{API}/projects/42/uploads", status=201,
                json={"url": "/uploads/0123456789abcdef0123456789abcdef/x.png", "markdown": "![x](...)"})

    url_of = gitlab_forge.host_images(tmp_path, ["images/loss.png"])

    assert url_of("images/loss.png") == "/uploads/0123456789abcdef0123456789abcdef/x.png"
    body = mocked.calls[-1].request.body
    digest = hashlib.sha256(PNG).hexdigest()[:16]
    assert f'name="file"; filename="{digest}-loss.png"'.encode() in body
    assert PNG in body


@pytest.mark.parametrize("url", ["javascript:alert(1)", "/uploads/abc/x.png) ![y](https://evil.example/t.png",
                                 "/uploads/abc/x y.png", ""])
def test_an_upload_url_that_could_break_the_markdown_is_refused(forge, tmp_path, url):
    gitlab_forge, mocked = forge
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "loss.png").write_bytes(PNG)
    mocked.get(f"{API}/projects/42/merge_requests/3/notes", json=[])
    mocked.post(f"{API}/projects/42/uploads", status=201, json={"url": url})

    with pytest.raises(ImagesUnavailable, match="unexpected URL"):
        gitlab_forge.host_images(tmp_path, ["images/loss.png"])


def test_current_head_is_read_again_from_the_merge_request(forge):
    gitlab_forge, mocked = forge
    newer = "e" * 40
    mocked.get(f"{API}/projects/42/merge_requests/3", json={"iid": 3, "sha": newer, "web_url": "u"})
    assert gitlab_forge.current_head_sha() == newer


def test_a_validation_error_body_becomes_one_line(forge):
    gitlab_forge, mocked = forge
    mocked.put(f"{API}/projects/42/merge_requests/3/notes/5", status=400,
               json={"message": {"note": ["is too long (maximum is 1000000 characters)"]}})

    with pytest.raises(ForgeRefused) as refused:
        gitlab_forge.update_comment(Comment(5, "old", "https://x/#note_5", "2026-01-01T00:00:00Z"), "new")

    message = str(refused.value)
    assert message.startswith("GitLab refused to update the note https://x/#note_5 (400: ")
    assert "is too long" in message and "\n" not in message


def test_the_open_merge_request_of_a_fork_with_the_same_branch_name_is_not_ours():
    from bot.forges.gitlab_merge_requests import open_merge_requests

    with responses.RequestsMock() as mocked:
        mocked.get(f"{API}/user", json={"id": 7, "username": "project_42_bot", "name": "mrbot bot",
                                         "commit_email": "project_42_bot@noreply.gitlab.example.com"})
        mocked.get(f"{API}/projects/42", json={"id": 42, "web_url": "https://gitlab.example.com/gitlab/g/p"})
        listed = mocked.get(f"{API}/projects/42/merge_requests", json=[
            {"iid": 9, "source_project_id": 77, "web_url": "https://gitlab.example.com/gitlab/g/p/-/merge_requests/9"},
            {"iid": 4, "source_project_id": 42, "web_url": "https://gitlab.example.com/gitlab/g/p/-/merge_requests/4"},
        ])
        environ = {"CI_API_V4_URL": API, "CI_PROJECT_ID": "42", "CI_COMMIT_SHA": HEAD, "GITLAB_TOKEN": TOKEN}
        requests_of = open_merge_requests(detect_gitlab(environ))

        found = requests_of.find_open("mrbot/retrain", "main")

        assert found is not None and found.number == 4
        query = listed.calls[0].request.params
        assert (query["state"], query["source_branch"], query["target_branch"]) == ("opened", "mrbot/retrain", "main")
        assert requests_of.author() == ("mrbot bot", "project_42_bot@noreply.gitlab.example.com")
