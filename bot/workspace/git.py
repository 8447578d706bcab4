"""Git operations on the checkout: find the repo, make the base revision reachable in a shallow CI
clone, temporary worktrees for reproducing the base."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
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


def blobs_at(root: Path, sha: str, paths: list[str]) -> dict[str, tuple[str, int]]:
    """path -> (blob id, size in bytes) of those of `paths` (relative to `root`) that git tracks at `sha`."""
    if not paths:
        return {}
    listed = git(root, "ls-tree", "-z", "-l", sha, "--", *paths)
    found = {}
    for entry in filter(None, listed.split("\0")):
        meta, _, path = entry.partition("\t")
        _, kind, oid, size = meta.split()
        if kind == "blob":
            found[path] = (oid, int(size))
    return found


def read_files_at(root: Path, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], bytes | None]:
    """(commit, path) -> the file's bytes in that commit, None where git has no such file there; one
    `git cat-file --batch` for all of them. A path is from the top of the repository, or from `root`
    when it starts with ./ (git's own rule)."""
    if not wanted:
        return {}
    request = "".join(f"{sha}:{path}\n" for sha, path in wanted).encode()
    done = subprocess.run(["git", "cat-file", "--batch"], cwd=root, input=request, capture_output=True)
    if done.returncode != 0:
        raise OSError(f"git cat-file --batch: {done.stderr.decode(errors='replace').strip()}")
    found: dict[tuple[str, str], bytes | None] = {}
    output, offset = done.stdout, 0
    for key in wanted:
        end = output.index(b"\n", offset)
        header = output[offset:end].split()
        offset = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            found[key] = output[offset:offset + size]
            offset += size + 1
        else:  # "<name> missing", or a tree
            found[key] = None
            if len(header) == 3:
                offset += int(header[2]) + 1
    return found


def read_blob(root: Path, oid: str) -> bytes:
    done = subprocess.run(["git", "cat-file", "blob", oid], cwd=root, capture_output=True)
    if done.returncode != 0:
        raise OSError(f"git cat-file blob {oid}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def find_repo_root(path: Path) -> Path:
    """The DVC project holding `path`, which must have a dvc.yaml: the git top level, or a folder
    below it made with `dvc init --subdir` (one project of a monorepo)."""
    if not path.is_dir():
        raise BadInput(f"{path}: no such directory; pass the path of a git repository with a dvc.yaml")
    try:
        top = Path(git(path, "rev-parse", "--show-toplevel"))
    except subprocess.CalledProcessError:
        raise BadInput(f"{path}: not a git repository; run mrbot inside a clone of your project") from None
    where = path.resolve()
    inside = [folder for folder in (where, *where.parents) if folder == top or top in folder.parents]
    root = next((folder for folder in inside if (folder / ".dvc").is_dir()), top)
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


def default_branch(root: Path) -> Revision:
    """Locally, the first of BASE_CANDIDATES that exists and shares history with HEAD."""
    for candidate in BASE_CANDIDATES:
        try:
            sha = git(root, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}")
        except subprocess.CalledProcessError:
            continue
        if merge_base(root, "HEAD", sha):
            return Revision(candidate, sha)
    raise BadInput(
        f"{root}: cannot guess the base branch (none of {', '.join(BASE_CANDIDATES)} exists); pass --base REV"
    )


def last_error_line(exc: subprocess.CalledProcessError) -> str:
    """What a failed command said last on stderr (its reason, as git and DVC put it), or ''."""
    lines = (exc.stderr or "").strip().splitlines()
    return lines[-1] if lines else ""


def merge_base(root: Path, one: str, other: str) -> str | None:
    """Their best common ancestor, or None when none is in the clone (unrelated, or cut off by a shallow clone)."""
    try:
        return git(root, "merge-base", one, other) or None
    except subprocess.CalledProcessError:
        return None


def is_ancestor(root: Path, ancestor: str, descendant: str) -> bool:
    done = subprocess.run(
        ["git", "merge-base", "--is-ancestor", ancestor, descendant], cwd=root, capture_output=True
    )
    return done.returncode == 0


def count_commits(root: Path, since: str, until: str) -> int:
    """Commits in `until` that are not in `since`."""
    return int(git(root, "rev-list", "--count", f"{since}..{until}"))


def deepen(root: Path, shas: list[str], commits: int) -> bool:
    """Fetch `commits` more commits of history behind `shas` into a shallow clone; False if git cannot."""
    remote = _fetch_remote(root)
    if remote is None:
        return False
    command = ["fetch", f"--deepen={commits}", "--no-tags", "--no-recurse-submodules", remote, *shas]
    log.info("git %s", " ".join(command))
    try:
        git(root, *command)
    except subprocess.CalledProcessError as exc:
        reason = last_error_line(exc)
        log.warning("could not deepen the clone: `git %s` failed%s", " ".join(command), f": {reason}" if reason else "")
        return False
    return True


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


# --- CI checkouts -------------------------------------------------------------------------------

_DUBIOUS_OWNERSHIP = re.compile(r"dubious ownership in repository at '([^']+)'")
_FULL_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
# mrbot's own commits (the reproduced base) need an identity even where git has none configured.
_IDENTITY = {
    "GIT_AUTHOR_NAME": "mrbot",
    "GIT_AUTHOR_EMAIL": "mrbot@localhost",
    "GIT_COMMITTER_NAME": "mrbot",
    "GIT_COMMITTER_EMAIL": "mrbot@localhost",
}


def trust_checkout(path: Path, in_ci: bool) -> None:
    """Containers often run as a user that does not own the checkout, and git then refuses it.
    In CI the checkout is the job's own, so mark it safe the way actions/checkout does; locally,
    say how."""
    done = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=path, capture_output=True, text=True)
    found = _DUBIOUS_OWNERSHIP.search(done.stderr)
    if done.returncode == 0 or not found:
        return
    repository = found.group(1)
    if not in_ci:
        raise BadInput(
            f"{repository}: git refuses a repository owned by another user; if you trust it, run "
            f"`git config --global --add safe.directory {repository}`"
        )
    git(path, "config", "--global", "--add", "safe.directory", repository)
    _trust_in_libgit2()
    log.info("the checkout %s belongs to another user: added it to git's safe.directory (as actions/checkout does)", repository)


def _trust_in_libgit2() -> None:
    """DVC also reads git through libgit2 (pygit2), which checks ownership on its own and may read
    another global config than git's (it ignores GIT_CONFIG_GLOBAL); trust the checkout there too."""
    try:
        import pygit2
    except ImportError:
        return
    pygit2.option(pygit2.GIT_OPT_SET_OWNER_VALIDATION, 0)


def ensure_revision(root: Path, rev: str) -> Revision:
    """`rev` as a commit, fetching just that commit or branch from the remote when a shallow or
    single-branch CI clone lacks it (with the credentials the CI configured for the checkout)."""
    with contextlib.suppress(BadInput):
        return resolve(root, rev)
    remote = _fetch_remote(root)
    if remote is None:
        return resolve(root, rev)  # no remote to fetch from: resolve() explains
    branch = rev.removeprefix(f"{remote}/")
    with contextlib.suppress(BadInput):  # only the remote-tracking branch exists (main -> origin/main)
        return Revision(rev, resolve(root, f"{remote}/{branch}").sha)
    depth = ["--depth=1"] if is_shallow(root) else []
    if _FULL_SHA.match(rev):
        refspec, fetched_as = rev, rev
    elif re.fullmatch(r"[0-9a-f]{7,39}", rev):
        raise BadInput(
            f"base revision {rev!r} is not in {root} and git cannot fetch an abbreviated sha; pass the full sha "
            "or a branch name as --base"
        )
    else:
        refspec, fetched_as = f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}", f"{remote}/{branch}"
    command = ["fetch", *depth, "--no-tags", "--no-recurse-submodules", remote, refspec]
    log.info("base %s is not in this clone: git %s", rev, " ".join(command))
    try:
        git(root, *command)
    except subprocess.CalledProcessError as exc:
        if refspec != rev and _fetch_tag(root, remote, branch, depth):
            return Revision(rev, resolve(root, f"refs/tags/{branch}").sha)
        reason = last_error_line(exc)
        raise BadInput(
            f"base revision {rev!r} is not in {root} and `git {' '.join(command)}` failed"
            f"{': ' + reason if reason else ''}; check the name and that the job may read the repository"
        ) from None
    found = resolve(root, fetched_as)
    return Revision(rev, found.sha)


