"""What mrbot adds around `dvc repro`: whole-process wall time of `mrbot report` (pull, repro, read,
charts, report) against the plain CI recipe `dvc repro` then `dvc metrics diff`, as a ratio.

    python benchmarks/repro_overhead.py [--runs 5]

Cases, on the `mrbot demo` project (3 numpy stages):
  stale       the PR's params changed and were not reproduced: train and evaluate re-run
  up-to-date  nothing to run: DVC only checks the stages (mrbot's fixed cost shows most here)
Every run starts from a fresh copy of the case's project (copying is not timed); the commands
alternate, medians are compared. Target: mrbot / recipe <= 1.2x.
Also shown: `mrbot report --no-pull --no-repro` on the same copy, so the difference tells what the
pipeline steps (pull, repro with stage status and timing, stale check) cost apart from reporting.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.workspace.demo import build_demo_project  # noqa: E402

PYTHON = sys.executable
# The dvc CLI starts an analytics daemon as it exits: it would reach for the network and, still
# running, slow down whichever command is measured next.
ENV = {**os.environ, "DVC_NO_ANALYTICS": "1"}
TARGET = 1.2


def make_stale(project: Path) -> None:
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("epochs: 60", "epochs: 90"))


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(pristine: Path, scratch: Path, runs: int) -> dict[str, list[float]]:
    dvc = [PYTHON, "-m", "dvc"]
    commands = {
        "mrbot": [[PYTHON, "-m", "bot", "report", "--base", "main", "--out", "mrbot-report"]],
        "recipe": [[*dvc, "repro"], [*dvc, "metrics", "diff", "main"]],
        "report-only": [[PYTHON, "-m", "bot", "report", "--base", "main", "--out", "mrbot-report",
                         "--no-pull", "--no-repro"]],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for run in range(runs + 1):  # the first round warms the OS file cache and is not counted
        for name, steps in commands.items():
            work = scratch / f"{name}-{run}"
            shutil.copytree(pristine, work, symlinks=True)
            seconds = sum(timed(step, work) for step in steps)
            if run:
                times[name].append(seconds)
            shutil.rmtree(work)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    missed = False
    with tempfile.TemporaryDirectory(prefix="mrbot-bench-repro-") as scratch_dir:
        scratch = Path(scratch_dir)
        with contextlib.redirect_stdout(sys.stderr):  # DVC's progress while building the project
            up_to_date = build_demo_project(scratch / "up-to-date")
        stale = scratch / "stale"
        shutil.copytree(up_to_date, stale, symlinks=True)
        make_stale(stale)
        for case, pristine in (("stale", stale), ("up-to-date", up_to_date)):
            times = measure(pristine, scratch, args.runs)
            mrbot, recipe, report_only = (statistics.median(times[name]) for name in ("mrbot", "recipe", "report-only"))
            ratio = mrbot / recipe
            missed |= ratio > TARGET
            print(f"{case:<11} (median of {args.runs}): mrbot report {mrbot:.2f} s, "
                  f"dvc repro + dvc metrics diff {recipe:.2f} s, mrbot --no-pull --no-repro {report_only:.2f} s")
            print(f"  mrbot / recipe = {ratio:.2f}x (target <= {TARGET}x: {'ok' if ratio <= TARGET else 'MISSED'})")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
