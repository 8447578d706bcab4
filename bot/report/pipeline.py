"""The report's "Pipeline" data (report.json `pipeline`): plain JSON values, phrased for people.
Templates print every value through Markdown escaping; numbers are kept next to their wording."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.workspace.recorded import DataChange
from bot.workspace.repro import FAILED, NOT_RUN, RAN, RESTORED, SKIPPED, Failure, StageRun
from bot.workspace.run import BaseRun, WorkspaceRun
from bot.workspace.transfer import Transfer

_STATUS_WORDS = {
    RAN: "✅ ran",
    RESTORED: "♻️ restored from run cache",
    SKIPPED: "➖ up to date",
    FAILED: "❌ failed",
    NOT_RUN: "⏸️ not run",
}


@dataclass
class SectionInputs:
    run: WorkspaceRun | None
    data_changes: list[DataChange] = field(default_factory=list)
    base_run: BaseRun | None = None
    base_missing: list[str] = field(default_factory=list)  # base results nowhere to be had
    total_seconds: float = 0.0


def pipeline_section(inputs: SectionInputs) -> dict[str, Any]:
    run = inputs.run or WorkspaceRun()
    failure = run.failure
    stages = run.repro.stages if run.repro else run.pending
    section: dict[str, Any] = {
        "failed": failure.message if failure else "",
        "failure": _failure(failure),
        "log_tail": "\n".join(failure.log_tail) if failure else "",
        "ran_pipeline": run.repro is not None,
        "stages": [_stage(stage, not run.repro) for stage in stages],
        "imports": _imports(run),
        "pull": _transfer(run.pull),
        "push": _transfer(run.push),
        "data_changes": [_data_change(change) for change in inputs.data_changes],
        "stale_warning": _stale_warning(run),
        "stale_outputs": [change.path for change in run.uncommitted],
        "base": _base(inputs),
        "seconds": {
            "pull": _round(run.pull.seconds if run.pull else 0.0),
            "repro": _round(run.repro.seconds if run.repro else 0.0),
            "push": _round(run.push.seconds if run.push else 0.0),
            "total": _round(inputs.total_seconds),
        },
        "total_time": format_seconds(inputs.total_seconds),
    }
    section["summary"] = _summary(section, run)
    # A repository without stages, where nothing happened, gets no section (report.json keeps the data);
    # with --no-repro the section always says that repro did not run.
    section["show"] = bool(
        run.no_repro or section["stages"] or failure or section["stale_warning"] or section["base"]["note"]
        or section["data_changes"] or (run.pull and run.pull.to_rebuild) or run.imports
    )
    return section


def _failure(failure: Failure | None) -> dict[str, Any] | None:
    if failure is None:
        return None
    return {"step": failure.step, "stage": failure.stage, "exit_code": failure.exit_code, "message": failure.message}


def _stage(stage: StageRun, pending: bool) -> dict[str, Any]:
    status = "⏸️ stale, not run (--no-repro)" if pending else _STATUS_WORDS.get(stage.status, stage.status)
    return {
        "name": stage.name,
        "status": stage.status,
        "status_text": status,
        "seconds": _round(stage.seconds),
        "time": format_seconds(stage.seconds) if stage.status in (RAN, RESTORED, FAILED) else "",
        "reasons": stage.reasons,
        "why": "; ".join(stage.reasons),
    }


def _transfer(transfer: Transfer | None) -> dict[str, Any] | None:
    if transfer is None:
        return None
    return {
        "remote": str(transfer.remote) if transfer.remote else "",
        "files": transfer.files,
        "seconds": _round(transfer.seconds),
        "time": format_seconds(transfer.seconds),
        "note": transfer.note,
        "to_rebuild": transfer.to_rebuild,
    }


def _imports(run: WorkspaceRun) -> dict[str, Any] | None:
    if run.imports is None:
        return None
    return {"checked": run.imports.checked, "updated": run.imports.updated, "time": format_seconds(run.imports.seconds)}


def _data_change(change: DataChange) -> dict[str, Any]:
    return {
        "path": change.path,
        "change": change.change,
        "old_size": change.old_size,
        "new_size": change.new_size,
        "old_files": change.old_files,
        "new_files": change.new_files,
        "old": _size_text(change.old_size, change.old_files),
        "new": _size_text(change.new_size, change.new_files),
    }


def _stale_warning(run: WorkspaceRun) -> str:
    if run.uncommitted:
        paths = ", ".join(change.path for change in run.uncommitted[:8])
        more = f" and {len(run.uncommitted) - 8} more" if len(run.uncommitted) > 8 else ""
        return (
            f"The PR's committed results do not match its code: dvc repro produced different outputs "
            f"({paths}{more}) than its dvc.lock records. The numbers here are the reproduced ones, not the "
            "committed ones: run `dvc repro` and commit dvc.lock (and `dvc push`)."
        )
    if run.lock_files:
        return (
            f"dvc repro changed {', '.join(run.lock_files)} (the same outputs, but recorded dependencies "
            "differ): the PR's committed dvc.lock is out of date; run `dvc repro` and commit it."
        )
    if run.pending:
        names = ", ".join(stage.name for stage in run.pending)
        subject = f"Stage {names} is" if len(run.pending) == 1 else f"Stages {names} are"
        return (
            f"{subject} stale (code, params or data changed since dvc.lock was written) and "
            "not reproduced (--no-repro): the results here are the committed ones."
        )
    return ""


def _base(inputs: SectionInputs) -> dict[str, Any]:
    base_run = inputs.base_run
    if base_run is not None:
        ran = base_run.repro.ran if base_run.repro else []
        note = (
            f"Base reproduced in a temporary worktree (--base-repro): {len(ran)} stage(s) ran in "
            f"{format_seconds(base_run.seconds)}."
            if base_run.failure is None
            else f"--base-repro could not reproduce the base: {base_run.failure.message}. Base values are missing."
        )
        return {
            "reproduced": base_run.failure is None,
            "note": note,
            "log_tail": "\n".join(base_run.failure.log_tail) if base_run.failure else "",
            "seconds": _round(base_run.seconds),
        }
    if inputs.base_missing:
        return {
            "reproduced": False,
            "note": (
                f"Base results are missing ({', '.join(inputs.base_missing[:5])}): not in the DVC cache nor on "
                "the remote. Push them from the base branch (`dvc push`), or run mrbot with --base-repro to "
                "reproduce the base in a temporary worktree."
            ),
            "log_tail": "",
            "seconds": 0.0,
        }
    return {"reproduced": False, "note": "", "log_tail": "", "seconds": 0.0}


def _summary(section: dict[str, Any], run: WorkspaceRun) -> str:
    stages = section["stages"]
    counts = {
        "ran": sum(stage["status"] in (RAN, RESTORED) for stage in stages),
        "up to date": sum(stage["status"] == SKIPPED for stage in stages),
        "failed": sum(stage["status"] == FAILED for stage in stages),
        "not run": sum(stage["status"] == NOT_RUN for stage in stages),
    }
    parts = [f"{count} {word}" for word, count in counts.items() if count]
    if run.no_repro:
        parts = ["dvc repro not run (--no-repro)"] + [f"{len(run.pending)} stale" if run.pending else "none stale"]
    elif run.repro is None:
        parts = [f"dvc repro not run: {run.failure.step} failed" if run.failure else "dvc repro not run"]
    return ", ".join(parts) + f" · {section['total_time']} for the whole mrbot run"


def format_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_size(size: int | None) -> str:
    if size is None:
        return "?"
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024:
            break
    return f"{value:.1f} {unit}"


def _size_text(size: int | None, files: int | None) -> str:
    if size is None and files is None:
        return "—"
    text = format_size(size) if size is not None else "?"
    return f"{text}, {files} files" if files is not None else text


def _round(seconds: float) -> float:
    return round(seconds, 3)
