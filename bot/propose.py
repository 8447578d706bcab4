"""mrbot propose: on the base branch's tip, update imports, pull, reproduce and push the pipeline's
outputs; when the results changed, commit them to the proposal branch, push it, open or update its
one PR/MR, and build the report that is then posted on it (DESIGN.md's steps, then a PR)."""

from __future__ import annotations

import contextlib
import logging
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from bot.ci.context import GITHUB, LOCAL, Context
from bot.ci.folds import LogFolds
from bot.errors import BadInput, ForgeRefused, MrbotError
from bot.forges import open_pull_requests, project_git_url, push_header
from bot.forges.base import PullRequests
from bot.job import Outcome, ReportOptions, checkout_root, job_secrets, report_config, resolved, run_report
from bot.publish import open_or_update
from bot.report.proposal import Proposed, commit_message, default_title, pull_request_body
from bot.workspace import git
from bot.workspace.proposal import (
    REMOTE,
    Identity,
    changed_files,
    check_at_tip,
    check_branch_is_ours,
    check_clean,
    commit_changes,
    push_branch,
    remote_for,
    remote_tip,
    top_relative,
)
from bot.workspace.repo import open_repo
from bot.workspace.run import StepOptions, committable_results, push_outputs, run_steps

log = logging.getLogger(__name__)

DEFAULT_BRANCH = "mrbot/retrain"
# Who commits when no --author is given: on GitHub, the Actions bot, as its own commits show it.
GITHUB_ACTIONS_BOT = Identity("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com")
MRBOT = Identity("mrbot", "mrbot@users.noreply.invalid")
_PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target", "merge_request_event", "external_pull_request_event")

PUSHED, NOTHING = "pushed", "none"


@dataclass(frozen=True)
class ProposeOptions:
    report: ReportOptions  # where the bundle goes, the template, config, id, gate, pull, secrets
    branch: str = DEFAULT_BRANCH
    title: str | None = None
    update_imports: bool = False
    author: Identity | None = None


@dataclass
class Proposal:
    outcome: Outcome
    # Where the report is to be posted: the context of the PR/MR (None: nothing to post).
    post_to: Context | None
    # The forge refused the push or the PR/MR after the pipeline ran: the report is still written.
    refused: MrbotError | None = None


def run_propose(options: ProposeOptions, context: Context) -> Proposal:
    if context.number is not None or context.event in _PULL_REQUEST_EVENTS:
        raise BadInput("mrbot propose runs on the base branch (a scheduled or manual pipeline), not on a pull or "
                       "merge request: use `mrbot report` there")
    report_options = resolved(options.report)
    root = checkout_root(report_options.path, context)
    report_config(root, report_options)  # a broken .mrbot.yml or template stops here, not after the push
    head = git.head(root)
    base = _base_branch(report_options.base, context, head)
    branch = _check_branch(root, options.branch, base)
    header = push_header(context)
    remote = remote_for(root, header, project_git_url(context))
    check_clean(root)
    check_at_tip(root, remote, base, head.sha)
    check_branch_is_ours(root, remote, branch)
    pulls = open_pull_requests(context) if context.forge != LOCAL else None  # the token, before the pipeline

    secrets = job_secrets(report_options, context)
    echo, folds = report_options.echo, LogFolds(context.forge)
    changed: list[str] = []
    with open_repo(root) as repo:
        steps = StepOptions(pull=report_options.pull, repro=True, update_imports=options.update_imports)
        run = run_steps(repo, steps, secrets, echo, folds)
        if run.failure is None:
            outputs = top_relative(root, committable_results(repo))
            changed, _ = changed_files(root, outputs, _inside(report_options.out_dir, root))
        if changed:
            push_outputs(repo, run, secrets, echo, folds)  # only new outputs need the remote
    proposed = Proposed(base, head.sha, branch, context.event, context.run_url,
                        imports_updated=run.imports.updated if run.imports else [],
                        stages_ran=[stage.name for stage in run.repro.ran] if run.repro else [], changed=changed)
    report_options = replace(report_options, base=_base_name(root, base, head.sha), steps=run)
    if run.failure is not None:
        log.error("%s failed: no branch pushed, no pull request opened", run.failure.step)
        return _unproposed(report_options, context, branch)
    if not changed:
        log.info("nothing the pipeline tracks changed on %s (%s): no branch pushed, no pull request", base, head.sha[:8])
        return _unproposed(report_options, context, branch)
    title = options.title or default_title(base)
    author = options.author or _author(context, pulls)
    sha = commit_changes(root, changed, commit_message(title, proposed), author)
    log.info("committed %d changed file%s as %s", len(changed), "" if len(changed) == 1 else "s", sha[:8])
    # The commit's results are committed now: nothing is stale against it.
    run.uncommitted, run.lock_files = [], []
    report_options = replace(report_options, head=git.Revision(branch, sha))
    if (tip := remote_tip(root, remote, base)) != head.sha:
        log.warning("%s moved on to %s while the pipeline ran: not proposing results of the older %s; the next "
                    "run proposes from the new tip", base, (tip or "nothing")[:8], head.sha[:8])
        return _unproposed(report_options, context, branch)
    try:
        push_branch(root, remote, sha, branch)
    except ForgeRefused as exc:
        return _unproposed(report_options, context, branch, exc)
    return _proposed(report_options, context, pulls, proposed, title)


