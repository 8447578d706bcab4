"""Bitbucket Code Insights: the report as a commit report (`/commit/{sha}/reports/{id}`) that the
pull request's side panel shows, with the headline metrics as typed data fields and PASSED/FAILED
from the gate."""

from __future__ import annotations

import math
from typing import Any

from bot.forges.base import CheckRun, clip

# Bitbucket's limits on a report (longer is a 400).
TITLE_LIMIT = 450
DETAILS_LIMIT = 2000
DATA_LIMIT = 10
FIELD_TITLE_LIMIT = 100
RESULTS = {"success": "PASSED", "failure": "FAILED"}


def report_key(report_id: str) -> str:
    """Unique among the commit's reports: prefixed with the tool's name, as Bitbucket advises."""
    return f"mrbot-{report_id}"


def report_body(check: CheckRun, link: str) -> dict[str, Any]:
    details = check.description or check.title
    if link:
        details += " The full report is in the pull request's comment."
    body: dict[str, Any] = {
        "title": clip(f"mrbot: {check.title}", TITLE_LIMIT),
        "details": clip(details, DETAILS_LIMIT),
        "report_type": "TEST",
        "reporter": "mrbot",
        "result": RESULTS[check.conclusion],
        "data": [_field(title, value) for title, value in check.facts[:DATA_LIMIT]],
    }
    if link.startswith(("https://", "http://")):
        body["link"] = link
    return body


def _field(title: str, value: float | int | str) -> dict[str, Any]:
    """NUMBER for a finite number (Bitbucket shows 14.3k for large ones), TEXT for anything else."""
    title = clip(title, FIELD_TITLE_LIMIT)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return {"title": title, "type": "NUMBER", "value": value}
    return {"title": title, "type": "TEXT", "value": clip(str(value), FIELD_TITLE_LIMIT)}
