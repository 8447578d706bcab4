"""A hyperparameter search on the head commit: the grid of `.mrbot.yml` (or --exp-set) run as DVC
experiments in temporary directories, so the workspace stays the head's; or the experiments of
the head that a developer pushed, fetched from the git remote; and pushing them for `dvc exp apply`."""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from bot.errors import BadInput, brief
from bot.workspace.capture import OutputCapture
from bot.workspace.git import working_directory
from bot.workspace.processes import fork_is_safe
from bot.workspace.repo import describe_error

log = logging.getLogger(__name__)

RUN, REMOTE = "run", "remote"
DEFAULT_MAX = 50
GIT_REMOTE = "origin"
_PLAN_KEYS = {"grid", "jobs", "max", "from", "push", "metrics", "sort"}


@dataclass(frozen=True)
class ExperimentPlan:
    grid: dict[str, list[str]] = field(default_factory=dict)  # param -> values, as `dvc exp run -S` takes them
    jobs: int = 1
    max: int = DEFAULT_MAX
    source: str = RUN  # RUN the grid here, or report the head's experiments on the REMOTE
    push: bool = False
    metrics: list[str] = field(default_factory=list)  # the table's metric columns; empty: the ones that moved
    sort: str = ""  # the metric that ranks them; empty: the first column


@dataclass(frozen=True)
class Ran:
    """One experiment run here: its DVC commit, or why it failed."""
    assignments: dict[str, str]
    rev: str = ""
    error: str = ""
    tail: list[str] = field(default_factory=list)
    seconds: float = 0.0


def parse_plan(raw: Any, source: str) -> ExperimentPlan | None:
    """The `experiments:` section of .mrbot.yml; None when there is none."""
    if raw is None:
        return None
    where = f"{source}: experiments"
    if not isinstance(raw, dict) or set(raw) - _PLAN_KEYS:
        unknown = sorted(set(raw) - _PLAN_KEYS, key=str) if isinstance(raw, dict) else []
        raise BadInput(f"{where}{'.' + str(unknown[0]) if unknown else ''}: expected a mapping with "
                       f"{', '.join(sorted(_PLAN_KEYS))}")
    origin = raw.get("from", RUN)
    if origin not in (RUN, REMOTE):
        raise BadInput(f"{where}.from: 'run' (run the grid in the job) or 'remote' (the head's pushed experiments), "
                       f"not {brief(origin)}")
    grid = _grid(raw.get("grid") or {}, f"{where}.grid")
    return ExperimentPlan(
        grid=grid,
        jobs=_positive_int(raw.get("jobs", 1), f"{where}.jobs"),
        max=_positive_int(raw.get("max", DEFAULT_MAX), f"{where}.max"),
        source=origin,
        push=_bool(raw.get("push", False), f"{where}.push"),
        metrics=_names(raw.get("metrics") or [], f"{where}.metrics"),
        sort=_names([raw["sort"]], f"{where}.sort")[0] if raw.get("sort") is not None else "",
    )


def parse_exp_sets(values: Sequence[str]) -> dict[str, list[str]]:
    """`--exp-set train.lr=0.01,0.1` (repeatable) as a grid."""
    grid: dict[str, list[str]] = {}
    for value in values:
        name, equals, listed = value.partition("=")
        if not equals or not name.strip() or not listed.strip():
            raise BadInput(f"--exp-set {value!r}: write PARAM=V1,V2,... (e.g. train.lr=0.01,0.1)")
        grid[name.strip()] = _values([part.strip() for part in listed.split(",")], f"--exp-set {name.strip()}")
    return grid


def search_plan(configured: ExperimentPlan | None, exp_sets: Sequence[str]) -> ExperimentPlan | None:
    """.mrbot.yml's plan, with --exp-set's grid instead of its own (and run here) when given."""
    if not exp_sets:
        return configured
    from dataclasses import replace

    return replace(configured or ExperimentPlan(), grid=parse_exp_sets(exp_sets), source=RUN)


def head_params(repo: Any) -> dict[str, dict[str, Any]]:
    """params file -> flattened name -> value, as the workspace holds them before the pipeline runs."""
    from dvc.utils.flatten import flatten

    shown = next(iter(repo.params.show().values()), {})
    return {path: flatten(entry.get("data") or {}) for path, entry in (shown.get("data") or {}).items()
            if isinstance(entry.get("data"), dict)}


def combinations(grid: dict[str, list[str]]) -> list[dict[str, str]]:
    names = list(grid)
    return [dict(zip(names, chosen)) for chosen in itertools.product(*(grid[name] for name in names))]


