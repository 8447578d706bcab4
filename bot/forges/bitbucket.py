"""Bitbucket Cloud: the report as one comment on the pull request (or the commit), its images
committed to an assets branch, a build status, and a Code Insights report on the commit."""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Mapping
from urllib.parse import quote

from bot.ci.bitbucket import BOT_UUID
from bot.ci.context import Context
from bot.errors import BadInput
from bot.forges.base import STATUS_DESCRIPTION_LIMIT, CheckRun, Comment, clip, parse_marker
from bot.forges.bitbucket_api import BitbucketClient
from bot.forges.bitbucket_assets import FULL_SHA, AssetsBranch
from bot.forges.bitbucket_insights import report_body, report_key
from bot.forges.rest import ClientOptions, Refusal
from bot.report.bundle import images_for_upload

log = logging.getLogger(__name__)

COMMENT_LIMIT = 32_000  # Bitbucket refuses a comment of 32,768 characters or more
STATES = {"success": "SUCCESSFUL", "failure": "FAILED"}
_OWNERSHIP_PROBES = 3  # authors whose marked comments are tried, at one unchanged edit each
_SHA = re.compile(r"[0-9a-f]{7,40}")
# An image of ours linked from an earlier comment: raw/<commit>/<folder>/<content hash>-<name>.
_OWN_IMAGE = re.compile(r"/raw/([0-9a-f]{40})/((?:pr-[0-9]+|commit)/[0-9a-f]{7,64}/[0-9a-f]{16}-[A-Za-z0-9._-]+)\)")


def open_bitbucket(context: Context, settings: Mapping[str, str], options: ClientOptions | None = None) -> "BitbucketForge":
    """Check the token (whose comments are mrbot's) and the repository before anything is written."""
    if context.repository.count("/") != 1:
        raise BadInput(f"BITBUCKET_REPO_FULL_NAME={context.repository!r} is not workspace/repository")
    client = BitbucketClient(context, options)
    forge = BitbucketForge(client, context, settings)
    forge.check_repository()  # first: a wrong token is told as such, not as an unknown user
    forge.own_uuid = context.extra.get(BOT_UUID) or forge.token_user()
    return forge


