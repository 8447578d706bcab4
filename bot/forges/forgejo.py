"""Forgejo and Gitea: the report as one comment on the pull request, its images attached to that
comment (the attachments API: served by the forge to those who may read the repository), and a
commit status."""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Mapping
from urllib.parse import quote

from bot.ci.context import Context
from bot.ci.github import FORK
from bot.errors import BadInput
from bot.forges.base import STATUS_DESCRIPTION_LIMIT, CheckRun, Comment, ImagesUnavailable, clip, marker, parse_marker
from bot.forges.forgejo_api import ForgejoClient
from bot.forges.rest import ClientOptions, Refusal
from bot.report.bundle import images_for_upload

log = logging.getLogger(__name__)

# Forgejo documents no limit; GitHub's keeps the page readable and the same report fits both.
COMMENT_LIMIT = 65_536
PLACEHOLDER = "mrbot is posting the report…"
# An attachment URL as Forgejo gives it: /attachments/<uuid>, nothing that could leave a Markdown link.
_ATTACHMENT_URL = re.compile(r"^https?://[^\s()<>\[\]\"'\\]+/attachments/[0-9a-f-]{36}$")


def open_forgejo(context: Context, settings: Mapping[str, str], options: ClientOptions | None = None) -> "ForgejoForge":
    """Check the token (whose comments are mrbot's) and the repository before anything is written."""
    client = ForgejoClient(context, options)
    forge = ForgejoForge(client, context, settings)
    with client.calling("reading the token's user (GET /user)"):
        user = client.json("GET", "/user", "reading the token's user (GET /user)")
        forge.own = (int(user["id"]), str(user["login"]))
    doing = f"opening the repository {context.repository}"
    with client.calling(doing):
        client.json("GET", forge.repo_path, doing)
    return forge