def _fetch_tag(root: Path, remote: str, tag: str, depth: list[str]) -> bool:
    """A name that is no branch on the remote may be a tag (a release, the deployed model)."""
    command = ["fetch", *depth, "--no-tags", "--no-recurse-submodules", remote, f"+refs/tags/{tag}:refs/tags/{tag}"]
    try:
        git(root, *command)
    except subprocess.CalledProcessError:
        return False
    log.info("%s is a tag: git %s", tag, " ".join(command))
    return True


def _fetch_remote(root: Path) -> str | None:
    remotes = git(root, "remote").split()
    if "origin" in remotes:
        return "origin"
    return remotes[0] if remotes else None


def commit_parents(root: Path, rev: str) -> list[str]:
    """Parents as the commit records them: unlike `rev^1`, this works at a shallow clone's edge."""
    body = git(root, "cat-file", "commit", rev)
    return [line.split()[1] for line in body.split("\n\n", 1)[0].splitlines() if line.startswith("parent ")]


def merge_base_parent(root: Path, pr_head_sha: str) -> str | None:
    """When the checkout is the forge's merge of the PR into its base, the merge's other parent is
    exactly what it merged into: the first parent for GitHub `pull_request` events and GitLab
    merged-results pipelines (base merged with the PR), the second for Bitbucket's pull-request
    pipelines (the destination merged into the PR's head)."""
    if not pr_head_sha:
        return None
    parents = commit_parents(root, "HEAD")
    if len(parents) == 2 and pr_head_sha in parents and parents[0] != parents[1]:
        return parents[0] if parents[1] == pr_head_sha else parents[1]
    return None


