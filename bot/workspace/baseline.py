"""Which commit head is compared with, and why: where the PR forked from its base branch (the
default), the forge's test merge, the base branch's tip, or what --base names."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

from bot.ci.context import LOCAL, Context
from bot.errors import BadInput
from bot.workspace import git

log = logging.getLogger(__name__)

MERGE_BASE = "merge-base"  # where head forked from the base branch, as the forge's "Files changed" diff
FIRST_PARENT = "first-parent"  # the checkout is the forge's merge of the PR: what it merged into
TIP = "tip"  # the base branch as it is now, later changes and all
EXPLICIT = "explicit"  # --base
KINDS = (MERGE_BASE, FIRST_PARENT, TIP, EXPLICIT)
PREFERENCES = (MERGE_BASE, TIP)  # what `base:` in .mrbot.yml may ask for
# A shallow CI clone is deepened by these many commits, step by step, to find where head forked.
DEEPEN_STEPS = (50, 200, 1000)


@dataclass(frozen=True)
class Baseline:
    revision: git.Revision
    kind: str
    branch: str = ""  # the base branch as CI or the user named it; "" where nobody did
    ahead: int | None = None  # commits the base branch has gained since `revision`; None: not known
    warning: str = ""  # for the report, when the baseline is not the one asked for


def choose_baseline(root: Path, context: Context, explicit: str | None = None, prefer: str = MERGE_BASE) -> Baseline:
    """The baseline, its commits fetched first if the CI clone is too shallow to have them."""
    if explicit:
        return Baseline(git.ensure_revision(root, explicit), EXPLICIT, explicit)
    if context.forge != LOCAL:
        merged_into = git.merge_base_parent(root, context.head_sha)
        if merged_into:
            log.info("the checkout is the merge of the PR into %s: comparing with that commit", merged_into[:8])
            return _first_parent(root, context, merged_into)
    tip = _tip(root, context)
    head_sha = git.head(root).sha
    forked_at = _merge_base(root, head_sha, tip.sha, known=context.merge_base_sha)
    branch = tip.rev
    if prefer == TIP:
        ahead = git.count_commits(root, forked_at, tip.sha) if forked_at else None
        log.info("base: the tip of %s (%s), as `base: tip` asks", branch, tip.sha[:8])
        return Baseline(tip, TIP, branch, ahead)
    if forked_at is None:
        log.warning("could not find where head forked from %s: comparing with its tip", branch)
        return Baseline(tip, TIP, branch, None, _no_merge_base_warning(root, branch))
    ahead = git.count_commits(root, forked_at, tip.sha) if git.is_ancestor(root, forked_at, tip.sha) else None
    log.info(
        "base: where head forked from %s (%s, the merge-base)%s; pass --base to choose another",
        branch, forked_at[:8], f"; {branch} is {ahead} commit(s) ahead of it" if ahead else "",
    )
    return Baseline(git.Revision(branch, forked_at), MERGE_BASE, branch, ahead)


def _first_parent(root: Path, context: Context, merged_into: str) -> Baseline:
    revision = git.ensure_revision(root, merged_into)
    branch = context.base_ref or ""
    ahead = None
    tip = _named_tip(root, context)
    if tip and tip != merged_into and git.is_ancestor(root, merged_into, tip):
        ahead = git.count_commits(root, merged_into, tip)
    elif tip == merged_into:
        ahead = 0
    return Baseline(git.Revision(branch or revision.rev, revision.sha), FIRST_PARENT, branch, ahead)


def _tip(root: Path, context: Context) -> git.Revision:
    """The base branch's tip: the sha CI names, else the branch CI names (fetched if the clone
    lacks it), else locally the first of git.BASE_CANDIDATES."""
    tip_sha = _named_tip(root, context) if context.forge != LOCAL else ""
    if tip_sha:
        found = git.ensure_revision(root, tip_sha)
        return git.Revision(context.base_ref or found.sha[:8], found.sha)
    if context.forge != LOCAL and context.base_ref:
        found = git.ensure_revision(root, context.base_ref)
        return git.Revision(context.base_ref, found.sha)
    return git.default_branch(root)


def _named_tip(root: Path, context: Context) -> str:
    """The base tip's sha as CI names it, whole. Bitbucket names it by 12 characters: resolved where
    the clone has that commit, else "" (the branch name finds the tip then)."""
    sha = context.base_sha
    if not sha or len(sha) == 40:
        return sha
    with contextlib.suppress(BadInput):
        return git.resolve(root, sha).sha
    return ""


def _merge_base(root: Path, head_sha: str, tip_sha: str, known: str = "") -> str | None:
    """Where head forked from the tip: `known` if CI said (fetched if missing), else git's merge-base,
    deepening a shallow clone in bounded steps until both it and the tip's history down to it are in."""
    if known:
        known = git.ensure_revision(root, known).sha
    for step in (0, *DEEPEN_STEPS):
        if step:
            if not git.is_shallow(root):
                break
            log.info("where head forked from the base branch is not in this shallow clone: deepening by %d commits", step)
            if not git.deepen(root, [head_sha, tip_sha], step):
                break
        found = known or git.merge_base(root, head_sha, tip_sha)
        # A merge-base CI named may lie beyond the tip's history in the clone: deepen to count `ahead`.
        if found and (not known or git.is_ancestor(root, found, tip_sha)):
            return found
    return known or None


def _no_merge_base_warning(root: Path, branch: str) -> str:
    if git.is_shallow(root):
        return (
            f"Could not find where this branch forked from {branch} within {sum(DEEPEN_STEPS)} commits of this "
            f"shallow clone, so it is compared with {branch}'s tip and {branch}'s own later changes show too; "
            "check out the full history (actions/checkout `fetch-depth: 0`, GitLab `GIT_DEPTH: 0`)"
        )
    return (
        f"This branch shares no history with {branch}, so it is compared with {branch}'s tip; "
        "pass --base to choose the revision to compare with"
    )
