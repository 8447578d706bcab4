"""GitLab: the report as one note on the merge request (or, with no open MR, a discussion on the
commit), images through the project uploads API, a commit status. python-gitlab does the HTTP,
the pagination and the retries on 429/5xx."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

import gitlab
import requests

from bot import __version__
from bot.ci import Context
from bot.ci.gitlab import JOB_TOKEN
from bot.errors import BadInput, ForgeRefused
from bot.forges.base import Comment, ImagesUnavailable, parse_marker
from bot.report.bundle import images_for_upload

log = logging.getLogger(__name__)

COMMENT_LIMIT = 1_000_000  # GitLab's limit on a note body, in characters
# Retries on 429, 5xx and dropped connections: python-gitlab waits 0.1 s, 0.2 s, 0.4 s, ... (6.3 s in
# all for 6), or as long as Retry-After says.
MAX_RETRIES = 6
TIMEOUT_SECONDS = 60
PER_PAGE = 100  # GitLab's maximum page size

STATES = {"success": "success", "failure": "failed"}

TOKEN_FIX = (
    "create a project access token (Settings > Access tokens: role Developer, scope api) and store it "
    "as a masked, protected CI/CD variable GITLAB_TOKEN (or MRBOT_TOKEN); see docs/gitlab.md"
)
JOB_TOKEN_ONLY = (
    "only the CI job token is available, and GitLab does not let job tokens write merge request notes; "
    + TOKEN_FIX
    + " (a protected variable reaches only pipelines of protected branches)"
)
NO_TOKEN = "no GitLab token: set GITLAB_TOKEN or MRBOT_TOKEN; " + TOKEN_FIX

# What GitLab answers for an upload: /uploads/<secret>/<name>; anything that could break out of a
# Markdown image link is refused.
_UPLOAD_URL = re.compile(r"^(/uploads/|https?://)[^\s()<>\[\]\"'\\]+$")
# An earlier upload of ours, named by its content hash, found in one of our own notes.
_OWN_UPLOAD = re.compile(r"\((/uploads/[0-9a-f]{8,64}/([0-9a-f]{16}-[A-Za-z0-9._-]+))\)")


class Refusals:
    """Turns python-gitlab and network errors into one-line ForgeRefused messages with the fix."""

    def __init__(self, context: Context):
        self.context = context

    @contextlib.contextmanager
    def __call__(self, action: str) -> Iterator[None]:
        try:
            yield
        except gitlab.exceptions.GitlabError as exc:
            raise ForgeRefused(self.explain(action, exc)) from None
        except requests.exceptions.RequestException as exc:
            raise ForgeRefused(
                f"could not reach GitLab at {self.context.api_url} to {action} ({type(exc).__name__}); "
                "check CI_API_V4_URL and the runner's network"
            ) from None

    def explain(self, action: str, exc: gitlab.exceptions.GitlabError) -> str:
        code = exc.response_code
        variable = self.context.token_name or "GITLAB_TOKEN"
        project = self.context.repository or f"project {self.context.project_id}"
        said = self.redact(" ".join(str(exc.error_message).split()))[:300]
        if code == 401:
            return (
                f"GitLab refused to {action} (401 Unauthorized): the token in {variable} is wrong, expired "
                f"or revoked; {TOKEN_FIX}"
            )
        if code == 403:
            # GitLab says "403 Forbidden", sometimes with a reason after it ("- Your account has been blocked").
            reason = said.removeprefix("403 Forbidden").lstrip(" -:")
            return (
                f"GitLab refused to {action} (403 Forbidden{': ' + reason if reason else ''}): the token in "
                f"{variable} needs the api scope and at least the Developer role on {project}"
            )
        if code == 404:
            return (
                f"GitLab found nothing to {action} (404 Not Found): check CI_PROJECT_ID and the merge request, "
                f"and that the token in {variable} has access to {project}"
            )
        return f"GitLab refused to {action} ({code or 'no status'}: {said})"

    def redact(self, text: str) -> str:
        token = self.context.token
        return text.replace(token, "***") if token else text


@dataclass(frozen=True)
class Note:
    comment: Comment
    author_id: int | None
    system: bool  # GitLab's own notes ("added 1 commit"): never ours


class Thread(Protocol):
    """Where the notes live: a merge request, or a commit when no MR is open."""

    web_url: str

    def notes(self) -> list[Note]:
        """All notes, across all pages, oldest first."""

    def create(self, body: str) -> Comment: ...

    def update(self, comment: Comment, body: str) -> Comment: ...

    def delete(self, comment: Comment) -> None: ...

    def head_sha(self) -> str | None: ...


def _note(comment_id: int | str, raw: dict[str, Any], web_url: str) -> Note:
    comment = Comment(comment_id, raw.get("body") or "", f"{web_url}#note_{raw['id']}", raw["created_at"])
    return Note(comment, (raw.get("author") or {}).get("id"), bool(raw.get("system")))


class MergeRequestThread:
    def __init__(self, merge_request: Any):
        self.merge_request = merge_request
        self.web_url = merge_request.web_url

    def notes(self) -> list[Note]:
        notes = self.merge_request.notes.list(iterator=True, per_page=PER_PAGE, sort="asc", order_by="created_at")
        return [_note(note.id, note.attributes, self.web_url) for note in notes]

    def create(self, body: str) -> Comment:
        note = self.merge_request.notes.create({"body": body})
        return _note(note.id, note.attributes, self.web_url).comment

    def update(self, comment: Comment, body: str) -> Comment:
        self.merge_request.notes.update(comment.id, {"body": body})
        return replace(comment, body=body)

    def delete(self, comment: Comment) -> None:
        self.merge_request.notes.delete(comment.id)

    def head_sha(self) -> str | None:
        return self.merge_request.manager.get(self.merge_request.iid).sha


class CommitThread:
    """GitLab's commit comments cannot be edited; notes in commit discussions can. A comment's id
    here is '<discussion id>/<note id>'."""

    def __init__(self, project: Any, sha: str):
        self.commit = project.commits.get(sha, lazy=True)
        self.web_url = f"{project.web_url}/-/commit/{sha}"

    def notes(self) -> list[Note]:
        return [
            _note(f"{discussion.id}/{note['id']}", note, self.web_url)
            for discussion in self.commit.discussions.list(iterator=True, per_page=PER_PAGE)
            for note in discussion.attributes["notes"]
        ]

    def create(self, body: str) -> Comment:
        discussion = self.commit.discussions.create({"body": body})
        note = discussion.attributes["notes"][0]
        return _note(f"{discussion.id}/{note['id']}", note, self.web_url).comment

    def _notes_of(self, comment: Comment) -> tuple[Any, int]:
        discussion_id, note_id = str(comment.id).split("/")
        return self.commit.discussions.get(discussion_id, lazy=True).notes, int(note_id)

    def update(self, comment: Comment, body: str) -> Comment:
        notes, note_id = self._notes_of(comment)
        notes.update(note_id, {"body": body})
        return replace(comment, body=body)

    def delete(self, comment: Comment) -> None:
        notes, note_id = self._notes_of(comment)
        notes.delete(note_id)

    def head_sha(self) -> str | None:
        return None


class GitLabForge:
    name = "gitlab"
    comment_limit = COMMENT_LIMIT

    def __init__(
        self, project: Any, user_id: int, thread: Thread, context: Context, status_name: str, refusals: Refusals
    ):
        self.project = project
        self.user_id = user_id
        self.thread = thread
        self.head_sha = context.head_sha
        self.status_name = status_name
        self.refusals = refusals
        self.where_full = (
            f"the job's artifacts ({context.run_url}/artifacts/browse)" if context.run_url else "the job's artifacts"
        )

    def _own_notes(self) -> list[Comment]:
        """Notes by the token's user that start with an mrbot marker; anyone can quote a marker."""
        with self.refusals(f"list the notes of {self.thread.web_url}"):
            notes = self.thread.notes()
        return [
            note.comment
            for note in notes
            if not note.system and note.author_id == self.user_id and parse_marker(note.comment.body)
        ]

    def report_comments(self, report_id: str) -> list[Comment]:
        return [comment for comment in self._own_notes() if parse_marker(comment.body)[0] == report_id]

    def current_head_sha(self) -> str | None:
        with self.refusals(f"read the head of {self.thread.web_url}"):
            return self.thread.head_sha()

    def create_comment(self, body: str) -> Comment:
        with self.refusals(f"add a note to {self.thread.web_url}"):
            return self.thread.create(body)

    def update_comment(self, comment: Comment, body: str) -> Comment:
        with self.refusals(f"update the note {comment.url}"):
            return self.thread.update(comment, body)

    def delete_comment(self, comment: Comment) -> None:
        with self.refusals(f"delete the duplicate note {comment.url}"):
            self.thread.delete(comment)

    def host_images(self, bundle_dir: Path, images: list[str]) -> Callable[[str], str]:
        """Upload each image once: names carry the content hash, so a re-run reuses the uploads its
        earlier note links to and an unchanged report gives an unchanged body."""
        contents = images_for_upload(bundle_dir, images)  # checks them all first; read one by one below
        earlier = {name: url for note in self._own_notes() for url, name in _OWN_UPLOAD.findall(note.body)}
        urls = {}
        for path, data in contents:
            name = f"{hashlib.sha256(data).hexdigest()[:16]}-{Path(path).name}"
            urls[path] = earlier.get(name) or self._upload(name, data)
        return urls.__getitem__

    def _upload(self, name: str, data: bytes) -> str:
        with self.refusals(f"upload {name}"):
            try:
                uploaded = self.project.upload(name, filedata=data)
            except gitlab.exceptions.GitlabUploadError as exc:
                if exc.response_code == 401:
                    raise
                raise ImagesUnavailable(self.refusals.explain(f"upload {name}", exc)) from None
        url = str(uploaded.get("url", ""))
        if not _UPLOAD_URL.match(url):
            raise ImagesUnavailable(f"GitLab answered the upload of {name} with an unexpected URL")
        return url

    def set_status(self, state: str, description: str, target_url: str) -> None:
        status = {"state": STATES[state], "name": self.status_name, "description": description}
        if target_url:
            status["target_url"] = target_url
        action = f"set the commit status {self.status_name!r} on {self.head_sha[:8]}"
        with self.refusals(action):
            try:
                self.project.commits.get(self.head_sha, lazy=True).statuses.create(status)
            except gitlab.exceptions.GitlabCreateError as exc:
                # A re-run may find the status already in this state; GitLab then refuses the transition.
                if exc.response_code == 400 and "transition" in str(exc.error_message):
                    log.info("commit status %s is already %s", self.status_name, status["state"])
                    return
                raise


