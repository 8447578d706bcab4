"""GitLab CI: the context from its predefined variables (docs.gitlab.com/ci/variables/predefined_variables)."""

from __future__ import annotations

import re
from typing import Mapping

from bot.ci.context import GITLAB, Context
from bot.errors import BadInput, brief

# Checked in order: the generic override first, then GitLab's usual name.
TOKEN_VARIABLES = ("MRBOT_TOKEN", "GITLAB_TOKEN")
JOB_TOKEN = "CI_JOB_TOKEN"


def detect_gitlab(environ: Mapping[str, str]) -> Context:
    """MR pipelines name the MR and its base; branch pipelines leave `number` None and the forge
    driver looks up the open MR for the commit (that needs the API)."""
    server_url = environ.get("CI_SERVER_URL", "").rstrip("/")
    # CI_API_V4_URL is always honored: self-managed instances under a sub-path, and tests, set it.
    api_url = environ.get("CI_API_V4_URL", "").rstrip("/") or (f"{server_url}/api/v4" if server_url else "")
    token, token_name = _token(environ)
    return Context(
        forge=GITLAB,
        repository=environ.get("CI_PROJECT_PATH", ""),
        project_id=environ.get("CI_PROJECT_ID", ""),
        api_url=api_url,
        server_url=server_url,
        number=_merge_request_iid(environ),
        head_sha=_head_sha(environ),
        base_sha=_base_sha(environ),
        # The merge-base GitLab's own MR diff compares against.
        merge_base_sha=environ.get("CI_MERGE_REQUEST_DIFF_BASE_SHA", ""),
        base_ref=environ.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", ""),
        branch=environ.get("CI_COMMIT_BRANCH", ""),  # unset in MR pipelines
        event=environ.get("CI_PIPELINE_SOURCE", ""),
        run_url=environ.get("CI_JOB_URL") or environ.get("CI_PIPELINE_URL", ""),
        token=token,
        token_name=token_name,
        extra={
            "project_url": environ.get("CI_PROJECT_URL", ""),
            "pipeline_url": environ.get("CI_PIPELINE_URL", ""),
            "commit_branch": environ.get("CI_COMMIT_BRANCH", ""),
        },
    )


def _token(environ: Mapping[str, str]) -> tuple[str, str]:
    """(token, the variable it came from). A job token cannot write notes: it is never returned,
    only named, so the driver can explain what to do instead."""
    job_token = environ.get(JOB_TOKEN, "")
    for name in TOKEN_VARIABLES:
        value = environ.get(name, "")
        if value and value == job_token:
            # `GITLAB_TOKEN: $CI_JOB_TOKEN` is a common first try; it fails the same way.
            return "", JOB_TOKEN
        if value:
            return value, name
    return "", JOB_TOKEN if job_token else ""


def _merge_request_iid(environ: Mapping[str, str]) -> int | None:
    iid = environ.get("CI_MERGE_REQUEST_IID", "")
    if not iid:
        return None
    # Not str.isdigit(): it accepts "²", which int() refuses. Longer than 18 digits is no IID either.
    if not re.fullmatch(r"[0-9]{1,18}", iid):
        raise BadInput(
            f"CI_MERGE_REQUEST_IID={brief(iid)} is not a merge request number; unset it or fix the job's variables"
        )
    return int(iid)


def _head_sha(environ: Mapping[str, str]) -> str:
    # Merged results pipelines run on a temporary merge commit (CI_COMMIT_SHA); the MR's head,
    # which the sticky note's marker and the commit status belong to, is the source branch sha.
    return environ.get("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA") or environ.get("CI_COMMIT_SHA", "")


def _base_sha(environ: Mapping[str, str]) -> str:
    # The target branch's tip: set in merged results pipelines only (the merge commit's first parent).
    return environ.get("CI_MERGE_REQUEST_TARGET_BRANCH_SHA", "")
