"""The git side of `mrbot propose`: a clean checkout of the base branch's tip before the run, what
the run changed, one commit of it on the proposal branch (built from the base, so the branch never
keeps stale commits), and the force push of that branch."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit, urlunsplit

from bot.errors import BadInput, ForgeRefused
from bot.workspace.git import git, status

log = logging.getLogger(__name__)

REMOTE = "origin"
# Every commit of mrbot's proposal branch ends with this: a branch whose tip lacks it is someone else's.
TRAILER = "Proposed-by: mrbot propose"
_SHOWN = 5
# No hook of the checkout runs: not pre-commit's, not DVC's (`dvc install`), not a pre-push.
_NO_HOOKS = ("-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false")
_PUSH_ATTEMPTS = 3
# What git prints when another push updated the same ref at the same time.
_RACED = re.compile(r"cannot lock ref|failed to update ref|incorrect old value", re.I)
# What forges print when a push is refused because the branch is protected.
# (GitLab: "... to protected branches", "... to a protected branch"; GitHub: GH006.) A missing write
# permission says "not allowed to push code to this project" and is not one of them.
_PROTECTED = re.compile(r"protected branch|GH006", re.I)
# What DVC writes beside the outputs it tracks, which a run may add to the checkout.
_DVC_FILES = re.compile(r"(^|/)(dvc\.lock|\.gitignore|[^/]+\.dvc)$")
_GIT_CONFIG_ENV = (2, 31)  # GIT_CONFIG_COUNT, which carries the token's header, is read from git 2.31


@dataclass(frozen=True)
class Identity:
    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


_IDENTITY = re.compile(r"\s*([^<>\n]+?)\s*<([^<>\s]+@[^<>\s]+)>\s*")


def parse_identity(text: str, where: str) -> Identity:
    match = _IDENTITY.fullmatch(text)
    if not match:
        raise BadInput(f"{where}: {text!r} is not a git identity; write it as 'Name <email@example.com>'")
    return Identity(match.group(1), match.group(2))


@dataclass(frozen=True)
class Remote:
    """Where the proposal branch goes, and git's environment for talking to it there."""

    url: str
    env: dict[str, str] = field(default_factory=dict, repr=False)
    header: str = field(default="", repr=False)  # masked in git's messages


def remote_for(root: Path, header: str | None, forge_url: str = "") -> Remote:
    """The checkout's origin, or with a token over HTTPS: the origin's URL without any user:password
    in it (a CI checkout's may carry the job token), or the forge's URL of the project when the origin
    is SSH; the token goes in an Authorization header, through git's environment, so it is in neither
    .git/config nor the command line, and replaces any header the checkout configured (actions/checkout's
    persisted credentials)."""
    if REMOTE not in git(root, "remote").split():
        raise BadInput(f"{root}: no git remote {REMOTE!r} to push the proposal branch to")
    url = git(root, "remote", "get-url", "--push", REMOTE)
    parts = urlsplit(url)
    if header is None:
        return Remote(url)
    if parts.scheme not in ("http", "https"):
        if not (_is_ssh(url) and forge_url):
            return Remote(url)  # a local path (a laptop, a test): no credentials to give
        parts = urlsplit(forge_url)
    elif parts.scheme == "http" and forge_url.startswith("https://") and urlsplit(forge_url).hostname == parts.hostname:
        # Bitbucket Pipelines clones over http:// through its proxy: the token goes only over https.
        parts = urlsplit(forge_url)
    _check_git_version(root)
    netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    clean = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    # Scoped to the whole URL, the most specific match git has: an empty value first empties the list
    # of headers configured for it (or for its host), then ours is the only one.
    scope = f"http.{clean}.extraheader"
    env = {
        "GIT_CONFIG_COUNT": "3",
        "GIT_CONFIG_KEY_0": scope,
        "GIT_CONFIG_VALUE_0": "",
        "GIT_CONFIG_KEY_1": scope,
        "GIT_CONFIG_VALUE_1": header,
        "GIT_CONFIG_KEY_2": "credential.helper",
        "GIT_CONFIG_VALUE_2": "",
        "GIT_TERMINAL_PROMPT": "0",
    }
    return Remote(clean, env, header)


