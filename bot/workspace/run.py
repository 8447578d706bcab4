"""The job's DVC steps on the checkout: dvc pull, dvc repro, optionally dvc push, then whether the
PR's committed results match what its code produces; and the base reproduced in a worktree."""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from bot.ci.folds import LogFolds
from bot.errors import BadInput
from bot.masking import mask
from bot.workspace import git, transfer
from bot.workspace.capture import OutputCapture, causes
from bot.workspace.imports import ImportsUpdate, update_imports
from bot.workspace.recorded import DataChange, changes_since
from bot.workspace.repo import open_repo
from bot.workspace.repro import NOT_RUN, SKIPPED, Failure, ReproRun, StageRun, reproduce, stale_reasons
from bot.workspace.transfer import Transfer

log = logging.getLogger(__name__)

# Every dvc.lock in the repository, for git pathspecs.
LOCK_FILES = ":(glob)**/dvc.lock"


@dataclass(frozen=True)
class StepOptions:
    pull: bool = True
    repro: bool = True
    push: bool = False
    update_imports: bool = False  # `dvc update` the import stages first (mrbot propose --update-imports)


@dataclass
class WorkspaceRun:
    imports: ImportsUpdate | None = None
    pull: Transfer | None = None
    repro: ReproRun | None = None
    no_repro: bool = False  # --no-repro asked for no repro (else repro is None only when a step before it failed)
    # --no-repro: stages whose code, params or data changed since dvc.lock was written.
    pending: list[StageRun] = field(default_factory=list)
    push: Transfer | None = None
    # After dvc repro: outputs whose recorded hash differs from the PR's committed DVC files.
    uncommitted: list[DataChange] = field(default_factory=list)
    lock_files: list[str] = field(default_factory=list)  # dvc.lock files dvc repro changed
    failure: Failure | None = None


@dataclass
class BaseRun:
    """The base reproduced in a temporary worktree (--base-repro)."""

    sha: str = ""  # a commit on no branch holding the reproduced base's results; "" when it failed
    repro: ReproRun | None = None
    pull: Transfer | None = None
    failure: Failure | None = None
    seconds: float = 0.0


def run_steps(
    repo: Any,
    options: StepOptions,
    secrets: Sequence[str],
    echo: Callable[[str], None] | None = None,
    folds: LogFolds = LogFolds(),
) -> WorkspaceRun:
    """The steps on an open dvc Repo (the one the job then reads results from). Without repro, the
    job lists the stages repro would run (pending_stages) itself, while the charts are drawn."""
    root = Path(repo.root_dir)
    run = WorkspaceRun(no_repro=not options.repro)
    with OutputCapture(secrets, echo, folds=folds) as capture:
        if options.update_imports:
            run.imports = update_imports(repo, capture)
            run.failure = run.imports.failure
        if run.failure is None and options.pull:
            run.pull = transfer.pull(repo, capture, rebuild_missing=options.repro)
            run.failure = run.pull.failure
        if run.failure is None and options.repro:
            log.info("dvc repro: running the pipeline")
            run.repro = reproduce(repo, capture)
            run.failure = run.repro.failure
            if run.failure is None:
                log.info("dvc repro: %s (%.1f s)", repro_summary(run.repro), run.repro.seconds)
        if run.failure is None and options.push:
            run.push = transfer.push(repo, capture)
            run.failure = run.push.failure
        if run.failure is not None:
            run.failure.message = mask(run.failure.message, secrets)
        # When no stage ran, DVC found every output as dvc.lock records it: nothing to compare.
        if run.repro is not None and run.repro.failure is None and run.repro.ran:
            run.uncommitted = changes_since(repo, "HEAD", "HEAD")
            run.lock_files = git.modified_files(root, [LOCK_FILES])
    return run


def push_outputs(
    repo: Any,
    run: WorkspaceRun,
    secrets: Sequence[str],
    echo: Callable[[str], None] | None = None,
    folds: LogFolds = LogFolds(),
) -> None:
    """`dvc push` after the other steps, once the caller knows there is something new to push."""
    with OutputCapture(secrets, echo, folds=folds) as capture:
        run.push = transfer.push(repo, capture)
        run.failure = run.push.failure
        if run.failure is not None:
            run.failure.message = mask(run.failure.message, secrets)


