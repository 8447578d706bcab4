"""Who and where: forge, repository, PR/MR, head and base, token. Read from the CI environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

LOCAL = "local"
GITHUB = "github"
GITLAB = "gitlab"
BITBUCKET = "bitbucket"
FORGEJO = "forgejo"  # Forgejo and Gitea: one API


@dataclass(frozen=True)
class Context:
    forge: str = LOCAL
    repository: str = ""  # owner/name on GitHub, the project path on GitLab, workspace/slug on Bitbucket
    project_id: str = ""  # GitLab's numeric project id
    api_url: str = ""
    server_url: str = ""
    number: int | None = None  # PR/MR number; None posts on the commit
    head_sha: str = ""
    base_sha: str = ""  # the base branch's tip, where CI says it (Bitbucket: maybe abbreviated)
    merge_base_sha: str = ""  # where the PR forked from the base branch, where CI says it (GitLab)
    base_ref: str = ""
    branch: str = ""  # the branch a push, scheduled or manual pipeline runs on; "" for a PR/MR
    event: str = ""
    run_url: str = ""
    token: str = field(default="", repr=False)
    token_name: str = ""  # which variable the token came from, for messages
    summary_path: Path | None = None
    output_path: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)