def status(root: Path, pathspecs: list[str]) -> list[tuple[str, str]]:
    """(two-letter status, path relative to the top level) of the tracked or new (not ignored) files
    among `pathspecs` that differ from HEAD; "??" marks a new one."""
    # Not git(): its strip() would take the leading space of the first entry's status (" M").
    output = subprocess.run(["git", "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *pathspecs],
                            cwd=root, capture_output=True, text=True, check=True).stdout
    return [(entry[:2], entry[3:]) for entry in output.split("\0") if len(entry) > 3 and entry[2] == " "]


def modified_files(root: Path, pathspecs: list[str]) -> list[str]:
    """Tracked or new (not ignored) files among `pathspecs` that differ from HEAD."""
    if not pathspecs:
        return []
    return sorted(name for _, name in status(root, pathspecs))


@contextlib.contextmanager
def temporary_worktree(root: Path, sha: str) -> Iterator[Path]:
    """A detached git worktree of `sha` in a temporary directory, removed afterwards. Yields where
    `root` (a git top level, or a folder below it) is in the worktree."""
    top = Path(git(root, "rev-parse", "--show-toplevel"))
    parent = Path(tempfile.mkdtemp(prefix="mrbot-base-"))
    path = parent / top.name
    command = ["worktree", "add", "--detach", "--quiet", str(path), sha]
    try:
        try:
            git(root, *command)
        except subprocess.CalledProcessError as exc:
            reason = last_error_line(exc)
            raise BadInput(f"`git {' '.join(command)}` failed{': ' + reason if reason else ''}") from None
        yield path / root.resolve().relative_to(top)
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            git(root, "worktree", "remove", "--force", str(path))
        shutil.rmtree(parent, ignore_errors=True)
        with contextlib.suppress(subprocess.CalledProcessError):
            git(root, "worktree", "prune")


def snapshot(worktree: Path, paths: list[str], message: str) -> str:
    """Commit the tracked changes and `paths` of a detached worktree; the commit is on no branch.
    DVC reads a revision's results from a commit, so this is how a reproduced base becomes readable."""
    git(worktree, "add", "--update")
    existing = [path for path in paths if (worktree / path).exists()]
    if existing:
        git(worktree, "add", "--force", "--", *existing)
    git(worktree, "-c", "commit.gpgsign=false", "commit", "--quiet", "--no-verify", "--allow-empty", "-m", message, env=_IDENTITY)
    return git(worktree, "rev-parse", "HEAD")
