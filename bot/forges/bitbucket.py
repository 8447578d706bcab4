"""Bitbucket Cloud: the report as one comment on the pull request (or the commit), its images
committed to an assets branch, a build status, and a Code Insights report on the commit."""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Mapping
from urllib.parse import quote, urlsplit

from bot.ci.bitbucket import BOT_UUID
from bot.ci.context import Context
from bot.errors import BadInput, ForgeRefused
from bot.forges.base import STATUS_DESCRIPTION_LIMIT, CheckRun, Comment, ImagesUnavailable, clip, parse_marker
from bot.forges.bitbucket_api import BitbucketClient
from bot.forges.bitbucket_insights import report_body, report_key
from bot.forges.rest import ClientOptions, Refusal
from bot.report.bundle import images_for_upload

log = logging.getLogger(__name__)

COMMENT_LIMIT = 32_000  # Bitbucket refuses a comment of 32,768 characters or more
STATES = {"success": "SUCCESSFUL", "failure": "FAILED"}
_COMMIT_ATTEMPTS = 3
_FULL_SHA = re.compile(r"[0-9a-f]{40}")
# An image of ours linked from an earlier comment: raw/<commit>/<folder>/<content hash>-<name>.
_OWN_IMAGE = re.compile(r"/raw/([0-9a-f]{40})/((?:pr-[0-9]+|commit)/[0-9a-f]{7,64}/[0-9a-f]{16}-[A-Za-z0-9._-]+)\)")


def open_bitbucket(context: Context, settings: Mapping[str, str], options: ClientOptions | None = None) -> "BitbucketForge":
    """Check the token (whose comments are mrbot's) and the repository before anything is written."""
    if context.repository.count("/") != 1:
        raise BadInput(f"BITBUCKET_REPO_FULL_NAME={context.repository!r} is not workspace/repository")
    client = BitbucketClient(context, options)
    forge = BitbucketForge(client, context, settings)
    forge.own_uuid = context.extra.get(BOT_UUID) or forge.token_user()
    forge.check_repository()
    return forge


class BitbucketForge:
    name = "bitbucket"
    renders_html = False  # Bitbucket escapes every HTML tag, comments too
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
        doing = "reading the token's user (GET /user)"
        try:
            user = self.client.json("GET", "/user", doing)
        except Refusal as exc:
            if exc.status == 403:
                raise ForgeRefused(
                    f"Bitbucket refused {doing} ({exc.status} {exc.message}): mrbot needs it to tell its own "
                    "comments from others'; give the token read access to its account, or set MRBOT_BOT_UUID "
                    "to the uuid its comments show"
                ) from None
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
            values = list(self.client.pages(self._thread(), doing))
        return [
            _comment(value) for value in values
            if not value.get("deleted") and (value.get("user") or {}).get("uuid") == self.own_uuid
            and parse_marker(((value.get("content") or {}).get("raw")) or "")
        ]

    def report_comments(self, report_id: str) -> list[Comment]:
        return [comment for comment in self._own_comments() if parse_marker(comment.body)[0] == report_id]

    def current_head_sha(self) -> str | None:
        if self.number is None:
            return None
        doing = f"reading pull request #{self.number}"
        with self.client.calling(doing):
            pull = self.client.json("GET", f"{self.repo_path}/pullrequests/{self.number}", doing)
            head = str(pull["source"]["commit"]["hash"])
            if _FULL_SHA.fullmatch(head) or self.head_sha.startswith(head):
                return self.head_sha if self.head_sha.startswith(head) else head
            # Bitbucket names the PR's head by 12 characters: the commit gives the whole sha.
            return str(self.client.json("GET", f"{self.repo_path}/commit/{head}", doing)["hash"])

    def create_comment(self, body: str) -> Comment:
        doing = f"commenting on {self._where()}"
        with self.client.calling(doing):
            return _comment(self.client.json("POST", self._thread(), doing, json={"content": {"raw": body}}))

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
        body = report_body(check, check.details_url or self.context.run_url)
        try:
            self.client.call("PUT", f"{self.repo_path}/commit/{self.head_sha}/reports/{key}", doing, json=body)
        except Refusal as exc:
            if exc.status in (403, 404):
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
        if len(commits) == 1 and all(name in earlier for name in repo_path.values()):
            commit = commits.pop()
        else:
            commit = self._commit_images([(repo_path[path], data) for path, data in contents])
        return lambda path: f"{self.web_url}/raw/{commit}/{repo_path[path]}"

    def _commit_images(self, files: list[tuple[str, bytes]]) -> str:
        doing = f"committing the report's images to the {self.assets_branch!r} branch"
        branch_path = f"{self.repo_path}/refs/branches/{quote(self.assets_branch, safe='')}"
        for attempt in range(1, _COMMIT_ATTEMPTS + 1):
            try:
                tip = self._branch_tip(branch_path, doing)
                # [skip ci]: the commit must not start the repository's pipelines.
                form: dict[str, Any] = {"branch": self.assets_branch,
                                        "message": f"mrbot: images for {self._where()} [skip ci]"}
                if tip:
                    form["parents"] = tip
                files_field = [(name, (PurePosixPath(name).name, data, "image/png")) for name, data in files]
                response = self.client.call("POST", f"{self.repo_path}/src", doing, data=form, files=files_field)
            except Refusal as exc:
                if exc.status == 409 and attempt < _COMMIT_ATTEMPTS:
                    log.info("the %s branch moved meanwhile; committing again", self.assets_branch)
                    continue
                if exc.status == 401:
                    raise self.client.refused(exc, doing) from None
                # No write access, a branch restriction, trouble: it costs the images only.
                raise ImagesUnavailable(self._images_refused(exc)) from None
            commit = _commit_of(response.headers.get("Location", "")) or self._branch_tip(branch_path, doing)
            log.info("images committed to %s at %s", self.assets_branch, commit[:8])
            return commit
        raise AssertionError("unreachable")

    def _branch_tip(self, branch_path: str, doing: str) -> str:
        try:
            branch = self.client.json("GET", branch_path, doing)
        except Refusal as exc:
            if exc.status == 404:
                return ""  # the repository's first images
            raise
        return str(branch["target"]["hash"])

    def _images_refused(self, exc: Refusal) -> str:
        if exc.status in (403, 404):
            return ("the token cannot write the repository (the scope repository:write), or a branch restriction "
                    f"keeps it from the {self.assets_branch!r} branch")
        return f"Bitbucket refused committing them to the {self.assets_branch!r} branch ({exc.status} {exc.message})"


def _commit_of(location: str) -> str:
    """The new commit's sha from /src's Location header (.../commit/<sha>)."""
    last = urlsplit(location).path.rstrip("/").rsplit("/", 1)[-1]
    return last if _FULL_SHA.fullmatch(last) else ""


def _comment(value: Any) -> Comment:
    url = ((value.get("links") or {}).get("html") or {}).get("href") or ""
    return Comment(
        id=int(value["id"]),
        body=((value.get("content") or {}).get("raw")) or "",
        url=str(url),
        created_at=str(value.get("created_on") or ""),
    )
