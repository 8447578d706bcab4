"""The git side of `mrbot propose`: a clean checkout of the base branch's tip before the run, what
the run changed, one commit of it on the proposal branch (built from the base, so the branch never
keeps stale commits), and the force push of that branch."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bot.errors import BadInput, ForgeRefused
from bot.workspace.git import git, last_error_line

log = logging.getLogger(__name__)

REMOTE = "origin"
_SHOWN = 5
# No hook of the checkout runs: not pre-commit's, not DVC's (`dvc install`), not a pre-push.
_NO_HOOKS = ("-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false")
_PUSH_ATTEMPTS = 3
# What git prints when another push updated the same ref at the same time.
_RACED = re.compile(r"cannot lock ref|failed to update ref|incorrect old value", re.I)
# What forges print when a push is refused because the branch is protected.
_PROTECTED = re.compile(r"protected branch|GH006|GH013|not allowed to (force )?push|pre-receive hook declined", re.I)


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
class PushAuth:
    """How the push authenticates over HTTPS: an Authorization header for the remote's URL, given to
    git through its environment, so the token is in neither .git/config nor the command line."""

    header: str


def dirty_files(root: Path, ignore: str | None = None) -> list[str]:
    """Tracked files below `root` that differ from HEAD, and new files git does not ignore, relative to
    the repository's top level; `ignore` is a folder of mrbot's own (the bundle) left out."""
    # Not git(): its strip() would take the first entry's leading status space.
    output = subprocess.run(["git", "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", "."],
                            cwd=root, capture_output=True, text=True, check=True).stdout
    names = [entry[3:] for entry in output.split("\0") if len(entry) > 3 and entry[2] == " "]
    return [name for name in names if not (ignore and (name == ignore or name.startswith(f"{ignore}/")))]


def check_clean(root: Path, ignore: str | None = None) -> None:
    dirty = dirty_files(root, ignore)
    if dirty:
        shown = ", ".join(dirty[:_SHOWN]) + (f" and {len(dirty) - _SHOWN} more" if len(dirty) > _SHOWN else "")
        raise BadInput(
            f"{root}: the checkout has changes before the run ({shown}); `mrbot propose` commits what the "
            "pipeline changes, so start from a clean checkout of the base branch (commit, stash or ignore them)"
        )


def remote_tip(root: Path, branch: str) -> str | None:
    """The sha of `branch` on the remote, asked now (another run or a merge may have moved it)."""
    try:
        output = git(root, "ls-remote", "--heads", REMOTE, f"refs/heads/{branch}")
    except subprocess.CalledProcessError as exc:
        raise BadInput(f"cannot read branch {branch} of the git remote {REMOTE}: {last_error_line(exc)}") from None
    return output.split()[0] if output else None


def check_at_tip(root: Path, base: str, head_sha: str) -> None:
    """A proposal is built on the base branch as it is: not on a PR's merge, another branch, or a
    commit the branch has moved past."""
    if REMOTE not in git(root, "remote").split():
        raise BadInput(f"{root}: no git remote {REMOTE!r} to push the proposal branch to")
    tip = remote_tip(root, base)
    if tip is None:
        raise BadInput(f"branch {base} is not on {REMOTE}; pass --base with the branch to propose changes to")
    if tip != head_sha:
        raise BadInput(
            f"the checkout is at {head_sha[:8]}, not at the tip of {REMOTE}/{base} ({tip[:8]}); `mrbot propose` runs "
            f"on the base branch's tip (a scheduled or manual pipeline of {base}), not on a pull request or an "
            "older commit"
        )


def commit_changes(root: Path, paths: list[str], message: str, author: Identity) -> str:
    """One commit of `paths` (relative to the top level, as the workspace has them) on top of HEAD,
    made through a temporary index: the checkout's branch, index and files stay as they are."""
    top = Path(git(root, "rev-parse", "--show-toplevel"))
    index = top / ".git" / "mrbot-propose.index"
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        git(top, "read-tree", "HEAD", env=env)
        git(top, "add", "--all", "--", *paths, env=env)
        tree = git(top, "write-tree", env=env)
    finally:
        index.unlink(missing_ok=True)
    identity = {
        "GIT_AUTHOR_NAME": author.name,
        "GIT_AUTHOR_EMAIL": author.email,
        "GIT_COMMITTER_NAME": author.name,
        "GIT_COMMITTER_EMAIL": author.email,
    }
    signed = f"{message.rstrip()}\n\nSigned-off-by: {author}\n"
    done = subprocess.run(
        ["git", *_NO_HOOKS, "commit-tree", tree, "-p", "HEAD", "-F", "-"],
        cwd=top, input=signed, capture_output=True, text=True, env={**_environ(), **identity},
    )
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, ["git", "commit-tree"], done.stdout, done.stderr)
    return done.stdout.strip()


def push_branch(root: Path, sha: str, branch: str, auth: PushAuth | None) -> None:
    """Force `branch` on the remote to `sha`: the branch is mrbot's, rebuilt from the base each run."""
    url, env = push_target(git(root, "remote", "get-url", "--push", REMOTE), auth)
    command = ["git", *_NO_HOOKS, "push", "--force", "--no-verify", "--quiet", url, f"{sha}:refs/heads/{branch}"]
    for attempt in range(1, _PUSH_ATTEMPTS + 1):
        done = subprocess.run(command, cwd=root, capture_output=True, text=True, env={**_environ(), **env},
                              stdin=subprocess.DEVNULL)
        if done.returncode == 0:
            log.info("pushed %s to %s", sha[:8], branch)
            return
        if attempt == _PUSH_ATTEMPTS or not _RACED.search(done.stderr):
            break
        # Another run pushed the branch at the same moment; the last force push wins.
        log.info("the remote's %s was being updated by another push; pushing again", branch)
        time.sleep(attempt)
    said = " ".join(line.removeprefix("remote:").strip() for line in done.stderr.splitlines() if line.strip())
    said = said.replace(auth.header, "***") if auth else said
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


def push_target(remote_url: str, auth: PushAuth | None) -> tuple[str, dict[str, str]]:
    """The URL to push to and git's environment for it. Over HTTPS with a token: the remote's URL without
    any user:password in it (a CI checkout's origin may carry the job token), and the token's header
    replacing any the checkout configured for that host (actions/checkout's persisted credentials)."""
    parts = urlsplit(remote_url)
    if auth is None or parts.scheme not in ("http", "https"):
        return remote_url, {}
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    url = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    scope = f"http.{parts.scheme}://{netloc}/.extraheader"
    # An empty value first empties the list of headers configured for that URL, then ours is the one.
    return url, {
        "GIT_CONFIG_COUNT": "3",
        "GIT_CONFIG_KEY_0": scope,
        "GIT_CONFIG_VALUE_0": "",
        "GIT_CONFIG_KEY_1": scope,
        "GIT_CONFIG_VALUE_1": auth.header,
        "GIT_CONFIG_KEY_2": "credential.helper",
        "GIT_CONFIG_VALUE_2": "",
        "GIT_TERMINAL_PROMPT": "0",
    }


def _environ() -> dict[str, str]:
    return dict(os.environ)