def check_grid(plan: ExperimentPlan, params: dict[str, dict[str, Any]], where: str) -> list[dict[str, str]]:
    """Each experiment's assignments; a param no params file of the head defines, or a grid over
    `max`, is refused before anything runs."""
    if not plan.grid:
        raise BadInput(f"{where}.grid: name at least one param and its values, e.g. train.lr: [0.01, 0.1], "
                       "or pass --exp-set")
    known = {name for values in params.values() for name in values}
    known |= {f"{path}:{name}" for path, values in params.items() for name in values}
    for name in plan.grid:
        if name not in known:
            raise BadInput(f"{where}.grid: {brief(name)} is not a param of the head's params files; "
                           f"add it there (e.g. params.yaml) or fix the name")
    chosen = combinations(plan.grid)
    if len(chosen) > plan.max:
        raise BadInput(f"{where}.grid: {len(chosen)} combinations is more than max {plan.max}; "
                       "shorten the value lists or raise experiments.max")
    return chosen


def run_grid(root: Path, chosen: list[dict[str, str]], jobs: int, secrets: Sequence[str]) -> list[Ran]:
    """Run every combination as a temporary-directory experiment, `jobs` at a time, one log line
    each as it ends; a failed one is a result with its log tail, not a failed job."""
    context = multiprocessing.get_context("fork" if fork_is_safe(allow_pool_threads=True) else "spawn")
    results: list[Ran] = [Ran(assignments) for assignments in chosen]
    with ProcessPoolExecutor(min(jobs, len(chosen)), mp_context=context) as pool:
        futures = {pool.submit(run_one, str(root), assignments, list(secrets)): index
                   for index, assignments in enumerate(chosen)}
        done = 0
        for future in as_completed(futures):
            index = futures[future]
            results[index] = future.result()
            done += 1
            settings = " ".join(f"{name}={value}" for name, value in chosen[index].items())
            outcome = "failed" if results[index].error else f"{results[index].seconds:.0f} s"
            log.info("experiment %d/%d %s: %s", done, len(chosen), settings, outcome)
    return results


def run_one(root: str, assignments: dict[str, str], secrets: list[str]) -> Ran:
    from dvc.repo import Repo

    started = time.perf_counter()
    params = [f"{name}={value}" for name, value in assignments.items()]
    with OutputCapture(secrets, echo=lambda text: None) as capture:
        try:
            # DVC finds the params files that -S sets relative to the working directory.
            with working_directory(Path(root)), Repo(root) as repo:
                revs = repo.experiments.run(params=params, tmp_dir=True)
        except Exception as exc:  # noqa: BLE001 - DVC's failure is this experiment's row
            return Ran(assignments, error=describe_error(exc), tail=capture.tail(), seconds=time.perf_counter() - started)
    rev = next(iter(revs), "") if revs else ""
    return Ran(assignments, rev=rev, error="" if rev else "DVC recorded no experiment",
               tail=[] if rev else capture.tail(), seconds=time.perf_counter() - started)


def fetch_remote(repo: Any, head_sha: str) -> list[str]:
    """The names of the head commit's experiments pulled from the git remote (and their outputs
    from the DVC remote where it has them)."""
    try:
        # Their metrics and params are in git; outputs are for `dvc exp apply`, which pulls them itself.
        return list(repo.experiments.pull(GIT_REMOTE, rev=[head_sha], pull_cache=False) or [])
    except Exception as exc:  # noqa: BLE001 - no remote, no access: the report says so
        raise BadInput(f"experiments from remote: could not pull the head's experiments from {GIT_REMOTE!r}: "
                       f"{describe_error(exc)}") from None


def push_experiments(repo: Any, names: list[str]) -> str:
    """Push them to the git remote (and their outputs to the DVC remote); a warning when it fails."""
    try:
        repo.experiments.push(GIT_REMOTE, names, push_cache=True)
    except Exception as exc:  # noqa: BLE001 - the report stands without the push
        return f"Experiments not pushed to {GIT_REMOTE}: {describe_error(exc)}"
    return ""


def _grid(raw: Any, where: str) -> dict[str, list[str]]:
    if not isinstance(raw, dict):
        raise BadInput(f"{where}: expected a mapping of param -> list of values")
    return {str(name): _values(values if isinstance(values, list) else [values], f"{where}.{name}")
            for name, values in raw.items()}


def _values(values: list[Any], where: str) -> list[str]:
    texts = []
    for value in values:
        if isinstance(value, (dict, list)) or value is None or (isinstance(value, str) and not value.strip()):
            raise BadInput(f"{where}: {brief(value)} is not a value `dvc exp run -S` can set; use numbers or text")
        texts.append(_text(value))
    if not texts:
        raise BadInput(f"{where}: give at least one value")
    return list(dict.fromkeys(texts))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _positive_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadInput(f"{where}: expected a whole number of 1 or more, not {brief(value)}")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise BadInput(f"{where}: expected true or false, not {brief(value)}")
    return value


def _names(values: Any, where: str) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(value, str) and value.strip() for value in values):
        raise BadInput(f"{where}: expected metric names such as test.accuracy, not {brief(values)}")
    return [value.strip() for value in values]
