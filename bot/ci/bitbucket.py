"""Bitbucket Pipelines: the context from its default variables
(support.atlassian.com/bitbucket-cloud/docs/variables-and-secrets)."""

from __future__ import annotations

import re
from typing import Mapping
from urllib.parse import urlsplit

from bot.ci.context import BITBUCKET, Context
from bot.errors import BadInput, brief

DEFAULT_API_URL = "https://api.bitbucket.org/2.0"
DEFAULT_SERVER_URL = "https://bitbucket.org"
# Checked in order: the generic override first, then Bitbucket's usual name.
TOKEN_VARIABLES = ("MRBOT_TOKEN", "BITBUCKET_TOKEN")
# Keys of Context.extra the Bitbucket driver reads.
EMAIL = "email"  # with an Atlassian API token: Basic auth as email:token (access tokens are Bearer)
BOT_UUID = "bot_uuid"  # whose comments are mrbot's, where the token may not read GET /user
_UUID = re.compile(r"\{?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\}?")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def detect_bitbucket(environ: Mapping[str, str]) -> Context:
    """PR pipelines name the PR and its destination; a branch pipeline posts on the commit."""
    workspace, slug = environ.get("BITBUCKET_WORKSPACE", ""), environ.get("BITBUCKET_REPO_SLUG", "")
    repository = environ.get("BITBUCKET_REPO_FULL_NAME") or (f"{workspace}/{slug}" if workspace and slug else "")
    if not repository:
        raise BadInput("BITBUCKET_REPO_FULL_NAME is not set; Bitbucket Pipelines sets it in every step "
                       "(running outside Pipelines?)")
    head_sha = environ.get("BITBUCKET_COMMIT", "")
    if not re.fullmatch(r"[0-9a-f]{7,40}", head_sha):
        raise BadInput(f"BITBUCKET_COMMIT={brief(head_sha)} is not a commit sha; Bitbucket Pipelines sets it in every step")
    server_url = _https_url(environ, "MRBOT_BITBUCKET_URL", DEFAULT_SERVER_URL)
    token_name = next((name for name in TOKEN_VARIABLES if environ.get(name)), "BITBUCKET_TOKEN")
    build = environ.get("BITBUCKET_BUILD_NUMBER", "")
    # The destination's tip, often by 12 characters: the baseline resolves it where the clone has it.
    destination = environ.get("BITBUCKET_PR_DESTINATION_COMMIT", "")
    extra = {EMAIL: environ["MRBOT_BITBUCKET_EMAIL"]} if environ.get("MRBOT_BITBUCKET_EMAIL") else {}
    if environ.get("MRBOT_BOT_UUID"):
        extra[BOT_UUID] = bot_uuid(environ["MRBOT_BOT_UUID"])
    return Context(
        forge=BITBUCKET,
        repository=repository,
        api_url=_https_url(environ, "MRBOT_BITBUCKET_API_URL", DEFAULT_API_URL),
        server_url=server_url,
        number=_pull_request_id(environ),
        head_sha=head_sha,
        base_sha=destination if re.fullmatch(r"[0-9a-f]{7,40}", destination) else "",
        base_ref=environ.get("BITBUCKET_PR_DESTINATION_BRANCH", ""),
        branch="" if environ.get("BITBUCKET_PR_ID") else environ.get("BITBUCKET_BRANCH", ""),
        event="pull-requests" if environ.get("BITBUCKET_PR_ID") else "push",
        run_url=f"{server_url}/{repository}/pipelines/results/{build}" if build else "",
        token=environ.get(token_name, ""),
        token_name=token_name,
        extra=extra,
    )


def _pull_request_id(environ: Mapping[str, str]) -> int | None:
    value = environ.get("BITBUCKET_PR_ID", "")
    if not value:
        return None
    if not re.fullmatch(r"[0-9]{1,18}", value):
        raise BadInput(f"BITBUCKET_PR_ID={brief(value)} is not a pull request number; unset it or fix the step's variables")
    return int(value)


def bot_uuid(value: str) -> str:
    """The uuid as Bitbucket writes it in a comment's author: lower case, in braces."""
    matched = _UUID.fullmatch(value.strip().lower())
    if not matched:
        raise BadInput(f"MRBOT_BOT_UUID={brief(value)} is not a Bitbucket uuid; copy it as "
                       "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx} from mrbot's log, or unset it")
    return "{" + matched.group(1) + "}"


def _https_url(environ: Mapping[str, str], name: str, default: str) -> str:
    """The token and the report's links go here: https only, but for a server on this machine."""
    url = (environ.get(name) or default).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in _LOOPBACK):
        raise BadInput(f"{name}={brief(url)} is not an https:// URL; Bitbucket Cloud is https only (unset it)")
    return url
