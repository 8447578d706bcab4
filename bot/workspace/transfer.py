"""`dvc pull` / `dvc push` through DVC's API, with errors that name the remote and say what to do.

Credentials are the remote's own, read by DVC from the environment (AWS_*, GOOGLE_APPLICATION_CREDENTIALS,
AZURE_*) or from `.dvc/config.local`; mrbot never handles them.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bot.masking import mask
from bot.workspace.capture import OutputCapture
from bot.workspace.repro import Failure

log = logging.getLogger(__name__)

# Where to look when a remote cannot be read, by URL scheme.
_CREDENTIAL_HINTS = {
    "s3": "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or a role) in the CI variables "
    "and check the remote's url and endpointurl",
    "gs": "set GOOGLE_APPLICATION_CREDENTIALS to a service account key file in the CI variables",
    "azure": "set AZURE_STORAGE_CONNECTION_STRING (or AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY) in the CI variables",
    "": "check that the directory exists and the job can read it (mount it into the container)",
}
_GENERIC_HINT = "check the remote's url and credentials (`dvc remote modify --local NAME ...` in the job)"
# An unreachable remote is no credentials problem: the hint names what to check instead.
_UNREACHABLE = re.compile(
    r"could not connect|connection refused|timed out|name or service not known|temporary failure in name resolution",
    re.IGNORECASE,
)
_UNREACHABLE_HINT = (
    "the job could not reach the remote: check its url (and endpointurl), and that the CI network "
    "(proxy, firewall) lets the job through"
)
_SHOWN_PATHS = 5


@dataclass(frozen=True)
class Remote:
    name: str
    url: str  # without any user:password

    def __str__(self) -> str:
        return f"remote '{self.name}' ({self.url})"


@dataclass
class Transfer:
    """What one pull or push did."""

    remote: Remote | None
    files: int = 0
    seconds: float = 0.0
    # Pull: outputs in neither the cache nor the remote that `dvc repro` will build again.
    to_rebuild: list[str] = field(default_factory=list)
    note: str = ""
    failure: Failure | None = None


def default_remote(repo: Any) -> Remote | None:
    name = repo.config["core"].get("remote")
    if not name:
        return None
    url = str(repo.config["remote"].get(name, {}).get("url", ""))
    return Remote(name, _without_credentials(url))


def pull(repo: Any, capture: OutputCapture, rebuild_missing: bool) -> Transfer:
    """`dvc pull` of the workspace's outputs. With `rebuild_missing`, outputs of pipeline stages that are
    nowhere to be found are left for `dvc repro`; anything else missing is a failure."""
    from dvc.config import NoRemoteError
    from dvc.exceptions import CheckoutError, DvcException

    remote = default_remote(repo)
    capture.mark()
    started = time.perf_counter()
    transfer = Transfer(remote)
    try:
        result = repo.pull()
        transfer.files = int(result.get("stats", {}).get("fetched", 0))
    except NoRemoteError:
        transfer.note = "no default DVC remote is configured: nothing pulled"
    except CheckoutError as exc:
        missing = sorted(str(path) for path in exc.result.get("failed", exc.target_infos))
        transfer.files = int(exc.result.get("stats", {}).get("fetched", 0))
        unbuildable = [path for path in missing if path not in _stage_outputs(repo)]
        if rebuild_missing and not unbuildable:
            transfer.to_rebuild = missing
            transfer.note = (
                f"{_count(missing)} not in the DVC cache nor on {_where(remote)}: dvc repro builds "
                f"{'it' if len(missing) == 1 else 'them'} again ({_listed(missing)})"
            )
        else:
            transfer.failure = Failure(
                "dvc pull",
                f"dvc pull: {_count(unbuildable or missing)} missing from the DVC cache and from {_where(remote)} "
                f"({_listed(unbuildable or missing)}); run `dvc push` where they were produced",
                log_tail=capture.tail(),
            )
    except (DvcException, OSError) as exc:
        transfer.failure = _transfer_failed("dvc pull from", "downloaded", remote, exc, capture)
    transfer.seconds = time.perf_counter() - started
    if remote is None and not transfer.note and transfer.failure is None:
        transfer.note = "no default DVC remote is configured: only the local cache was used"
    if transfer.failure is None and remote is None:
        log.info("dvc pull: %d files in %.1f s (%s)", transfer.files, transfer.seconds, transfer.note)
    elif transfer.failure is None:
        log.info("dvc pull: %d files from %s in %.1f s", transfer.files, remote, transfer.seconds)
    return transfer


def push(repo: Any, capture: OutputCapture) -> Transfer:
    """`dvc push` of the workspace's outputs (what this run built) to the default remote."""
    from dvc.exceptions import DvcException

    remote = default_remote(repo)
    capture.mark()
    started = time.perf_counter()
    transfer = Transfer(remote)
    try:
        transfer.files = int(repo.push())
    except (DvcException, OSError) as exc:
        transfer.failure = _transfer_failed("dvc push to", "uploaded", remote, exc, capture)
    transfer.seconds = time.perf_counter() - started
    if transfer.failure is None:
        log.info("dvc push: %d files to %s in %.1f s", transfer.files, _where(remote), transfer.seconds)
    return transfer


