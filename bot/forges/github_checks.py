"""GitHub: the report as a check run on the head commit, beside the commit status: its conclusion from
the gate, the headline as its title, the report as its summary. A token without `checks: write` (a
fork's, or a workflow that did not ask for it) leaves the status alone, with one log line."""

from __future__ import annotations

import logging
from typing import Any

import requests
from github import GithubException

from bot.ci.context import Context
from bot.forges.base import CheckRun, clip
from bot.forges.github_api import github_message, refused, unreachable

log = logging.getLogger(__name__)

SUMMARY_LIMIT = 65_535  # characters GitHub takes in a check run's output.summary
TITLE_LIMIT = 255


def external_id(report_id: str) -> str:
    """Marks mrbot's own check run of a report, apart from a workflow job of the same name."""
    return f"mrbot-report:{report_id}"


def set_check_run(repo: Any, context: Context, name: str, check: CheckRun) -> str:
    """Update this report's check run on the head, or create it; its URL, or "" when not allowed."""
    doing = f"setting the check run {name!r}"
    output = {"title": clip(check.title, TITLE_LIMIT), "summary": clip(check.summary, SUMMARY_LIMIT)}
    fields = {"status": "completed", "conclusion": check.conclusion, "output": output}
    if check.details_url:
        fields["details_url"] = check.details_url
    try:
        ours = [run for run in repo.get_commit(context.head_sha).get_check_runs(check_name=name)
                if run.external_id == external_id(check.report_id)]
        if ours:
            ours[0].edit(**fields)
            return str(ours[0].html_url or "")
        created = repo.create_check_run(name=name, head_sha=context.head_sha,
                                        external_id=external_id(check.report_id), **fields)
        return str(created.html_url or "")
    except GithubException as exc:
        if exc.status in (403, 404):
            log.info("no check run (GitHub answered %s %s): the token cannot write checks; give the job "
                     "`permissions: checks: write` for one, the commit status stands alone", exc.status,
                     github_message(exc))
            return ""
        raise refused(exc, doing, context) from None
    except requests.RequestException as exc:
        raise unreachable(exc, doing, context) from None
