"""Context detection on GitHub Actions, from the variables and event payloads the runner provides."""

from __future__ import annotations

import json

import pytest

from bot.ci import detect
from bot.ci.context import GITHUB
from bot.ci.github import FIND_PULL_BY_HEAD, FORK
from bot.errors import BadInput
from bot.forges.github_api import ClientOptions, client_options
from tests.servers.github import (
    actions_environ,
    pull_request_event,
    push_event,
    workflow_dispatch_event,
    workflow_run_event,
)

REPO = "octo-org/ml-project"
API = "https://ghe.example.com/api/v3"  # GitHub Enterprise Server: GITHUB_API_URL must be honored
HEAD, BASE, MERGE = "1" * 40, "b" * 40, "9" * 40


def environ_for(tmp_path, event: str, payload: dict, sha: str = MERGE, **more: str) -> dict[str, str]:
    return actions_environ(tmp_path, event, payload, REPO, API, sha, **more)


def test_pull_request_reports_on_the_pr_head_not_the_merge_commit(tmp_path):
    environ = environ_for(tmp_path, "pull_request", pull_request_event(REPO, 7, HEAD, BASE, API),
                          GITHUB_TOKEN="ghs_x", GITHUB_SERVER_URL="https://ghe.example.com")
    context = detect(environ)
    assert (context.forge, context.repository, context.number) == (GITHUB, REPO, 7)
    assert (context.head_sha, context.base_sha, context.base_ref) == (HEAD, BASE, "main")
    assert context.api_url == API and context.server_url == "https://ghe.example.com"
    assert context.run_url == f"https://ghe.example.com/{REPO}/actions/runs/4242"
    assert (context.token, context.token_name) == ("ghs_x", "GITHUB_TOKEN")
    assert context.summary_path == tmp_path / "step_summary.md" and context.output_path == tmp_path / "output.txt"
    assert FORK not in context.extra
    assert "ghs_x" not in repr(context)


def test_a_pull_request_from_a_fork_is_marked_as_such(tmp_path):
    payload = pull_request_event(REPO, 8, HEAD, BASE, API, head_repository="fork-contributor/ml-project")
    context = detect(environ_for(tmp_path, "pull_request", payload))
    assert context.number == 8 and context.extra[FORK] == "true"
    assert context.token == ""  # a fork's first stage usually runs without one


def test_mrbot_token_overrides_github_token_and_defaults_apply(tmp_path):
    environ = environ_for(tmp_path, "pull_request", pull_request_event(REPO, 7, HEAD, BASE, API),
                          GITHUB_TOKEN="ghs_x", MRBOT_TOKEN="ghp_y")
    del environ["GITHUB_API_URL"], environ["GITHUB_SERVER_URL"]
    context = detect(environ)
    assert (context.token, context.token_name) == ("ghp_y", "MRBOT_TOKEN")
    assert context.api_url == "https://api.github.com" and context.server_url == "https://github.com"


def test_pull_request_target_is_refused_unless_allowed(tmp_path):
    environ = environ_for(tmp_path, "pull_request_target", pull_request_event(REPO, 7, HEAD, BASE, API))
    with pytest.raises(BadInput, match=r"pull_request_target.*write token.*pwn request.*--allow-pull-request-target"):
        detect(environ)
    assert detect(environ, allow_pull_request_target=True).number == 7


def test_workflow_run_of_a_same_repo_pr_names_the_pr(tmp_path):
    payload = workflow_run_event(REPO, HEAD, API, pull=(7, BASE))
    context = detect(environ_for(tmp_path, "workflow_run", payload, sha="c" * 40))
    assert (context.number, context.head_sha, context.base_sha) == (7, HEAD, BASE)
    assert FIND_PULL_BY_HEAD not in context.extra


def test_workflow_run_of_a_fork_pr_asks_the_driver_to_find_the_pr(tmp_path):
    payload = workflow_run_event(REPO, HEAD, API, head_repository="fork-contributor/ml-project", head_branch="main")
    context = detect(environ_for(tmp_path, "workflow_run", payload, sha="c" * 40))
    assert context.number is None and context.head_sha == HEAD
    assert context.extra == {FORK: "true", FIND_PULL_BY_HEAD: "fork-contributor:main"}


def test_workflow_run_ignores_pull_requests_of_other_repositories(tmp_path):
    payload = workflow_run_event(REPO, HEAD, API, pull=(3, BASE))
    payload["workflow_run"]["pull_requests"][0]["base"]["repo"]["url"] = f"{API}/repos/someone/else"
    context = detect(environ_for(tmp_path, "workflow_run", payload))
    assert context.number is None  # a push-triggered run of the same repo: it goes on the commit


def test_push_comments_on_the_commit_against_the_previous_tip(tmp_path):
    before, after = "a" * 40, "c" * 40
    context = detect(environ_for(tmp_path, "push", push_event(REPO, before, after, API), sha=after))
    assert (context.number, context.head_sha, context.base_sha) == (None, after, before)

    new_branch = push_event(REPO, "0" * 40, after, API, ref="refs/heads/feature")
    context = detect(environ_for(tmp_path, "push", new_branch, sha=after))
    assert context.base_sha == ""  # no previous tip: the default base (merge-base with main) applies


def test_workflow_dispatch_comments_on_the_commit(tmp_path):
    context = detect(environ_for(tmp_path, "workflow_dispatch", workflow_dispatch_event(REPO, API), sha="c" * 40))
    assert (context.number, context.head_sha, context.base_sha, context.event) == (None, "c" * 40, "", "workflow_dispatch")


