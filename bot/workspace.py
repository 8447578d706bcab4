"""Git operations on the checkout: find the repo, resolve the base revision."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from bot.errors import BadInput

log = logging.getLogger(__name__)

# Where a local run looks for the branch it will be merged into, in order.
BASE_CANDIDATES = ("origin/HEAD", "main", "master", "origin/main", "origin/master")


@dataclass(frozen=True)
class Revision:
    rev: str  # what the user or CI named: "main", "HEAD", "workspace", a sha
    sha: str


def git(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=root,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, ["git", *args], done.stdout, done.stderr)
    return done.stdout.strip()


def find_repo_root(path: Path) -> Path:
    """The git top level holding `path`, which must have a dvc.yaml."""
    if not path.is_dir():
        raise BadInput(f"{path}: no such directory; pass the path of a git repository with a dvc.yaml")
    try:
        root = Path(git(path, "rev-parse", "--show-toplevel"))
    except subprocess.CalledProcessError:
        raise BadInput(f"{path}: not a git repository; run mrbot inside a clone of your project") from None
    if not (root / "dvc.yaml").exists():
        raise BadInput(f"{root}: no dvc.yaml; mrbot reports on DVC pipelines (see `dvc stage add`)")
    return root


def is_shallow(root: Path) -> bool:
    return git(root, "rev-parse", "--is-shallow-repository") == "true"


def resolve(root: Path, rev: str) -> Revision:
    try:
        return Revision(rev, git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"))
    except subprocess.CalledProcessError:
        hint = (
            f"this clone is shallow: run `git fetch --depth=1 origin {rev}` first (or checkout with fetch-depth: 0)"
            if is_shallow(root)
            else "check the name, or `git fetch origin` if it only exists on the remote"
        )
        raise BadInput(f"base revision {rev!r} not found in {root}; {hint}") from None


def default_base(root: Path) -> Revision:
    """Locally, the merge-base of HEAD with the first of BASE_CANDIDATES that exists."""
    for candidate in BASE_CANDIDATES:
        try:
            git(root, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}")
        except subprocess.CalledProcessError:
            continue
        try:
            sha = git(root, "merge-base", "HEAD", candidate)
        except subprocess.CalledProcessError:
            continue
        log.info("base: merge-base of HEAD with %s (%s); pass --base to choose another", candidate, sha[:8])
        return Revision(candidate, sha)
    raise BadInput(
        f"{root}: cannot guess the base branch (none of {', '.join(BASE_CANDIDATES)} exists); pass --base REV"
    )


def head(root: Path) -> Revision:
    try:
        sha = git(root, "rev-parse", "HEAD")
    except subprocess.CalledProcessError:
        raise BadInput(f"{root}: the repository has no commit yet; commit your pipeline first") from None
    try:
        name = git(root, "symbolic-ref", "--short", "-q", "HEAD")
    except subprocess.CalledProcessError:
        name = "HEAD"  # detached, as in most CI checkouts
    return Revision(name, sha)


@contextlib.contextmanager
def working_directory(path: Path) -> Iterator[None]:
    """DVC's API resolves targets against the process's working directory."""
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)
