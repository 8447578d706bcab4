"""Post a report through any forge: host images, upsert the one sticky comment, set the status.
The rules live here once, so GitHub and GitLab behave the same."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bot.ci.context import Context
from bot.ci.github import FORK
from bot.compare.diff import IMPROVED, REGRESSED, UNCHANGED
from bot.config import Config
from bot.errors import BadInput, ForgeRefused
from bot.forges.base import (
    COMMENT_NEW,
    COMMENT_OFF,
    STATUS_DESCRIPTION_LIMIT,
    AlreadyOpen,
    CheckRun,
    Comment,
    Forge,
    ImagesUnavailable,
    PullRequest,
    PullRequests,
    marker,
    parse_marker,
)
from bot.report.markdown import without_html
from bot.report.model import Report
from bot.report.rejudge import rejudge
from bot.report.render import HEADLINES, format_change, render_within

log = logging.getLogger(__name__)

CREATED = "created"
UPDATED = "updated"
UNCHANGED_BODY = "unchanged"
SKIPPED_NEWER = "skipped: a newer head is already reported"
SKIPPED_OFF = "skipped: comment mode off"
CHECK_SUMMARY_LIMIT = 65_535  # GitHub's limit on a check run's summary


@dataclass(frozen=True)
class PublishOptions:
    comment_mode: str = "update"
    template: Path | None = None
    set_status: bool = True
    check_run: bool = True  # besides the status, where the forge has check runs (GitHub)


@dataclass(frozen=True)
class TrustedRules:
    """What the publishing run itself decides about a bundle, whoever built it."""

    config: Config
    fail_on_regression: bool
    report_id: str


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
        image_url = forge.host_images(bundle_dir, images, report.report_id) if images else (lambda path: path)
    except ImagesUnavailable as exc:
        image_url, images_note = None, f"Images are not shown: {exc}"
        log.warning("%s", images_note)
    head_marker = marker(report.report_id, report.head.sha, forge.renders_html)
    markdown = render_within(
        report,
        forge.comment_limit,
        forge.where_full,
        template,
        image_url,
        images_note,
        reserve=len(head_marker) + 1,
    )
    if not forge.renders_html:
        markdown = without_html(markdown)  # only ever shorter: it still fits
    return f"{head_marker}\n{markdown}", images_note


def upsert_comment(forge: Forge, report: Report, body: str, mode: str) -> Published:
    if mode == COMMENT_NEW:
        created = forge.create_comment(body)
        return Published(CREATED, created.url, body)
    existing = _oldest_first(forge, report)
    if not existing:
        return _created(forge, report, body)
    # The oldest stays, as after a race in _created: its URL (in notification emails, in links) lasts,
    # and every run, whichever way it found the duplicates, deletes the same ones.
    keep, duplicates = existing[0], existing[1:]
    for duplicate in duplicates:
        log.info("deleting duplicate report comment %s", duplicate.url)
        _delete(forge, report, duplicate)
    return _updated(forge, keep, report, body)


def _oldest_first(forge: Forge, report: Report) -> list[Comment]:
    return sorted(forge.report_comments(report.report_id), key=lambda c: c.created_at)


def _created(forge: Forge, report: Report, body: str) -> Published:
    """A new comment. Another run that found none at the same moment may have made one too. The
    oldest stays: the run that made a later one sees the earlier one when it looks, deletes its own
    and updates that one; so the two end with one comment."""
    created = forge.create_comment(body)
    existing = _oldest_first(forge, report)
    if not existing or existing[0].id == created.id:
        return Published(CREATED, created.url, body)
    log.info("another run commented meanwhile: deleting this run's comment %s", created.url)
    _delete(forge, report, created)
    return _updated(forge, existing[0], report, body)


def _delete(forge: Forge, report: Report, duplicate: Comment) -> None:
    """A run that started meanwhile may have deleted the same duplicate: gone is what was wanted."""
    try:
        forge.delete_comment(duplicate)
    except ForgeRefused:
        if any(comment.id == duplicate.id for comment in forge.report_comments(report.report_id)):
            raise


def _updated(forge: Forge, keep: Comment, report: Report, body: str) -> Published:
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


OPENED = "opened"


def open_or_update(pulls: PullRequests, branch: str, base: str, title: str, body: str) -> tuple[PullRequest, str]:
    """The one open PR/MR of `branch`: updated if there is one, else opened. Two runs at once both
    find none, both open one, and the forge refuses the second; that run then updates the first's."""
    found = pulls.find_open(branch, base)
    if found is None:
        try:
            opened = pulls.create(branch, base, title, body)
            log.info("opened %s", opened.url)
            return opened, OPENED
        except AlreadyOpen:
            log.info("another run opened the pull/merge request of %s meanwhile: updating it", branch)
            found = pulls.find_open(branch, base)
            if found is None:
                raise ForgeRefused(
                    f"the forge says a pull/merge request from {branch} into {base} is open, but lists none; "
                    "re-run the job"
                ) from None
    updated = pulls.update(found, title, body)
    log.info("updated %s", updated.url)
    return updated, UPDATED


FORK_PREFIX = "fork build: "


