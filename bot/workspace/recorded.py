"""Outputs as the DVC files of a revision record them (hash, size), and what changed between two.

Read from dvc.yaml/dvc.lock/*.dvc alone, so comparing revisions needs no data download."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Callable

ADDED = "added"
DELETED = "deleted"
MODIFIED = "modified"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recorded:
    path: str  # relative to the repository root; directories end with "/"
    hash: str
    size: int | None
    files: int | None  # for directories
    cached: bool  # tracked by DVC (in its cache), as opposed to committed to git (cache: false)


@dataclass(frozen=True)
class DataChange:
    path: str
    change: str  # ADDED, DELETED, MODIFIED
    old_size: int | None = None
    new_size: int | None = None
    old_files: int | None = None
    new_files: int | None = None


def recorded_outputs(repo: Any) -> dict[str, Recorded]:
    """Every output of an open dvc Repo (its workspace, or the commit it is switched to), by path."""
    recorded = {}
    for out in repo.index.outs:
        path = os.path.relpath(out.fs_path, repo.root_dir).replace(os.sep, "/")
        is_dir = bool(out.meta.isdir) or str(out.hash_info.value or "").endswith(".dir")
        if is_dir:
            path += "/"
        recorded[path] = Recorded(
            path=path,
            hash=str(out.hash_info.value or ""),
            size=out.meta.size,
            files=out.meta.nfiles if is_dir else None,
            cached=bool(out.use_cache),
        )
    return recorded


def recorded_at(repo: Any, rev: str) -> dict[str, Recorded]:
    """The outputs commit `rev` records, read through an open dvc Repo switched there for a moment."""
    with repo.switch(rev):
        return recorded_outputs(repo)


def recorded_or_none(read: Callable[[], dict[str, Recorded]], what: str) -> dict[str, Recorded] | None:
    """What `read` returns; None, with a warning, when DVC cannot read `what`'s DVC files: the
    report only misses the data changes table."""
    from dvc.exceptions import DvcException

    try:
        return read()
    except DvcException as exc:
        log.warning("could not compare the DVC-tracked data with %s: %s", what, exc)
        return None


def changes_since(repo: Any, rev: str, what: str, cached_only: bool = False) -> list[DataChange]:
    """What `compare` finds between `rev` (`what` it is, for the log) and an open dvc Repo."""
    new = recorded_or_none(lambda: recorded_outputs(repo), "the working tree")
    old = recorded_or_none(lambda: recorded_at(repo, rev), what)
    return compare(old, new, cached_only)


def compare(
    old: dict[str, Recorded] | None, new: dict[str, Recorded] | None, cached_only: bool = False
) -> list[DataChange]:
    """Outputs whose recorded hash differs; an output without a hash (never built) counts as absent.
    None on either side (unreadable) compares nothing."""
    if old is None or new is None:
        return []
    old = {path: item for path, item in old.items() if item.hash and (item.cached or not cached_only)}
    new = {path: item for path, item in new.items() if item.hash and (item.cached or not cached_only)}
    changes = []
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path), new.get(path)
        if before is not None and after is not None and before.hash == after.hash:
            continue
        change = ADDED if before is None else DELETED if after is None else MODIFIED
        changes.append(
            DataChange(
                path=path,
                change=change,
                old_size=before.size if before else None,
                new_size=after.size if after else None,
                old_files=before.files if before else None,
                new_files=after.files if after else None,
            )
        )
    return changes