def test_client_pacing_is_read_from_the_environment(tmp_path):
    environ = environ_for(tmp_path, "pull_request", pull_request_event(REPO, 7, HEAD, BASE, API),
                          MRBOT_SECONDS_BETWEEN_WRITES="0")
    assert detect(environ).extra == {"seconds_between_writes": "0"}


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda env: env.pop("GITHUB_REPOSITORY"), "GITHUB_REPOSITORY is not set"),
        (lambda env: env.pop("GITHUB_EVENT_PATH"), "GITHUB_EVENT_PATH is not set"),
        (lambda env: env.update(GITHUB_EVENT_PATH="/nonexistent/event.json"), "cannot read the event payload"),
        (lambda env: env.update(GITHUB_EVENT_NAME="workflow_run"), "the workflow_run event payload lacks 'workflow_run'"),
    ],
)
def test_a_broken_environment_is_named(tmp_path, change, message):
    environ = environ_for(tmp_path, "pull_request", pull_request_event(REPO, 7, HEAD, BASE, API))
    change(environ)
    with pytest.raises(BadInput, match=message):
        detect(environ)


def test_a_payload_that_is_not_json_or_lacks_a_sha_is_named(tmp_path):
    environ = environ_for(tmp_path, "pull_request", pull_request_event(REPO, 7, HEAD, BASE, API))
    with open(environ["GITHUB_EVENT_PATH"], "w") as broken:
        broken.write("{not json")
    with pytest.raises(BadInput, match=r"event.json: the event payload .* is not valid JSON"):
        detect(environ)
    payload = pull_request_event(REPO, 7, "not-a-sha", BASE, API)
    with open(environ["GITHUB_EVENT_PATH"], "w") as event:
        json.dump(payload, event)
    with pytest.raises(BadInput, match=r"lacks a commit sha in pull_request.head.sha"):
        detect(environ)


def _pull(**changes):
    """A pull_request payload with fields of `pull_request` replaced (head=..., number=...)."""
    payload = pull_request_event(REPO, 7, HEAD, BASE, API)
    payload["pull_request"].update(changes)
    return payload


def _run(**changes):
    payload = workflow_run_event(REPO, HEAD, API, head_repository="fork-contributor/ml-project", head_branch="main")
    payload["workflow_run"].update(changes)
    return payload


@pytest.mark.parametrize(
    "event, payload, message",
    [
        ("pull_request", _pull(head={"sha": HEAD, "repo": "str"}), "pull_request.head.repo is not an object"),
        ("pull_request", _pull(head="str"), "pull_request.head is not an object"),
        ("pull_request", _pull(number=1e400), "pull_request.number is not a whole number"),
        ("pull_request", _pull(number="7"), "pull_request.number is not a whole number"),
        ("pull_request", _pull(number=-1), r"pull_request.number is not a pull request number \(got -1\)"),
        ("pull_request", _pull(base={"sha": BASE, "ref": ["main"]}), "pull_request.base.ref is not a string"),
        ("pull_request", {"pull_request": []}, "pull_request is not an object"),
        ("workflow_run", _run(pull_requests="abc"), "workflow_run.pull_requests is not a list"),
        ("workflow_run", _run(pull_requests=[5]), r"workflow_run.pull_requests\[\] is not an object"),
        ("workflow_run", _run(head_repository="x"), "workflow_run.head_repository is not an object"),
        ("workflow_run", _run(head_branch={"a": 1}), "workflow_run.head_branch is not a string"),
        ("workflow_run", {"workflow_run": "x"}, "workflow_run is not an object"),
        ("push", {**push_event(REPO, BASE, HEAD, API), "before": 5}, "before is not a string"),
    ],
    ids=["head-repo", "head", "number-inf", "number-text", "number-negative", "base-ref", "pull-request",
         "pull-requests", "pull-requests-item", "head-repository", "head-branch", "workflow-run", "before"],
)
def test_a_payload_field_of_the_wrong_type_is_named(tmp_path, event, payload, message):
    environ = environ_for(tmp_path, event, payload, sha=HEAD)
    with pytest.raises(BadInput, match=rf"event.json: in the {event} event payload \(GITHUB_EVENT_PATH\), {message};"):
        detect(environ)


def test_a_deleted_fork_or_a_null_full_name_is_a_fork(tmp_path):
    for repo in (None, {"full_name": None}):
        context = detect(environ_for(tmp_path, "pull_request", _pull(head={"sha": HEAD, "repo": repo})))
        assert context.number == 7 and context.extra[FORK] == "true"


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"pull_request": {"number": ' + "1" * 5000 + "}}"],
                         ids=["deep", "long-number"])
def test_a_payload_too_deep_or_with_too_long_a_number_is_named(tmp_path, text):
    environ = environ_for(tmp_path, "pull_request", {})
    with open(environ["GITHUB_EVENT_PATH"], "w") as event:
        event.write(text)
    with pytest.raises(BadInput, match=r"event.json: the event payload \(GITHUB_EVENT_PATH\) nests too deeply or "):
        detect(environ)


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400", "-1", "61", "soon"])
def test_client_pacing_out_of_range_names_the_variable(tmp_path, value):
    environ = environ_for(tmp_path, "pull_request", pull_request_event(REPO, 7, HEAD, BASE, API),
                          MRBOT_SECONDS_BETWEEN_REQUESTS=value)
    with pytest.raises(BadInput, match=rf"^MRBOT_SECONDS_BETWEEN_REQUESTS='{value}' is not a number of seconds from 0 to 60$"):
        client_options(detect(environ).extra)
    assert client_options({"seconds_between_requests": "60", "seconds_between_writes": "0.5"}) == ClientOptions(
        seconds_between_requests=60, seconds_between_writes=0.5
    )
