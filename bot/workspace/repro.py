"""`dvc repro` through DVC's API, stage by stage: why each stage is stale (recorded just before it
runs), its wall time, and when one fails: which, its exit code and the last lines of its output."""

from __future__ import annotations

import logging
import re
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from bot.errors import BadInput
from bot.workspace.capture import OutputCapture, causes

log = logging.getLogger(__name__)

RAN = "ran"
SKIPPED = "skipped"  # up to date
RESTORED = "restored"  # outputs restored from DVC's run cache instead of running
FAILED = "failed"
NOT_RUN = "not run"  # after an earlier stage failed

# StageCmdFailedError keeps the exit status only in its message.
_EXIT_STATUS = re.compile(r"exited with (-?\d+)\s*$")
# The DVC versions pyproject.toml allows: the ones whose private per-stage step mrbot wraps.
SUPPORTED_DVC = "dvc>=3.50,<4"


@dataclass
class StageRun:
    name: str
    status: str
    seconds: float = 0.0
    reasons: list[str] = field(default_factory=list)


@dataclass
class Failure:
    step: str  # "dvc pull", "dvc repro", "dvc push"
    message: str  # one line: what failed (and, where we know it, what to do)
    stage: str = ""
    exit_code: int | None = None
    log_tail: list[str] = field(default_factory=list)


@dataclass
class ReproRun:
    stages: list[StageRun]
    seconds: float
    failure: Failure | None = None

    @property
    def ran(self) -> list[StageRun]:
        return [stage for stage in self.stages if stage.status in (RAN, RESTORED)]


def reproduce(repo: Any, capture: OutputCapture) -> ReproRun:
    """Run `dvc repro` on an open dvc Repo, recording every stage it visits."""
    from dvc.exceptions import DvcException

    reproduce_stage = _dvc_reproduce_stage()
    runs: list[StageRun] = []
    failures: list[Failure] = []

    def run_stage(stage: Any, **kwargs: Any) -> Any:
        reasons = stale_reasons(stage)
        capture.mark()
        # A stage that will run folds its output under one line of a CI log; an up-to-date one
        # prints one line of its own.
        folded = bool(reasons)
        if folded:
            capture.start_fold(stage.addressing, f"stage {stage.addressing}: {'; '.join(reasons)}")
        started = time.perf_counter()
        try:
            done = reproduce_stage(stage, **kwargs)
        except DvcException as exc:
            if _exit_code(exc) in _KILLED_BY_CTRL_C:
                # Ctrl-C: DVC ignores it while a stage's command runs, and the command dies of it.
                # The user stopped the run, it did not fail: no report. (A KeyboardInterrupt in DVC
                # itself is no DvcException and passes on as it is.)
                raise KeyboardInterrupt from exc
            runs.append(StageRun(stage.addressing, FAILED, time.perf_counter() - started, reasons))
            failures.append(_stage_failure(stage.addressing, exc, capture.tail()))
            raise
        finally:
            if folded:
                capture.end_fold(stage.addressing)
        seconds = time.perf_counter() - started
        if not done:
            runs.append(StageRun(stage.addressing, SKIPPED, seconds))
        else:
            status = RESTORED if _restored_from_run_cache(stage.addressing, capture.tail()) else RAN
            runs.append(StageRun(stage.addressing, status, seconds, reasons))
            log.info("stage '%s' %s in %.1f s", stage.addressing, status, seconds)
        return done

    started = time.perf_counter()
    try:
        repo.reproduce(repro_fn=run_stage)
    except DvcException as exc:
        if not failures:  # failed before or between stages: a bad dvc.yaml, a missing dependency
            failures.append(Failure("dvc repro", f"dvc repro failed: {causes(exc)}", log_tail=capture.tail()))
    seconds = time.perf_counter() - started
    failure = failures[0] if failures else None
    if failure is not None:
        runs.extend(_not_run(repo, runs, failure))
    return ReproRun(runs, seconds, failure)


