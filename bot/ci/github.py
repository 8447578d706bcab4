"""GitHub Actions: where to post, read from the runner's environment and the event payload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from bot.ci.context import GITHUB, Context
from bot.errors import BadInput, brief

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
        branch=environ.get("GITHUB_REF_NAME", "") if environ.get("GITHUB_REF", "").startswith("refs/heads/") else "",
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
    except _Malformed as exc:
        raise BadInput(
            f"{environ.get('GITHUB_EVENT_PATH')}: in the {event or 'unknown'} event payload (GITHUB_EVENT_PATH), "
            f"{exc}; is GITHUB_EVENT_NAME right for this payload?"
        ) from None
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
    except (RecursionError, ValueError):
        # json recurses once per nesting level, and int() refuses numbers of over 4300 digits.
        raise BadInput(f"{path}: the event payload (GITHUB_EVENT_PATH) nests too deeply or holds too long a number; "
                       "is GITHUB_EVENT_PATH the runner's event file?") from None
    if not isinstance(payload, dict):
        raise BadInput(f"{path}: the event payload (GITHUB_EVENT_PATH) is not a JSON object")
    return payload


def _from_pull_request(payload: dict[str, Any], repository: str) -> dict[str, Any]:
    pull = _at(payload, "pull_request", dict)
    # A deleted fork leaves head.repo null.
    head_repo = _at(pull, "head.repo.full_name", str, "pull_request", default="")
    return {
        "number": _pull_number(pull, "pull_request"),
        # Not GITHUB_SHA: for pull_request that is a merge commit the PR never contains.
        "head_sha": _sha(_at(pull, "head.sha", object, "pull_request"), "pull_request.head.sha"),
        "base_sha": _sha(_at(pull, "base.sha", object, "pull_request"), "pull_request.base.sha"),
        "base_ref": _at(pull, "base.ref", str, "pull_request"),
        "extra": {FORK: "true"} if head_repo.lower() != repository.lower() else {},
    }


def _from_workflow_run(payload: dict[str, Any], repository: str) -> dict[str, Any]:
    """The second stage of the fork-safe mode: the run that built the report is described here."""
    run = _at(payload, "workflow_run", dict)
    head_sha = _sha(_at(run, "head_sha", object, "workflow_run"), "workflow_run.head_sha")
    pulls = _at(run, "pull_requests", list, "workflow_run", default=[])
    ours = [pull for pull in pulls if _pull_is_in(pull, repository)]
    if ours:
        pull, where = ours[0], "workflow_run.pull_requests[]"
        return {
            "number": _pull_number(pull, where),
            "head_sha": head_sha,
            "base_sha": _sha(_at(pull, "base.sha", object, where), f"{where}.base.sha"),
            "base_ref": _at(pull, "base.ref", str, where),
        }
    head_repo = _at(run, "head_repository", dict, "workflow_run", default={})
    head_name = _at(head_repo, "full_name", str, "workflow_run.head_repository", default="")
    extra: dict[str, str] = {}
    if run.get("event") in PULL_REQUEST_EVENTS and head_name.lower() != repository.lower():
        # GitHub leaves pull_requests empty when the PR comes from a fork; the driver asks the API.
        owner = _at(head_repo, "owner.login", str, "workflow_run.head_repository")
        extra = {FORK: "true", FIND_PULL_BY_HEAD: f"{owner}:{_at(run, 'head_branch', str, 'workflow_run')}"}
    return {"number": None, "head_sha": head_sha, "extra": extra}


def _pull_is_in(pull: dict[str, Any], repository: str) -> bool:
    base_repo_url = _at(pull, "base.repo.url", str, "workflow_run.pull_requests[]", default="")
    return base_repo_url.lower().endswith(f"/repos/{repository.lower()}")


def _from_commit(payload: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    head_sha = _sha(_required(environ, "GITHUB_SHA"), "GITHUB_SHA")
    before = _at(payload, "before", str, default="")
    # A push reports against what the branch was before it; a new branch has no "before" (all zeros).
    base_sha = before if payload.get("after") == head_sha and before.strip("0") else ""
    return {"number": None, "head_sha": head_sha, "base_sha": base_sha}


def _sha(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) < 7 or any(char not in "0123456789abcdef" for char in value):
        raise ValueError(f"a commit sha in {where} (got {brief(value)})")
    return value


class _Malformed(Exception):
    """A payload field of the wrong type; the message names it ("pull_request.head is not an object")."""


_REQUIRED = object()
_KINDS = {dict: "an object", list: "a list", str: "a string", int: "a whole number"}


def _at(value: Any, path: str, kind: type, where: str = "", default: Any = _REQUIRED) -> Any:
    """The `kind` value at the dotted `path` below `value`, which `where` names. The payload is
    untrusted: a missing or null key is a KeyError unless there is a default, a wrong type _Malformed."""
    for key in path.split("."):
        if not isinstance(value, dict):
            raise _Malformed(f"{where} is not an object")
        where = f"{where}.{key}" if where else key
        value = value.get(key)
        if value is None:
            if default is _REQUIRED:
                raise KeyError(where)
            return default
    if kind is not object and (not isinstance(value, kind) or isinstance(value, bool)):
        raise _Malformed(f"{where} is not {_KINDS[kind]}")
    return value


def _pull_number(pull: Any, where: str) -> int:
    number = _at(pull, "number", int, where)
    if not 0 < number < 2**53:
        raise _Malformed(f"{where}.number is not a pull request number (got {brief(number)})")
    return number
