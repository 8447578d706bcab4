"""The DVC experiments of the head commit: each one's params and metrics. An experiment is a git
commit, so where the project's metrics and params files are in git (as DVC writes metrics with
`cache: false`) they are read from those commits in one batch; otherwise through `dvc exp show`,
which rebuilds DVC's index for every experiment (tens of ms each)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.workspace.git import read_files_at

SUCCESS, FAILED = "success", "failed"


@dataclass(frozen=True)
class Experiment:
    name: str
    rev: str
    params: dict[str, Any] = field(default_factory=dict)  # flattened name -> value, all params files
    metrics: dict[str, Any] = field(default_factory=dict)  # flattened name -> value, all metrics files
    status: str = SUCCESS
    error: str = ""
    tail: list[str] = field(default_factory=list)  # a failed one's last log lines


def read_experiments(repo: Any, root: Path, head_sha: str, metric_files: list[str], param_files: list[str],
                     revs: set[str] | None = None) -> list[Experiment]:
    """The experiments based on `head_sha` (only those whose commit is in `revs`, when given).
    `metric_files`, `param_files`: the head's, relative to `root`."""
    listed = [(name, sha) for entries in repo.experiments.ls(rev=[head_sha]).values() for name, sha in entries
              if sha and (revs is None or sha in revs)]
    try:
        files = read_files_at(root, [(sha, f"./{path}") for _, sha in listed for path in (*metric_files, *param_files)])
        return [Experiment(name, sha, _flat({path: _parse(path, files[(sha, f"./{path}")]) for path in param_files}),
                           _flat({path: _parse(path, files[(sha, f"./{path}")]) for path in metric_files}))
                for name, sha in listed]
    except (LookupError, ValueError, OSError):  # a file git does not hold (DVC's cache does) or DVC reads otherwise
        return _through_dvc(repo, head_sha, revs)


def _parse(path: str, content: bytes | None) -> dict[str, Any]:
    if content is None:
        raise LookupError(path)
    extension = os.path.splitext(path)[1].lower()
    if extension == ".json":
        parsed = json.loads(content)
    elif extension in (".yaml", ".yml"):
        import yaml

        parsed = yaml.load(content, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader
    else:
        raise ValueError(path)
    if not isinstance(parsed, dict):
        raise ValueError(path)
    return parsed


def _through_dvc(repo: Any, head_sha: str, revs: set[str] | None) -> list[Experiment]:
    found = []
    for baseline in repo.experiments.show(revs=[head_sha]):
        for experiment in baseline.experiments or []:
            if not experiment.revs or (revs is not None and experiment.revs[0].rev not in revs):
                continue
            state = experiment.revs[0]
            data = state.data
            params = {path: entry.get("data") or {} for path, entry in (data.params if data else {}).items()}
            metrics = {path: entry.get("data") or {} for path, entry in (data.metrics if data else {}).items()}
            found.append(Experiment(experiment.name or state.rev[:7], state.rev, _flat(params), _flat(metrics)))
    return found


def _flat(per_file: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """file -> nested values to one flat mapping: `train.lr`, and `path:train.lr` where two files share a name."""
    from dvc.utils.flatten import flatten

    per_path = {path: flatten(values) for path, values in per_file.items() if isinstance(values, dict)}
    seen: dict[str, int] = {}
    for values in per_path.values():
        for name in values:
            seen[name] = seen.get(name, 0) + 1
    return {name if seen[name] == 1 else f"{path}:{name}": value
            for path, values in per_path.items() for name, value in values.items()}
