"""`dvc update` of the project's import stages (`dvc import`, `dvc import-url`): the "regularly updated
external source" a scheduled retrain pulls in before `dvc repro`."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.workspace.capture import OutputCapture, causes
from bot.workspace.repro import Failure

log = logging.getLogger(__name__)


@dataclass
class ImportsUpdate:
    checked: list[str] = field(default_factory=list)  # the import stages' .dvc files
    updated: list[str] = field(default_factory=list)  # those whose source had moved on
    seconds: float = 0.0
    failure: Failure | None = None


def update_imports(repo: Any, capture: OutputCapture) -> ImportsUpdate:
    """Update every import stage to its source's latest version; which .dvc files changed is read
    from the files themselves (DVC rewrites each one whether or not its source moved)."""
    from dvc.exceptions import DvcException

    root = Path(repo.root_dir)
    started = time.perf_counter()
    stages = [stage for stage in repo.index.stages if stage.is_import]
    update = ImportsUpdate(checked=sorted(str(Path(stage.path).relative_to(root)) for stage in stages))
    if not stages:
        log.info("dvc update: the project has no import stage (dvc import / import-url) to update")
        return update
    before = {path: (root / path).read_bytes() for path in update.checked}
    capture.mark()
    try:
        repo.update(targets=[str(root / path) for path in update.checked])
    except (DvcException, OSError) as exc:
        update.failure = Failure("dvc update", f"dvc update failed: {causes(exc)}", log_tail=capture.tail())
    update.updated = [path for path in update.checked if _read(root / path) != before[path]]
    update.seconds = time.perf_counter() - started
    if update.failure is None:
        log.info("dvc update: %d of %d imports updated (%.1f s)", len(update.updated), len(stages), update.seconds)
    return update


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
