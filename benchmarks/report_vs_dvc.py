"""Whole-process wall time of `mrbot report --dry-run` against what a CML user runs, as ratios.

    python benchmarks/report_vs_dvc.py [--runs 5] [--against DIR] [--fresh]

Cases (each with 50 commits on main before the branch point, for the history):
  demo   the `mrbot demo` project (3 stages, 3 metrics, 4 plots)
  real   shaped like the public example projects: 4 metrics, ROC, precision-recall and confusion
         plots that each combine a train and a test file of 5,000 points, one image plot
  scale  10,000 metrics and 20 plots of 10,000 points each
The cases are built once and kept in ~/.cache/mrbot-benchmarks/<key> (the key changes with this
script and the demo project's code), so an A/B loop starts at once; --fresh builds them again.
References, measured in the same run on the same machine:
  recipe  `dvc params diff --md; dvc metrics diff --md; dvc plots diff` (three processes)
  floor   `dvc metrics diff --json` (one process, metrics only)
--against DIR also times the mrbot of another checkout (DIR: a `git worktree` of an earlier commit)
in the same interleaved runs and prints this tree's time over that one's.
mrbot runs with its defaults, so it reads the history of 10 commits; what that costs is printed
apart: mrbot with --history 0, 1, 10 and 50 in the same interleaved runs, and the cost per commit read.
Targets: demo <= 0.5x recipe and <= 2x floor; real <= 0.4x recipe and <= 1.5x floor (#13);
scale <= 5x floor, report still readable;
history 10 adds <= 0.6 s on the demo; scale with history 10 <= 6x floor.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.workspace.demo import build_demo_project, git  # noqa: E402

PYTHON = sys.executable
# The dvc CLI starts an analytics daemon as it exits: it would reach for the network and, still
# running, slow down whichever command is measured next.
ENV = {**os.environ, "DVC_NO_ANALYTICS": "1"}
SCALE_METRICS = 10_000
SCALE_PLOTS = 20
SCALE_POINTS = 10_000
HISTORY_COMMITS = 50
HISTORY_COUNTS = (1, 10, 50)


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
    """Base on main, head on branch pr: 1% of metrics changed, every curve shifted."""
    from dvc.repo import Repo

    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    Repo.init(str(root)).close()
    plots = "".join(f"  - curves/c{i:02d}.csv:\n      x: step\n      y: value\n" for i in range(SCALE_PLOTS))
    (root / "dvc.yaml").write_text("metrics:\n  - metrics.json\nplots:\n" + plots)
    (root / "params.yaml").write_text("lr: 0.1\n")

    def write(shift: float) -> None:
        groups = {f"group{g:03d}": {f"m{m:03d}": round(g + m / 1000, 4) for m in range(100)} for g in range(100)}
        if shift:
            for g in range(0, 100, 10):
                for m in range(10):
                    groups[f"group{g:03d}"][f"m{m:03d}"] += shift
        (root / "metrics.json").write_text(json.dumps(groups))
        (root / "curves").mkdir(exist_ok=True)
        for i in range(SCALE_PLOTS):
            rows = "".join(f"{step},{1 / (step + 1) + shift:.6f}\n" for step in range(SCALE_POINTS))
            (root / "curves" / f"c{i:02d}.csv").write_text("step,value\n" + rows)

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
    sources = [Path(__file__), Path(__file__).resolve().parents[1] / "bot" / "workspace" / "demo.py"]
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


def wall_time(commands: list[list[str]], cwd: Path) -> float:
    start = time.perf_counter()
    for command in commands:
        subprocess.run(command, cwd=cwd, env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def median_times(cases: dict[str, list[list[str]]], cwd: Path, runs: int) -> dict[str, float]:
    """Median wall time of each case. The cases take turns, run by run, so a machine that slows
    down or speeds up meanwhile (shared CI hosts do) moves them all alike and the ratios hold."""
    for commands in cases.values():
        wall_time(commands, cwd)  # warm the OS file cache; not counted
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, commands in cases.items():
            times[name].append(wall_time(commands, cwd))
    return {name: statistics.median(samples) for name, samples in times.items()}


REPORT_ARGS = ["report", "--base", "main", "--dry-run", "--no-pull", "--no-repro"]


def measure(root: Path, runs: int, against: Path | None = None) -> dict[str, float]:
    dvc = [PYTHON, "-m", "dvc"]
    # Reading and reporting only: the pipeline's own cost is benchmarks/repro_overhead.py's subject.
    mrbot = [[PYTHON, "-m", "bot", *REPORT_ARGS]]
    recipe = [
        [*dvc, "params", "diff", "main", "--md"],
        [*dvc, "metrics", "diff", "main", "--md"],
        [*dvc, "plots", "diff", "main", "-o", str(root.parent / "dvc_plots")],
    ]
    floor = [[*dvc, "metrics", "diff", "main", "--json"]]
    cases = {"mrbot": mrbot, "recipe": recipe, "floor": floor}
    if against is not None:
        # That checkout's bot package first on sys.path, ahead of this one's (installed) package.
        run_other = f"import runpy, sys; sys.path.insert(0, {str(against)!r}); runpy.run_module('bot', run_name='__main__')"
        cases["against"] = [[PYTHON, "-c", run_other, *REPORT_ARGS]]
    return median_times(cases, root, runs)


def history_cost(root: Path, runs: int) -> dict[int, float]:
    """Median time of mrbot with --history N for N in 0 and HISTORY_COUNTS, interleaved."""
    cases = {count: [[PYTHON, "-m", "bot", *REPORT_ARGS, "--history", str(count)]] for count in (0, *HISTORY_COUNTS)}
    return median_times(cases, root, runs)


def print_history_cost(times: dict[int, float], target: float | None = None) -> float:
    """Print what reading the history adds; return the cost of the default (10 commits)."""
    off = times[0]
    parts = [f"{count}: +{times[count] - off:.2f} s ({(times[count] - off) / count * 1000:.0f} ms/commit)" for count in HISTORY_COUNTS]
    print(f"  history cost against --history 0 ({off:.2f} s): " + ", ".join(parts))
    added = times[10] - off
    if target is not None:
        print(f"  history 10 adds {added:.2f} s (target <= {target} s: {verdict(added, target)})")
    return added


def print_against(times: dict[str, float]) -> None:
    if "against" in times:
        print(f"  against the other checkout: mrbot {times['mrbot']:.2f} s / {times['against']:.2f} s = "
              f"{times['mrbot'] / times['against']:.2f}x; its ratios: recipe "
              f"{times['against'] / times['recipe']:.2f}x, floor {times['against'] / times['floor']:.2f}x")


def print_case(name: str, times: dict[str, float], runs: int, recipe_target: float, floor_target: float) -> None:
    print(f"{name:<6} (median of {runs}): mrbot {times['mrbot']:.2f} s, recipe {times['recipe']:.2f} s, "
          f"floor {times['floor']:.2f} s")
    to_recipe, to_floor = times["mrbot"] / times["recipe"], times["mrbot"] / times["floor"]
    print(f"  mrbot / recipe = {to_recipe:.2f}x (target <= {recipe_target}x: {verdict(to_recipe, recipe_target)})")
    print(f"  mrbot / floor  = {to_floor:.2f}x (target <= {floor_target}x: {verdict(to_floor, floor_target)})")
    print_against(times)


def verdict(ratio: float, target: float) -> str:
    return "ok" if ratio <= target else "MISSED"


def report_readability(root: Path) -> str:
    done = subprocess.run(
        [PYTHON, "-m", "bot", "report", "--base", "main", "--dry-run", "--no-pull", "--no-repro"],
        cwd=root, env=ENV, check=True, capture_output=True, text=True,
    )
    markdown = done.stdout
    folded = "unchanged metrics</summary>" in markdown
    return f"report {len(markdown):,} characters, {markdown.count(chr(10)):,} lines; unchanged rows folded: {folded}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--against", type=Path, help="a checkout of another mrbot version, timed alongside")
    parser.add_argument("--fresh", action="store_true", help="build the cases again instead of using the cached ones")
    args = parser.parse_args()
    against = args.against.resolve() if args.against else None
    if against is not None and not (against / "bot" / "__main__.py").is_file():
        parser.error(f"--against {args.against}: no bot/__main__.py there; pass a checkout of mrbot")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mrbot-benchmarks"
    cache.mkdir(parents=True, exist_ok=True)
    for stale in cache.iterdir():  # cases of an earlier version of this script
        if stale.is_dir() and stale.name != _cache_key() and len(stale.name) == 12:
            shutil.rmtree(stale, ignore_errors=True)
    demo = cached_case("demo", lambda root: add_main_history(build_demo_project(root), "experiment"), args.fresh)
    real = cached_case("real", lambda root: add_main_history(build_real_project(root), "pr", metrics="eval/metrics.json"), args.fresh)
    scale = None
    if not args.skip_scale:
        scale = cached_case("scale", lambda root: add_main_history(build_scale_project(root), "pr"), args.fresh)
    print_case("demo", measure(demo, args.runs, against), args.runs, recipe_target=0.5, floor_target=2.0)
    print_history_cost(history_cost(demo, args.runs), target=0.6)
    print_case("real", measure(real, args.runs, against), args.runs, recipe_target=0.4, floor_target=1.5)
    if scale is not None:
        times = measure(scale, args.runs, against)
        print(f"scale  (median of {args.runs}): mrbot {times['mrbot']:.2f} s, recipe {times['recipe']:.2f} s, "
              f"floor {times['floor']:.2f} s")
        to_floor = times["mrbot"] / times["floor"]
        print(f"  mrbot / floor  = {to_floor:.2f}x with history 10 (target <= 6x: {verdict(to_floor, 6.0)})")
        print(f"  mrbot / recipe = {times['mrbot'] / times['recipe']:.2f}x")
        print_against(times)
        added = print_history_cost(history_cost(scale, args.runs))
        without = (times["mrbot"] - added) / times["floor"]
        print(f"  without history: mrbot / floor = {without:.2f}x (target <= 5x: {verdict(without, 5.0)})")
        print(f"  {report_readability(scale)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
