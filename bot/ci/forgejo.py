"""Forgejo and Gitea Actions: their runners set GitHub's variables and write GitHub's event payload
(act), so the context is read as on GitHub; what differs is the API (Gitea's v1, not GitHub's),
the token's variables and the run's web page."""

from __future__ import annotations

import dataclasses
from typing import Mapping

from bot.ci.context import FORGEJO, Context
from bot.ci.github import FIND_PULL_BY_HEAD, detect_github
from bot.errors import BadInput

# Checked in order: the generic override, then forgejo-runner's and Gitea's names for the job token.
TOKEN_VARIABLES = ("MRBOT_TOKEN", "FORGEJO_TOKEN", "GITEA_TOKEN", "GITHUB_TOKEN")


def is_forgejo(environ: Mapping[str, str]) -> bool:
    """forgejo-runner sets FORGEJO_ACTIONS, both runners GITEA_ACTIONS (older Forgejo runners only that);
    an API at /api/v1 under GitHub's variables is Gitea's, whatever else is set."""
    if environ.get("FORGEJO_ACTIONS") == "true" or environ.get("GITEA_ACTIONS") == "true":
        return True
    return environ.get("GITHUB_ACTIONS") == "true" and environ.get("GITHUB_API_URL", "").rstrip("/").endswith("/api/v1")


def detect_forgejo(environ: Mapping[str, str], allow_pull_request_target: bool = False) -> Context:
    github = detect_github(environ, allow_pull_request_target)
    if not github.api_url.endswith("/api/v1"):
        raise BadInput(f"GITHUB_API_URL={github.api_url!r} is not a Forgejo/Gitea API (<instance>/api/v1); "
                       "the runner sets it: is this job run by forgejo-runner or Gitea's act_runner?")
    token_name = next((name for name in TOKEN_VARIABLES if environ.get(name)), "GITHUB_TOKEN")
    run = environ.get("GITHUB_RUN_NUMBER", "")  # the run's web page is numbered by the repository's runs
    extra = {key: value for key, value in github.extra.items() if key != FIND_PULL_BY_HEAD}
    return dataclasses.replace(
        github,
        forge=FORGEJO,
        token=environ.get(token_name, ""),
        token_name=token_name,
        run_url=f"{github.server_url}/{github.repository}/actions/runs/{run}" if run else "",
        extra=extra,
    )
