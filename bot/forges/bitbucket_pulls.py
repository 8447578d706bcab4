"""Bitbucket Cloud: the pull request of mrbot propose's branch (find the open one, open it, update
it), and how git authenticates to push that branch with the same token."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

from bot.ci.bitbucket import EMAIL
from bot.ci.context import Context
from bot.forges.base import AlreadyOpen, PullRequest, clip
from bot.forges.bitbucket import COMMENT_LIMIT
from bot.forges.bitbucket_api import BitbucketClient
from bot.forges.rest import Refusal


def push_header(context: Context) -> str:
    """Git's user name for an access token is x-token-auth; for an Atlassian API token, its own."""
    user = "x-bitbucket-api-token-auth" if context.extra.get(EMAIL) else "x-token-auth"
    return "AUTHORIZATION: basic " + base64.b64encode(f"{user}:{context.token}".encode()).decode("ascii")


class BitbucketPullRequests:
    def __init__(self, context: Context):
        self._client = BitbucketClient(context)
        workspace, slug = context.repository.split("/", 1)
        self._pulls = f"/repositories/{quote(workspace, safe='')}/{quote(slug, safe='')}/pullrequests"

    def author(self) -> tuple[str, str] | None:
        return None  # an access token is a bot without an email: mrbot's own identity commits

    def find_open(self, branch: str, base: str) -> PullRequest | None:
        doing = f"listing the open pull requests of {branch}"
        # BBQL narrows the listing to the branch; the check below does not rely on it.
        query = f"source.branch.name = {json.dumps(branch)} AND destination.branch.name = {json.dumps(base)}"
        with self._client.calling(doing):
            for pull in self._client.pages(f"{self._pulls}?state=OPEN&q={quote(query, safe='')}", doing):
                source, destination = pull.get("source") or {}, pull.get("destination") or {}
                from_here = (source.get("repository") or {}).get("full_name") in (None, self._client.context.repository)
                if (_branch(source), _branch(destination), pull.get("state")) == (branch, base, "OPEN") and from_here:
                    return _pull(pull)
        return None

    def create(self, branch: str, base: str, title: str, body: str) -> PullRequest:
        doing = f"opening a pull request from {branch} into {base}"
        try:
            pull = self._client.json("POST", self._pulls, doing, json={
                "title": title, "description": clip(body, COMMENT_LIMIT),
                "source": {"branch": {"name": branch}}, "destination": {"branch": {"name": base}},
                "close_source_branch": False,
            })
        except Refusal as exc:
            # Bitbucket keeps one open pull request per source and destination.
            if exc.status in (400, 409) and "already" in exc.message.lower():
                raise AlreadyOpen(exc.message) from None
            raise self._client.refused(exc, doing) from None
        return _pull(pull)

    def update(self, pull: PullRequest, title: str, body: str) -> PullRequest:
        doing = f"updating pull request #{pull.number}"
        with self._client.calling(doing):
            self._client.call("PUT", f"{self._pulls}/{pull.number}", doing,
                              json={"title": title, "description": clip(body, COMMENT_LIMIT)})
        return pull


def _branch(end: dict[str, Any]) -> str:
    return str((end.get("branch") or {}).get("name") or "")


def _pull(value: Any) -> PullRequest:
    return PullRequest(int(value["id"]), str(((value.get("links") or {}).get("html") or {}).get("href") or ""))