class BitbucketForge:
    name = "bitbucket"
    renders_html = False  # Bitbucket escapes every HTML tag, comments too
    cannot_comment = ""
    comment_limit = COMMENT_LIMIT

    def __init__(self, client: BitbucketClient, context: Context, settings: Mapping[str, str]):
        self.client = client
        self.context = context
        self.number = context.number
        self.head_sha = context.head_sha
        self.status_key = settings.get("status_context") or "mrbot"
        self.assets_branch = settings.get("assets_branch") or "mrbot-assets"
        self.own_uuid = ""
        workspace, slug = context.repository.split("/")
        self.repo_path = f"/repositories/{quote(workspace, safe='')}/{quote(slug, safe='')}"
        self.web_url = f"{context.server_url}/{context.repository}"
        run = f" ({context.run_url})" if context.run_url else ""
        self.where_full = f"the report artifact of the pipeline{run}"

    # -- who and where -----------------------------------------------------------------------

    def token_user(self) -> str:
        """The token's own uuid, or "" where Bitbucket will not say: it refuses GET /user to every
        access token, and to an API token without read:user. Its comments then prove it (_prove_own)."""
        doing = "reading the token's user (GET /user)"
        try:
            user = self.client.json("GET", "/user", doing)
        except Refusal as exc:
            if exc.status == 403:
                log.info("Bitbucket does not tell this token who it is (%s %s); mrbot's comments are "
                         "recognized as the ones it may edit", exc.status, exc.message)
                return ""
            raise self.client.refused(exc, doing) from None
        return str(user["uuid"])

    def check_repository(self) -> None:
        doing = f"opening the repository {self.context.repository}"
        with self.client.calling(doing):
            self.client.json("GET", self.repo_path, doing)

    def _thread(self) -> str:
        if self.number is not None:
            return f"{self.repo_path}/pullrequests/{self.number}/comments"
        return f"{self.repo_path}/commit/{self.head_sha}/comments"

    def _where(self) -> str:
        return f"pull request #{self.number}" if self.number is not None else f"commit {self.head_sha[:8]}"

    # -- comments ----------------------------------------------------------------------------

    def _own_comments(self) -> list[Comment]:
        """Comments by the token's user that start with an mrbot marker; anyone can quote a marker."""
        doing = f"listing the comments of {self._where()}"
        with self.client.calling(doing):
            marked = [value for value in self.client.pages(self._thread(), doing)
                      if not value.get("deleted") and parse_marker(_raw(value))]
            if not self.own_uuid:
                self.own_uuid = self._prove_own(marked)
        return [_comment(value) for value in marked if _author(value) == self.own_uuid]

    def _prove_own(self, marked: list[dict[str, Any]]) -> str:
        """Whose marked comments are mrbot's, where the token's uuid is unknown: only a comment's
        author may edit it, so the author whose comment takes an unchanged edit is the token."""
        authors = list(dict.fromkeys(_author(value) for value in marked if _author(value)))
        for uuid in authors[:_OWNERSHIP_PROBES]:
            first = next(value for value in marked if _author(value) == uuid)
            try:
                self.client.call("PUT", f"{self._thread()}/{int(first['id'])}", "proving whose comments are mrbot's",
                                 json={"content": {"raw": _raw(first)}})
            except Refusal as exc:
                if exc.status == 403:
                    continue  # another author's
                raise
            self._learned(uuid)
            return uuid
        if len(authors) > _OWNERSHIP_PROBES:
            log.warning("%d authors' comments carry mrbot's marker; only the first %d were checked",
                        len(authors), _OWNERSHIP_PROBES)
        return ""

    def _learned(self, uuid: str) -> None:
        log.info("mrbot's comments here are by %s; MRBOT_BOT_UUID=%s saves finding that out", uuid, uuid)

    def report_comments(self, report_id: str) -> list[Comment]:
        return [comment for comment in self._own_comments() if parse_marker(comment.body)[0] == report_id]

    def current_head_sha(self) -> str | None:
        if self.number is None:
            return None
        doing = f"reading pull request #{self.number}"
        with self.client.calling(doing):
            pull = self.client.json("GET", f"{self.repo_path}/pullrequests/{self.number}", doing)
            head = str(((pull.get("source") or {}).get("commit") or {}).get("hash") or "").lower()
            if not _SHA.fullmatch(head):
                raise ValueError(f"the pull request's head is {head[:50]!r}, not a commit sha")
            if FULL_SHA.fullmatch(head):
                return head
            if FULL_SHA.fullmatch(self.head_sha) and self.head_sha.startswith(head):
                return self.head_sha
            # Bitbucket names the PR's head by 12 characters: the commit gives the whole sha.
            full = str(self.client.json("GET", f"{self.repo_path}/commit/{head}", doing)["hash"])
            if not FULL_SHA.fullmatch(full):
                raise ValueError(f"commit {head} answered as {full[:50]!r}, not a full sha")
            return full

    def create_comment(self, body: str) -> Comment:
        doing = f"commenting on {self._where()}"
        with self.client.calling(doing):
            created = self.client.json("POST", self._thread(), doing, json={"content": {"raw": body}})
        if not self.own_uuid and _author(created):
            self.own_uuid = _author(created)
            self._learned(self.own_uuid)
        return _comment(created)

    def update_comment(self, comment: Comment, body: str) -> Comment:
        doing = f"updating comment {comment.url}"
        with self.client.calling(doing):
            return _comment(self.client.json("PUT", f"{self._thread()}/{int(comment.id)}", doing,
                                             json={"content": {"raw": body}}))

    def delete_comment(self, comment: Comment) -> None:
        doing = f"deleting duplicate comment {comment.url}"
        with self.client.calling(doing):
            self.client.call("DELETE", f"{self._thread()}/{int(comment.id)}", doing)

    # -- build status and Code Insights ------------------------------------------------------

    def set_status(self, state: str, description: str, target_url: str) -> None:
        doing = f"setting the build status {self.status_key!r} (or pass --no-status)"
        status = {
            "key": self.status_key,
            "state": STATES[state],
            "name": self.status_key,
            "description": clip(description, STATUS_DESCRIPTION_LIMIT),
            # Bitbucket requires a link: the comment, else the pipeline, else the PR or commit.
            "url": target_url or self.context.run_url or self._web_page(),
        }
        with self.client.calling(doing):
            self.client.call("POST", f"{self.repo_path}/commit/{self.head_sha}/statuses/build", doing, json=status)

    def set_check_run(self, check: CheckRun) -> str:
        """The Code Insights report; without repository:write it logs one line and the status stands alone."""
        key = report_key(check.report_id)
        doing = f"setting the Code Insights report {key!r}"
        if check.details_url:
            link, where = check.details_url, f"The full report is mrbot's comment on {self._where()}."
        else:
            link = self.context.run_url
            where = "The full report is in the pipeline's artifacts." if link else ""
        url = f"{self.repo_path}/commit/{self.head_sha}/reports/{key}"
        try:
            try:
                self.client.call("PUT", url, doing, json=report_body(check, link, where))
            except Refusal as exc:
                if exc.status != 400:
                    raise
                # Bitbucket Cloud does not document its limits: once more with the least that says it.
                log.info("Bitbucket refused the Code Insights report (%s); sending it without its figures", exc.message)
                self.client.call("PUT", url, doing, json=report_body(check, link, where, minimal=True))
        except Refusal as exc:
            if exc.status in (400, 403, 404, 422):
                log.warning("no Code Insights report: %s", self.client.explain(exc, doing))
                return ""
            raise self.client.refused(exc, doing) from None
        return f"{self.web_url}/commits/{self.head_sha}"

    def _web_page(self) -> str:
        if self.number is not None:
            return f"{self.web_url}/pull-requests/{self.number}"
        return f"{self.web_url}/commits/{self.head_sha}"

    # -- images ------------------------------------------------------------------------------

    def host_images(self, bundle_dir: Path, images: list[str], report_id: str = "default") -> Callable[[str], str]:
        """Commit the images in one commit to the assets branch and link them pinned to it, through
        bitbucket.org, so private repositories show them to their readers. Names carry the content
        hash: a re-run links the commit its earlier comment did, and an unchanged report stays unchanged."""
        folder = f"pr-{self.number}" if self.number is not None else "commit"
        # One commit takes them all: read at once, within the bundle's bound on image bytes.
        contents = list(images_for_upload(bundle_dir, images))
        repo_path = {
            path: f"{folder}/{self.head_sha}/{hashlib.sha256(data).hexdigest()[:16]}-{PurePosixPath(path).name}"
            for path, data in contents
        }
        earlier = {name: commit for comment in self._own_comments() for commit, name in _OWN_IMAGE.findall(comment.body)}
        commits = {earlier[name] for name in repo_path.values() if name in earlier}
        assets = AssetsBranch(self.client, self.repo_path, self.assets_branch, self._where())
        reuse = commits.pop() if len(commits) == 1 and all(name in earlier for name in repo_path.values()) else ""
        if reuse and assets.holds(reuse):
            commit = reuse
        else:
            commit = assets.commit([(repo_path[path], data) for path, data in contents])
        return lambda path: f"{self.web_url}/raw/{commit}/{repo_path[path]}"


def _raw(value: Any) -> str:
    return str((value.get("content") or {}).get("raw") or "")


def _author(value: Any) -> str:
    return str((value.get("user") or {}).get("uuid") or "")


def _comment(value: Any) -> Comment:
    url = ((value.get("links") or {}).get("html") or {}).get("href") or ""
    return Comment(
        id=int(value["id"]),
        body=_raw(value),
        url=str(url),
        created_at=str(value.get("created_on") or ""),
    )
