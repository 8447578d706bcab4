"""Whole-process wall time of `mrbot report --dry-run` against what a CML user runs, as ratios.

    python benchmarks/report_vs_dvc.py [--runs 5] [--against DIR] [--fresh] [--skip-scale] [--huge]

Cases (benchmarks/cases.py builds them once and caches them; --fresh builds them again), each with
main-branch commits before the branch point, for the history:
  demo   the `mrbot demo` project (3 stages, 3 metrics, 4 plots)
  real   shaped like the public example projects: 4 metrics, ROC, precision-recall and confusion
         plots that each combine a train and a test file of 5,000 points, one image plot
  scale  10,000 metrics and 20 plots of 10,000 points each
  huge   (--huge) 50,000 metrics and 100 plots of 100,000 points each; also the peak memory of
         all mrbot processes together (the sum of their resident sizes, sampled)
References, measured in the same run on the same machine:
  recipe  `dvc params diff --md; dvc metrics diff --md; dvc plots diff` (three processes)
  floor   `dvc metrics diff --json` (one process, metrics only)
--against DIR also times the mrbot of another checkout (DIR: a `git worktree` of an earlier commit)
in the same interleaved runs and prints this tree's time over that one's, both started through runpy.
mrbot runs with its defaults, so it reads the history of 10 commits; what that costs is printed
apart: mrbot with --history 0, 1, 10 and 50 in the same interleaved runs, and the cost per commit read.
Targets (#13): demo and real <= 0.4x recipe and <= 1.5x floor; scale <= 3x floor and <= 0.5x
recipe, report still readable; huge <= 10x floor, peak memory <= 600 MiB, report within the forge's
size budget; history 10 adds <= 0.6 s on the demo.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cases import (  # noqa: E402
    _cache_key,
    add_main_history,
    build_huge_project,
    build_real_project,
    build_scale_project,
    cached_case,
)

from bot.workspace.demo import build_demo_project  # noqa: E402

PYTHON = sys.executable
# The dvc CLI starts an analytics daemon as it exits: it would reach for the network and, still
# running, slow down whichever command is measured next.
ENV = {**os.environ, "DVC_NO_ANALYTICS": "1"}
HISTORY_COUNTS = (1, 10, 50)


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
        # Both trees started the same way (runpy costs a few percent more than -m), so the ratio of
        # the two is the code's alone.
        cases["against"] = [run_checkout(against)]
        cases["this tree"] = [run_checkout(Path(__file__).resolve().parents[1])]
    return median_times(cases, root, runs)


def run_checkout(checkout: Path) -> list[str]:
    """mrbot report of that checkout: its bot package first on sys.path, ahead of the installed one."""
    code = f"import runpy, sys; sys.path.insert(0, {str(checkout)!r}); runpy.run_module('bot', run_name='__main__')"
    return [PYTHON, "-c", code, *REPORT_ARGS]


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
        print(f"  against the other checkout, both started alike: {times['this tree']:.2f} s / {times['against']:.2f} s = "
              f"{times['this tree'] / times['against']:.2f}x; its ratios: recipe "
              f"{times['against'] / times['recipe']:.2f}x, floor {times['against'] / times['floor']:.2f}x")


def print_case(name: str, times: dict[str, float], runs: int, recipe_target: float, floor_target: float) -> None:
    print(f"{name:<6} (median of {runs}): mrbot {times['mrbot']:.2f} s, recipe {times['recipe']:.2f} s, "
          f"floor {times['floor']:.2f} s")
    to_recipe, to_floor = times["mrbot"] / times["recipe"], times["mrbot"] / times["floor"]
    print(f"  mrbot / recipe = {to_recipe:.2f}x (target <= {recipe_target}x: {verdict(to_recipe, recipe_target)})")
    print(f"  mrbot / floor  = {to_floor:.2f}x (target <= {floor_target}x: {verdict(to_floor, floor_target)})")
    print_against(times)


def peak_memory(command: list[str], cwd: Path) -> tuple[float, float, float]:
    """Wall seconds, and the peaks (MiB) of the command's and all its children's memory together,
    sampled every 50 ms: as proportional set sizes (a page that forked workers share with the main
    process counted once, split between them) and as resident sizes (counted in each process)."""
    import psutil

    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    watched = psutil.Process(process.pid)
    peak_pss = peak_rss = 0
    while process.poll() is None:
        pss = rss = 0
        try:
            for member in [watched, *watched.children(recursive=True)]:
                memory = member.memory_full_info()
                pss, rss = pss + memory.pss, rss + memory.rss
        except psutil.Error:  # a worker that ended between listing and reading
            pass
        peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
        time.sleep(0.05)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed in {cwd} (exit {process.returncode})")
    return time.perf_counter() - start, peak_pss / 2**20, peak_rss / 2**20


def measure_huge(root: Path, runs: int) -> None:
    floor = [PYTHON, "-m", "dvc", "metrics", "diff", "main", "--json"]
    mrbot = [PYTHON, "-m", "bot", *REPORT_ARGS]
    wall_time([mrbot], root)  # warm the OS file cache; not counted
    samples = [(wall_time([mrbot], root), wall_time([floor], root)) for _ in range(runs)]
    mrbot_time = statistics.median(run[0] for run in samples)
    floor_time = statistics.median(run[1] for run in samples)
    # The memory in runs of its own: reading every process's page map takes CPU from what it measures.
    memory = [peak_memory(mrbot, root) for _ in range(2)]
    peak, peak_rss = max(run[1] for run in memory), max(run[2] for run in memory)
    print(f"huge   (median of {runs}): mrbot {mrbot_time:.2f} s, floor {floor_time:.2f} s; recipe not run "
          "(dvc plots diff of 100 x 100,000 points as vega rows would take minutes and gigabytes)")
    print(f"  mrbot / floor  = {mrbot_time / floor_time:.2f}x (target <= 10x: {verdict(mrbot_time / floor_time, 10.0)})")
    print(f"  peak memory of all mrbot processes together = {peak:.0f} MiB (target <= 600 MiB: {verdict(peak, 600.0)}); "
          f"{peak_rss:.0f} MiB counting each page shared by the forked workers in each process")
    print(f"  {report_readability(root)}")


def verdict(ratio: float, target: float) -> str:
    return "ok" if ratio <= target else "MISSED"


def report_readability(root: Path) -> str:
    """The report's size, and the GitHub comment fitted from its bundle (the smallest forge limit)."""
    from bot.forges.github import COMMENT_LIMIT
    from bot.report.bundle import read_bundle
    from bot.report.render import render_within

    out = root.parent / "bundle"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([PYTHON, "-m", "bot", "report", "--base", "main", "--no-pull", "--no-repro", "--out", str(out)],
                   cwd=root, env=ENV, check=True, capture_output=True)
    markdown = (out / "report.md").read_text(encoding="utf-8")
    folded = "unchanged metrics</summary>" in markdown
    start = time.perf_counter()
    comment = render_within(read_bundle(out), COMMENT_LIMIT, "the job's artifact")
    fitted = time.perf_counter() - start
    return (f"report {len(markdown):,} characters, {markdown.count(chr(10)):,} lines; unchanged rows folded: {folded}; "
            f"GitHub comment {len(comment):,} characters (limit {COMMENT_LIMIT:,}: {verdict(len(comment), COMMENT_LIMIT)}), "
            f"fitted in {fitted:.2f} s")


