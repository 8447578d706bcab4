"""The small interface every forge implements, and the hidden marker of mrbot's comment."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

MARKER = re.compile(r"<!-- mrbot:report id=([A-Za-z0-9_.-]{1,64}) head=([0-9a-f]{7,64}) -->")
# Where a forge shows HTML comments as text (Bitbucket escapes all HTML): a Markdown link reference
# definition, which no renderer shows.
PLAIN_MARKER = re.compile(r"\[//\]: # \(mrbot:report id=([A-Za-z0-9_.-]{1,64}) head=([0-9a-f]{7,64})\)")

COMMENT_UPDATE = "update"
COMMENT_NEW = "new"
COMMENT_OFF = "off"
COMMENT_MODES = (COMMENT_UPDATE, COMMENT_NEW, COMMENT_OFF)

STATUS_DESCRIPTION_LIMIT = 140  # GitHub's limit on a commit status description; GitLab's is larger


def clip(text: str, limit: int) -> str:
    """`text` within one of a forge's length limits, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def marker(report_id: str, head_sha: str, html: bool = True) -> str:
    if not html:
        return f"[//]: # (mrbot:report id={report_id} head={head_sha})"
    return f"<!-- mrbot:report id={report_id} head={head_sha} -->"


def parse_marker(body: str) -> tuple[str, str] | None:
    """(report id, head sha) of the marker, of either form, at the start of a comment body."""
    match = MARKER.match(body) or PLAIN_MARKER.match(body)
    return (match.group(1), match.group(2)) if match else None


@dataclass(frozen=True)
class Comment:
    id: int | str
    body: str
    url: str
    created_at: str  # ISO 8601, as the forge gives it; orders comments oldest first


@dataclass(frozen=True)
class CheckRun:
    """The report as a check on the head commit, where the forge has them (GitHub's check runs,
    Bitbucket's Code Insights reports)."""

    conclusion: str  # "success" or "failure", as the status
    title: str  # the headline
    summary: str  # the report's Markdown
    report_id: str
    details_url: str = ""
    description: str = ""  # one line of what changed, as the status says it
    # The headline figures, (title, value), for forges that show typed fields (Bitbucket Code Insights).
    facts: tuple[tuple[str, float | int | str], ...] = ()


class ImagesUnavailable(Exception):
    """The forge cannot host the images (read-only token, fork PR); the reason goes in the report."""


class Forge(Protocol):
    name: str
    renders_html: bool  # False: the comment gets no HTML (folds, small print, the marker's comment)
    comment_limit: int  # the longest comment body the forge accepts, in characters
    where_full: str  # where a reader finds the full report when the comment was shortened
    cannot_comment: str  # "": it can comment here; else why not (Forgejo has no commit comments)

    def host_images(self, bundle_dir: Path, images: list[str], report_id: str = "default") -> Callable[[str], str]:
        """Upload the bundle's images for the report `report_id`'s comment; return bundle path -> URL.
        Raise ImagesUnavailable."""

    def report_comments(self, report_id: str) -> list[Comment]:
        """mrbot's own comments carrying this report id's marker, across all pages, oldest first.
        Comments by anyone else never appear here, even if they quote the marker."""

    def current_head_sha(self) -> str | None:
        """The PR/MR's head as the forge sees it now (None when posting on a commit)."""

    def create_comment(self, body: str) -> Comment: ...

    def update_comment(self, comment: Comment, body: str) -> Comment: ...

    def delete_comment(self, comment: Comment) -> None: ...

    def set_status(self, state: str, description: str, target_url: str) -> None:
        """Commit status on the head sha; state is 'success' or 'failure'."""

    def set_check_run(self, check: CheckRun) -> str:
        """The report's check run on the head sha (updated on a re-run); its URL. "" where the forge
        has none, or the token may not write one: the status then stands alone."""


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str


class AlreadyOpen(Exception):
    """The forge refused a second open PR/MR for the branch: another run opened one meanwhile."""


class PullRequests(Protocol):
    """Opening and updating the one PR/MR of a branch (mrbot propose)."""

    def author(self) -> tuple[str, str] | None:
        """(name, email) of the token's user for the commit, where the forge gives them."""

    def find_open(self, branch: str, base: str) -> PullRequest | None:
        """The open PR/MR from `branch` into `base`, looked for across all pages."""

    def create(self, branch: str, base: str, title: str, body: str) -> PullRequest:
        """Raise AlreadyOpen when the forge says one is open for the branch already."""

    def update(self, pull: PullRequest, title: str, body: str) -> PullRequest: ...