def _is_ssh(url: str) -> bool:
    return url.startswith("ssh://") or bool(re.match(r"^[\w.-]+@[\w.-]+:", url))


def _check_git_version(root: Path) -> None:
    found = re.search(r"(\d+)\.(\d+)", git(root, "--version"))
    if found and (int(found.group(1)), int(found.group(2))) < _GIT_CONFIG_ENV:
        raise BadInput(f"git {found.group(0)} cannot be given the token without writing it to .git/config; "
                       "mrbot propose needs git 2.31 or newer in the job's image")


def check_clean(root: Path) -> None:
    """No tracked file differs from HEAD: a proposal commits only what the run changed."""
    dirty = [name for code, name in status(root, ["."]) if code != "??"]
    if dirty:
        raise BadInput(
            f"{root}: tracked files changed before the run ({_listed(dirty)}); `mrbot propose` commits what the "
            "pipeline changes, so start from a clean checkout of the base branch (commit or undo those changes)"
        )


def changed_files(root: Path, outputs: set[str], ignore: str | None = None) -> tuple[list[str], list[str]]:
    """(what to commit, new files left out): the tracked files the run changed, and the new files DVC
    writes (.dvc files, dvc.lock, .gitignore entries, and `outputs`: the ones kept in git); anything else
    new (a log, a scratch file) stays out. `ignore` is mrbot's own bundle folder."""
    commit, left_out = [], []
    for code, name in status(root, ["."]):
        if ignore and (name == ignore or name.startswith(f"{ignore}/")):
            continue
        if code != "??" or name in outputs or _DVC_FILES.search(name):
            commit.append(name)
        else:
            left_out.append(name)
    if left_out:
        log.warning("not committed, as neither git nor DVC tracks them: %s (add them to .gitignore)", _listed(left_out))
    return commit, left_out


def remote_tip(root: Path, remote: Remote, branch: str) -> str | None:
    """The sha of `branch` on the remote, asked now (another run or a merge may have moved it)."""
    done = _run(root, remote, ["ls-remote", "--heads", remote.url, f"refs/heads/{branch}"])
    if done.returncode != 0:
        raise BadInput(f"cannot read branch {branch} of the git remote {REMOTE} ({_said(done, remote)}); "
                       "check the token's read access to the repository")
    return done.stdout.split()[0] if done.stdout.strip() else None


def check_at_tip(root: Path, remote: Remote, base: str, head_sha: str) -> None:
    """A proposal is built on the base branch as it is: not on a PR's merge, another branch, or a
    commit the branch has moved past."""
    tip = remote_tip(root, remote, base)
    if tip is None:
        raise BadInput(f"branch {base} is not on {REMOTE}; pass --base with the branch to propose changes to")
    if tip != head_sha:
        raise BadInput(
            f"the checkout is at {head_sha[:8]}, not at the tip of {REMOTE}/{base} ({tip[:8]}); `mrbot propose` runs "
            f"on the base branch's tip (a scheduled or manual pipeline of {base}), not on a pull request or an "
            "older commit"
        )


def check_branch_is_ours(root: Path, remote: Remote, branch: str) -> None:
    """The branch is force-pushed: refuse one that exists with a tip mrbot did not make."""
    tip = remote_tip(root, remote, branch)
    if tip is None:
        return
    done = _run(root, remote, ["fetch", "--quiet", "--no-tags", remote.url, f"refs/heads/{branch}"])
    if done.returncode != 0:
        raise BadInput(f"cannot fetch branch {branch} from {REMOTE} ({_said(done, remote)})")
    if TRAILER not in git(root, "log", "-1", "--format=%B", tip).splitlines():
        raise BadInput(
            f"branch {branch} exists on {REMOTE} and its tip {tip[:8]} is not a commit of mrbot propose, which "
            "would replace it; pass another --branch (or delete that branch)"
        )