def _failed(action: str, remote: Remote | None, detail: str, capture: OutputCapture) -> Failure:
    """'dvc pull from <remote> failed: <detail>', with the output that led to it."""
    step = " ".join(action.split()[:2])
    return Failure(step, f"{action} {_where(remote)} failed: {detail}", log_tail=capture.tail())


def _stage_outputs(repo: Any) -> set[str]:
    """Paths (relative to the repo root, as DVC reports missing files) that a pipeline stage produces."""
    return {
        os.path.relpath(out.fs_path, repo.root_dir)
        for stage in repo.index.stages
        if getattr(stage, "cmd", None)
        for out in stage.outs
    }


def _first_problem(capture: OutputCapture) -> str:
    """DVC logs the cause ("Unable to locate credentials") instead of putting it in the exception."""
    for problem in capture.problems():
        if problem.startswith("ERROR: "):
            return f" ({problem.removeprefix('ERROR: ')})"
    return ""


def _transfer_failed(action: str, moved: str, remote: Remote | None, exc: Exception, capture: OutputCapture) -> Failure:
    """The failure of a pull or push: files that could not be `moved` (DVC logs the cause), an OSError
    of a local remote's own files (DVC passes these on as they are), or any other DVC error."""
    from dvc.exceptions import DownloadError, UploadError

    if isinstance(exc, (DownloadError, UploadError)):
        problem = _first_problem(capture)
        detail = f"{_count_of(exc.amount)} could not be {moved}{problem}; {_hint(remote, problem)}"
    elif isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        detail = f"{exc.strerror or exc}{where}; {_hint(remote, str(exc))}"
    else:
        detail = str(exc)
    return _failed(action, remote, detail, capture)


def _where(remote: Remote | None) -> str:
    return str(remote) if remote is not None else "the DVC remote"


def _hint(remote: Remote | None, problem: str) -> str:
    if _UNREACHABLE.search(problem):
        return _UNREACHABLE_HINT
    if remote is None:
        return _GENERIC_HINT
    scheme = urlsplit(remote.url).scheme if "://" in remote.url else ""
    return _CREDENTIAL_HINTS.get(scheme, _GENERIC_HINT).replace("NAME", remote.name)


def _without_credentials(url: str) -> str:
    return mask(url, [])


def _count(paths: list[str]) -> str:
    return _count_of(len(paths))


def _count_of(amount: int) -> str:
    return f"{amount} file{'' if amount == 1 else 's'}"


def _listed(paths: list[str]) -> str:
    shown = ", ".join(paths[:_SHOWN_PATHS])
    return shown + (f" and {len(paths) - _SHOWN_PATHS} more" if len(paths) > _SHOWN_PATHS else "")