def _dvc_reproduce_stage() -> Callable[..., Any]:
    """DVC's step for one stage, which its own experiments wrap the same way (repro_fn) to act
    around each stage. It is private, so a DVC without it gets a message rather than a traceback."""
    try:
        from dvc.repo.reproduce import _reproduce_stage
    except ImportError:
        from dvc import __version__ as dvc_version

        raise BadInput(
            f"DVC {dvc_version} is not supported: mrbot needs {SUPPORTED_DVC} (pip install '{SUPPORTED_DVC}')"
        ) from None
    return _reproduce_stage


# How a command killed by SIGINT shows: -2 when the shell exec'd it (bash), 130 when the shell ran it as a
# child and reported the signal as 128+2 (dash, DVC's /bin/sh when $SHELL is unset, as in most CI images).
_KILLED_BY_CTRL_C = (-signal.SIGINT, 128 + signal.SIGINT)


def _exit_code(exc: Exception) -> int | None:
    from dvc.stage.exceptions import StageCmdFailedError

    match = _EXIT_STATUS.search(str(exc)) if isinstance(exc, StageCmdFailedError) else None
    return int(match.group(1)) if match else None


def stale_reasons(stage: Any) -> list[str]:
    """Why DVC will run `stage`, in words: "params.yaml: train.lr changed", "src/train.py modified"."""
    from dvc.exceptions import DvcException

    try:
        entries = stage.status().get(stage.addressing, [])
    except DvcException as exc:
        return [f"status unknown: {causes(exc)}"]
    reasons: list[str] = []
    for entry in entries:
        if entry == "always changed":
            reasons.append("always runs (always_changed)")
        elif entry == "changed checksum":
            reasons.append("stage definition changed in dvc.yaml")
        elif isinstance(entry, dict):
            for kind, changes in entry.items():
                reasons.extend(_describe_changes(stage, kind, changes))
    return reasons


def _describe_changes(stage: Any, kind: str, changes: dict[str, Any]) -> list[str]:
    reasons = []
    for path, state in changes.items():
        if isinstance(state, dict):  # a params file: {param or group: modified/new/deleted}
            names = _changed_params(stage, path, state)
            reasons.append(f"{path}: {', '.join(names)} changed")
        elif kind == "changed outs":
            reasons.append(f"output {path} {_WORDS.get(state, state)}")
        else:
            reasons.append(f"{path} {_WORDS.get(state, state)}")
    return reasons


_WORDS = {"deleted": "missing", "not in cache": "missing", "new": "is new"}


def _changed_params(stage: Any, path: str, state: dict[str, str]) -> list[str]:
    """Leaf names (train.lr) even when the stage depends on a whole group (train)."""
    from dvc.dependency.param import ParamsDependency
    from dvc.utils.flatten import flatten

    for dep in stage.deps:
        if isinstance(dep, ParamsDependency) and str(dep) == path:
            recorded = flatten(dep.hash_info.value or {}) if isinstance(dep.hash_info.value, dict) else {}
            current = flatten(dep.read_params())
            names = sorted(
                name for name in set(recorded) | set(current) if recorded.get(name, _MISSING) != current.get(name, _MISSING)
            )
            if names:
                return names
    return sorted(state)


_MISSING = object()


def _stage_failure(name: str, exc: Exception, tail: list[str]) -> Failure:
    from dvc.stage.exceptions import StageCmdFailedError

    if isinstance(exc, StageCmdFailedError):
        code = _exit_code(exc)
        where = f"with exit code {code}" if code is not None else "(its command failed)"
        return Failure("dvc repro", f"Stage '{name}' failed {where}", name, code, tail)
    return Failure("dvc repro", f"Stage '{name}' failed: {causes(exc)}", name, None, tail)


def _restored_from_run_cache(name: str, tail: list[str]) -> bool:
    return any(f"Stage '{name}' is cached" in line for line in tail)


def _not_run(repo: Any, runs: list[StageRun], failure: Failure) -> list[StageRun]:
    from dvc.exceptions import DvcException

    seen = {run.name for run in runs}
    why = [f"{failure.stage} failed"] if failure.stage else []
    try:
        stages = [stage.addressing for stage in repo.index.stages if getattr(stage, "cmd", None)]
    except DvcException:
        return []
    return [StageRun(name, NOT_RUN, 0.0, why) for name in stages if name not in seen]
