"""GitHub Actions: where to post, read from the runner's environment and the event payload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from bot.context import GITHUB, Context
from bot.errors import BadInput

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_SERVER_URL = "https://github.com"
PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target")
# Keys of Context.extra the GitHub driver reads.
FORK = "fork"  # "true" when the PR's head lives in another repository
FIND_PULL_BY_HEAD = "find_pull_by_head"  # "owner:branch" to look the PR up by (workflow_run from a fork)
SECONDS_BETWEEN_REQUESTS = "seconds_between_requests"
SECONDS_BETWEEN_WRITES = "seconds_between_writes"
BOT_LOGIN = "bot_login"  # who posts for a GitHub App token, where GitHub will not say (GET /user, GraphQL)

PULL_REQUEST_TARGET_REFUSED = (
    "refusing to run on a pull_request_target event: it runs with a write token, and checking out and "
    "running the PR's code there lets any fork take over the repository (a 'pwn request'). Use the "
    "two-stage mode (https://github.com/mrbot-dev/mrbot/blob/v0/docs/github.md#forks), or pass "
    "--allow-pull-request-target (MRBOT_ALLOW_PULL_REQUEST_TARGET=true) if only trusted people can open PRs"
)


def detect_github(environ: Mapping[str, str], allow_pull_request_target: bool = False) -> Context:
    event = environ.get("GITHUB_EVENT_NAME", "")
    if event == "pull_request_target" and not allow_pull_request_target:
        raise BadInput(PULL_REQUEST_TARGET_REFUSED)
    repository = _required(environ, "GITHUB_REPOSITORY")
    payload = _payload(environ)
    server_url = (environ.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL).rstrip("/")
    token_name = "MRBOT_TOKEN" if environ.get("MRBOT_TOKEN") else "GITHUB_TOKEN"
    run_id = environ.get("GITHUB_RUN_ID", "")
    common = dict(
        forge=GITHUB,
        repository=repository,
        api_url=(environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
        server_url=server_url,
        event=event,
        run_url=f"{server_url}/{repository}/actions/runs/{run_id}" if run_id else "",
        token=environ.get(token_name, ""),
        token_name=token_name,
        summary_path=_optional_path(environ, "GITHUB_STEP_SUMMARY"),
        output_path=_optional_path(environ, "GITHUB_OUTPUT"),
    )
    settings = {
        key: environ[name]
        for key, name in (
            (SECONDS_BETWEEN_REQUESTS, "MRBOT_SECONDS_BETWEEN_REQUESTS"),
            (SECONDS_BETWEEN_WRITES, "MRBOT_SECONDS_BETWEEN_WRITES"),
            (BOT_LOGIN, "MRBOT_BOT_LOGIN"),
        )
        if environ.get(name)
    }
    try:
        if event in PULL_REQUEST_EVENTS:
            target = _from_pull_request(payload, repository)
        elif event == "workflow_run":
            target = _from_workflow_run(payload, repository)
        else:
            # push, workflow_dispatch, schedule, ...: there is no PR, so the report goes on the commit.
            target = _from_commit(payload, environ)
    except (KeyError, TypeError, ValueError) as exc:
        raise BadInput(
            f"{environ.get('GITHUB_EVENT_PATH')}: the {event or 'unknown'} event payload lacks {exc}; "
            "is GITHUB_EVENT_NAME right for this payload?"
        ) from None
    extra = {**target.pop("extra", {}), **settings}
    return Context(**common, **target, extra=extra)


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "")
    if not value:
        raise BadInput(f"{name} is not set; GitHub Actions sets it in every job (running outside Actions?)")
    return value


def _optional_path(environ: Mapping[str, str], name: str) -> Path | None:
    return Path(environ[name]) if environ.get(name) else None


def _payload(environ: Mapping[str, str]) -> dict[str, Any]:
    path = Path(_required(environ, "GITHUB_EVENT_PATH"))
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput(f"{path}: cannot read the event payload (GITHUB_EVENT_PATH): {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{path}: the event payload (GITHUB_EVENT_PATH) is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise BadInput(f"{path}: the event payload (GITHUB_EVENT_PATH) is not a JSON object")
    return payload


def _from_pull_request(payload: dict[str, Any], repository: str) -> dict[str, Any]:
    pull = payload["pull_request"]
    head_repo = (pull["head"].get("repo") or {}).get("full_name", "")
    return {
        "number": int(pull["number"]),
        # Not GITHUB_SHA: for pull_request that is a merge commit the PR never contains.
        "head_sha": _sha(pull["head"]["sha"], "pull_request.head.sha"),
        "base_sha": _sha(pull["base"]["sha"], "pull_request.base.sha"),
        "base_ref": str(pull["base"]["ref"]),
        "extra": {FORK: "true"} if head_repo.lower() != repository.lower() else {},
    }


def _from_workflow_run(payload: dict[str, Any], repository: str) -> dict[str, Any]:
    """The second stage of the fork-safe mode: the run that built the report is described here."""
    run = payload["workflow_run"]
    head_sha = _sha(run["head_sha"], "workflow_run.head_sha")
    ours = [pull for pull in run.get("pull_requests") or [] if _pull_is_in(pull, repository)]
    if ours:
        pull = ours[0]
        return {
            "number": int(pull["number"]),
            "head_sha": head_sha,
            "base_sha": _sha(pull["base"]["sha"], "workflow_run.pull_requests[].base.sha"),
            "base_ref": str(pull["base"]["ref"]),
        }
    head_repo = run.get("head_repository") or {}
    extra: dict[str, str] = {}
    if run.get("event") in PULL_REQUEST_EVENTS and head_repo.get("full_name", "").lower() != repository.lower():
        # GitHub leaves pull_requests empty when the PR comes from a fork; the driver asks the API.
        extra = {FORK: "true", FIND_PULL_BY_HEAD: f"{head_repo['owner']['login']}:{run['head_branch']}"}
    return {"number": None, "head_sha": head_sha, "extra": extra}


def _pull_is_in(pull: dict[str, Any], repository: str) -> bool:
    base_repo_url = str(((pull.get("base") or {}).get("repo") or {}).get("url", ""))
    return base_repo_url.lower().endswith(f"/repos/{repository.lower()}")


def _from_commit(payload: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    head_sha = _sha(_required(environ, "GITHUB_SHA"), "GITHUB_SHA")
    before = str(payload.get("before") or "")
    # A push reports against what the branch was before it; a new branch has no "before" (all zeros).
    base_sha = before if payload.get("after") == head_sha and before.strip("0") else ""
    return {"number": None, "head_sha": head_sha, "base_sha": base_sha}


def _sha(value: Any, where: str) -> str:
    text = str(value)
    if len(text) < 7 or any(char not in "0123456789abcdef" for char in text):
        raise ValueError(f"a commit sha in {where} (got {text[:50]!r})")
    return text
