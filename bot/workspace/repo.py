"""The one dvc Repo of a run, opened and checked to load, and how DVC's errors read in one line."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any, Iterator

from bot.errors import BadInput
from bot.workspace.capture import quiet_dvc_console
from bot.workspace.git import working_directory

# DVC prefixes parse errors with a path relative to its own cwd; the report names the file anyway.
_UNABLE_TO_READ = re.compile(r"^unable to read: '[^']*', ")


@contextlib.contextmanager
def open_repo(root: Path) -> Iterator[Any]:
    """One dvc Repo for the whole run, its pipeline checked to load."""
    import tqdm

    # tqdm's monitor thread (DVC's progress bars) would make forking chart workers unsafe; it only
    # tunes refresh rates, so do without it.
    tqdm.tqdm.monitor_interval = 0
    if not (root / ".dvc").is_dir():
        raise BadInput(f"{root}: has a dvc.yaml but no .dvc directory; run `dvc init` and commit it")
    quiet_dvc_console()
    with working_directory(root), _opened(root) as repo:
        _check_pipeline_loads(repo, root)
        yield repo


def _opened(root: Path) -> Any:
    from dvc.config import ConfigError
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        return Repo(str(root))
    except ConfigError as exc:
        reason = " ".join(str(exc).split())  # DVC's message spans lines
        raise BadInput(f"{root / '.dvc' / 'config'}: {reason}; fix it (`dvc config --list` shows what DVC reads)") from None
    except DvcException as exc:
        raise BadInput(f"{root}: DVC cannot open the repository: {describe_error(exc)}") from None


def _check_pipeline_loads(repo, root: Path) -> None:
    """DVC only warns about a broken head dvc.yaml and reports every metric as removed; stop instead."""
    from dvc.exceptions import DvcException

    try:
        repo.index.stages  # noqa: B018 - loading the index parses every dvc.yaml (and params files)
    except DvcException as exc:
        broken = getattr(exc, "path", None) or "dvc.yaml"  # DVC names the file it could not parse
        raise BadInput(f"{root / broken}: {describe_error(exc)}; fix it (dvc repro fails on it too)") from None



# dvc-data's words when an output is in neither the DVC cache nor the remote.
_NOT_IN_STORAGE = "No storage files available"
# How a report words it; the job looks for it to offer --base-repro.
MISSING_FROM_STORAGE = "not in the DVC cache nor the default remote"


def is_absent(exc: BaseException) -> bool:
    """The file does not exist in that revision (as opposed to: exists but cannot be read)."""
    return isinstance(exc, FileNotFoundError) and exc.strerror != _NOT_IN_STORAGE


def describe_error(exc: BaseException) -> str:
    """One line naming what DVC could not do, without its traceback."""
    if isinstance(exc, FileNotFoundError) and exc.strerror == _NOT_IN_STORAGE:
        return (
            f"{MISSING_FROM_STORAGE}; push the base branch's outputs "
            "(`dvc push`) or configure the remote's credentials"
        )
    text = _UNABLE_TO_READ.sub("", str(exc).strip().splitlines()[0]) if str(exc).strip() else ""
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause).strip():
        text = f"{text}: {str(cause).strip().splitlines()[0]}" if text else str(cause).strip().splitlines()[0]
    return text or type(exc).__name__
