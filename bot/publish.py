"""Post a report through any forge: host images, upsert the one sticky comment, set the status.
The rules live here once, so GitHub and GitLab behave the same."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bot.compare.diff import IMPROVED, REGRESSED, UNCHANGED
from bot.forges.base import (
    COMMENT_NEW,
    COMMENT_OFF,
    STATUS_DESCRIPTION_LIMIT,
    Comment,
    Forge,
    ImagesUnavailable,
    marker,
    parse_marker,
)
from bot.report.model import Report
from bot.report.render import format_change, render_within

log = logging.getLogger(__name__)

CREATED = "created"
UPDATED = "updated"
UNCHANGED_BODY = "unchanged"
SKIPPED_NEWER = "skipped: a newer head is already reported"
SKIPPED_OFF = "skipped: comment mode off"


@dataclass(frozen=True)
class PublishOptions:
    comment_mode: str = "update"
    template: Path | None = None
    set_status: bool = True


@dataclass(frozen=True)
class Published:
    action: str
    comment_url: str = ""
    body: str = ""
    images_note: str = ""


def comment_body(forge: Forge, report: Report, bundle_dir: Path, template: Path | None) -> tuple[str, str]:
    """The full comment (marker first) within the forge's size limit, and a note if images are missing."""
    images = [path for chart in report.charts for path in chart.images]
    image_url: Callable[[str], str] | None
    images_note = ""
    try:
        image_url = forge.host_images(bundle_dir, images) if images else (lambda path: path)
    except ImagesUnavailable as exc:
        image_url, images_note = None, f"Images are not shown: {exc}"
        log.warning("%s", images_note)
    head_marker = marker(report.report_id, report.head.sha)
    markdown = render_within(
        report,
        forge.comment_limit,
        forge.where_full,
        template,
        image_url,
        images_note,
        reserve=len(head_marker) + 1,
    )
    return f"{head_marker}\n{markdown}", images_note


def upsert_comment(forge: Forge, report: Report, body: str, mode: str) -> Published:
    if mode == COMMENT_NEW:
        created = forge.create_comment(body)
        return Published(CREATED, created.url, body)
    existing = sorted(forge.report_comments(report.report_id), key=lambda c: c.created_at)
    if not existing:
        created = forge.create_comment(body)
        return Published(CREATED, created.url, body)
    keep, duplicates = existing[-1], existing[:-1]
    for duplicate in duplicates:
        log.info("deleting duplicate report comment %s", duplicate.url)
        forge.delete_comment(duplicate)
    if _would_go_backwards(forge, keep, report.head.sha):
        log.warning(
            "not updating %s: it already reports on the PR's newer head; this run reported on %s",
            keep.url,
            report.head.sha[:8],
        )
        return Published(SKIPPED_NEWER, keep.url, keep.body)
    if keep.body == body:
        return Published(UNCHANGED_BODY, keep.url, body)
    updated = forge.update_comment(keep, body)
    return Published(UPDATED, updated.url, body)


def _would_go_backwards(forge: Forge, existing: Comment, head_sha: str) -> bool:
    parsed = parse_marker(existing.body)
    if parsed is None or parsed[1] == head_sha:
        return False
    current = forge.current_head_sha()
    return current is not None and current != head_sha and current == parsed[1]


def status_description(report: Report) -> str:
    """'test.accuracy +0.09 (+12.7%), test.loss -0.27 (-37.5%)' for the most telling changes."""
    telling = [row for row in report.metrics if row.verdict in (REGRESSED, IMPROVED) and row.change is not None]
    if not telling:
        return "no metric changed" if report.verdict == UNCHANGED else report.summary
    parts = []
    for row in telling[:3]:
        part = f"{row.name} {format_change(row)}"
        if len(", ".join([*parts, part])) > STATUS_DESCRIPTION_LIMIT:
            break
        parts.append(part)
    return ", ".join(parts) or report.summary[:STATUS_DESCRIPTION_LIMIT]


def status_state(report: Report) -> str:
    return "failure" if report.gate_failed or report.pipeline.get("failed") else "success"


def publish(forge: Forge, report: Report, bundle_dir: Path, options: PublishOptions) -> Published:
    if options.comment_mode == COMMENT_OFF:
        # No comment to show images in: upload nothing, still set the status.
        published = Published(SKIPPED_OFF)
    else:
        body, images_note = comment_body(forge, report, bundle_dir, options.template)
        published = upsert_comment(forge, report, body, options.comment_mode)
        published = Published(published.action, published.comment_url, published.body, images_note)
    log.info("report comment %s%s", published.action, f": {published.comment_url}" if published.comment_url else "")
    if options.set_status:
        forge.set_status(status_state(report), status_description(report), published.comment_url)
    return published