def compile_bytecode(checkouts: list[Path]) -> None:
    """Bytecode for each checkout's bot package, as an installed mrbot has it (pip compiles what it
    installs, the image compiles what a report imports) and as DVC, measured alongside, has it. A
    shell with PYTHONDONTWRITEBYTECODE set would otherwise time mrbot compiling itself every run."""
    for checkout in checkouts:
        compileall.compile_dir(checkout / "bot", quiet=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--huge", action="store_true", help="also the huge case (minutes to build the first time)")
    parser.add_argument("--against", type=Path, help="a checkout of another mrbot version, timed alongside")
    parser.add_argument("--fresh", action="store_true", help="build the cases again instead of using the cached ones")
    args = parser.parse_args()
    against = args.against.resolve() if args.against else None
    if against is not None and not (against / "bot" / "__main__.py").is_file():
        parser.error(f"--against {args.against}: no bot/__main__.py there; pass a checkout of mrbot")
    compile_bytecode([Path(__file__).resolve().parents[1], *([against] if against else [])])
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
    print_case("demo", measure(demo, args.runs, against), args.runs, recipe_target=0.4, floor_target=1.5)
    print_history_cost(history_cost(demo, args.runs), target=0.6)
    print_case("real", measure(real, args.runs, against), args.runs, recipe_target=0.4, floor_target=1.5)
    if scale is not None:
        times = measure(scale, args.runs, against)
        print_case("scale", times, args.runs, recipe_target=0.5, floor_target=3.0)
        added = print_history_cost(history_cost(scale, args.runs))
        print(f"  without history: mrbot / floor = {(times['mrbot'] - added) / times['floor']:.2f}x")
        print(f"  {report_readability(scale)}")
    if args.huge:
        huge = cached_case("huge", lambda root: add_main_history(build_huge_project(root), "pr", commits=10), args.fresh)
        measure_huge(huge, min(args.runs, 3))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
