"""Bitbucket Code Insights: the report as a commit report (`/commit/{sha}/reports/{id}`) that the
pull request's side panel shows, with the headline metrics as typed data fields and PASSED/FAILED
from the gate."""

from __future__ import annotations

from typing import Any

from bot.forges.base import CheckRun, clip
from bot.results import is_finite_number

# Bitbucket Data Center documents these limits on a report (longer is a 400); Bitbucket Cloud
# documents none, so a refused report is sent again as the minimal one.
TITLE_LIMIT = 450
DETAILS_LIMIT = 2000
DATA_LIMIT = 6
FIELD_TITLE_LIMIT = 100
MINIMAL_LIMIT = 250
RESULTS = {"success": "PASSED", "failure": "FAILED"}


def report_key(report_id: str) -> str:
    """Unique among the commit's reports: prefixed with the tool's name, as Bitbucket advises."""
    return f"mrbot-{report_id}"


def report_body(check: CheckRun, link: str, where: str, minimal: bool = False) -> dict[str, Any]:
    """`where` says where the full report is; `minimal` drops the figures and shortens the text,
    for a Bitbucket that refused the whole."""
    details = " ".join(part for part in (check.description or check.title, where) if part)
    body: dict[str, Any] = {
        "title": clip(f"mrbot: {check.title}", MINIMAL_LIMIT if minimal else TITLE_LIMIT),
        "details": clip(details, MINIMAL_LIMIT if minimal else DETAILS_LIMIT),
        "report_type": "TEST",
        "reporter": "mrbot",
        "result": RESULTS[check.conclusion],
        "data": [] if minimal else [_field(title, value) for title, value in check.facts[:DATA_LIMIT]],
    }
    if link.startswith(("https://", "http://")):
        body["link"] = link
    return body


def _field(title: str, value: float | int | str) -> dict[str, Any]:
    """NUMBER for a finite number (Bitbucket shows 14.3k for large ones), TEXT for anything else."""
    title = clip(title, FIELD_TITLE_LIMIT)
    if is_finite_number(value):
        return {"title": title, "type": "NUMBER", "value": value}
    return {"title": title, "type": "TEXT", "value": clip(str(value), FIELD_TITLE_LIMIT)}