def repro_summary(repro: ReproRun) -> str:
    """'2 stages ran, 1 up to date' (restored from the run cache counted as ran)."""
    ran, up_to_date = len(repro.ran), sum(stage.status == SKIPPED for stage in repro.stages)
    if not ran:
        return "every stage up to date" if up_to_date else "no stage to run"
    return f"{ran} stage{'s' if ran != 1 else ''} ran" + (f", {up_to_date} up to date" if up_to_date else "")


def pending_stages(repo: Any) -> list[StageRun]:
    """Without dvc repro: the stages it would run because their code, params or data changed.
    Missing outputs alone (a --no-pull checkout) do not count."""
    from dvc.repo import lock_repo

    pending = []
    # The index the reading built: lock_repo drops it on entry and would have every DVC file parsed
    # again (two thirds of this on the demo). Nothing has changed them since.
    stages = repo.index.stages
    with lock_repo(repo):  # stage.status asserts the lock
        for stage in stages:
            if not getattr(stage, "cmd", None):
                continue
            reasons = [reason for reason in stale_reasons(stage) if not reason.startswith("output ")]
            if reasons:
                pending.append(StageRun(stage.addressing, NOT_RUN, 0.0, reasons))
    return pending


def reproduce_base(
    root: Path,
    base_sha: str,
    secrets: Sequence[str],
    echo: Callable[[str], None] | None = None,
    folds: LogFolds = LogFolds(),
) -> BaseRun:
    """Reproduce `base_sha` in a temporary worktree that shares this checkout's DVC cache and
    remote settings, and commit its results (on no branch) so DVC can read them as a revision."""
    from dvc.exceptions import DvcException

    started = time.perf_counter()
    run = BaseRun()
    log.info("--base-repro: reproducing the base %s in a temporary worktree", base_sha[:8])
    # A base that cannot be checked out, loaded or reproduced ends as the report's note, not the run.
    try:
        with git.temporary_worktree(root, base_sha) as tree:
            _share_dvc_setup(root, tree)
            keep: list[str] = []
            try:
                with OutputCapture(secrets, echo, folds=folds) as capture, open_repo(tree) as repo:
                    run.pull = transfer.pull(repo, capture, rebuild_missing=True)
                    run.failure = run.pull.failure
                    if run.failure is None:
                        run.repro = reproduce(repo, capture)
                        run.failure = run.repro.failure
                    if run.failure is None:
                        keep = committable_results(repo)
            except BadInput as exc:  # the base's dvc.yaml does not load
                run.failure = Failure("dvc repro", f"the base's pipeline does not load: {exc}")
            if run.failure is None:
                run.sha = git.snapshot(tree, keep, f"mrbot: base {base_sha[:8]} reproduced")
    except BadInput as exc:  # git cannot check the base out
        run.failure = Failure("dvc repro", str(exc))
    except DvcException as exc:  # its DVC config, say, when sharing the cache with it
        run.failure = Failure("dvc repro", f"the base's DVC project does not load: {causes(exc)}")
    if run.failure is not None:
        run.failure.message = mask(run.failure.message, secrets)
    run.seconds = time.perf_counter() - started
    return run


def _share_dvc_setup(root: Path, tree: Path) -> None:
    """The worktree uses the checkout's DVC cache (what was pulled or built is reused) and its
    local remote settings (credentials a job put in .dvc/config.local)."""
    from dvc.repo import Repo

    local_config = root / ".dvc" / "config.local"
    if local_config.is_file() and (tree / ".dvc").is_dir():
        shutil.copyfile(local_config, tree / ".dvc" / "config.local")
    with Repo(str(root)) as repo:
        cache_dir = repo.cache.local_cache_dir
    if (tree / ".dvc").is_dir():
        with Repo(str(tree)) as repo, repo.config.edit("local") as config:
            config["cache"]["dir"] = cache_dir


def committable_results(repo: Any) -> list[str]:
    """What git must hold for DVC to read the results of a revision: the lock files and the outputs
    kept in git (cache: false). Outputs in the DVC cache are read from the shared cache."""
    paths = {"dvc.lock"}
    for stage in repo.index.stages:
        for out in stage.outs:
            if not out.use_cache:
                paths.add(str(Path(out.fs_path).relative_to(repo.root_dir)))
        lock = Path(stage.dvcfile.path).with_name("dvc.lock")
        if lock.is_file():
            paths.add(str(lock.relative_to(repo.root_dir)))
    return sorted(paths)