def commit_changes(root: Path, paths: list[str], message: str, author: Identity) -> str:
    """One commit of `paths` (relative to the top level, as the workspace has them) on top of HEAD,
    made through a temporary index: the checkout's branch, index and files stay as they are."""
    top = Path(git(root, "rev-parse", "--show-toplevel"))
    index = Path(git(top, "rev-parse", "--path-format=absolute", "--git-path", "mrbot-propose.index"))
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        git(top, "read-tree", "HEAD", env=env)
        git(top, "--literal-pathspecs", "add", "--all", "--", *paths, env=env)
        tree = git(top, "write-tree", env=env)
    finally:
        index.unlink(missing_ok=True)
    identity = {
        "GIT_AUTHOR_NAME": author.name,
        "GIT_AUTHOR_EMAIL": author.email,
        "GIT_COMMITTER_NAME": author.name,
        "GIT_COMMITTER_EMAIL": author.email,
    }
    signed = f"{message.rstrip()}\n\n{TRAILER}\nSigned-off-by: {author}\n"
    done = subprocess.run(
        ["git", *_NO_HOOKS, "commit-tree", tree, "-p", "HEAD", "-F", "-"],
        cwd=top, input=signed, capture_output=True, text=True, env={**os.environ, **identity},
    )
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, ["git", "commit-tree"], done.stdout, done.stderr)
    return done.stdout.strip()


def push_branch(root: Path, remote: Remote, sha: str, branch: str) -> None:
    """Force `branch` on the remote to `sha`: the branch is mrbot's, rebuilt from the base each run."""
    command = [*_NO_HOOKS, "push", "--force", "--no-verify", "--quiet", remote.url, f"{sha}:refs/heads/{branch}"]
    for attempt in range(1, _PUSH_ATTEMPTS + 1):
        done = _run(root, remote, command)
        if done.returncode == 0:
            log.info("pushed %s to %s", sha[:8], branch)
            return
        if attempt == _PUSH_ATTEMPTS or not _RACED.search(done.stderr):
            break
        # Another run pushed the branch at the same moment; the last force push wins.
        log.info("the remote's %s was being updated by another push; pushing again", branch)
        time.sleep(attempt)
    said = _said(done, remote)
    if _PROTECTED.search(said):
        raise ForgeRefused(
            f"the forge refused the push to {branch} ({said[:300]}): the branch is protected; let the bot's token "
            "force-push it (GitHub: Settings > Branches / Rules; GitLab: Settings > Repository > Protected "
            "branches, 'Allowed to force push') or pass --branch with an unprotected name"
        )
    raise ForgeRefused(
        f"git push of {branch} to {REMOTE} failed ({said[:300] or f'exit code {done.returncode}'}); the token needs "
        "write access to the repository's contents (GitHub: `permissions: contents: write`; GitLab: a project "
        "access token with write_repository)"
    )


def _run(root: Path, remote: Remote, args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                          env={**os.environ, **remote.env}, stdin=subprocess.DEVNULL)


def _said(done: subprocess.CompletedProcess[str], remote: Remote) -> str:
    said = " ".join(line.removeprefix("remote:").strip() for line in done.stderr.splitlines() if line.strip())
    return said.replace(remote.header, "***") if remote.header else said


def _listed(names: list[str]) -> str:
    return ", ".join(names[:_SHOWN]) + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def top_relative(root: Path, paths: list[str]) -> set[str]:
    """`paths` relative to the DVC project `root`, as paths relative to the repository's top level."""
    top = Path(git(root, "rev-parse", "--show-toplevel")).resolve()
    prefix = PurePosixPath(root.resolve().relative_to(top).as_posix())
    return {str(prefix / path) if str(prefix) != "." else path for path in paths}