def status_description(report: Report) -> str:
    """'test.accuracy +0.09 (+12.7%), test.loss -0.27 (-37.5%)' for the most telling changes;
    a fork's build says so first, since its numbers are the fork's."""
    if report.built_by_fork:
        return (FORK_PREFIX + _changes(report, STATUS_DESCRIPTION_LIMIT - len(FORK_PREFIX)))[:STATUS_DESCRIPTION_LIMIT]
    return _changes(report, STATUS_DESCRIPTION_LIMIT)


def _changes(report: Report, limit: int) -> str:
    telling = [
        row for row in report.metrics if row.verdict in (REGRESSED, IMPROVED) and row.change is not None and row.judged
    ]
    if not telling:
        return "no metric changed" if report.verdict == UNCHANGED else report.summary[:limit]
    parts = []
    for row in telling[:3]:
        part = f"{row.name} {format_change(row)}"
        if len(", ".join([*parts, part])) > limit:
            break
        parts.append(part)
    return ", ".join(parts) or report.summary[:limit]


FACTS_LIMIT = 10  # Bitbucket shows up to 10 data fields on a Code Insights report


def headline_facts(report: Report) -> tuple[tuple[str, float | int | str], ...]:
    """The verdict, the counts, then head's value of the metrics that moved most tellingly."""
    judged = [row for row in report.metrics if row.judged]
    facts: list[tuple[str, float | int | str]] = [
        ("Verdict", HEADLINES.get(report.verdict, report.verdict)),
        ("Regressed", sum(row.verdict == REGRESSED for row in judged)),
        ("Improved", sum(row.verdict == IMPROVED for row in judged)),
    ]
    moved = sorted((row for row in judged if row.change is not None),
                   key=lambda row: row.verdict not in (REGRESSED, IMPROVED))
    for row in moved[: FACTS_LIMIT - len(facts)]:
        facts.append((f"{row.name} ({format_change(row)})", row.new))
    return tuple(facts)


def status_state(report: Report) -> str:
    return "failure" if report.gate_failed or report.pipeline.get("failed") else "success"


def publish(forge: Forge, report: Report, bundle_dir: Path, options: PublishOptions) -> Published:
    if options.comment_mode == COMMENT_OFF or forge.cannot_comment:
        if options.comment_mode != COMMENT_OFF:
            log.info("%s", forge.cannot_comment)
        # No comment to show images in: upload nothing, still set the status.
        published, markdown = Published(SKIPPED_OFF), ""
    else:
        body, images_note = comment_body(forge, report, bundle_dir, options.template)
        markdown = body.split("\n", 1)[1]  # what the comment shows, without its marker
        published = upsert_comment(forge, report, body, options.comment_mode)
        published = Published(published.action, published.comment_url, published.body, images_note)
    log.info("report comment %s%s", published.action, f": {published.comment_url}" if published.comment_url else "")
    if options.set_status:
        forge.set_status(status_state(report), status_description(report), published.comment_url)
    if options.check_run:
        # The comment's own Markdown fits (a comment's limit is above a check summary's by the marker);
        # with no comment, a rendering without images.
        summary = markdown or render_within(report, CHECK_SUMMARY_LIMIT, forge.where_full, options.template, None)
        title = f"{HEADLINES.get(report.verdict, report.verdict)}: {report.summary}"
        check = CheckRun(status_state(report), title, summary, report.report_id, published.comment_url,
                         status_description(report), headline_facts(report))
        url = forge.set_check_run(check)
        if url:
            log.info("check run %s: %s", status_state(report), url)
    return published


def trust_bundle(report: Report, bundle_dir: Path, context: Context, trusted: TrustedRules) -> Report:
    """A bundle may come from a fork's code: the CI context decides where it goes, the publishing
    run's rules decide every verdict and the gate, and the report says who built it."""
    report_json = bundle_dir / "report.json"
    check_bundle_target(report, context, report_json)
    if report.report_id != trusted.report_id:
        # Else a bundle could overwrite the sticky comment of another job's report on the same PR.
        raise BadInput(
            f"{report_json}: the report's id is {report.report_id!r}, but this run posts {trusted.report_id!r}; "
            f"pass --id {report.report_id} (MRBOT_ID, the action's `id` input) to post it"
        )
    config = trusted.config
    judged, disagreements = rejudge(report, config.metric_rules, config.splits, trusted.fail_on_regression)
    if disagreements:
        examples = "; ".join(str(item) for item in disagreements[:3])
        log.warning(
            "the bundle's verdicts disagree with this run's rules in %d place%s (%s): a tampered bundle or a "
            "config change; using this run's",
            len(disagreements), "" if len(disagreements) == 1 else "s", examples,
        )
    judged.built_by_fork = context.extra.get(FORK) == "true"
    return judged


def check_bundle_target(report: Report, context: Context, report_json: Path) -> None:
    """The CI context decides where to post: a bundle made for another repository, PR or commit is
    refused rather than posted there."""
    target = report.target
    claims = [
        ("repository", str(target.get("repository") or ""), context.repository),
        ("pull request", str(target.get("number") or ""), str(context.number or "")),
        ("head commit", report.head.sha, context.head_sha),
    ]
    for what, bundle_value, ours in claims:
        if bundle_value and ours and bundle_value.lower() != ours.lower():
            raise BadInput(
                f"{report_json}: the report is for {what} {bundle_value}, but this run is for "
                f"{ours}; download the artifact of the run that triggered this one (run-id: "
                "github.event.workflow_run.id)"
            )
