"""Metrics of other commits than base and head: the base branch's last N first-parent commits (the
trend and noise of each metric), and extra named baselines. Nothing is re-run.

The metric files DVC found in base and head are read at each commit straight from git's objects
(one `git cat-file --batch` for all); a commit where a file is not in git (a DVC-cached metric) is
read through DVC's API, from the cache or the remote, like the base. A commit that cannot be read
at all is skipped and counted."""

from __future__ import annotations

import logging
import math
import subprocess
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterable

from bot.results import is_finite_number, single
from bot.workspace import git

log = logging.getLogger(__name__)

# (metric file path as DVC names it, flattened name) -> its number (None: not a number)
Metrics = dict[tuple[str, str], float | None]


@dataclass
class History:
    commits: list[git.Revision] = field(default_factory=list)  # oldest first; rev is "<baseline>~k"
    values: dict[tuple[str, str], tuple[float | None, ...]] = field(default_factory=dict)
    unreadable: int = 0  # commits whose metrics could not be read (their values are None)
    warning: str = ""


def first_parents(root: Path, sha: str, count: int) -> list[str]:
    """The last `count` first-parent commits up to `sha`, newest first; a shallow clone is deepened
    to have them (once, by what is missing), and a clone that cannot be is read as far as it goes."""
    listed = git.git(root, "rev-list", "--first-parent", f"--max-count={count}", sha).split()
    if len(listed) < count and git.is_shallow(root):
        log.info("history: %d of %d commits are in this shallow clone; fetching the rest", len(listed), count)
        if git.deepen(root, [sha], count - len(listed)):
            listed = git.git(root, "rev-list", "--first-parent", f"--max-count={count}", sha).split()
    return listed


def read_history(repo: Any, root: Path, baseline_sha: str, count: int, paths: Iterable[str]) -> History:
    """The metrics in `paths` at the last `count` first-parent commits up to the baseline, oldest first."""
    if count <= 0:
        return History()
    try:
        shas = first_parents(root, baseline_sha, count)
    except subprocess.CalledProcessError as exc:
        reason = git.last_error_line(exc) or f"git exit {exc.returncode}"
        return History(warning=f"The base branch's history could not be listed ({reason}): no trend or noise")
    shas.reverse()
    label = baseline_sha[:8]
    commits = [git.Revision(f"{label}~{len(shas) - 1 - index}" if index < len(shas) - 1 else label, sha) for index, sha in enumerate(shas)]
    at_commit = read_metrics_at(repo, root, shas, sorted(set(paths)))
    per_commit = [at_commit[sha] or {} for sha in shas]
    names = sorted({key for metrics in per_commit for key in metrics})
    values = {key: tuple([metrics.get(key) for metrics in per_commit]) for key in names}
    unreadable = sum(1 for sha in shas if at_commit[sha] is None)
    warning = ""
    if len(shas) < count and git.is_shallow(root):  # else the branch is simply younger than that
        warning = f"History: only {len(shas)} of the last {count} commits of the base branch could be fetched into this shallow clone"
    if unreadable:
        warning = (warning + "; " if warning else "History: ") + f"the metrics of {unreadable} of {len(shas)} commits could not be read (skipped)"
    return History(commits, values, unreadable, warning)


def read_metrics_at(repo: Any, root: Path, shas: list[str], paths: list[str]) -> dict[str, Metrics | None]:
    """sha -> its metrics (None: unreadable); git objects first, DVC's API where git lacks a file."""
    top = Path(git.git(root, "rev-parse", "--show-toplevel"))
    prefix = PurePosixPath(root.resolve().relative_to(top.resolve()).as_posix())
    in_git = {path: str(prefix / path) for path in paths}  # DVC names files from the project's folder
    try:
        blobs = git.read_files_at(root, [(sha, in_git[path]) for sha in shas for path in paths])
    except OSError:  # DVC's API reads every commit instead
        blobs = {}
    found: dict[str, Metrics | None] = {}
    parsed: dict[tuple[str, bytes], Metrics | None] = {}  # a file unchanged between commits is parsed once
    for sha in shas:
        contents = {path: blobs.get((sha, in_git[path])) for path in paths}
        if paths and all(content is not None for content in contents.values()):
            found[sha] = _parse_all(contents, parsed)
        else:
            found[sha] = _through_dvc(repo, sha)
    return found


def _parse_all(contents: dict[str, bytes], parsed: dict[tuple[str, bytes], Metrics | None]) -> Metrics | None:
    metrics: Metrics = {}
    for path, content in contents.items():
        if (path, content) not in parsed:
            parsed[path, content] = _parse_file(path, content)
        one = parsed[path, content]
        if one is None:
            return None
        metrics.update(one)
    return metrics


def _parse_file(path: str, content: bytes) -> Metrics | None:
    from dvc.utils.serialize import PARSERS

    try:
        parsed = PARSERS[PurePosixPath(path).suffix.lower()](content.decode("utf-8"), path)
    except Exception:  # noqa: BLE001 - whatever the file holds at that commit; DVC's parsers raise their own types
        return None
    return _numbers(path, parsed)


def _numbers(path: str, parsed: Any) -> Metrics:
    from dvc.utils.flatten import flatten

    if not isinstance(parsed, dict):
        return {}
    return {(path, name): _number(value) for name, value in flatten(parsed).items()}


def _through_dvc(repo: Any, sha: str) -> Metrics | None:
    try:
        with repo.switch(sha):
            shown = next(iter(repo.metrics.show().values()))
    except Exception:  # noqa: BLE001 - a commit DVC cannot read (no project yet, a broken dvc.yaml) is skipped
        return None
    if "error" in shown:
        return None
    metrics: Metrics = {}
    for path, entry in (shown.get("data") or {}).items():
        metrics.update(_numbers(path, entry.get("data")))
    return metrics


def _number(value: Any) -> float | None:
    if type(value) is float:  # nearly every value: 10,000 per commit at scale
        return value if math.isfinite(value) else None
    value = single(value)
    return float(value) if is_finite_number(value) else None
