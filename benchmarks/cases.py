"""The projects the benchmarks measure, built once and kept in ~/.cache/mrbot-benchmarks/<key>
(the key changes with this file, the measuring script and the demo project's code)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.workspace.demo import git  # noqa: E402

SCALE_METRICS = 10_000
SCALE_PLOTS = 20
SCALE_POINTS = 10_000
HUGE_METRIC_GROUPS = 500  # of 100 metrics each: 50,000
HUGE_PLOTS = 100
HUGE_POINTS = 100_000
HISTORY_COMMITS = 50


def commit_base_and_head(root: Path, write_base, write_head, head_params: str) -> Path:
    """The base's files committed on main, the head's (and its params) on branch pr."""
    write_base()
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "pr")
    write_head()
    (root / "params.yaml").write_text(head_params)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "head")
    return root


def build_scale_project(root: Path) -> Path:
    """10,000 metrics and 20 plots of 10,000 points: base on main, head on branch pr."""
    return build_curves_project(root, groups=SCALE_METRICS // 100, plots=SCALE_PLOTS, points=SCALE_POINTS)


def build_huge_project(root: Path) -> Path:
    """50,000 metrics and 100 plots of 100,000 points: base on main, head on branch pr."""
    return build_curves_project(root, groups=HUGE_METRIC_GROUPS, plots=HUGE_PLOTS, points=HUGE_POINTS)


def build_curves_project(root: Path, groups: int, plots: int, points: int) -> Path:
    """`groups` of 100 metrics and `plots` CSV curves of `points` rows; head moves 1% of the metrics
    (10 in every tenth group) and shifts every curve."""
    from dvc.repo import Repo

    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    Repo.init(str(root)).close()
    listed = "".join(f"  - curves/c{i:03d}.csv:\n      x: step\n      y: value\n" for i in range(plots))
    (root / "dvc.yaml").write_text("metrics:\n  - metrics.json\nplots:\n" + listed)
    (root / "params.yaml").write_text("lr: 0.1\n")
    steps = [f"{step}," for step in range(points)]

    def write(shift: float) -> None:
        values = {f"group{g:03d}": {f"m{m:03d}": round(g + m / 1000 + (shift if g % 10 == 0 and m < 10 else 0), 4)
                                    for m in range(100)} for g in range(groups)}
        (root / "metrics.json").write_text(json.dumps(values))
        (root / "curves").mkdir(exist_ok=True)
        for i in range(plots):
            curve = (f"{1 / (step + 1) + shift + (step % 97) / 1e4:.6f}\n" for step in range(points))
            (root / "curves" / f"c{i:03d}.csv").write_text("step,value\n" + "".join(map(str.__add__, steps, curve)))

    return commit_base_and_head(root, lambda: write(0.0), lambda: write(0.05), "lr: 0.2\n")


REAL_POINTS = 5_000
REAL_DVC_YAML = """\
metrics:
  - eval/metrics.json
plots:
  - ROC:
      template: simple
      x: fpr
      y:
        eval/plots/sklearn/roc/train.json: tpr
        eval/plots/sklearn/roc/test.json: tpr
  - Precision-Recall:
      template: simple
      x: recall
      y:
        eval/plots/sklearn/prc/train.json: precision
        eval/plots/sklearn/prc/test.json: precision
  - Confusion-Matrix:
      template: confusion
      x: actual
      y:
        eval/plots/sklearn/cm/train.json: predicted
        eval/plots/sklearn/cm/test.json: predicted
  - eval/importance.png
"""


def build_real_project(root: Path) -> Path:
    """Base on main, head on branch pr: a model that got a little better on both splits."""
    from dvc.repo import Repo
    from matplotlib.figure import Figure

    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    Repo.init(str(root)).close()
    (root / "dvc.yaml").write_text(REAL_DVC_YAML)
    (root / "params.yaml").write_text("train:\n  n_est: 50\n")

    def write(skill: float) -> None:
        rng = random.Random(int(skill * 100))
        scores = {}
        for split, bonus in (("train", 0.1), ("test", 0.0)):
            power = 1 - skill - bonus
            curve = [index / (REAL_POINTS - 1) for index in range(REAL_POINTS)]
            roc = [{"fpr": x, "tpr": x ** power, "threshold": 1 - x} for x in curve]
            prc = [{"precision": 1 - (1 - skill - bonus) * x ** 2, "recall": x, "threshold": 1 - x} for x in curve]
            classes = ["0", "1"]
            cm = []
            for _ in range(REAL_POINTS):
                actual = rng.choice(classes)
                cm.append({"actual": actual, "predicted": actual if rng.random() < skill + bonus else rng.choice(classes)})
            for kind, rows in (("roc", {"roc": roc}), ("prc", {"prc": prc}), ("cm", cm)):
                path = root / "eval" / "plots" / "sklearn" / kind / f"{split}.json"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(rows))
            scores[split] = {"avg_prec": round(skill + bonus, 4), "roc_auc": round(math.sqrt(skill + bonus), 4)}
        (root / "eval" / "metrics.json").write_text(json.dumps(scores))
        figure = Figure(figsize=(4, 3), dpi=100)
        figure.add_subplot().barh(range(8), [rng.random() for _ in range(8)])
        figure.savefig(root / "eval" / "importance.png", metadata={"Software": None})

    return commit_base_and_head(root, lambda: write(0.6), lambda: write(0.7), "train:\n  n_est: 100\n")


def _cache_key() -> str:
    # The builders' version only: a change to how the cases are measured keeps the cases.
    here = Path(__file__).resolve().parent
    sources = [here / "cases.py", here.parent / "bot" / "workspace" / "demo.py"]
    return hashlib.sha1(b"".join(path.read_bytes() for path in sources)).hexdigest()[:12]


def cached_case(name: str, build, fresh: bool) -> Path:
    """The case's project, built once into the cache (a case half-built by an interrupted run is
    never used: it is built aside and moved in when complete)."""
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mrbot-benchmarks" / _cache_key()
    project = home / name / "project"
    if fresh:
        shutil.rmtree(home / name, ignore_errors=True)
    if not project.is_dir():
        building = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=home.parent if home.parent.is_dir() else None))
        with contextlib.redirect_stdout(sys.stderr):  # DVC's progress while building the projects
            build(building / "project")
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(home / name, ignore_errors=True)
        building.rename(home / name)
    return project


def add_main_history(root: Path, head_branch: str, commits: int = HISTORY_COMMITS, metrics: str = "metrics.json") -> None:
    """`commits` runs on main before the branch point, each with its own metrics.json values, and
    the head branch replayed on top (its own metrics winning), as a project with a past looks."""
    git(root, "checkout", "-q", "main")
    original = json.loads((root / metrics).read_text())
    for index in range(commits):
        jitter = (index % 7 - 3) / 1000

        def shifted(node):
            if isinstance(node, dict):
                return {key: shifted(value) for key, value in node.items()}
            return round(node + jitter, 6) if isinstance(node, float) else node

        (root / metrics).write_text(json.dumps(shifted(original)))
        git(root, "commit", "-q", "-a", "-m", f"run {index}")
    git(root, "checkout", "-q", head_branch)
    git(root, "rebase", "-q", "-X", "theirs", "main")


