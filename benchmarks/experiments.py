"""What hyperparameter searches (#14) cost, as ratios measured in one run on this machine.

    python benchmarks/experiments.py [--runs 5] [--fresh]

  report cost  `mrbot report` with 50 finished experiments of the head on a (local, bare) git
               remote (`experiments: {from: remote}`) against the same report without them: the
               difference is what the report adds on top of the experiments' own run time.
               Target <= 1.5 s.
  jobs         the 2x2 grid of the demo project run by `mrbot report --exp-set` with `jobs: 2`
               against `jobs: 1`; each run sets values no earlier run used, so DVC's run cache
               cannot skip a stage. Target: 2 jobs faster than 1 on two cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cases import cached_case  # noqa: E402

from bot.workspace.demo import build_demo_project, git  # noqa: E402

PYTHON = sys.executable
ENV = {**os.environ, "DVC_NO_ANALYTICS": "1"}
FINISHED = 50
REPORT = [PYTHON, "-m", "bot", "report", "--base", "main", "--no-pull", "--no-repro", "--dry-run"]


def build_searched_project(root: Path) -> Path:
    """The demo project whose head has FINISHED experiments, pushed to the bare remote beside it."""
    build_demo_project(root)
    origin = root.parent / "origin.git"
    git(root.parent, "init", "-q", "--bare", str(origin))
    git(root, "remote", "add", "origin", str(origin))
    git(root, "push", "-q", "origin", "main", "experiment")
    values = ",".join(f"{0.01 + index / 100:.2f}" for index in range(FINISHED))
    (root / ".mrbot.yml").write_text("experiments:\n  jobs: 2\n  max: 100\n  push: true\n")
    subprocess.run([PYTHON, "-m", "bot", "report", "--base", "main", "--no-pull", "--out", str(root.parent / "built"),
                    "--exp-set", f"train.lr={values}"], cwd=root, env=ENV, check=True, capture_output=True)
    (root / ".mrbot.yml").unlink()
    return root


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def report_cost(project: Path, runs: int) -> None:
    """Fresh clones of the remote, so each run pulls the experiments as a CI job does."""
    with_search, without = [], []
    for _ in range(runs + 1):
        for samples, config in ((with_search, "experiments:\n  from: remote\n"), (without, "")):
            clone = Path(tempfile.mkdtemp(prefix="clone-")) / "project"
            git(clone.parent, "clone", "-q", "-b", "experiment", str(project.parent / "origin.git"), str(clone))
            git(clone, "fetch", "-q", "origin", "main:main")
            (clone / ".dvc" / "config.local").write_text(f"[cache]\n    dir = {project / '.dvc' / 'cache'}\n")
            (clone / ".mrbot.yml").write_text(config)
            samples.append(timed(REPORT, clone))
            shutil.rmtree(clone.parent, ignore_errors=True)
    with_search, without = with_search[1:], without[1:]  # the first pair warms the file cache
    added = statistics.median(with_search) - statistics.median(without)
    print(f"report cost (median of {runs}): with {FINISHED} experiments {statistics.median(with_search):.2f} s, "
          f"without {statistics.median(without):.2f} s: adds {added:.2f} s (target <= 1.5 s: "
          f"{'ok' if added <= 1.5 else 'MISSED'})")


def jobs_ratio(runs: int) -> None:
    times: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory(prefix="grid-") as scratch:
        project = build_demo_project(Path(scratch) / "project")
        for run in range(runs):
            for jobs in (1, 2):
                unique = (run * 2 + jobs) / 1000  # values no earlier run used: no run-cache hit
                (project / ".mrbot.yml").write_text(f"experiments:\n  jobs: {jobs}\n")
                times[jobs].append(timed([*REPORT, "--exp-set", f"train.lr={0.05 + unique},{0.3 + unique}",
                                          "--exp-set", "train.epochs=20,40"], project))
    one, two = statistics.median(times[1]), statistics.median(times[2])
    print(f"jobs (median of {runs}): the 2x2 grid in {one:.2f} s with 1 job, {two:.2f} s with 2: "
          f"2 jobs / 1 job = {two / one:.2f}x (target < 1x: {'ok' if two < one else 'MISSED'})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    project = cached_case("searched", build_searched_project, args.fresh)
    report_cost(project, args.runs)
    jobs_ratio(args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
