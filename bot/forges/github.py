"""GitHub: the report as one comment on the pull request (or the commit), its images committed to an
assets branch, and a commit status. With github_api.py and github_pulls.py, the only modules that
import PyGithub."""

from __future__ import annotations

import base64
import contextlib
import logging
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Mapping

import requests
from github import Github, GithubException, InputGitTreeElement, UnknownObjectException
from github.GithubObject import NotSet

from bot.ci.context import Context
from bot.ci.github import BOT_LOGIN, FIND_PULL_BY_HEAD, FORK
from bot.errors import BadInput, ForgeRefused
from bot.forges.base import MARKER, STATUS_DESCRIPTION_LIMIT, CheckRun, Comment, ImagesUnavailable, clip
from bot.forges.github_api import (
    ClientOptions,
    client_options,
    github_calls,
    github_client,
    github_message,
    refused,
    unreachable,
)
from bot.forges.github_checks import set_check_run
from bot.report.bundle import images_for_upload

log = logging.getLogger(__name__)

COMMENT_LIMIT = 65_536  # GitHub answers 422 for a longer comment body
# What an Actions GITHUB_TOKEN (an installation token) posts as; it may not read GET /user.
ACTIONS_LOGIN, ACTIONS_TYPE = "github-actions[bot]", "Bot"
_REF_UPDATE_ATTEMPTS = 3


def open_github(context: Context, settings: Mapping[str, str], options: ClientOptions | None = None) -> "GitHubForge":
    if not context.token:
        raise BadInput(
            "no GitHub token: pass `token` to the action, or set GITHUB_TOKEN: ${{ github.token }} "
            "(or MRBOT_TOKEN) in the step's env"
        )
    client = github_client(context.api_url, context.token, options or client_options(context.extra))
    forge = GitHubForge(client, context, settings)
    if context.number is None and context.extra.get(FIND_PULL_BY_HEAD):
        forge.number = forge.find_pull(context.extra[FIND_PULL_BY_HEAD])
    return forge


