"""Where we run: the context of each CI system (GitHub Actions, Forgejo/Gitea Actions, GitLab CI,
Bitbucket Pipelines, a laptop), and the job summary and outputs mrbot leaves there."""

from __future__ import annotations

from typing import Mapping

from bot.ci.context import Context


def detect(environ: Mapping[str, str], allow_pull_request_target: bool = False) -> Context:
    """GitHub Actions, Forgejo/Gitea Actions, GitLab CI, Bitbucket Pipelines, or a laptop (the local
    context: no forge)."""
    from bot.ci.forgejo import is_forgejo

    if is_forgejo(environ):  # before GitHub: Forgejo's and Gitea's runners set GITHUB_ACTIONS too
        from bot.ci.forgejo import detect_forgejo

        return detect_forgejo(environ, allow_pull_request_target)
    if environ.get("GITHUB_ACTIONS") == "true":
        from bot.ci.github import detect_github

        return detect_github(environ, allow_pull_request_target)
    if environ.get("GITLAB_CI") == "true":
        from bot.ci.gitlab import detect_gitlab

        return detect_gitlab(environ)
    if environ.get("BITBUCKET_BUILD_NUMBER") and environ.get("BITBUCKET_COMMIT"):
        from bot.ci.bitbucket import detect_bitbucket

        return detect_bitbucket(environ)
    return Context()
