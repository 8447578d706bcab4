"""GitHub: the pull request of mrbot propose's branch (find the open one, open it, update it), and
how git authenticates to push that branch with the same token."""

from __future__ import annotations

import base64
import contextlib

import requests
from github import GithubException

from bot.ci.context import Context
from bot.errors import ForgeRefused
from bot.forges.base import AlreadyOpen, PullRequest, clip
from bot.forges.github_api import (
    client_options,
    github_calls,
    github_client,
    github_message,
    refused,
    unreachable,
)

BODY_LIMIT = 65_536  # GitHub's limit on a pull request's body, as on a comment's
ACTIONS_MAY_NOT_CREATE = (
    "let Actions open pull requests (Settings > Actions > General > Workflow permissions: 'Allow GitHub "
    "Actions to create and approve pull requests') and give the job `permissions:` `pull-requests: write` "
    "and `contents: write`; or pass a GitHub App token or a fine-grained PAT as MRBOT_TOKEN"
)


def push_header(token: str) -> str:
    """What actions/checkout itself configures for pushing with a token."""
    return "AUTHORIZATION: basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode("ascii")


class GitHubPullRequests:
    def __init__(self, context: Context):
        self._context = context
        client = github_client(context.api_url, context.token, client_options(context.extra))
        self._repo = client.get_repo(context.repository)  # lazy: no request yet
        self._owner = context.repository.split("/")[0]

    def author(self) -> tuple[str, str] | None:
        return None  # the Actions bot's identity is the default; a PAT's user may not want theirs used

    def find_open(self, branch: str, base: str) -> PullRequest | None:
        with self._calling(f"listing the open pull requests of {branch}"):
            # PyGithub follows every page's Link; GitHub filters by head and base itself.
            for pull in self._repo.get_pulls(state="open", head=f"{self._owner}:{branch}", base=base):
                return PullRequest(pull.number, pull.html_url)
        return None

    def create(self, branch: str, base: str, title: str, body: str) -> PullRequest:
        doing = f"opening a pull request from {branch} into {base}"
        try:
            pull = self._repo.create_pull(base=base, head=branch, title=title, body=clip(body, BODY_LIMIT))
        except GithubException as exc:
            message = github_message(exc)
            details = " ".join(str(error.get("message", "")) for error in (exc.data or {}).get("errors", [])
                               if isinstance(error, dict)) if isinstance(exc.data, dict) else ""
            if exc.status == 422 and "already exists" in details.lower():
                raise AlreadyOpen(details) from None
            if exc.status == 403 and "not permitted to create" in message.lower():
                raise ForgeRefused(f"GitHub refused {doing} (403 {message}): {ACTIONS_MAY_NOT_CREATE}") from None
            raise refused(exc, doing, self._context) from None
        except requests.RequestException as exc:
            raise unreachable(exc, doing, self._context) from None
        return PullRequest(pull.number, pull.html_url)

    def update(self, pull: PullRequest, title: str, body: str) -> PullRequest:
        with self._calling(f"updating pull request #{pull.number}"):
            self._repo.get_pull(pull.number).edit(title=title, body=clip(body, BODY_LIMIT))
        return pull

    def _calling(self, doing: str) -> contextlib.AbstractContextManager[None]:
        return github_calls(self._context, doing)
