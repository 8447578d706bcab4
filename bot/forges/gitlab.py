"""GitLab: the report as one note on the merge request (or, with no open MR, a discussion on the
commit), images through the project uploads API, a commit status. python-gitlab does the HTTP,
the pagination and the retries on 429/5xx."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Protocol

import gitlab

from bot.ci.context import Context
from bot.forges.base import CheckRun, Comment, ImagesUnavailable, parse_marker
from bot.forges.gitlab_api import Refusals, open_project
from bot.report.bundle import images_for_upload

log = logging.getLogger(__name__)

COMMENT_LIMIT = 1_000_000  # GitLab's limit on a note body, in characters
PER_PAGE = 100  # GitLab's maximum page size

STATES = {"success": "success", "failure": "failed"}

# What GitLab answers for an upload: /uploads/<secret>/<name>; anything that could break out of a
# Markdown image link is refused.
_UPLOAD_URL = re.compile(r"^(/uploads/|https?://)[^\s()<>\[\]\"'\\]+$")
# An earlier upload of ours, named by its content hash, found in one of our own notes.
_OWN_UPLOAD = re.compile(r"\((/uploads/[0-9a-f]{8,64}/([0-9a-f]{16}-[A-Za-z0-9._-]+))\)")


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
    renders_html = True
    cannot_comment = ""
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

    def host_images(self, bundle_dir: Path, images: list[str], report_id: str = "default") -> Callable[[str], str]:
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


    def set_check_run(self, check: CheckRun) -> str:
        return ""  # GitLab has no check runs: the commit status, and the MR's metrics widget, are its checks


def open_gitlab(context: Context, settings: dict[str, str]) -> GitLabForge:
    """Check the token and the project, then find where the note goes: the MR of an MR pipeline,
    else the open MR of the commit (branch pipeline), else the commit itself."""
    project, user, refusals = open_project(context)
    thread = _thread(project, context, refusals)
    log.info("posting on %s", thread.web_url)
    return GitLabForge(project, user.id, thread, context, settings.get("status_context") or "mrbot", refusals)


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
