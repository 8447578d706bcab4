"""Single Forgejo/Gitea calls of the driver, checked request by request with `responses`."""

import hashlib
import json

import pytest
import responses

from bot import __version__
from bot.ci import detect
from bot.errors import ForgeRefused
from bot.forges.base import ImagesUnavailable, marker
from bot.forges.forgejo import PLACEHOLDER, open_forgejo
from bot.forges.rest import ClientOptions

SERVER = "https://codeberg.example"
API = f"{SERVER}/api/v1"
REPO = f"{API}/repos/ml-team/model"
HEAD = "d" * 40
TOKEN = "forgejo-unit-job-token"
PNG = b"\x89PNG\r\n\x1a\n" + b"png bytes"
ACTIONS = {"id": -2, "login": "forgejo-actions"}


def environment(tmp_path, **overrides):
    event = {"number": 5, "pull_request": {"number": 5, "head": {"sha": HEAD, "repo": {"full_name": "ml-team/model"}},
                                           "base": {"sha": "b" * 40, "ref": "main",
                                                    "repo": {"full_name": "ml-team/model"}}}}
    (tmp_path / "event.json").write_text(json.dumps(event))
    return {"GITHUB_ACTIONS": "true", "FORGEJO_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(tmp_path / "event.json"), "GITHUB_REPOSITORY": "ml-team/model",
            "GITHUB_SERVER_URL": SERVER, "GITHUB_API_URL": API, "GITHUB_RUN_NUMBER": "12", "FORGEJO_TOKEN": TOKEN,
            **overrides}


def comment_json(comment_id, body, user=ACTIONS, assets=()):
    return {"id": comment_id, "body": body, "user": user, "created_at": f"2026-01-01T00:00:{comment_id:02d}Z",
            "html_url": f"{SERVER}/ml-team/model/pulls/5#issuecomment-{comment_id}", "assets": list(assets)}


def asset_json(asset_id, name, uuid="0" * 8 + "-0000-4000-8000-" + "0" * 12):
    return {"id": asset_id, "name": name, "browser_download_url": f"{SERVER}/attachments/{uuid}"}


@pytest.fixture
def forge(tmp_path):
    with responses.RequestsMock() as mocked:
        mocked.get(f"{API}/user", json=ACTIONS)
        mocked.get(REPO, json={"full_name": "ml-team/model"})
        yield open_forgejo(detect(environment(tmp_path)), {"status_context": "ci/mrbot"}, ClientOptions(retries=0)), mocked


def test_every_call_carries_the_token_in_lower_case_and_mrbots_user_agent(forge):
    _, mocked = forge
    for call in mocked.calls:
        assert call.request.headers["Authorization"] == f"token {TOKEN}"
        assert call.request.headers["User-Agent"] == f"mrbot/{__version__}"


def test_the_status_names_the_context_and_falls_back_to_the_run(forge):
    driver, mocked = forge
    mocked.post(f"{REPO}/statuses/{HEAD}", json={}, status=201)
    driver.set_status("failure", "x" * 300, "")
    sent = json.loads(mocked.calls[-1].request.body)
    assert (sent["state"], sent["context"]) == ("failure", "ci/mrbot")
    assert sent["target_url"] == f"{SERVER}/ml-team/model/actions/runs/12" and len(sent["description"]) == 140


def test_the_first_images_go_on_a_new_report_comment_as_attachments(forge, tmp_path):
    driver, mocked = forge
    (tmp_path / "roc.png").write_bytes(PNG)
    mocked.get(f"{REPO}/issues/5/comments", json=[comment_json(1, "lgtm", user={"id": 9, "login": "alice"})])
    mocked.post(f"{REPO}/issues/5/comments", json=comment_json(7, "placeholder"), status=201)
    mocked.post(f"{REPO}/issues/comments/7/assets", json=asset_json(70, "x-roc.png"), status=201)
    url = driver.host_images(tmp_path, ["roc.png"], "gpu")("roc.png")
    created = json.loads(mocked.calls[-2].request.body)
    assert created == {"body": f"{marker('gpu', HEAD)}\n{PLACEHOLDER}"}
    upload = mocked.calls[-1].request
    assert b'name="attachment"' in upload.body and PNG in upload.body
    assert "name=" in upload.url and upload.url.endswith("-roc.png")
    assert url == f"{SERVER}/attachments/00000000-0000-4000-8000-000000000000"


def test_a_rerun_reuses_the_attachment_and_deletes_ones_nothing_shows(forge, tmp_path):
    driver, mocked = forge
    (tmp_path / "roc.png").write_bytes(PNG)
    name = f"{hashlib.sha256(PNG).hexdigest()[:16]}-roc.png"
    kept = asset_json(70, name)
    stale = asset_json(71, "0123456789abcdef-old.png", uuid="1" * 8 + "-0000-4000-8000-" + "1" * 12)
    mocked.get(f"{REPO}/issues/5/comments", json=[comment_json(7, f"{marker('default', HEAD)}\nold", assets=[kept, stale])])
    mocked.delete(f"{REPO}/issues/comments/7/assets/71", status=204)
    url = driver.host_images(tmp_path, ["roc.png"])("roc.png")
    assert url == kept["browser_download_url"]
    assert [call.request.method for call in mocked.calls[-2:]] == ["GET", "DELETE"]


def test_an_attachment_url_that_could_break_the_markdown_is_refused(forge, tmp_path):
    driver, mocked = forge
    (tmp_path / "roc.png").write_bytes(PNG)
    mocked.get(f"{REPO}/issues/5/comments", json=[comment_json(7, f"{marker('default', HEAD)}\nold")])
    mocked.post(f"{REPO}/issues/comments/7/assets", status=201,
                json={"id": 1, "name": "x", "browser_download_url": "javascript:alert(1)"})
    with pytest.raises(ImagesUnavailable, match="unexpected URL"):
        driver.host_images(tmp_path, ["roc.png"])


def test_a_validation_error_is_one_line_in_forgejos_words(forge):
    driver, mocked = forge
    mocked.post(f"{REPO}/issues/5/comments", status=422, json={"message": "[Body]: Required", "url": f"{API}/swagger"})
    with pytest.raises(ForgeRefused, match=r"rejected commenting on pull request #5 as invalid \(422 \[Body\]: Required\)"):
        driver.create_comment("")


def test_a_redirect_is_refused_rather_than_followed_with_the_token(forge):
    driver, mocked = forge
    mocked.get(f"{REPO}/pulls/5", status=302, headers={"Location": "https://elsewhere.example/login"})
    with pytest.raises(ForgeRefused, match="302"):
        driver.current_head_sha()
    assert all("elsewhere" not in call.request.url for call in mocked.calls)
