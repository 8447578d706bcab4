"""Where reports are published: one small driver per forge behind `base.Forge`.
Nothing outside this package imports PyGithub or python-gitlab; Bitbucket is plain requests."""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Iterator

from bot.ci.context import BITBUCKET, FORGEJO, GITHUB, GITLAB, Context
from bot.errors import BadInput, ForgeRefused, MrbotError
from bot.forges.base import AlreadyOpen, Comment, Forge, ImagesUnavailable, PullRequests
from bot.masking import mask

# What each Forge call does, for the message when the forge answers something unusable.
_DOING = {
    "host_images": "uploading the report's images",
    "report_comments": "listing the report comments",
    "current_head_sha": "reading the head of the pull/merge request",
    "create_comment": "posting the report comment",
    "update_comment": "updating the report comment",
    "delete_comment": "deleting a duplicate report comment",
    "set_status": "setting the commit status",
    "set_check_run": "setting the check run",
    "author": "reading the token's user",
    "find_open": "looking for the open pull/merge request of the branch",
    "create": "opening the pull/merge request",
    "update": "updating the pull/merge request",
}
_FORGE_NAMES = {
    GITHUB: ("GitHub", "GITHUB_API_URL"),
    GITLAB: ("GitLab", "CI_API_V4_URL"),
    BITBUCKET: ("Bitbucket", "MRBOT_BITBUCKET_API_URL"),
    FORGEJO: ("Forgejo", "GITHUB_API_URL"),
}


def open_forge(context: Context, settings: dict[str, str]) -> Forge:
    """The driver for the context's forge. `settings` holds forge options from the CLI
    (status context name, assets branch, ...)."""
    if context.forge == GITHUB:
        from bot.forges.github import open_github

        with _answers_it_cannot_use(context, "checking the token and the repository"):
            return _Guarded(open_github(context, settings), context)  # type: ignore[return-value]
    if context.forge == GITLAB:
        from bot.forges.gitlab import open_gitlab

        with _answers_it_cannot_use(context, "checking the token and the repository"):
            return _Guarded(open_gitlab(context, settings), context)  # type: ignore[return-value]
    if context.forge == BITBUCKET:
        from bot.forges.bitbucket import open_bitbucket

        with _answers_it_cannot_use(context, "checking the token and the repository"):
            return _Guarded(open_bitbucket(context, settings), context)  # type: ignore[return-value]
    if context.forge == FORGEJO:
        from bot.forges.forgejo import open_forgejo

        with _answers_it_cannot_use(context, "checking the token and the repository"):
            return _Guarded(open_forgejo(context, settings), context)  # type: ignore[return-value]
    raise BadInput(f"no forge to post to in this environment ({context.forge}); use --dry-run or --out")


def open_pull_requests(context: Context) -> PullRequests:
    """Where mrbot propose opens or updates its PR/MR; the token is checked here where the forge
    allows it without writing (GitLab), before minutes of pipeline."""
    if context.forge == GITHUB:
        from bot.forges.github_pulls import GitHubPullRequests

        if not context.token:
            raise BadInput("no GitHub token: mrbot propose pushes a branch and opens a pull request; set "
                           "GITHUB_TOKEN: ${{ github.token }} (or MRBOT_TOKEN) in the step's env")
        return _Guarded(GitHubPullRequests(context), context)  # type: ignore[return-value]
    if context.forge == GITLAB:
        from bot.forges.gitlab_merge_requests import open_merge_requests

        with _answers_it_cannot_use(context, "checking the token and the project"):
            return _Guarded(open_merge_requests(context), context)  # type: ignore[return-value]
    if context.forge == BITBUCKET:
        from bot.forges.bitbucket_pulls import BitbucketPullRequests

        with _answers_it_cannot_use(context, "checking the token"):
            return _Guarded(BitbucketPullRequests(context), context)  # type: ignore[return-value]
    if context.forge == FORGEJO:
        from bot.forges.forgejo_pulls import ForgejoPullRequests

        with _answers_it_cannot_use(context, "checking the token"):
            return _Guarded(ForgejoPullRequests(context), context)  # type: ignore[return-value]
    raise BadInput(f"no forge to open a pull request on in this environment ({context.forge})")


def project_git_url(context: Context) -> str:
    """The project's HTTPS git URL on its forge (both forges spell it the same way)."""
    return f"{context.server_url}/{context.repository}.git" if context.server_url and context.repository else ""


def push_header(context: Context) -> str | None:
    """The HTTP header git pushes with, for the context's token (None: the checkout's own credentials)."""
    if not context.token:
        return None
    if context.forge in (GITHUB, FORGEJO):  # Forgejo reads the token as actions/checkout sends it
        from bot.forges.github_pulls import push_header as github_header

        return github_header(context.token)
    if context.forge == BITBUCKET:
        from bot.forges.bitbucket_pulls import push_header as bitbucket_header

        return bitbucket_header(context)
    if context.forge == GITLAB:
        from bot.forges.gitlab_merge_requests import push_header as gitlab_header

        return gitlab_header(context.token)
    return None


@contextlib.contextmanager
def _answers_it_cannot_use(context: Context, doing: str) -> Iterator[None]:
    """The drivers turn the errors they know into ForgeRefused; anything else escaping them means the
    server answered something unexpected (HTML, a list for an object, null ids): exit 4, not a traceback."""
    try:
        yield
    except (MrbotError, ImagesUnavailable, AlreadyOpen):
        raise
    except Exception as exc:
        name, variable = _FORGE_NAMES.get(context.forge, (context.forge, "the API URL"))
        said = " ".join(str(exc).split())[:200]
        detail = f"{type(exc).__name__}: {said}" if said else type(exc).__name__
        detail = mask(detail, [context.token] if context.token else [])
        raise ForgeRefused(
            f"{name} answered something mrbot cannot use while {doing} ({detail}); check {variable} / the server"
        ) from None


class _Guarded:
    """A driver whose every call goes through _answers_it_cannot_use; attributes pass through."""

    def __init__(self, driver: Any, context: Context):
        self._driver = driver
        self._context = context

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._driver, name)
        if name not in _DOING:
            return value

        @functools.wraps(value)
        def call(*args: Any, **kwargs: Any) -> Any:
            with _answers_it_cannot_use(self._context, _DOING[name]):
                result = value(*args, **kwargs)
                # PyGithub makes a comment of any 200 answer; one without a URL would break the outputs later.
                if isinstance(result, Comment) and not (isinstance(result.url, str) and result.url):
                    raise ValueError("the comment in the answer has no URL")
                return result

        return call
