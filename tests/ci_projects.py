"""CI-shaped checkouts for tests: a bare "origin", a DVC remote holding what was pushed, and a
shallow clone made the way CI makes it (`git clone --depth=1 file://...`)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from dvc.repo import Repo

from bot.workspace.demo import git
from bot.workspace.git import working_directory
from tests.projects import write_files

REMOTE = "storage"


@dataclass(frozen=True)
class Origin:
    repo: Path  # bare git repository
    remote: Path  # local-directory DVC remote

    def sha(self, rev: str) -> str:
        return git(self.repo, "rev-parse", rev)


def set_dvc_remote(root: Path, url: str, name: str = REMOTE, local: bool = False, **options: str) -> None:
    with Repo(str(root)) as repo, repo.config.edit("local" if local else "repo") as config:
        config["remote"][name] = {"url": url, **options}
        config["core"]["remote"] = name


def dvc_push(root: Path) -> int:
    with working_directory(root), Repo(str(root)) as repo:
        return repo.push()


def commit_files(root: Path, message: str, files: dict) -> str:
    write_files(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


def publish(
    project: Path,
    where: Path,
    url: str | None = None,
    push_branches: tuple[str, ...] = ("main", "experiment"),
    **remote_options: str,
) -> Origin:
    """Give `project` (branches main and experiment) a DVC remote (default: a local directory) on
    both branches, push the outputs of `push_branches`, and make a bare origin of it."""
    remote = where / "dvc-remote"
    remote.mkdir(parents=True)
    for branch in ("main", "experiment"):
        git(project, "checkout", "-q", branch)
        set_dvc_remote(project, url or str(remote), **remote_options)
        commit_files(project, "DVC remote", {})
        if branch in push_branches:
            dvc_push(project)
    git(project, "checkout", "-q", "experiment")
    origin = where / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(project), str(origin)], check=True)
    return Origin(origin, remote)


def copy_origin(origin: Origin, where: Path) -> Origin:
    """A private copy of a (session-wide) origin and its DVC remote, for a test that changes them."""
    copy = Origin(where / "origin.git", where / "dvc-remote")
    shutil.copytree(origin.repo, copy.repo)
    shutil.copytree(origin.remote, copy.remote)
    return copy


def push_branch(origin: Origin, branch: str, files: dict, start: str = "experiment", where: Path | None = None) -> str:
    """A PR branch on origin: `start` plus a commit changing `files` (as the PR author pushed it)."""
    work = (where or origin.repo.parent) / f"work-{branch}"
    subprocess.run(["git", "clone", "-q", "--branch", start, f"file://{origin.repo}", str(work)], check=True)
    git(work, "checkout", "-q", "-b", branch)
    sha = commit_files(work, f"PR {branch}", files)
    git(work, "push", "-q", "origin", branch)
    shutil.rmtree(work)
    return sha


def shallow_clone(origin: Origin, target: Path, branch: str = "experiment", local_remote: bool = True) -> Path:
    """What actions/checkout or a GitLab runner leaves: one commit, no DVC cache, no data. With
    `local_remote`, the clone's DVC remote is `origin.remote` (set in .dvc/config.local, as a job may)."""
    subprocess.run(
        ["git", "clone", "-q", "--depth=1", "--branch", branch, f"file://{origin.repo}", str(target)], check=True
    )
    if local_remote:
        set_dvc_remote(target, str(origin.remote), local=True)
    return target


def detached_shallow_checkout(origin: Origin, ref: str, target: Path, depth: int | None = 1) -> Path:
    """How actions/checkout checks out a pull_request event: fetch one ref at depth 1 (or, with
    `depth` None, every branch and the ref with full history: `fetch-depth: 0`), detach."""
    target.mkdir(parents=True)
    git(target, "init", "-q")
    git(target, "remote", "add", "origin", f"file://{origin.repo}")
    if depth is None:
        git(target, "fetch", "-q", "--no-tags", "origin", "+refs/heads/*:refs/remotes/origin/*")
    git(target, "fetch", "-q", *([f"--depth={depth}"] if depth else []), "--no-tags", "origin", ref)
    git(target, "checkout", "-q", "--detach", "FETCH_HEAD")
    set_dvc_remote(target, str(origin.remote), local=True)
    return target


def move_main_on(origin: Origin, where: Path, params_yaml: str) -> str:
    """Another PR lands on main after the PR branch forked: a param change, reproduced and pushed."""
    work = where / "work-main"
    subprocess.run(["git", "clone", "-q", "--branch", "main", f"file://{origin.repo}", str(work)], check=True)
    (work / "params.yaml").write_text(params_yaml)
    with working_directory(work), Repo(str(work)) as repo:
        repo.reproduce()
        repo.push()
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "Another PR: less noise")
    git(work, "push", "-q", "origin", "main")
    shutil.rmtree(work)
    return origin.sha("main")


def push_test_merge(origin: Origin, where: Path, branch: str, ref: str, head_first: bool = False) -> str:
    """The forge's test merge of `branch` into main's tip, pushed as `ref` (refs/pull/N/merge, or
    GitLab's refs/merge-requests/N/merge): main is its first parent. `head_first`: main merged into
    `branch` instead, as Bitbucket's pull-request pipelines do. dvc.lock is taken from main, as a
    textual merge cannot combine it: the job's `dvc repro` brings it up to date."""
    work = where / "work-merge"
    subprocess.run(["git", "clone", "-q", "--branch", "main", f"file://{origin.repo}", str(work)], check=True)
    git(work, "checkout", "-q", "--detach", f"origin/{branch}" if head_first else "main")
    other = "main" if head_first else f"origin/{branch}"
    subprocess.run(["git", "merge", "-q", "--no-ff", "--no-commit", other], cwd=work, capture_output=True)
    git(work, "checkout", "--theirs" if head_first else "--ours", "--", "dvc.lock", "metrics.json", "plots")
    git(work, "add", "-A")
    git(work, "commit", "-q", "--no-edit", "-m", f"Merge main into {branch}" if head_first else f"Merge {branch} into main")
    git(work, "push", "-q", "origin", f"HEAD:{ref}")
    sha = git(work, "rev-parse", "HEAD")
    shutil.rmtree(work)
    return sha