class _Client(gitlab.Gitlab):
    """python-gitlab takes max_retries per request only; this sets it for every request."""

    def http_request(self, *args: Any, max_retries: int | None = None, **kwargs: Any) -> requests.Response:
        return super().http_request(*args, max_retries=MAX_RETRIES if max_retries is None else max_retries, **kwargs)


def open_gitlab(context: Context, settings: dict[str, str]) -> GitLabForge:
    """Check the token and the project, then find where the note goes: the MR of an MR pipeline,
    else the open MR of the commit (branch pipeline), else the commit itself."""
    token = _require_token(context)
    missing = [name for name, value in (("CI_API_V4_URL", context.api_url), ("CI_PROJECT_ID", context.project_id),
                                        ("CI_COMMIT_SHA", context.head_sha)) if not value]
    if missing:
        raise BadInput(f"{', '.join(missing)} not set: run mrbot in a GitLab CI job, or set them by hand")
    server = _server_url(context.api_url)
    client = _Client(
        server,
        private_token=token,
        retry_transient_errors=True,
        timeout=TIMEOUT_SECONDS,
        keep_base_url=True,  # GitLab behind a proxy may name another host in its pagination links
        user_agent=f"mrbot/{__version__}",
    )
    refusals = Refusals(context)
    with refusals("check the token"):
        client.auth()
        user_id = client.user.id
    with refusals(f"open the project {context.repository or context.project_id}"):
        project = client.projects.get(context.project_id)
    thread = _thread(project, context, refusals)
    log.info("posting on %s", thread.web_url)
    return GitLabForge(project, user_id, thread, context, settings.get("status_context") or "mrbot", refusals)


