"""What mrbot propose writes besides the report: the PR/MR's title and body, and the commit message.
File and stage names come from the project: every one is escaped before it goes into Markdown."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.report.markdown import escape

_SHOWN = 20
_PLAIN_NAME = re.compile(r"[A-Za-z0-9 _.:/+=,-]{1,200}")  # shown as code: nothing in it could break out
_URL = re.compile(r"https?://[^\s<>\"'`()\[\]]+")
# What started the run, by CI event / pipeline source; anything else is named as it is.
_TRIGGERS = {
    "schedule": "a scheduled run",
    "workflow_dispatch": "a manual run",
    "web": "a manual run",
    "api": "an API-triggered pipeline",
    "trigger": "a pipeline trigger",
    "push": "a push to the base branch",
    "": "a run",
}


@dataclass(frozen=True)
class Proposed:
    base: str  # the base branch
    base_sha: str
    branch: str
    event: str  # the CI event / pipeline source that started the run
    run_url: str = ""
    imports_updated: list[str] = field(default_factory=list)
    stages_ran: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # the files committed


def default_title(base: str) -> str:
    return f"Retrain on {base} (mrbot)"


def trigger(event: str) -> str:
    return _TRIGGERS.get(event, f"a {event} pipeline")


def _listed(items: list[str], code: bool) -> str:
    shown = [f"`{item}`" if code and _PLAIN_NAME.fullmatch(item) else escape(item) for item in items[:_SHOWN]]
    more = f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else ""
    return ", ".join(shown) + more


def pull_request_body(proposed: Proposed) -> str:
    lines = [
        f"mrbot reproduced the pipeline on {escape(proposed.base)} ({proposed.base_sha[:8]}), started by "
        f"{escape(trigger(proposed.event))}, and the results changed.",
        "",
    ]
    if proposed.imports_updated:
        lines.append(f"- **Imports updated** (`dvc update`): {_listed(proposed.imports_updated, True)}")
    if proposed.stages_ran:
        lines.append(f"- **Stages run**: {_listed(proposed.stages_ran, True)}")
    lines.append(f"- **Changed** ({len(proposed.changed)} file{'s' if len(proposed.changed) != 1 else ''}): "
                 f"{_listed(proposed.changed, True)}")
    lines.append("")
    lines.append(f"The report below compares this branch with {escape(proposed.base)}. The new outputs are on the "
                 "DVC remote: `dvc pull` after checking the branch out gets them.")
    if _URL.fullmatch(proposed.run_url):
        lines.append(f"The run: {proposed.run_url}")
    lines += [
        "",
        f"<sub>mrbot rebuilds the {escape(proposed.branch)} branch from {escape(proposed.base)} on every run and "
        "force-pushes it: commits pushed to it by hand are replaced.</sub>",
    ]
    return "\n".join(lines) + "\n"


def commit_message(title: str, proposed: Proposed) -> str:
    lines = [title, "", f"Started by {trigger(proposed.event)} on {proposed.base} ({proposed.base_sha[:8]})."]
    if proposed.imports_updated:
        lines.append("Imports updated: " + ", ".join(proposed.imports_updated[:_SHOWN]))
    if proposed.stages_ran:
        lines.append("Stages run: " + ", ".join(proposed.stages_ran[:_SHOWN]))
    if proposed.run_url:
        lines.append(f"Run: {proposed.run_url}")
    return "\n".join(lines)