class GitHubForge:
    name = "github"
    renders_html = True
    cannot_comment = ""
    comment_limit = COMMENT_LIMIT

    def __init__(self, client: Github, context: Context, settings: Mapping[str, str]):
        self._client = client
        self._context = context
        self._repo = client.get_repo(context.repository)  # lazy: no request yet
        self.number = context.number
        self.status_context = settings.get("status_context") or "mrbot"
        self.assets_branch = settings.get("assets_branch") or "mrbot-assets"
        self._own: tuple[str, str] | None = None
        run = f" ({context.run_url})" if context.run_url else ""
        self.where_full = f"the job summary and the report artifact of the workflow run{run}"

    # -- where the report goes ---------------------------------------------------------------

    def find_pull(self, head: str) -> int | None:
        """The open PR whose head is `head` ("owner:branch") at this run's sha (fork PRs)."""
        with self._calling(f"looking up the pull request of {head}"):
            for pull in self._repo.get_pulls(state="open", head=head):
                if pull.head.sha == self._context.head_sha:
                    log.info("reporting on pull request #%d (%s)", pull.number, head)
                    return pull.number
        log.warning("no open pull request has head %s at %s; posting on the commit", head, self._context.head_sha[:8])
        return None

    def _thread(self) -> Any:
        """The PR's conversation (an issue, to GitHub's API) or the commit that holds the comments."""
        if self.number is not None:
            return self._repo.get_issue(self.number)
        return self._repo.get_commit(self._context.head_sha)

    def _comment_object(self, comment_id: int) -> Any:
        if self.number is not None:
            return self._repo.get_issue(self.number).get_comment(comment_id)
        return self._repo.get_comment(comment_id)

    def _where(self) -> str:
        if self.number is not None:
            return f"pull request #{self.number}"
        return f"commit {self._context.head_sha[:8]}"

    # -- comments ----------------------------------------------------------------------------

    def _identity(self) -> tuple[str, str]:
        """(login, type) of the token's user: whose comments are mrbot's own."""
        if self._own is None:
            user = self._client.get_user()
            try:
                self._own = (user.login, user.type)
            except GithubException as exc:
                if exc.status != 403:
                    raise self._refused(exc, "reading the token's user (GET /user)") from None
                # An installation token (Actions' own or a GitHub App's): a bot.
                self._own = (self._context.extra.get(BOT_LOGIN) or self._viewer_login(), ACTIONS_TYPE)
            except requests.RequestException as exc:
                raise self._unreachable(exc, "reading the token's user (GET /user)") from None
            log.debug("own comments are those by %s", self._own[0])
        return self._own

    def _viewer_login(self) -> str:
        """The login an installation token posts as ("my-app[bot]"): GraphQL's `viewer` answers it
        where GET /user does not. Actions' own bot when even that fails."""
        try:
            _, answer = self._client.requester.graphql_query("query { viewer { login } }", {})
            return str(answer["data"]["viewer"]["login"])
        except (GithubException, requests.RequestException, KeyError, TypeError) as exc:
            log.warning(
                "could not ask GitHub which bot this token posts as (%s); taking %s (set MRBOT_BOT_LOGIN "
                "for a GitHub App's token)", getattr(exc, "status", None) or type(exc).__name__, ACTIONS_LOGIN
            )
            return ACTIONS_LOGIN

    def report_comments(self, report_id: str) -> list[Comment]:
        login, user_type = self._identity()
        found = []
        with self._calling(f"listing the comments of {self._where()}"):
            for comment in self._thread().get_comments():  # PyGithub follows every page's Link
                match = MARKER.match(comment.body or "")
                is_own = comment.user is not None and comment.user.login == login and comment.user.type == user_type
                if match and match.group(1) == report_id and is_own:
                    found.append(_comment(comment))
        return found

    def current_head_sha(self) -> str | None:
        if self.number is None:
            return None
        with self._calling(f"reading pull request #{self.number}"):
            return self._repo.get_pull(self.number).head.sha

    def create_comment(self, body: str) -> Comment:
        with self._calling(f"commenting on {self._where()}"):
            return _comment(self._thread().create_comment(body))

    def update_comment(self, comment: Comment, body: str) -> Comment:
        with self._calling(f"updating comment {comment.url}"):
            github_comment = self._comment_object(int(comment.id))
            github_comment.edit(body)
            return _comment(github_comment)

    def delete_comment(self, comment: Comment) -> None:
        with self._calling(f"deleting duplicate comment {comment.url}"):
            self._comment_object(int(comment.id)).delete()

    # -- commit status -----------------------------------------------------------------------

    def set_status(self, state: str, description: str, target_url: str) -> None:
        doing = f"setting the commit status {self.status_context!r} (or pass --no-status)"
        with self._calling(doing):
            self._repo.get_commit(self._context.head_sha).create_status(
                state=state,
                target_url=target_url or self._context.run_url or NotSet,
                description=clip(description, STATUS_DESCRIPTION_LIMIT),
                context=self.status_context,
            )

    def set_check_run(self, check: CheckRun) -> str:
        return set_check_run(self._repo, self._context, self.status_context, check)

    # -- images ------------------------------------------------------------------------------

    def host_images(self, bundle_dir: Path, images: list[str], report_id: str = "default") -> Callable[[str], str]:
        """Commit the images in one commit to the assets branch; link them pinned to that commit."""
        folder = f"pr-{self.number}" if self.number is not None else "commit"
        prefix = f"{folder}/{self._context.head_sha}"
        contents = images_for_upload(bundle_dir, images)  # checks them all first; read one by one below
        repo_path = {path: f"{prefix}/{PurePosixPath(path).name}" for path in images}
        doing = f"committing the report's images to the {self.assets_branch!r} branch"
        try:
            entries = []
            for path, data in contents:
                blob = self._repo.create_git_blob(base64.b64encode(data).decode("ascii"), "base64")
                entries.append(InputGitTreeElement(repo_path[path], "100644", "blob", sha=blob.sha))
            commit_sha = self._commit_to_assets_branch(entries, f"mrbot: images for {self._where()}")
        except GithubException as exc:
            if exc.status == 401:
                raise self._refused(exc, doing) from None
            # Anything else (no permission, a protected branch, GitHub having trouble) costs the
            # images only: the report is still posted, with Mermaid charts.
            raise ImagesUnavailable(self._images_refused(exc)) from None
        except requests.RequestException as exc:
            raise self._unreachable(exc, doing) from None
        log.info("images committed to %s at %s", self.assets_branch, commit_sha[:8])
        blob_base = f"{self._context.server_url}/{self._context.repository}/blob/{commit_sha}"
        # ?raw=true serves the file through github.com, which also works in private repositories.
        return lambda path: f"{blob_base}/{repo_path[path]}?raw=true"

    def _images_refused(self, exc: GithubException) -> str:
        if exc.status in (403, 404) and self._context.extra.get(FORK):
            return "this pull request comes from a fork, whose token cannot write to the repository"
        if exc.status in (403, 404):
            return "the token cannot write the repository's contents (`permissions: contents: write`)"
        answer = f"{exc.status} {github_message(exc)}".strip()
        return f"GitHub refused committing them to the {self.assets_branch!r} branch ({answer})"

    def _commit_to_assets_branch(self, entries: list[InputGitTreeElement], message: str) -> str:
        ref_name = f"heads/{self.assets_branch}"
        for attempt in range(1, _REF_UPDATE_ATTEMPTS + 1):
            # get_git_ref makes no request: GitHub is asked when .object is first read, and its 404
            # then means the assets branch does not exist yet (the first images of the repository).
            ref: Any = self._repo.get_git_ref(ref_name)
            try:
                branch_sha = ref.object.sha
            except UnknownObjectException:
                ref, parent = None, None
            else:
                parent = self._repo.get_git_commit(branch_sha)
            tree = self._repo.create_git_tree(entries, parent.tree if parent else NotSet)
            if parent and tree.sha == parent.tree.sha:
                return parent.sha  # the same images are there already (a re-run): link that commit
            commit = self._repo.create_git_commit(message, tree, [parent] if parent else [])
            try:
                if ref is None:
                    self._repo.create_git_ref(f"refs/{ref_name}", commit.sha)
                else:
                    ref.edit(commit.sha, force=False)
                return commit.sha
            except GithubException as exc:
                # Another run moved (or created) the branch meanwhile: build on its commit.
                raced = exc.status == 422 and any(
                    words in github_message(exc).lower() for words in ("fast forward", "already exists")
                )
                if not raced or attempt == _REF_UPDATE_ATTEMPTS:
                    raise
                log.info("the %s branch moved meanwhile; committing again", self.assets_branch)
        raise AssertionError("unreachable")

    # -- errors ------------------------------------------------------------------------------

    def _calling(self, doing: str) -> contextlib.AbstractContextManager[None]:
        return github_calls(self._context, doing)

    def _unreachable(self, exc: requests.RequestException, doing: str) -> ForgeRefused:
        return unreachable(exc, doing, self._context)

    def _refused(self, exc: GithubException, doing: str) -> ForgeRefused:
        return refused(exc, doing, self._context)


def _comment(github_comment: Any) -> Comment:
    created = github_comment.created_at
    return Comment(
        id=github_comment.id,
        body=github_comment.body or "",
        url=github_comment.html_url,
        created_at=created.isoformat() if created else "",
    )