def _require_token(context: Context) -> str:
    if context.token:
        return context.token
    raise ForgeRefused(JOB_TOKEN_ONLY if context.token_name == JOB_TOKEN else NO_TOKEN)


def _server_url(api_url: str) -> str:
    """python-gitlab takes the server URL and adds /api/v4 itself."""
    if not api_url.endswith("/api/v4"):
        raise BadInput(f"CI_API_V4_URL={api_url!r} does not end with /api/v4; set it to <your GitLab URL>/api/v4")
    return api_url[: -len("/api/v4")]


def _thread(project: Any, context: Context, refusals: Refusals) -> Thread:
    if context.number is not None:
        with refusals(f"open the merge request !{context.number}"):
            return MergeRequestThread(project.mergerequests.get(context.number))
    with refusals(f"find the merge requests of commit {context.head_sha[:8]}"):
        related = project.commits.get(context.head_sha, lazy=True).merge_requests(get_all=True)
    open_requests = [mr for mr in related if mr.get("state") == "opened"]
    if not open_requests:
        log.info("no open merge request has commit %s: commenting on the commit", context.head_sha[:8])
        return CommitThread(project, context.head_sha)
    # Prefer the MR whose head is this very commit, then the newest.
    chosen = max(open_requests, key=lambda mr: (mr.get("sha") == context.head_sha, mr["iid"]))
    with refusals(f"open the merge request !{chosen['iid']}"):
        return MergeRequestThread(project.mergerequests.get(chosen["iid"]))