def _author(context: Context, pulls: PullRequests | None) -> Identity:
    found = pulls.author() if pulls is not None else None
    if found:
        return Identity(*found)
    return GITHUB_ACTIONS_BOT if context.forge == GITHUB else MRBOT


def _proposed(options: ReportOptions, context: Context, pulls: PullRequests | None, proposed: Proposed,
              title: str) -> Proposal:
    if pulls is None:
        log.info("no forge in this environment: pushed %s; open a pull request from it by hand", proposed.branch)
        outcome = run_report(replace(options, proposal=_json(proposed.branch, "", PUSHED)), context)
        return Proposal(outcome, None)
    try:
        pull, action = open_or_update(pulls, proposed.branch, proposed.base, title, pull_request_body(proposed))
    except MrbotError as exc:
        outcome = run_report(replace(options, proposal=_json(proposed.branch, "", PUSHED)), context)
        return Proposal(outcome, None, exc)
    post_to = replace(context, number=pull.number, head_sha=options.head.sha, base_sha=proposed.base_sha,
                      base_ref=proposed.base, branch="", extra={**context.extra})
    outcome = run_report(replace(options, proposal=_json(proposed.branch, pull.url, action)), post_to)
    return Proposal(outcome, post_to)


def _unproposed(options: ReportOptions, context: Context, branch: str, refused: MrbotError | None = None) -> Proposal:
    return Proposal(run_report(replace(options, proposal=_json(branch, "", NOTHING)), context), None, refused)


def _json(branch: str, url: str, action: str) -> dict[str, str]:
    return {"branch": branch, "pr_url": url, "action": action}


def _base_branch(given: str | None, context: Context, head: git.Revision) -> str:
    base = given or context.branch or (head.rev if head.rev != "HEAD" else "")
    if not base:
        raise BadInput("mrbot propose: the checkout is on no branch and CI names none; pass --base with the branch "
                       "to propose changes to (MRBOT_BASE)")
    return base


def _base_name(root: Path, base: str, sha: str) -> str:
    """How the report names the base: the branch where it resolves to the commit proposed on."""
    for name in (base, f"{REMOTE}/{base}"):
        with contextlib.suppress(BadInput, subprocess.CalledProcessError):
            if git.resolve(root, name).sha == sha:
                return name
    return sha


def _check_branch(root: Path, branch: str, base: str) -> str:
    try:
        git.git(root, "check-ref-format", "--branch", branch)
    except subprocess.CalledProcessError:
        raise BadInput(f"--branch {branch!r} is not a valid git branch name") from None
    if branch == base:
        raise BadInput(f"--branch {branch} is the base branch itself; mrbot proposes changes on a branch of its own")
    return branch


def _inside(out_dir: Path, root: Path) -> str | None:
    """The bundle folder, relative to the repository's top level, when it is inside it."""
    top = Path(git.git(root, "rev-parse", "--show-toplevel")).resolve()
    try:
        return out_dir.relative_to(top).as_posix()
    except ValueError:
        return None
