"""Forgejo/Gitea: the pull request of mrbot propose's branch (find the open one, open it, update it)
over the REST API v1. Git pushes with the token as actions/checkout sends it: Forgejo reads a token
in Basic auth's password whatever the user name."""

from __future__ import annotations

from typing import Any, Iterator
from urllib.parse import quote

from bot.ci.context import Context
from bot.forges.base import AlreadyOpen, PullRequest, clip
from bot.forges.forgejo import COMMENT_LIMIT
from bot.forges.forgejo_api import ForgejoClient
from bot.forges.rest import Refusal

PAGE = 50  # Forgejo's default most per page
MAX_PAGES = 100


class ForgejoPullRequests:
    def __init__(self, context: Context):
        self._client = ForgejoClient(context)
        owner, name = context.repository.split("/", 1)
        self._repo = f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"

    def author(self) -> tuple[str, str] | None:
        return None  # a job token's user is the forge's actions bot: mrbot's own identity commits

    def find_open(self, branch: str, base: str) -> PullRequest | None:
        doing = f"listing the open pull requests of {branch}"
        with self._client.calling(doing):
            for pull in self._open_pulls(doing):
                head, into = pull.get("head") or {}, pull.get("base") or {}
                same_repo = (head.get("repo_id") is None or head.get("repo_id") == into.get("repo_id"))
                if head.get("ref") == branch and into.get("ref") == base and same_repo:
                    return _pull(pull)
        return None

    def create(self, branch: str, base: str, title: str, body: str) -> PullRequest:
        doing = f"opening a pull request from {branch} into {base}"
        try:
            pull = self._client.json("POST", f"{self._repo}/pulls", doing,
                                     json={"head": branch, "base": base, "title": title, "body": clip(body, COMMENT_LIMIT)})
        except Refusal as exc:
            if exc.status == 409:  # "pull request already exists for these targets"
                raise AlreadyOpen(exc.message) from None
            raise self._client.refused(exc, doing) from None
        return _pull(pull)

    def update(self, pull: PullRequest, title: str, body: str) -> PullRequest:
        doing = f"updating pull request #{pull.number}"
        with self._client.calling(doing):
            self._client.call("PATCH", f"{self._repo}/pulls/{pull.number}", doing,
                              json={"title": title, "body": clip(body, COMMENT_LIMIT)})
        return pull

    def _open_pulls(self, doing: str) -> Iterator[dict[str, Any]]:
        for page in range(1, MAX_PAGES + 1):
            values = self._client.json("GET", f"{self._repo}/pulls?state=open&limit={PAGE}&page={page}", doing)
            if not isinstance(values, list):
                raise ValueError("a page of pull requests that is no list")
            yield from values
            if len(values) < PAGE:
                return


def _pull(value: Any) -> PullRequest:
    return PullRequest(int(value["number"]), str(value["html_url"]))