class ForgejoForge:
    name = "forgejo"
    renders_html = True
    comment_limit = COMMENT_LIMIT

    def __init__(self, client: ForgejoClient, context: Context, settings: Mapping[str, str]):
        self.client = client
        self.context = context
        self.number = context.number
        self.head_sha = context.head_sha
        self.status_context = settings.get("status_context") or "mrbot"
        self.own: tuple[int, str] = (0, "")
        owner, name = context.repository.split("/", 1)
        self.repo_path = f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"
        run = f" ({context.run_url})" if context.run_url else ""
        self.where_full = f"the job's artifacts of the workflow run{run}"

    # -- comments ----------------------------------------------------------------------------

    @property
    def cannot_comment(self) -> str:
        if self.number is None:
            return "Forgejo/Gitea has no commit comments: on a push, only the commit status is set"
        return ""

    def _pull_number(self) -> int:
        if self.number is None:
            raise BadInput("on Forgejo/Gitea mrbot comments on pull requests: run it on pull_request events, or "
                           "pass --comment-mode off to set only the commit status of this commit")
        return self.number

    def _own_comments(self) -> list[dict[str, Any]]:
        """The raw comments by the token's user that start with an mrbot marker, oldest first."""
        self._pull_number()
        doing = f"listing the comments of pull request #{self.number}"
        with self.client.calling(doing):
            # Not paginated: Forgejo answers every comment of the pull request at once.
            values = self.client.json("GET", f"{self.repo_path}/issues/{self.number}/comments", doing)
        if not isinstance(values, list):
            raise ValueError("the comments are not a list")
        return [value for value in values
                if _author(value) == self.own and parse_marker(str(value.get("body") or ""))]

    def _report_values(self, report_id: str) -> list[dict[str, Any]]:
        """The raw comments of `report_id` among mrbot's own, oldest first."""
        return [value for value in self._own_comments() if parse_marker(str(value.get("body") or ""))[0] == report_id]

    def report_comments(self, report_id: str) -> list[Comment]:
        return [_comment(value) for value in self._report_values(report_id)]

    def current_head_sha(self) -> str | None:
        if self.number is None:
            return None
        doing = f"reading pull request #{self.number}"
        with self.client.calling(doing):
            return str(self.client.json("GET", f"{self.repo_path}/pulls/{self.number}", doing)["head"]["sha"])

    def create_comment(self, body: str) -> Comment:
        self._pull_number()
        doing = f"commenting on pull request #{self.number}"
        with self.client.calling(doing):
            return _comment(self.client.json("POST", f"{self.repo_path}/issues/{self.number}/comments", doing,
                                             json={"body": body}))

    def update_comment(self, comment: Comment, body: str) -> Comment:
        doing = f"updating comment {comment.url}"
        with self.client.calling(doing):
            return _comment(self.client.json("PATCH", f"{self.repo_path}/issues/comments/{int(comment.id)}", doing,
                                             json={"body": body}))

    def delete_comment(self, comment: Comment) -> None:
        doing = f"deleting duplicate comment {comment.url}"
        with self.client.calling(doing):
            self.client.call("DELETE", f"{self.repo_path}/issues/comments/{int(comment.id)}", doing)

    # -- status ------------------------------------------------------------------------------

    def set_status(self, state: str, description: str, target_url: str) -> None:
        doing = f"setting the commit status {self.status_context!r} (or pass --no-status)"
        status = {"state": state, "context": self.status_context,
                  "description": clip(description, STATUS_DESCRIPTION_LIMIT),
                  "target_url": target_url or self.context.run_url}
        try:
            self.client.call("POST", f"{self.repo_path}/statuses/{self.head_sha}", doing, json=status)
        except Refusal as exc:
            if exc.status == 403 and self.context.extra.get(FORK):
                # A fork's run gets a read-only token: it may comment, not set statuses.
                log.warning("no commit status: this pull request comes from a fork, whose token is read-only")
                return
            raise self.client.refused(exc, doing) from None

    def set_check_run(self, check: CheckRun) -> str:
        return ""  # Forgejo has no check runs: the commit status is its check

    # -- images ------------------------------------------------------------------------------

    def host_images(self, bundle_dir: Path, images: list[str], report_id: str = "default") -> Callable[[str], str]:
        """Attach the images to the report's own comment (made first, if this is the first run), named
        by their content: a re-run reuses what the comment holds, and drops what neither the comment
        nor this report shows any more."""
        contents = images_for_upload(bundle_dir, images)  # checks them all first; read one by one below
        comment = self._comment_for_images(report_id)
        attached = {str(asset.get("name")): asset for asset in comment.get("assets") or []}
        body = str(comment.get("body") or "")
        urls: dict[str, str] = {}
        for path, data in contents:
            name = f"{hashlib.sha256(data).hexdigest()[:16]}-{PurePosixPath(path).name}"
            asset = attached.get(name) or self._attach(int(comment["id"]), name, data)
            urls[path] = _attachment_url(asset)
        self._drop_stale(comment, set(urls.values()), body)
        return urls.__getitem__

    def _comment_for_images(self, report_id: str) -> dict[str, Any]:
        ours = self._report_values(report_id)
        if ours:
            return min(ours, key=lambda value: str(value.get("created_at") or ""))  # the one publish keeps
        doing = f"commenting on pull request #{self.number}"
        with self.client.calling(doing):
            return self.client.json("POST", f"{self.repo_path}/issues/{self.number}/comments", doing,
                                    json={"body": f"{marker(report_id, self.head_sha)}\n{PLACEHOLDER}"})

    def _attach(self, comment_id: int, name: str, data: bytes) -> dict[str, Any]:
        doing = f"attaching {name} to the report comment"
        try:
            return self.client.json("POST", f"{self.repo_path}/issues/comments/{comment_id}/assets", doing,
                                    params={"name": name}, files={"attachment": (name, data, "image/png")})
        except Refusal as exc:
            if exc.status == 401:
                raise self.client.refused(exc, doing) from None
            # Attachments turned off or too small a size limit on the instance: it costs the images only.
            raise ImagesUnavailable(f"Forgejo refused {doing} ({exc.status} {exc.message})") from None

    def _drop_stale(self, comment: dict[str, Any], used: set[str], body: str) -> None:
        for asset in comment.get("assets") or []:
            url = str(asset.get("browser_download_url") or "")
            if url and url not in used and url not in body:
                doing = f"deleting the report comment's old attachment {asset.get('name')}"
                try:
                    self.client.call("DELETE", f"{self.repo_path}/issues/comments/{int(comment['id'])}/assets/"
                                     f"{int(asset['id'])}", doing)
                except Refusal as exc:
                    log.info("could not delete an old attachment (%s); it stays", self.client.explain(exc, doing))


def _author(value: Any) -> tuple[int, str]:
    user = value.get("user") or {}
    return int(user.get("id") or 0), str(user.get("login") or "")


def _attachment_url(asset: Any) -> str:
    url = str(asset.get("browser_download_url") or "")
    if not _ATTACHMENT_URL.match(url):
        raise ImagesUnavailable("Forgejo answered an attachment with an unexpected URL")
    return url


def _comment(value: Any) -> Comment:
    return Comment(int(value["id"]), str(value.get("body") or ""), str(value["html_url"]),
                   str(value.get("created_at") or ""))
