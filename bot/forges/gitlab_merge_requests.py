"""GitLab: the merge request of mrbot propose's branch (find the open one, open it, update it), and
how git authenticates to push that branch with the same token."""

from __future__ import annotations

import base64
from typing import Any

import gitlab

from bot.ci.context import Context
from bot.forges.base import AlreadyOpen, PullRequest
from bot.forges.gitlab_api import Refusals, open_project

DESCRIPTION_LIMIT = 1_000_000  # GitLab's limit on a description, as on a note


def push_header(token: str) -> str:
    """HTTP basic with any user name and the access token as the password, as GitLab documents."""
    return "Authorization: Basic " + base64.b64encode(f"oauth2:{token}".encode()).decode("ascii")


class GitLabMergeRequests:
    def __init__(self, project: Any, user: Any, refusals: Refusals):
        self._project = project
        self._user = user
        self._refusals = refusals

    def author(self) -> tuple[str, str] | None:
        """The token's user (a project access token's bot), as GitLab names it: push rules that want
        commits by a GitLab user accept it."""
        attributes = self._user.attributes
        email = attributes.get("commit_email") or attributes.get("email") or attributes.get("public_email")
        name = attributes.get("name") or attributes.get("username")
        return (str(name), str(email)) if name and email else None

    def find_open(self, branch: str, base: str) -> PullRequest | None:
        with self._refusals(f"list the open merge requests of {branch}"):
            for merge_request in self._project.mergerequests.list(
                state="opened", source_branch=branch, target_branch=base, iterator=True, per_page=100
            ):
                # A fork's MR from a branch of the same name is not ours.
                if merge_request.source_project_id == self._project.id:
                    return PullRequest(merge_request.iid, merge_request.web_url)
        return None

    def create(self, branch: str, base: str, title: str, body: str) -> PullRequest:
        action = f"open a merge request from {branch} into {base}"
        with self._refusals(action):
            try:
                merge_request = self._project.mergerequests.create({
                    "source_branch": branch,
                    "target_branch": base,
                    "title": title,
                    "description": body[:DESCRIPTION_LIMIT],
                    "remove_source_branch": True,
                })
            except gitlab.exceptions.GitlabCreateError as exc:
                if exc.response_code == 409:  # "Another open merge request already exists for this source branch"
                    raise AlreadyOpen(str(exc.error_message)) from None
                raise
        return PullRequest(merge_request.iid, merge_request.web_url)

    def update(self, pull: PullRequest, title: str, body: str) -> PullRequest:
        with self._refusals(f"update the merge request !{pull.number}"):
            self._project.mergerequests.update(pull.number, {"title": title, "description": body[:DESCRIPTION_LIMIT]})
        return pull


def open_merge_requests(context: Context) -> GitLabMergeRequests:
    project, user, refusals = open_project(context)
    return GitLabMergeRequests(project, user, refusals)
